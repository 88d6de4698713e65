package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Fixtures;
import io.needle.data.Experts;
import io.needle.data.Npy;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bad-input catalogue (issue 11), one row per case beyond those of {@link BadInputTest}, {@link
 * ScoreCommandTest} and {@code InputTest}: corrupt, truncated, empty and wrongly typed files of every format,
 * NaN/Inf, shape and label mismatches, single-class and single-example tasks, huge declared sizes, and paths
 * leaving the zoo (external data, manifest entries, symlinks). Each row runs the CLI and checks the exit code
 * (README's table), that the message names the file and the problem, that the other experts are still ranked
 * when only some fail, and that the embedding cache a good run filled is unchanged and readable afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputCatalogueTest {
  static final Path EXAMPLE = Path.of("..", "examples", "fashion-tiny");
  /** The usable expert every zoo case holds beside its bad one (in the cache after {@link #fillCache}). */
  static final Path GOOD = EXAMPLE.resolve("zoo/pixels-pool.onnx");
  static final String LABELS = Fixtures.dir().resolve("labels.npy").toString();

  Path images, cache;
  Map<String, String> cached;

  /** Where a case builds its inputs; {@code labels} and {@code data} may be replaced by the case. */
  static final class Ctx {
    final Path dir, emb, zoo, outside;
    Path labels = Path.of(LABELS), data;

    Ctx(Path dir, Path data) throws Exception {
      this.dir = dir;
      this.emb = Files.createDirectories(dir.resolve("emb"));
      this.zoo = Files.createDirectories(dir.resolve("zoo"));
      this.outside = Files.createDirectories(dir.resolve("outside"));
      this.data = data;
      Files.copy(Fixtures.dir().resolve("clean_d8.npy"), emb.resolve("good.npy"));
      Files.copy(GOOD, zoo.resolve("good.onnx"));
    }
  }

  interface Setup {
    void apply(Ctx c) throws Exception;
  }

  /** {@code score} over {@code emb} (a good expert and the case's bad file) with {@code labels}. */
  static Arguments score(String name, int exit, Setup setup, String... expect) {
    return Arguments.of(name, "score", exit, setup, List.of(expect));
  }

  /** {@code select} over {@code zoo} (a good model and the case's bad ones) on {@code data}, with the shared cache. */
  static Arguments select(String name, int exit, Setup setup, String... expect) {
    return Arguments.of(name, "select", exit, setup, List.of(expect));
  }

  Stream<Arguments> catalogue() {
    return Stream.of(
        // ---- embeddings (.npy, .arrow): one expert fails, the other is scored (exit 1)
        score("npy +Inf", Main.PARTIAL, c -> {
          float[] x = Npy.read(Fixtures.dir().resolve("clean_d8.npy")).toFloats();
          x[2 * 8 + 1] = Float.POSITIVE_INFINITY;
          Npy.writeFloats(c.emb.resolve("bad.npy"), x, 300, 8);
        }, "bad: value Infinity at row 2, column 1 (NaN or infinite)"),
        score("npy complex64 dtype", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"), "{'descr': '<c8', 'fortran_order': False, 'shape': (300, 8), }",
            new byte[300 * 8 * 8]), "bad.npy: has dtype <c8; use float16, float32, float64 or integers"),
        score("npy bool dtype", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"), "{'descr': '|b1', 'fortran_order': False, 'shape': (300, 8), }",
            new byte[300 * 8]), "bad.npy: holds integers (dtype b1); embeddings must be float32 or float64"),
        score("npy string dtype", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"), "{'descr': '<U8', 'fortran_order': False, 'shape': (300,), }",
            new byte[300 * 32]), "bad.npy: has dtype <U8"),
        score("npy 3-D", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (300, 2, 4), }",
            new byte[300 * 8 * 4]), "bad.npy: has shape [300, 2, 4]; an expert's embeddings are N x D"),
        score("npy no rows", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 8), }",
            new byte[0]), "bad.npy: is empty (shape [0, 8])"),
        score("npy huge declared shape", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", new byte[64]), "bad.npy: declares a shape (4294967296, 4294967296) larger than any file"),
        score("npy huge header length", Main.PARTIAL, c -> Files.write(c.emb.resolve("bad.npy"),
            ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(0x7fffffff).array()),
            "bad.npy: is truncated in its header"),
        score("npy malformed shape", Main.PARTIAL, c -> Fixtures.npy(c.emb.resolve("bad.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (3OO, 8), }",
            new byte[300 * 8 * 4]), "bad.npy: has a malformed shape (3OO, 8)"),
        score("arrow 0 bytes", Main.PARTIAL, c -> Files.write(c.emb.resolve("bad.arrow"), new byte[0]), "bad.arrow: "),
        score("arrow text", Main.PARTIAL, c -> Files.writeString(c.emb.resolve("bad.arrow"), "expert,embedding\n1,2\n"), "bad.arrow: "),
        score("arrow NaN", Main.PARTIAL, c -> {
          float[] x = Npy.read(Fixtures.dir().resolve("clean_d8.npy")).toFloats();
          x[5 * 8] = Float.NaN;
          Fixtures.writeArrowExpert(c.emb.resolve("bad.arrow"), x, 8);
        }, "bad: value NaN at row 5, column 0 (NaN or infinite)"),
        score("arrow integer columns", Main.PARTIAL, c -> Fixtures.writeArrowLabels(c.emb.resolve("bad.arrow"), new long[300]),
            "bad.arrow: column 'label' is BIGINT; expected one fixed-size list of floats or only float columns"),
        score("arrow rows beyond the labels", Main.PARTIAL, c -> Fixtures.writeArrowExpert(c.emb.resolve("bad.arrow"), new float[600 * 2], 2),
            "bad: has 600 rows (examples) but the labels have 300"),
        // ---- labels: the task itself is bad (exit 3)
        score("labels 0 bytes", Main.BAD_INPUT, c -> c.labels = Files.write(c.dir.resolve("labels.npy"), new byte[0]),
            "labels.npy: is empty or too short to be a .npy file (0 bytes)"),
        score("labels NaN", Main.BAD_INPUT, c -> {
          float[] y = new float[300];
          y[7] = Float.NaN;
          Npy.writeFloats(c.labels = c.dir.resolve("labels.npy"), y, 300, 0);
        }, "labels.npy: element 7 = NaN is not an integer label"),
        score("labels one class", Main.BAD_INPUT, c -> Npy.writeLongs(c.labels = c.dir.resolve("labels.npy"), new int[300]), "labels.npy", "same label"),
        score("labels one example", Main.BAD_INPUT, c -> Npy.writeLongs(c.labels = c.dir.resolve("labels.npy"), new int[] {1}), "labels.npy"),
        score("labels a matrix", Main.BAD_INPUT, c -> Npy.writeFloats(c.labels = c.dir.resolve("labels.npy"), new float[600], 300, 2),
            "labels.npy: labels must be a vector, got shape [300, 2]"),
        score("labels fewer than the rows", Main.BAD_INPUT, c -> Npy.writeLongs(c.labels = c.dir.resolve("labels.npy"), Arrays.copyOf(Fixtures.ints("labels.npy"), 299)),
            "good: has 300 rows (examples) but the labels have 299", "no usable expert"),
        score("labels Arrow floats", Main.BAD_INPUT, c -> Fixtures.writeArrowExpert(c.labels = c.dir.resolve("labels.arrow"), new float[300], 1),
            "labels.arrow: has no 'label' column"),
        // ---- models: one fails, the good one is ranked from the cache (exit 1)
        select("onnx 0 bytes", Main.PARTIAL, c -> Files.write(c.zoo.resolve("bad.onnx"), new byte[0]), "bad.onnx: not an ONNX model (no graph)"),
        select("onnx huge declared length", Main.PARTIAL, c -> Files.write(c.zoo.resolve("bad.onnx"),
            new byte[] {0x3a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1, 2, 3}), "bad.onnx: not a valid ONNX model (corrupt or truncated protobuf)"),
        select("onnx subgraphs nested 5000 deep", Main.PARTIAL, c -> Files.write(c.zoo.resolve("bad.onnx"), nested(5000)),
            "bad.onnx: not a valid ONNX model (subgraphs nested deeper than protobuf's limit of 100 levels)"),
        select("onnx external data absolute", Main.PARTIAL, c -> {
          Files.write(c.zoo.resolve("bad.onnx"), replace(Files.readAllBytes(Fixtures.onnx("inside.onnx")), "inside.weights", "/tmp/in.weight"));
        }, "bad.onnx: external data path '/tmp/in.weight' points outside the zoo folder; refused"),
        select("onnx external data symlink out", Main.PARTIAL, c -> {
          Files.copy(Fixtures.onnx("inside.onnx"), c.zoo.resolve("bad.onnx"));
          Files.copy(Fixtures.onnx("inside.weights"), c.outside.resolve("inside.weights"));
          Files.createSymbolicLink(c.zoo.resolve("inside.weights"), c.outside.resolve("inside.weights"));
        }, "bad.onnx: external data path 'inside.weights' links outside the zoo folder; refused"),
        select("onnx model symlink out", Main.PARTIAL, c -> {
          Files.copy(GOOD, c.outside.resolve("elsewhere.onnx"));
          Files.createSymbolicLink(c.zoo.resolve("bad.onnx"), c.outside.resolve("elsewhere.onnx"));
        }, "bad.onnx: links outside the zoo folder; refused"),
        select("zoo.json file ..", Main.PARTIAL, c -> manifest(c, "../outside/elsewhere.onnx"), "entry 2 'bad'", "file '../outside/elsewhere.onnx' is outside the zoo folder"),
        select("zoo.json file absolute", Main.PARTIAL, c -> manifest(c, c.outside.toAbsolutePath().resolve("elsewhere.onnx").toString()),
            "entry 2 'bad'", "elsewhere.onnx' is outside the zoo folder"),
        select("zoo.json file symlink out", Main.PARTIAL, c -> {
          Files.copy(GOOD, c.outside.resolve("elsewhere.onnx"));
          Files.createSymbolicLink(c.zoo.resolve("link.onnx"), c.outside.resolve("elsewhere.onnx"));
          manifest(c, "link.onnx");
        }, "entry 2 'bad'", "link.onnx: links outside the zoo folder; refused"),
        select("zoo.json file with a NUL", Main.PARTIAL, c -> manifest(c, "a\\u0000b.onnx"), "entry 2 'bad'", "is not a valid path"),
        select("zoo.json file missing", Main.PARTIAL, c -> manifest(c, "nope.onnx"), "entry 2 'bad'", "nope.onnx: no such file"),
        select("zoo.json huge adapter count", Main.PARTIAL, c -> Files.writeString(c.zoo.resolve("zoo.json"),
            "{\"experts\": [{\"file\": \"good.onnx\"}, {\"id\": \"bad\", \"file\": \"good.onnx\", \"adapters\": {\"input\": \"a\", \"count\": 4000000000}}]}"),
            "entry 2 'bad'", "adapters.count 4000000000 is more than 65536 adapters"),
        select("zoo.json wrong types", Main.PARTIAL, c -> Files.writeString(c.zoo.resolve("zoo.json"),
            "{\"experts\": [{\"file\": \"good.onnx\"}, {\"id\": \"bad\", \"file\": \"good.onnx\", \"preprocess\": {\"std\": [0]}}]}"),
            "entry 2 'bad'", "std values must be positive"),
        select("zoo.json not JSON", Main.BAD_INPUT, c -> Files.writeString(c.zoo.resolve("zoo.json"), "{\"experts\": [{\"file\": \"good.onnx\"},"),
            "zoo.json: not valid JSON"),
        select("zoo.json empty", Main.BAD_INPUT, c -> Files.write(c.zoo.resolve("zoo.json"), new byte[0]), "zoo.json: expected {\"experts\": [...]}"),
        // ---- datasets: the task is bad (exit 3), or single images are left out and listed (exit 1)
        select("idx 0 bytes", Main.BAD_INPUT, c -> c.data = idx(c, 0, null, b -> new byte[0]), "t-images-idx3-ubyte: too short for an IDX header"),
        select("idx truncated", Main.BAD_INPUT, c -> c.data = idx(c, 0, null, b -> Arrays.copyOf(b, b.length - 100)), "t-images-idx3-ubyte: truncated: header says 60 x 28 x 28 bytes"),
        select("idx huge declared count", Main.BAD_INPUT, c -> c.data = idx(c, 0x7fffffff, 0x7fffffff, b -> b),
            "t-images-idx3-ubyte: truncated: header says 2147483647 x 28 x 28 bytes"),
        select("idx labels mismatch", Main.BAD_INPUT, c -> c.data = idx(c, 0, 59, b -> b), "t-images-idx3-ubyte: 60 images but t-labels-idx1-ubyte has 59 labels"),
        select("idx wrong dtype", Main.BAD_INPUT, c -> c.data = idx(c, 0, null, b -> {
          b[2] = 0x0d;  // float32
          return b;
        }), "t-images-idx3-ubyte: not an IDX file of unsigned bytes (magic 0xd03)"),
        select("idx gzip corrupt", Main.BAD_INPUT, c -> {
          c.data = idx(c, 0, null, b -> b);
          byte[] gz = Fixtures.gzip(Files.readAllBytes(c.data));
          Path labels = c.data.resolveSibling("t-labels-idx1-ubyte");
          Files.write(c.dir.resolve("t-labels-idx1-ubyte.gz"), Fixtures.gzip(Files.readAllBytes(labels)));
          Files.delete(c.data);
          Files.delete(labels);
          c.data = Files.write(c.data.resolveSibling("t-images-idx3-ubyte.gz"), Arrays.copyOf(gz, gz.length / 2));
        }, "t-images-idx3-ubyte.gz: cannot read"),
        select("idx single class", Main.BAD_INPUT, c -> {
          c.data = idx(c, 0, null, b -> b);
          byte[] l = Files.readAllBytes(c.data.resolveSibling("t-labels-idx1-ubyte"));
          Arrays.fill(l, 8, l.length, (byte) 3);
          Files.write(c.data.resolveSibling("t-labels-idx1-ubyte"), l);
        }, "60 images of 1 class; a task needs at least 2 classes"),
        select("single-example task", Main.BAD_INPUT, c -> c.data = folder(c, 1, 1), "1 images of 1 class; a task needs at least 2 classes"),
        select("one example per class", Main.OK, c -> c.data = folder(c, 2, 1), "have a single example: knn-loo counts each as misclassified"),
        select("png and jpeg corrupt, truncated, huge", Main.PARTIAL, c -> {
          c.data = folder(c, 2, 6);
          Path c0 = c.data.resolve("c0");
          byte[] png = Files.readAllBytes(c0.resolve("0.png")), jpg = Fixtures.encode(new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY), "jpeg");
          Files.write(c0.resolve("cut.png"), Arrays.copyOf(png, png.length / 2));
          Files.write(c0.resolve("cut.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
          Files.write(c0.resolve("empty.jpg"), new byte[0]);
          Files.write(c0.resolve("text.jpg"), "not a jpeg".getBytes(StandardCharsets.UTF_8));
          byte[] huge = png.clone();
          ByteBuffer.wrap(huge).putInt(16, 0x10000000).putInt(20, 0x10000000);  // IHDR width and height
          Files.write(c0.resolve("huge.png"), huge);
        }, "12 images (28x28 gray), 2 classes", "left out 5:", "c0/cut.png: not a readable image", "c0/cut.jpg: not a readable image",
            "c0/empty.jpg: not a readable image", "c0/text.jpg: not a readable image",
            "c0/huge.png: not a readable image: its header declares 268435456x268435456 pixels, more than its"),
        select("arrow dataset 0 bytes", Main.BAD_INPUT, c -> c.data = Files.write(c.dir.resolve("data.arrow"), new byte[0]), "data.arrow: "),
        select("arrow dataset negative height", Main.BAD_INPUT, c -> c.data = Fixtures.writeArrowDataset(c.dir.resolve("data.arrow"), -1, -1),
            "data.arrow: none of its 6 images could be read", "9 pixel values do not make a -1x-1x9 image"));
  }

  @BeforeAll
  void fillCache(@TempDir Path shared) throws Exception {
    images = folder(new Ctx(Files.createDirectories(shared.resolve("base")), null), 10, 6);
    cache = shared.resolve("cache");
    Path zoo = Files.createDirectories(shared.resolve("zoo"));
    Files.copy(GOOD, zoo.resolve("good.onnx"));
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", zoo.toString(), "--data", images.toString(), "--cache", cache.toString(), "--device", "cpu", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
    cached = snapshot(cache);
    assertTrue(cached.keySet().stream().anyMatch(f -> f.endsWith(".arrow")), cached.toString());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("catalogue")
  void badInputFailsAloneWithItsReason(String name, String command, int exit, Setup setup, List<String> expect, @TempDir Path dir) throws Exception {
    Ctx c = new Ctx(dir, images);
    setup.apply(c);
    ScoreCommandTest.Run r = command.equals("score")
        ? ScoreCommandTest.run("score", "--embeddings", c.emb.toString(), "--labels", c.labels.toString(), "--proxy", "knn-loo")
        : ScoreCommandTest.run("select", "--zoo", c.zoo.toString(), "--data", c.data.toString(), "--cache", cache.toString(), "--device", "cpu");
    String said = r.out() + r.err();
    assertEquals(exit, r.code(), name + ":\n" + said);
    for (String e : expect) assertTrue(said.contains(e), name + ": expected \"" + e + "\" in\n" + said);
    if (exit == Main.PARTIAL) {  // the good expert is still scored
      assertTrue(command.equals("score") ? r.out().matches("(?s).*\\bgood\\s+\\S*0\\.\\d+.*") : r.out().contains("pick (task-aware, budget 1): good"),
          name + ": the good expert is not ranked\n" + said);
    }
    // what a good run cached is untouched and still readable
    Map<String, String> now = snapshot(cache);
    for (var e : cached.entrySet()) assertEquals(e.getValue(), now.get(e.getKey()), name + ": cached " + e.getKey() + " changed or lost");
    for (String f : now.keySet())
      if (f.endsWith(".arrow")) assertTrue(new Experts.Source("x", cache.resolve(f), null, null).load().rows() > 0, f);
    assertTrue(now.keySet().stream().noneMatch(f -> f.contains(".tmp-")), name + ": temporary files left in the cache " + now.keySet());
  }

  /** Relative path -> SHA-256 of every file under the cache (the lock file aside). */
  static Map<String, String> snapshot(Path cache) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(cache)) {
      for (Path f : s.filter(Files::isRegularFile).toList()) {
        String rel = cache.relativize(f).toString();
        if (!rel.endsWith(".lock")) out.put(rel, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
      }
    }
    return out;
  }

  /** A zoo.json listing the good model and an entry 'bad' with the given file. */
  static void manifest(Ctx c, String file) throws Exception {
    Files.writeString(c.zoo.resolve("zoo.json"), "{\"experts\": [{\"file\": \"good.onnx\"}, {\"id\": \"bad\", \"file\": \"" + file + "\"}]}");
  }

  /** An ImageFolder of {@code classes} classes of {@code perClass} example images each. */
  static Path folder(Ctx c, int classes, int perClass) throws Exception {
    Path out = c.dir.resolve("images");
    List<Path> src;
    try (Stream<Path> s = Files.list(EXAMPLE.resolve("images"))) {
      src = s.sorted().limit(classes).toList();
    }
    for (int k = 0; k < src.size(); k++) {
      Path d = Files.createDirectories(out.resolve("c" + k));
      List<Path> files;
      try (Stream<Path> s = Files.list(src.get(k))) {
        files = s.sorted().limit(perClass).toList();
      }
      for (int i = 0; i < files.size(); i++) Files.copy(files.get(i), d.resolve(i + ".png"));
    }
    return out;
  }

  interface Bytes {
    byte[] apply(byte[] b) throws Exception;
  }

  /**
   * An IDX pair of the first 60 example images (six of each class) with the image file's bytes changed, and
   * the counts in the headers overwritten where non-zero / non-null.
   */
  static Path idx(Ctx c, int imageCount, Integer labelCount, Bytes change) throws Exception {
    Path folder = folder(c, 10, 6);
    List<Path> files;
    try (Stream<Path> s = Files.walk(folder)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    ByteBuffer im = ByteBuffer.allocate(16 + files.size() * 784).putInt(0x803).putInt(imageCount != 0 ? imageCount : files.size()).putInt(28).putInt(28);
    ByteBuffer lb = ByteBuffer.allocate(8 + files.size()).putInt(0x801).putInt(labelCount != null ? labelCount : files.size());
    for (Path f : files) {
      BufferedImage img = ImageIO.read(f.toFile());
      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) im.put((byte) img.getRaster().getSample(x, y, 0));
      lb.put((byte) Integer.parseInt(f.getParent().getFileName().toString().substring(1)));
    }
    Files.write(c.dir.resolve("t-labels-idx1-ubyte"), lb.array());
    return Files.write(c.dir.resolve("t-images-idx3-ubyte"), change.apply(im.array()));
  }

  /** A ModelProto whose graph holds a node whose attribute holds a graph..., {@code depth} times. */
  static byte[] nested(int depth) {
    byte[] g = new byte[0];
    for (int i = 0; i < depth; i++) g = field(1, field(5, field(6, g)));  // GraphProto.node{NodeProto.attribute{AttributeProto.g}}
    return field(7, g);  // ModelProto.graph
  }

  private static byte[] field(int number, byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 8);
    for (long v : new long[] {(long) number << 3 | 2, body.length}) {
      while ((v & ~0x7FL) != 0) {
        out.write((int) (v & 0x7F | 0x80));
        v >>>= 7;
      }
      out.write((int) v);
    }
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** The bytes with one string replaced by another of the same length. */
  static byte[] replace(byte[] in, String from, String to) {
    byte[] a = from.getBytes(StandardCharsets.UTF_8), b = to.getBytes(StandardCharsets.UTF_8);
    assertEquals(a.length, b.length, "same length keeps the protobuf's lengths valid");
    for (int i = 0; i + a.length <= in.length; i++)
      if (Arrays.equals(in, i, i + a.length, a, 0, a.length)) {
        byte[] out = in.clone();
        System.arraycopy(b, 0, out, i, b.length);
        return out;
      }
    throw new AssertionError(from + " not found");
  }
}
