package io.needle.data;

import io.needle.NeedleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A folder of per-expert embedding files: every {@code *.npy} and {@code *.arrow} file is one expert, named by
 * its file stem, except {@code <expert>.logits.npy}: the expert's upstream classifier outputs (N x Z, before softmax)
 * on the same examples, which LEEP and NCE read. Listing is cheap; each expert is read only when {@link Source#load} is called, so a pool of
 * any size is streamed with memory bounded by the experts in flight.
 */
public final class Experts {
  private Experts() {}

  /** The file name ending of an expert's upstream logits. */
  public static final String LOGITS = ".logits.npy";

  /**
   * One expert's file, not yet read.
   *
   * @param logits its upstream logits file, or null
   * @param problem why it cannot be read, or null
   */
  public record Source(String expert, Path file, Path logits, String problem) {
    /**
     * Reads the embedding.
     *
     * @throws NeedleException BAD_INPUT naming the file and the problem
     */
    public Embedding load() {
      return load(null);
    }

    /**
     * Reads the embedding; a float32 {@code .npy} file, or an Arrow file of the embedding cache's layout, into a buffer of
     * {@code pool}, off the Java heap (one bulk copy out of the memory-mapped file), which {@link Embedding#release()}
     * gives back.
     *
     * @param pool where off-heap embeddings take their memory, or null for a Java array
     * @throws NeedleException BAD_INPUT naming the file and the problem
     */
    public Embedding load(OffHeap pool) {
      if (problem != null) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": " + problem);
      String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
      if (name.endsWith(".arrow")) return ArrowTables.readEmbedding(file, expert, pool);
      return matrix(expert, file, pool);
    }

    /** @return the upstream logits, or null when the expert has none */
    public Embedding loadLogits() {
      return logits == null ? null : matrix(expert, logits, null);
    }
  }

  private static Embedding matrix(String expert, Path file, OffHeap pool) {
    return Npy.read(file, a -> {  // the bulk copy out of the (memory-mapped) file is the only pass over its bytes
      if (a.shape().length != 2)
        throw Npy.bad(file, "has shape " + java.util.Arrays.toString(a.shape()) + "; an expert's embeddings are N x D");
      if (a.kind() != 'f') throw Npy.bad(file, "holds integers (dtype " + a.kind() + a.itemSize() + "); embeddings must be float32 or float64");
      if (a.shape()[0] < 1 || a.shape()[1] < 1) throw Npy.bad(file, "is empty (shape " + java.util.Arrays.toString(a.shape()) + ")");
      if (pool != null && a.itemSize() == 4 && a.size() <= Integer.MAX_VALUE / 4) return offHeap(expert, a, pool);
      return new Embedding(expert, a.toFloats(), (int) a.shape()[0], (int) a.shape()[1]);
    });
  }

  private static Embedding offHeap(String expert, Npy.Array a, OffHeap pool) {
    int bytes = (int) (a.size() * 4);
    java.nio.ByteBuffer root = pool.take(bytes);
    try {
      java.nio.FloatBuffer dst = root.slice(0, bytes).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
      dst.put(a.data().duplicate().order(a.data().order()).asFloatBuffer());  // a memcpy, or a byte-swapping copy
      return Embedding.offHeap(expert, dst.clear(), (int) a.shape()[0], (int) a.shape()[1], () -> pool.give(root));
    } catch (InternalError e) {  // a memory-mapped file was truncated while being read (the JVM's SIGBUS)
      pool.give(root);
      throw new NeedleException(NeedleException.Code.IO, a.file() + ": changed while being read: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      pool.give(root);
      throw e;
    }
  }

  /**
   * Lists the experts of a folder, sorted by name.
   *
   * @param exclude a file in the folder that is not an expert (e.g. the labels), or null
   * @throws NeedleException BAD_INPUT if the folder holds no expert, or two files of one name (a.npy and a.arrow),
   *     naming both
   */
  public static List<Source> list(Path dir, Path exclude) {
    if (!Files.isDirectory(dir)) throw new NeedleException(NeedleException.Code.BAD_INPUT, dir + ": not a directory");
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return (n.endsWith(".npy") || n.endsWith(".arrow")) && !Files.isDirectory(p);
      }).filter(p -> exclude == null || !sameFile(p, exclude)).sorted().toList();
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, dir + ": cannot list: " + e.getMessage(), e);
    }
    Map<String, Path> logits = new HashMap<>();
    for (Path p : files) {
      String n = p.getFileName().toString();
      if (n.toLowerCase(Locale.ROOT).endsWith(LOGITS)) logits.put(n.substring(0, n.length() - LOGITS.length()), p);
    }
    Map<String, Path> seen = new HashMap<>();
    List<Source> out = new ArrayList<>();
    for (Path p : files) {
      String n = p.getFileName().toString();
      if (n.toLowerCase(Locale.ROOT).endsWith(LOGITS)) continue;
      String stem = n.substring(0, n.lastIndexOf('.'));
      Path first = seen.putIfAbsent(stem, p);
      if (first != null)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, dir + ": expert name '" + stem + "' is used by two files, "
            + first.getFileName() + " and " + p.getFileName() + "; rename or remove one");
      out.add(new Source(stem, p, logits.get(stem), null));
    }
    if (out.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, dir + ": no *.npy or *.arrow expert files");
    return out;
  }

  /** Reads labels from a {@code .npy} (integers) or {@code .arrow} (column {@code label}) file. */
  public static Labels labels(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    long[] values;
    if (name.endsWith(".arrow")) {
      values = ArrowTables.readLabels(file);
    } else {
      Npy.Array a = Npy.read(file);
      if (a.shape().length != 1 && !(a.shape().length == 2 && a.shape()[1] == 1))
        throw Npy.bad(file, "labels must be a vector, got shape " + java.util.Arrays.toString(a.shape()));
      values = a.toLongs();
    }
    return Labels.of(values, file.toString());
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.exists(b) && Files.isSameFile(a, b);
    } catch (IOException e) {
      return false;
    }
  }
}
