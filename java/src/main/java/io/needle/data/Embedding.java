package io.needle.data;

import io.needle.NeedleException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * One expert's embeddings of the task's examples: a row-major {@code rows x cols} float32 matrix, row i
 * embedding example i.
 *
 * <p>The values live either in a Java array ({@link #Embedding(String, float[], int, int)}) or off the Java heap, in a
 * direct buffer ({@link #offHeap(String, FloatBuffer, int, int, Runnable)}: how a folder's {@code .npy} files are read
 * for scoring). Native backends use an off-heap matrix in place ({@link #buffer()}); {@link #data()} makes a Java array
 * of it on first use. {@link #release()} hands an off-heap matrix's memory back at once; the embedding must not be used
 * afterwards.
 */
public final class Embedding {
  private final String expert;
  private final int rows, cols;
  private volatile float[] data;
  private FloatBuffer buffer;
  private Runnable release;
  private boolean checked;  // every value found finite (by validate, or by the reader)

  /** Checks shape and shape-consistency; the constructor of every embedding. */
  public Embedding(String expert, float[] data, int rows, int cols) {
    this(expert, Objects.requireNonNull(data, "data"), null, rows, cols, null);
  }

  private Embedding(String expert, float[] data, FloatBuffer buffer, int rows, int cols, Runnable release) {
    long size = data != null ? data.length : buffer.capacity();
    if (rows < 1 || cols < 1 || (long) rows * cols != size)
      throw new NeedleException(NeedleException.Code.BAD_INPUT,
          expert + ": " + rows + " x " + cols + " embedding with " + size + " values");
    this.expert = expert;
    this.data = data;
    this.buffer = buffer;
    this.rows = rows;
    this.cols = cols;
    this.release = release;
  }

  /**
   * An embedding whose values stay off the Java heap.
   *
   * @param values a direct buffer in native byte order, position 0, capacity {@code rows * cols}; not to be changed
   *     while the embedding is in use
   * @param release hands the buffer's memory back (called once, by {@link #release()}), or null to leave it to the
   *     garbage collector
   */
  public static Embedding offHeap(String expert, FloatBuffer values, int rows, int cols, Runnable release) {
    if (!values.isDirect() || values.order() != ByteOrder.nativeOrder() || values.position() != 0)
      throw new IllegalArgumentException("an off-heap embedding needs a direct, native-order buffer at position 0");
    return new Embedding(expert, null, values, rows, cols, release);
  }

  /** @return the expert's name */
  public String expert() {
    return expert;
  }

  /** @return number of rows (examples) */
  public int rows() {
    return rows;
  }

  /** @return number of columns (embedding dimension) */
  public int cols() {
    return cols;
  }

  /** @return the values, row-major, as a Java array (for an off-heap embedding: a copy, made once); do not modify */
  public float[] data() {
    float[] d = data;
    if (d != null) return d;
    synchronized (this) {
      if (data == null) {
        FloatBuffer b = live();
        float[] copy = new float[rows * cols];
        b.duplicate().clear().get(copy);
        data = copy;
      }
      return data;
    }
  }

  /** @return whether the values live off the Java heap (see {@link #buffer()}) */
  public boolean isOffHeap() {
    return buffer != null;
  }

  /**
   * @return the values, row-major, as a read-only buffer: the direct buffer of an off-heap embedding (which native code
   *     may read in place), or a wrap of the array
   */
  public FloatBuffer buffer() {
    FloatBuffer b = buffer;
    if (b != null) return b.asReadOnlyBuffer();
    if (data == null) throw new IllegalStateException(expert + ": embedding used after release()");
    return FloatBuffer.wrap(data).asReadOnlyBuffer();
  }

  /** The direct buffer itself, for backends that hand its address to native code (which must not write to it). */
  public FloatBuffer directBuffer() {
    return buffer != null ? live() : null;
  }

  private FloatBuffer live() {
    if (buffer == null && data == null) throw new IllegalStateException(expert + ": embedding used after release()");
    return buffer;
  }

  /**
   * Hands the memory of an off-heap embedding back now (a Java-array embedding: nothing to do). Nothing may use the
   * embedding, or a buffer or tensor made from it, afterwards. Idempotent.
   */
  public synchronized void release() {
    if (buffer == null) return;
    buffer = null;
    Runnable r = release;
    release = null;
    if (r != null) r.run();
  }

  /**
   * Validates this embedding against the task: the row count must equal the number of labels and every value
   * must be finite.
   *
   * @throws NeedleException BAD_INPUT naming the expert, the row and the column of the first bad value
   */
  public Embedding validate(int examples) {
    if (rows != examples)
      throw new NeedleException(NeedleException.Code.BAD_INPUT,
          expert + ": has " + rows + " rows (examples) but the labels have " + examples);
    if (checked) return this;
    float[] d = data;
    if (d != null) {
      for (int i = 0; i < d.length; i++)
        if (!Float.isFinite(d[i])) throw notFinite(i, d[i]);
    } else {
      FloatBuffer b = live();
      for (int i = 0, n = b.capacity(); i < n; i++) {
        float v = b.get(i);
        if (!Float.isFinite(v)) throw notFinite(i, v);
      }
    }
    checked = true;
    return this;
  }

  private NeedleException notFinite(int i, float v) {
    return new NeedleException(NeedleException.Code.BAD_INPUT,
        expert + ": value " + v + " at row " + (i / cols) + ", column " + (i % cols) + " (NaN or infinite)");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Embedding e && e.expert.equals(expert) && e.rows == rows && e.cols == cols && e.data == data && e.buffer == buffer;
  }

  @Override
  public int hashCode() {
    return Objects.hash(expert, rows, cols, System.identityHashCode(data), System.identityHashCode(buffer));
  }

  @Override
  public String toString() {
    return "Embedding[expert=" + expert + ", rows=" + rows + ", cols=" + cols + (buffer != null ? ", off heap]" : "]");
  }
}
