package io.needle.embed;

import io.needle.NeedleException;
import io.needle.data.ArrowTables;
import io.needle.data.AtomicWrite;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.data.Npy;
import io.needle.zoo.Expert;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A folder of embeddings, one Arrow IPC file per expert ({@code <expert id>.arrow}: one fixed-size-list column
 * {@code embedding}), that {@code needle score} reads as it is. Each file carries its key in the schema
 * metadata: a hash of the model file (and its external data), the dataset (pixels and labels), the
 * preprocessing, the input/output names and the adapter. A file is reused only when its key matches, so a
 * changed model or dataset is recomputed, never mixed up.
 *
 * <p>Files are written to a temporary name and renamed into place, so a run killed at any moment leaves either
 * the finished file or none; a later run reuses every finished file. A lock file keeps two runs out of one
 * folder at the same time.
 */
public final class EmbeddingCache implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.needle.embed");
  /** Bumped when the meaning of cached files changes. */
  private static final String FORMAT = "needle-embedding-1";

  /**
   * The folders this process has open. The operating system's lock is per process, and closing any channel of the lock
   * file drops it: a second open in this process is refused here, before it touches the file.
   */
  private static final java.util.Set<Path> OPEN = ConcurrentHashMap.newKeySet();

  private final Path dir;
  private final Path real;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final Map<Path, String> modelHashes = new ConcurrentHashMap<>();

  private EmbeddingCache(Path dir, Path real, FileChannel ch, FileLock lock) {
    this.dir = dir;
    this.real = real;
    this.lockChannel = ch;
    this.lock = lock;
  }

  /**
   * Opens (creating it if needed) a cache folder and removes temporary files left by killed runs.
   *
   * @throws NeedleException IO if the folder cannot be created, or another run holds it
   */
  public static EmbeddingCache open(Path dir) {
    Path real;
    try {
      Files.createDirectories(dir);
      real = dir.toRealPath();
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, dir + ": cannot open the embedding cache: " + e.getMessage(), e);
    }
    if (!OPEN.add(real)) throw new NeedleException(NeedleException.Code.IO, dir + ": this process is already using this embedding cache");
    FileChannel ch = null;
    try {
      ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) throw new NeedleException(NeedleException.Code.IO, dir + ": another needle run is using this embedding cache");
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : s.filter(p -> AtomicWrite.isTemporary(p.getFileName().toString())).toList()) Files.deleteIfExists(p);
      }
      EmbeddingCache c = new EmbeddingCache(dir, real, ch, lock);
      ch = null;
      return c;
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, dir + ": cannot open the embedding cache: " + e.getMessage(), e);
    } finally {
      if (ch != null) {  // not opened: close the channel (dropping any lock it took) and forget the folder
        try {
          ch.close();
        } catch (IOException ignored) {
          // nothing more to release
        }
        OPEN.remove(real);
      }
    }
  }

  /** @return the folder */
  public Path dir() {
    return dir;
  }

  /** @return the file that holds (or will hold) an expert's embeddings */
  public Path file(Expert e) {
    return dir.resolve(e.id() + ".arrow");
  }

  /** @return the key of an expert's embeddings of a dataset */
  public String key(Expert e, Images images) {
    // what the manifest leaves to inference (input, output, layout) is a function of the model file, hashed here
    return sha256(String.join("\n", FORMAT, modelHash(e.file()), images.hash(), e.preprocess().canonical(),
        "input=" + e.input(), "output=" + e.output(),
        "adapter=" + (e.adapter() ? e.adapterInput() + ":" + e.adapterIndex() : "-")).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * @return the cached embeddings of an expert under this key, or null if there are none (or they are stale or
   *     unreadable, which is logged)
   */
  public Embedding get(Expert e, String key) {
    Path f = file(e);
    if (!Files.exists(f)) return null;
    Map<String, String> meta = metadata(f);
    if (meta == null) {
      LOG.warn(f + ": unreadable cache file; recomputing " + e.id());
      return null;
    }
    if (!key.equals(meta.get("needle.key"))) {
      LOG.info(e.id() + ": cached embeddings are for another model, dataset or preprocessing; recomputing");
      return null;
    }
    try {
      Embedding x = ArrowTables.readEmbedding(f, e.id());
      return x;
    } catch (NeedleException ex) {
      LOG.warn(ex.getMessage() + "; recomputing " + e.id());
      return null;
    }
  }

  /** Writes an expert's embeddings atomically, with its key and provenance in the schema metadata. */
  public void put(Expert e, String key, Embedding x, Map<String, String> info) {
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("needle.format", FORMAT);
    meta.put("needle.key", key);
    meta.put("needle.expert", e.id());
    meta.put("needle.model", e.file().getFileName().toString());
    meta.put("needle.model_sha256", modelHash(e.file()));
    meta.put("needle.preprocess", e.preprocess().canonical());
    meta.putAll(info);
    Field item = new Field("item", FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null);
    Field col = new Field("embedding", FieldType.notNullable(new ArrowType.FixedSizeList(x.cols())), List.of(item));
    Schema schema = new Schema(List.of(col), meta);
    AtomicWrite.writeUnsynced(file(e), out -> {
      try (BufferAllocator alloc = new RootAllocator(); VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc)) {
        FixedSizeListVector list = (FixedSizeListVector) root.getVector(0);
        Float4Vector data = (Float4Vector) list.getDataVector();
        int n = x.rows(), d = x.cols();
        list.allocateNew();
        data.allocateNew(n * d);
        // one bulk copy into the (little-endian) Arrow buffer
        data.getDataBuffer().nioBuffer(0, 4 * n * d).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(x.data(), 0, n * d);
        // every value valid: the bitmap's ceil(count / 8) bytes, counted here (Arrow 19 renamed BitVectorHelper's
        // method for it, and Spark 4.1 ships Arrow 18.3: the cache must write on both)
        data.getValidityBuffer().setOne(0, (n * d + 7) / 8);
        data.setValueCount(n * d);
        for (int r = 0; r < n; r++) list.setNotNull(r);
        list.setValueCount(n);
        root.setRowCount(n);
        try (ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(out))) {
          w.start();
          w.writeBatch();
          w.end();
        }
      }
    });
  }

  /** Writes the dataset's labels ({@code labels.npy}, class indices) so {@code needle score} can use the folder. */
  public void putLabels(Images images) {
    AtomicWrite.write(dir.resolve("labels.npy"), out -> Npy.writeLongs(out, images.labels()));
  }

  /** @return the schema metadata of an Arrow file, or null if it cannot be read */
  static Map<String, String> metadata(Path f) {
    try (BufferAllocator alloc = new RootAllocator();
        FileChannel ch = FileChannel.open(f, StandardOpenOption.READ);
        ArrowFileReader r = new ArrowFileReader(ch, alloc)) {
      Map<String, String> m = r.getVectorSchemaRoot().getSchema().getCustomMetadata();
      return m == null ? Map.of() : m;
    } catch (IOException | RuntimeException ex) {
      return null;
    }
  }

  /** SHA-256 of the model file and of every external-data file it names. */
  private String modelHash(Path file) {
    return modelHashes.computeIfAbsent(file, f -> {
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] bytes = Files.readAllBytes(f);  // read once: hashed, then walked for its external-data files
        md.update(bytes);
        for (String loc : io.needle.zoo.OnnxFile.inspect(bytes, f.toString()).externalData().stream().distinct().sorted().toList()) {
          md.update(loc.getBytes(java.nio.charset.StandardCharsets.UTF_8));
          digest(md, f.getParent().resolve(loc));
        }
        return HexFormat.of().formatHex(md.digest());
      } catch (IOException ex) {
        throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": cannot read: " + ex.getMessage(), ex);
      } catch (NoSuchAlgorithmException ex) {
        throw new IllegalStateException(ex);
      }
    });
  }

  private static void digest(MessageDigest md, Path f) throws IOException {
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(f)) {
      for (int k; (k = in.read(buf)) > 0; ) md.update(buf, 0, k);
    }
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      LOG.warn(dir + ": releasing the cache lock: " + e.getMessage());
    } finally {
      OPEN.remove(real);
    }
  }
}
