package io.needle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.needle.data.Experts;
import io.needle.data.Images;
import io.needle.data.Npy;
import io.needle.data.Tasks;
import io.needle.zoo.OnnxFile;
import io.needle.zoo.Zoo;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Fuzzes every reader of untrusted files with mutations of valid ones (bit flips, truncations, inserted bytes,
 * size fields overwritten with huge values, and for JSON, values replaced by ones of other types or paths
 * leaving the folder). The property: reading either succeeds or throws {@link NeedleException}; no other
 * exception or error escapes, and no read allocates far beyond its input's size.
 *
 * <p>The test suite runs a short, fixed-seed property per reader. {@code -Dneedle.fuzz.minutes=M} (optionally
 * {@code -Dneedle.fuzz.reader=npy} and {@code -Dneedle.fuzz.seed=S}) runs {@link #main} instead: M minutes per
 * reader, printing the inputs tried and every distinct crash, with its input saved under
 * {@code target/fuzz/}.
 */
class ReaderFuzzTest {
  /** Heap a read may allocate beyond 64 bytes per input byte (a read copies its input a few times). */
  static final long ALLOCATION_SLACK = 48L << 20;

  static Path root;
  static final Map<Target, Harness> HARNESS = new LinkedHashMap<>();

  @BeforeContainer
  static void setUp() throws IOException {
    root = Files.createTempDirectory("needle-fuzz");
  }

  @AfterContainer
  static void tearDown() throws IOException {
    delete(root);
  }

  // ------------------------------------------------------------------------------------------ the properties

  @Property(tries = 2000, seed = "11", shrinking = ShrinkingMode.FULL)
  void npy(@ForAll("npyCases") Case c) {
    check(Target.NPY, c);
  }

  @Property(tries = 600, seed = "12", shrinking = ShrinkingMode.FULL)
  void arrow(@ForAll("arrowCases") Case c) {
    check(Target.ARROW, c);
  }

  @Property(tries = 1200, seed = "13", shrinking = ShrinkingMode.FULL)
  void idx(@ForAll("idxCases") Case c) {
    check(Target.IDX, c);
  }

  @Property(tries = 1500, seed = "14", shrinking = ShrinkingMode.FULL)
  void onnx(@ForAll("onnxCases") Case c) {
    check(Target.ONNX, c);
  }

  @Property(tries = 1000, seed = "15", shrinking = ShrinkingMode.FULL)
  void zooManifest(@ForAll("zooCases") Case c) {
    check(Target.ZOO, c);
  }

  @Property(tries = 1500, seed = "16", shrinking = ShrinkingMode.FULL)
  void tasksManifest(@ForAll("tasksCases") Case c) {
    check(Target.TASKS, c);
  }

  @Property(tries = 600, seed = "17", shrinking = ShrinkingMode.FULL)
  void images(@ForAll("imageCases") Case c) {
    check(Target.IMAGES, c);
  }

  /** The crashes fuzzing found, as their shrunk cases (each threw something other than a NeedleException, or allocated GBs). */
  @Example
  void crashesFoundStayFixed() {
    // a .npy shape that is not numbers: NumberFormatException ("6- 4")
    check(Target.NPY, new Case(0, List.of(new Mutation(Mutation.Kind.FLIP, 0.28, 0, new byte[0]))));
    // a version-2 .npy header length of 2^31-1: int overflow past the bounds check, then a 2 GB header array
    int v2 = harness(Target.NPY).seeds.get(2).getValue().length;
    check(Target.NPY, new Case(2, List.of(new Mutation(Mutation.Kind.HUGE_SIZE, 8.5 / v2, 0, new byte[0]))));
    // a zoo.json file name with a NUL: InvalidPathException
    check(Target.ZOO, new Case(0, List.of(new Mutation(Mutation.Kind.JSON, 0.07, 2584, new byte[0]))));
    // an Arrow dataset whose record batch claims a huge row count: Arrow allocated 128 MB+ of direct memory
    // for the 970-byte file (OutOfMemoryError under -XX:MaxDirectMemorySize=256m); found by the long run
    try {
      Path f = Path.of(ReaderFuzzTest.class.getResource("/fuzz/arrow-dataset-huge-rows.arrow").toURI());
      NeedleException e = org.junit.jupiter.api.Assertions.assertThrows(NeedleException.class, () -> Images.open(f));
      org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("is corrupt: it declares more data than its 970 bytes can hold"), e.getMessage());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    // an Arrow expert whose footer claims millions of record batches: the off-heap reader's per-batch arrays took the
    // heap (OutOfMemoryError; 134 MB for 794 bytes); found by the long run after the off-heap reader was added
    check(Target.ARROW, new Case(0, List.of(new Mutation(Mutation.Kind.HUGE_SIZE, 0.71, -69, HexFormat.of().parseHex("23c4")),
        new Mutation(Mutation.Kind.INSERT, 0.09, -111, HexFormat.of().parseHex("77dbf109d8")))));
    check(Target.ARROW, new Case(0, List.of(new Mutation(Mutation.Kind.HUGE_SIZE, 0.24, 22, HexFormat.of().parseHex("e40a")),
        new Mutation(Mutation.Kind.OVERWRITE, 0.01, -722821, HexFormat.of().parseHex("f9bee024")),
        new Mutation(Mutation.Kind.HUGE_SIZE, 0.71, 886133, HexFormat.of().parseHex("06")),
        new Mutation(Mutation.Kind.OVERWRITE, 0.15, 4, HexFormat.of().parseHex("e587d97410f62151")))));
    // a PNG whose header claims a huge image: ~185 MB allocated for 140 bytes
    check(Target.IMAGES, new Case(0, List.of(new Mutation(Mutation.Kind.OVERWRITE, 0.78, -2042074429, HexFormat.of().parseHex("d7e55cf6")),
        new Mutation(Mutation.Kind.HUGE_SIZE, 0.96, 121, new byte[0]), new Mutation(Mutation.Kind.FLIP, 0.12, 0, new byte[] {0}))));
  }

  @Provide Arbitrary<Case> npyCases() { return cases(Target.NPY); }
  @Provide Arbitrary<Case> arrowCases() { return cases(Target.ARROW); }
  @Provide Arbitrary<Case> idxCases() { return cases(Target.IDX); }
  @Provide Arbitrary<Case> onnxCases() { return cases(Target.ONNX); }
  @Provide Arbitrary<Case> zooCases() { return cases(Target.ZOO); }
  @Provide Arbitrary<Case> tasksCases() { return cases(Target.TASKS); }
  @Provide Arbitrary<Case> imageCases() { return cases(Target.IMAGES); }

  static void check(Target t, Case c) {
    String crash = harness(t).crash(c);
    if (crash != null) throw new AssertionError(t + " " + c + ": " + crash);
  }

  // ------------------------------------------------------------------------------------------ mutations

  /** Sizes a corrupt file may claim: the int32/uint32 extremes and values just past them. */
  static final long[] HUGE = {0x7fffffffL, 0xffffffffL, 0x80000000L, 0x40000000L, 0x10000000L, 0xfffffff0L, 0x7fffffffffffffffL, -1L, 65536};
  /** Values a manifest field may be replaced by. */
  static final String[] JSON_VALUES = {"null", "-1", "0", "2147483648", "9223372036854775807", "1e308", "-0.5", "\"../outside.onnx\"",
      "\"/etc/passwd\"", "\"\"", "\"a\\u0000b\"", "[]", "{}", "[1e9]", "true", "\"NCHW\"", "2000000000", "[-1, 0]", "\"zoo.json\"",
      "\"sub/../../x\"", "[" .repeat(600) + "]".repeat(600), "\"link.onnx\""};

  /**
   * One mutation of an input: what it does, where (a fraction of the length, so one mutation fits any input), a
   * value and bytes.
   */
  record Mutation(Kind kind, double at, int value, byte[] bytes) {
    enum Kind { FLIP, TRUNCATE, INSERT, OVERWRITE, HUGE_SIZE, JSON }

    byte[] apply(byte[] in) {
      int pos = (int) (at * in.length);
      switch (kind) {
        case FLIP -> {
          if (in.length == 0) return in;
          byte[] out = in.clone();
          out[Math.min(pos, in.length - 1)] ^= (byte) (1 << (value & 7));
          return out;
        }
        case TRUNCATE -> {
          return Arrays.copyOf(in, pos);
        }
        case INSERT -> {
          byte[] out = new byte[in.length + bytes.length];
          System.arraycopy(in, 0, out, 0, pos);
          System.arraycopy(bytes, 0, out, pos, bytes.length);
          System.arraycopy(in, pos, out, pos + bytes.length, in.length - pos);
          return out;
        }
        case OVERWRITE -> {
          byte[] out = in.clone();
          for (int i = 0; i < bytes.length && pos + i < out.length; i++) out[pos + i] = bytes[i];
          return out;
        }
        case HUGE_SIZE -> {  // a 4- or 8-byte size field, either byte order
          long v = HUGE[Math.floorMod(value, HUGE.length)];
          int width = (value & 0x100) != 0 ? 8 : 4;
          ByteBuffer b = ByteBuffer.allocate(8).order((value & 0x200) != 0 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN).putLong(0, v);
          byte[] field = width == 8 ? b.array() : Arrays.copyOfRange(b.array(), (value & 0x200) != 0 ? 4 : 0, (value & 0x200) != 0 ? 8 : 4);
          byte[] out = in.clone();
          for (int i = 0; i < field.length && pos + i < out.length; i++) out[pos + i] = field[i];
          return out;
        }
        default -> {
          return json(in);
        }
      }
    }

    /** Replaces one value of a JSON document (the n-th in document order) with one of {@link #JSON_VALUES}. */
    private byte[] json(byte[] in) {
      JsonNode doc;
      try {
        doc = MAPPER.readTree(in);
      } catch (IOException | RuntimeException e) {
        return in;
      }
      List<Object[]> slots = new ArrayList<>();  // {container, key or index}
      collect(doc, slots);
      if (slots.isEmpty()) return in;
      Object[] s = slots.get(Math.min((int) (at * slots.size()), slots.size() - 1));
      JsonNode v;
      try {
        v = MAPPER.readTree(JSON_VALUES[Math.floorMod(value, JSON_VALUES.length)]);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (s[0] instanceof ObjectNode o) o.set((String) s[1], v);
      else ((ArrayNode) s[0]).set((Integer) s[1], v);
      try {
        return doc.toString().getBytes(StandardCharsets.UTF_8);
      } catch (RuntimeException e) {  // nested past what Jackson writes
        return in;
      }
    }

    private static void collect(JsonNode n, List<Object[]> out) {
      if (n instanceof ObjectNode o) {
        for (var it = o.fieldNames(); it.hasNext(); ) {
          String k = it.next();
          out.add(new Object[] {o, k});
          collect(o.get(k), out);
        }
      } else if (n instanceof ArrayNode a) {
        for (int i = 0; i < a.size(); i++) {
          out.add(new Object[] {a, i});
          collect(a.get(i), out);
        }
      }
    }

    @Override
    public String toString() {
      return kind + "@" + String.format(Locale.ROOT, "%.4f", at) + "/" + value + (bytes.length > 0 ? "/" + HexFormat.of().formatHex(bytes) : "");
    }
  }

  static final ObjectMapper MAPPER = new ObjectMapper();

  /** A seed file of a reader (by index) and the mutations applied to it, in order. */
  record Case(int seed, List<Mutation> mutations) {
    byte[] apply(byte[] in) {
      for (Mutation m : mutations) in = m.apply(in);
      return in;
    }
  }

  static Arbitrary<Mutation> mutation(boolean json) {
    Arbitrary<Mutation.Kind> kinds = json ? Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.of(Mutation.Kind.values())),
        net.jqwik.api.Tuple.of(2, Arbitraries.just(Mutation.Kind.JSON)))
        : Arbitraries.of(Mutation.Kind.FLIP, Mutation.Kind.TRUNCATE, Mutation.Kind.INSERT, Mutation.Kind.OVERWRITE, Mutation.Kind.HUGE_SIZE);
    return Combinators.combine(kinds, Arbitraries.doubles().between(0, 1), Arbitraries.integers(),
        Arbitraries.bytes().array(byte[].class).ofMaxSize(8)).as(Mutation::new);
  }

  static Arbitrary<Case> cases(Target t) {
    return Combinators.combine(Arbitraries.integers().between(0, harness(t).seeds.size() - 1),
        mutation(t == Target.ZOO || t == Target.TASKS).list().ofMinSize(1).ofMaxSize(4)).as(Case::new);
  }

  // ------------------------------------------------------------------------------------------ the readers

  /** The readers fuzzed, each with its valid seed files. */
  enum Target { NPY, ARROW, IDX, ONNX, ZOO, TASKS, IMAGES }

  static synchronized Harness harness(Target t) {
    return HARNESS.computeIfAbsent(t, k -> {
      try {
        if (root == null) root = Files.createTempDirectory("needle-fuzz");
        return new Harness(k, Files.createDirectories(root.resolve(k.name().toLowerCase(Locale.ROOT))));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  /** One reader: a folder holding what its files need beside them, its seeds, and how a mutated file is read. */
  static final class Harness {
    final Target target;
    final Path dir;
    /** file name -> valid bytes; a case mutates one of them and keeps the others valid */
    final List<Map.Entry<String, byte[]>> seeds = new ArrayList<>();

    Harness(Target target, Path dir) throws IOException {
      this.target = target;
      this.dir = dir;
      switch (target) {
        case NPY -> {
          float[] x = new float[6 * 4];
          for (int i = 0; i < x.length; i++) x[i] = i * 0.5f;
          Npy.writeFloats(dir.resolve("x.npy"), x, 6, 4);
          Npy.writeLongs(dir.resolve("l.npy"), new int[] {0, 1, 2, 0, 1, 2});
          // version 2 (a 4-byte header length), big-endian float64
          ByteBuffer be = ByteBuffer.allocate(6 * 4 * 8).order(ByteOrder.BIG_ENDIAN);
          for (float v : x) be.putDouble(v);
          byte[] v1 = Files.readAllBytes(Fixtures.npy(dir.resolve("x.npy"), "{'descr': '>f8', 'fortran_order': False, 'shape': (6, 4), }", be.array()));
          byte[] v2 = new byte[v1.length + 2];
          System.arraycopy(v1, 0, v2, 0, 8);
          v2[6] = 2;
          ByteBuffer.wrap(v2, 8, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(v1[8] & 0xff | (v1[9] & 0xff) << 8);
          System.arraycopy(v1, 10, v2, 12, v1.length - 10);
          Npy.writeFloats(dir.resolve("x.npy"), x, 6, 4);
          seed("x.npy");
          seed("l.npy");
          seeds.add(Map.entry("x.npy", v2));
        }
        case ARROW -> {
          float[] x = new float[6 * 4];
          for (int i = 0; i < x.length; i++) x[i] = i * 0.5f;
          Fixtures.writeArrowExpert(dir.resolve("x.arrow"), x, 4);
          Fixtures.writeArrowExpert(dir.resolve("s.arrow"), x, 4, true);
          Fixtures.writeArrowLabels(dir.resolve("l.arrow"), new long[] {0, 1, 2, 0, 1, 2});
          Fixtures.writeArrowDataset(dir.resolve("d.arrow"), null, null);
          seed("x.arrow");
          seed("s.arrow");
          seed("l.arrow");
          seed("d.arrow");
        }
        case IDX -> {
          int n = 6, h = 4, w = 4;
          ByteBuffer im = ByteBuffer.allocate(16 + n * h * w).putInt(0x803).putInt(n).putInt(h).putInt(w);
          for (int i = 0; i < n * h * w; i++) im.put((byte) (i * 7));
          ByteBuffer lb = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n).put(new byte[] {0, 1, 0, 1, 2, 2});
          Files.write(dir.resolve("a-images-idx3-ubyte"), im.array());
          Files.write(dir.resolve("a-labels-idx1-ubyte"), lb.array());
          Files.write(dir.resolve("b-images-idx3-ubyte.gz"), Fixtures.gzip(im.array()));
          Files.write(dir.resolve("b-labels-idx1-ubyte.gz"), Fixtures.gzip(lb.array()));
          for (String f : List.of("a-images-idx3-ubyte", "a-labels-idx1-ubyte", "b-images-idx3-ubyte.gz", "b-labels-idx1-ubyte.gz")) seed(f);
        }
        case ONNX -> {
          Files.copy(Path.of("..", "examples", "fashion-tiny", "zoo", "pixels-pool.onnx"), dir.resolve("m.onnx"));
          Files.copy(Fixtures.onnx("inside.weights"), dir.resolve("inside.weights"));
          seed("m.onnx");
          seeds.add(Map.entry("m.onnx", Files.readAllBytes(Fixtures.onnx("inside.onnx"))));
          seeds.add(Map.entry("m.onnx", Files.readAllBytes(Fixtures.onnx("two-outputs.onnx"))));
          seeds.add(Map.entry("m.onnx", Files.readAllBytes(Fixtures.onnx("adapters.onnx"))));
        }
        case ZOO -> {
          Files.copy(Path.of("..", "examples", "fashion-tiny", "zoo", "pixels-pool.onnx"), dir.resolve("pool.onnx"));
          Files.copy(Fixtures.onnx("two-outputs.onnx"), dir.resolve("two.onnx"));
          Files.copy(Fixtures.onnx("adapters.onnx"), dir.resolve("adapters.onnx"));
          Files.writeString(dir.resolve("zoo.json"), """
              {"experts": [
                {"id": "pool", "file": "pool.onnx", "architecture": "pool", "parameters": 5e3, "dimension": 16, "score": 0.5,
                 "tags": ["a", "b"], "preprocess": {"channels": "gray", "resize": [28, 28], "crop": 28, "mean": [0.5], "std": 0.25, "layout": "NCHW"}},
                {"file": "two.onnx", "output": "embedding", "logits": "logits", "upstream": "x", "upstream_size": 10},
                {"id": "packed", "file": "adapters.onnx", "input": "image",
                 "adapters": {"input": "adapter", "experts": [{"name": "a0"}, {"name": "a1", "index": 1, "tags": ["t"]}]}},
                {"id": "counted", "file": "adapters.onnx", "adapters": {"input": "adapter", "count": 2}}
              ]}
              """);
          seed("zoo.json");
        }
        case TASKS -> {
          Files.createDirectories(dir.resolve("a"));
          Files.createDirectories(dir.resolve("b/c"));
          Files.writeString(dir.resolve("tasks.json"), """
              {"tasks": [
                {"name": "a", "group": "natural", "train": "a", "test": "a/test", "n": 5},
                {"name": "c", "group": "structured", "train": "b/c", "exclude": "too small"}
              ]}
              """);
          seed("tasks.json");
        }
        case IMAGES -> {
          for (String c : List.of("c0", "c1")) Files.createDirectories(dir.resolve(c));
          BufferedImage gray = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY), rgb = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
          for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
              gray.getRaster().setSample(x, y, 0, x * 30 + y);
              rgb.setRGB(x, y, (x * 30) << 16 | (y * 30) << 8 | (x + y) * 15);
            }
          for (String c : List.of("c0", "c1"))
            for (int i = 0; i < 2; i++) ImageIO.write(gray, "png", dir.resolve(c + "/" + i + ".png").toFile());
          seeds.add(Map.entry("c0/m.png", Fixtures.encode(gray, "png")));
          seeds.add(Map.entry("c0/m.png", Fixtures.encode(rgb, "png")));
          seeds.add(Map.entry("c0/m.jpg", Fixtures.encode(gray, "jpeg")));
          seeds.add(Map.entry("c0/m.jpg", Fixtures.encode(rgb, "jpeg")));
        }
      }
    }

    private void seed(String name) throws IOException {
      seeds.add(Map.entry(name, Files.readAllBytes(dir.resolve(name))));
    }

    /** Reads the mutated file with its reader. */
    private void read(String name, Path file) throws Exception {
      switch (target) {
        case NPY, ARROW -> {
          if (name.startsWith("l.")) Experts.labels(file);
          else if (name.startsWith("d.")) Images.open(file);
          else {
            // off the heap (mapped, pooled buffers) and into an array: each succeeds or throws NeedleException
            try (io.needle.data.OffHeap pool = new io.needle.data.OffHeap()) {
              io.needle.data.Embedding e = new Experts.Source("x", file, null, null).load(pool);
              try {
                e.validate(6);
              } finally {
                e.release();
              }
            } catch (io.needle.NeedleException ignored) {  // the array read below must fail likewise or succeed
            }
            new Experts.Source("x", file, null, null).load().validate(6);
          }
        }
        case IDX -> Images.open(dir.resolve(name.startsWith("a-") ? "a-images-idx3-ubyte" : "b-images-idx3-ubyte.gz"));
        case ONNX -> {
          OnnxFile.inspect(Files.readAllBytes(file), name);
          Zoo.open(dir);
        }
        case ZOO -> Zoo.open(dir);
        case TASKS -> Tasks.read(dir);
        case IMAGES -> Images.open(dir);
      }
    }

    /**
     * Writes the case's input in place of its seed file (the others valid), reads it, and puts the seed back.
     *
     * @return null if the read succeeded or threw a NeedleException; else what went wrong
     */
    synchronized String crash(Case c) {
      Map.Entry<String, byte[]> s = seeds.get(c.seed());
      byte[] input = c.apply(s.getValue());
      Path file = dir.resolve(s.getKey());
      try {
        Files.write(file, input);
        long before = allocated();
        try {
          read(s.getKey(), file);
        } catch (NeedleException e) {
          // documented
        } catch (Throwable e) {
          return e.getClass().getName() + ": " + e.getMessage() + " at " + frames(e);
        }
        long used = allocated() - before, bound = 64L * input.length + ALLOCATION_SLACK;
        if (used > bound) return "allocated " + used + " bytes reading " + input.length + " (bound " + bound + ")";
        return null;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        try {
          Files.deleteIfExists(file);
          Files.write(file, s.getValue());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }

    byte[] input(Case c) {
      return c.apply(seeds.get(c.seed()).getValue());
    }
  }

  private static String frames(Throwable e) {
    StackTraceElement[] st = e.getStackTrace();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < Math.min(6, st.length); i++) b.append(i == 0 ? "" : " < ").append(st[i]);
    return b.toString();
  }

  /** Heap allocated so far by every live thread (image folders decode on the common pool). */
  static long allocated() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long a : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) if (a > 0) sum += a;
    return sum;
  }

  static void delete(Path p) throws IOException {
    if (p == null || !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
    }
  }

  // ------------------------------------------------------------------------------------------ the long mode

  /**
   * The long mode: {@code java -Xmx512m -cp <test classpath> io.needle.ReaderFuzzTest [reader...]} with
   * {@code -Dneedle.fuzz.minutes=M}: fuzzes each reader (all by default) for M minutes with the property's
   * mutations, printing counts and each distinct crash (by exception and top frame), whose input is saved under
   * {@code target/fuzz/}.
   */
  public static void main(String[] args) throws Exception {
    double minutes = Double.parseDouble(System.getProperty("needle.fuzz.minutes", "1"));
    long seed = Long.getLong("needle.fuzz.seed", 20250601L);
    List<Target> targets = args.length == 0 ? List.of(Target.values())
        : Arrays.stream(args).map(a -> Target.valueOf(a.toUpperCase(Locale.ROOT))).toList();
    Path out = Files.createDirectories(Path.of("target", "fuzz"));
    net.jqwik.api.sessions.JqwikSession.start();
    try {
      for (Target t : targets) {
        Random random = new Random(seed + t.ordinal());
        var gen = cases(t).generator(1000);
        long start = System.nanoTime(), deadline = start + (long) (minutes * 60e9);
        long tried = 0;
        Map<String, Integer> crashes = new LinkedHashMap<>();
        while (System.nanoTime() < deadline) {
          Case c = gen.next(random).value();
          String crash = harness(t).crash(c);
          tried++;
          if (crash != null) {
            String key = crash.startsWith("allocated") ? "allocation" : crash.replaceAll(": .* at ", " at ").replaceAll(" < .*", "");
            if (crashes.merge(key, 1, Integer::sum) == 1) {
              Path f = out.resolve(t.name().toLowerCase(Locale.ROOT) + "-" + crashes.size() + ".bin");
              Files.write(f, harness(t).input(c));
              System.out.println(t + " crash " + crashes.size() + " (" + f + ", case " + c + "): " + crash);
            }
          }
          if (tried % 5000 == 0)
            System.out.printf(Locale.ROOT, "%s: %d inputs, %.1f min, %d distinct crashes%n", t, tried, (System.nanoTime() - start) / 60e9, crashes.size());
        }
        System.out.printf(Locale.ROOT, "DONE %s: %d inputs in %.1f minutes (seed %d), %d distinct crashes %s%n", t, tried,
            (System.nanoTime() - start) / 60e9, seed + t.ordinal(), crashes.size(), crashes);
      }
    } finally {
      net.jqwik.api.sessions.JqwikSession.finish();
      delete(root);
    }
  }
}
