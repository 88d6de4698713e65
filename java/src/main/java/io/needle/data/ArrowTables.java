package io.needle.data;

import io.needle.NeedleException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FloatingPointVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.InvalidArrowFileException;
import org.apache.arrow.vector.ipc.message.ArrowBlock;

/**
 * Arrow IPC input (file or stream format): embeddings as one fixed-size-list column of floats, or as one
 * float column per dimension; labels as an integer column named {@code label}.
 */
public final class ArrowTables {
  private ArrowTables() {}

  /**
   * Reads an embedding matrix from an Arrow IPC file into a buffer of {@code pool} (off the Java heap, one bulk copy out
   * of the memory-mapped file) where the layout allows: the file format, uncompressed little-endian record batches of
   * one fixed-size-list column of float32 without nulls (the embedding cache's files). Anything else is read as
   * {@link #readEmbedding(Path, String)} reads it.
   */
  public static Embedding readEmbedding(Path file, String expert, OffHeap pool) {
    if (pool != null) {
      Embedding e = mapped(file, expert, pool);
      if (e != null) return e;
    }
    return readEmbedding(file, expert);
  }

  /** The off-heap fast path of {@link #readEmbedding(Path, String, OffHeap)}, or null where the layout does not allow it. */
  private static Embedding mapped(Path file, String expert, OffHeap pool) {
    java.nio.MappedByteBuffer map;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 16 || size > Integer.MAX_VALUE) return null;
      map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
    } catch (IOException e) {
      return null;  // the reader proper reports it
    }
    ByteBuffer root = null;
    try {
      ByteBuffer b = map.duplicate().order(ByteOrder.LITTLE_ENDIAN);
      int size = b.limit();
      for (int i = 0; i < MAGIC.length; i++) if (b.get(i) != MAGIC[i] || b.get(size - MAGIC.length + i) != MAGIC[i]) return null;
      int footerLen = b.getInt(size - MAGIC.length - 4);
      int footerAt = size - MAGIC.length - 4 - footerLen;
      if (footerLen <= 0 || footerAt < 8) return null;
      org.apache.arrow.flatbuf.Footer footer = org.apache.arrow.flatbuf.Footer.getRootAsFooter(b.slice(footerAt, footerLen).order(ByteOrder.LITTLE_ENDIAN));
      org.apache.arrow.flatbuf.Schema schema = footer.schema();
      if (schema == null || schema.endianness() != org.apache.arrow.flatbuf.Endianness.Little || schema.fieldsLength() != 1
          || footer.dictionariesLength() != 0 || footer.recordBatchesLength() < 1)
        return null;
      org.apache.arrow.flatbuf.Field field = schema.fields(0);
      if (field.typeType() != org.apache.arrow.flatbuf.Type.FixedSizeList || field.childrenLength() != 1) return null;
      int cols = ((org.apache.arrow.flatbuf.FixedSizeList) field.type(new org.apache.arrow.flatbuf.FixedSizeList())).listSize();
      org.apache.arrow.flatbuf.Field item = field.children(0);
      if (cols < 1 || item.typeType() != org.apache.arrow.flatbuf.Type.FloatingPoint
          || ((org.apache.arrow.flatbuf.FloatingPoint) item.type(new org.apache.arrow.flatbuf.FloatingPoint())).precision()
              != org.apache.arrow.flatbuf.Precision.SINGLE)
        return null;
      // each batch: where its values lie, checked against the file before anything is allocated
      int batches = footer.recordBatchesLength();
      if (batches > footerLen / 24) return null;  // a Block takes 24 bytes of the footer: a larger count is corrupt
      long[] at = new long[batches], count = new long[batches];
      long rows = 0;
      for (int k = 0; k < batches; k++) {
        org.apache.arrow.flatbuf.Block block = footer.recordBatches(k);
        long off = block.offset(), meta = block.metaDataLength(), body = block.bodyLength();
        // exact arithmetic throughout: a crafted offset or length near Long.MAX_VALUE must not wrap past a bound check
        // (ArithmeticException is a RuntimeException: the reader proper then reports the file)
        if (off < 8 || meta < 8 || body < 0 || Math.addExact(Math.addExact(off, meta), body) > footerAt) return null;
        int len = b.getInt((int) off), start = (int) off + 4;
        if (len == -1) {  // continuation marker, then the length
          len = b.getInt((int) off + 4);
          start += 4;
        }
        if (len <= 0 || start + (long) len > off + meta) return null;
        org.apache.arrow.flatbuf.Message m = org.apache.arrow.flatbuf.Message.getRootAsMessage(b.slice(start, len).order(ByteOrder.LITTLE_ENDIAN));
        if (m.headerType() != org.apache.arrow.flatbuf.MessageHeader.RecordBatch) return null;
        org.apache.arrow.flatbuf.RecordBatch rb = (org.apache.arrow.flatbuf.RecordBatch) m.header(new org.apache.arrow.flatbuf.RecordBatch());
        long n = rb.length();
        if (rb.compression() != null || rb.nodesLength() != 2 || rb.buffersLength() != 3 || n < 0 || n > Integer.MAX_VALUE) return null;
        if (rb.nodes(0).length() != n || rb.nodes(0).nullCount() != 0 || rb.nodes(1).length() != n * cols || rb.nodes(1).nullCount() != 0)
          return null;
        org.apache.arrow.flatbuf.Buffer data = rb.buffers(2);
        long bytes = Math.multiplyExact(4L, Math.multiplyExact(n, (long) cols));
        if (data.offset() < 0 || data.offset() > body || data.length() < bytes || bytes > body - data.offset()) return null;
        at[k] = off + meta + data.offset();
        count[k] = n * cols;
        rows = Math.addExact(rows, n);
      }
      long total = Math.multiplyExact(rows, (long) cols);
      if (rows < 1 || total > Integer.MAX_VALUE / 4 || total * 4 > size) return null;
      root = pool.take((int) (total * 4));
      java.nio.FloatBuffer dst = root.slice(0, (int) (total * 4)).order(ByteOrder.nativeOrder()).asFloatBuffer();
      for (int k = 0; k < batches; k++)  // Arrow's buffers are little-endian: a memcpy, or a byte-swapping copy
        dst.put(b.slice((int) at[k], (int) (4 * count[k])).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
      ByteBuffer taken = root;
      Embedding e = Embedding.offHeap(expert, dst.clear(), (int) rows, cols, () -> pool.give(taken));
      root = null;
      return e;
    } catch (InternalError e) {  // the file was truncated while mapped (the JVM's SIGBUS)
      throw new NeedleException(NeedleException.Code.IO, file + ": changed while being read: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      return null;  // a malformed footer or message: the reader proper says what is wrong
    } finally {
      if (root != null) pool.give(root);
      Unmap.unmap(map);
    }
  }

  /** Reads an embedding matrix from an Arrow IPC file. */
  public static Embedding readEmbedding(Path file, String expert) {
    return read(file, (roots) -> {
      List<float[]> rows = new ArrayList<>(), chunks = new ArrayList<>();
      int cols = -1;
      for (VectorSchemaRoot root : roots) {
        List<FieldVector> vs = root.getFieldVectors();
        if (vs.isEmpty()) throw Npy.bad(file, "has no columns");
        if (vs.size() == 1 && vs.get(0) instanceof FixedSizeListVector list) {
          if (cols >= 0 && cols != list.getListSize()) throw Npy.bad(file, "batches differ in width");
          cols = list.getListSize();
          float[] batch = bulk(list, root.getRowCount(), file.toString());  // checked, then one copy (the cache's files)
          if (batch != null) {
            flush(rows, chunks, cols);
            chunks.add(batch);
          } else {
            listRows(list, root.getRowCount(), file.toString(), rows);
          }
        } else {
          for (FieldVector v : vs)
            if (!(v instanceof FloatingPointVector))
              throw Npy.bad(file, "column '" + v.getName() + "' is " + v.getMinorType() + "; expected one fixed-size list of floats or only float columns");
          if (cols >= 0 && cols != vs.size()) throw Npy.bad(file, "batches differ in width");
          cols = vs.size();
          for (int r = 0; r < root.getRowCount(); r++) {
            float[] row = new float[cols];
            for (int c = 0; c < cols; c++) {
              if (vs.get(c).isNull(r)) throw Npy.bad(file, "row " + rows.size() + ", column '" + vs.get(c).getName() + "' is null");
              row[c] = (float) ((FloatingPointVector) vs.get(c)).getValueAsDouble(r);
            }
            rows.add(row);
          }
        }
      }
      flush(rows, chunks, cols);
      long total = chunks.stream().mapToLong(c -> c.length).sum();
      if (total == 0 || cols <= 0) throw Npy.bad(file, "holds no rows");
      if (chunks.size() == 1) return new Embedding(expert, chunks.get(0), (int) (total / cols), cols);
      float[] all = new float[(int) total];
      int at = 0;
      for (float[] c : chunks) {
        System.arraycopy(c, 0, all, at, c.length);
        at += c.length;
      }
      return new Embedding(expert, all, (int) (total / cols), cols);
    });
  }

  /**
   * An expert's embeddings from an in-memory Arrow vector (for pipelines that already hold Arrow data): a
   * fixed-size list of floats, one list per example.
   *
   * @throws NeedleException BAD_INPUT naming the expert if the vector is not a list of floats or has nulls
   */
  public static Embedding embedding(String expert, FixedSizeListVector vector) {
    List<float[]> rows = new ArrayList<>();
    listRows(vector, vector.getValueCount(), expert, rows);
    if (rows.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, expert + ": vector '" + vector.getName() + "' holds no rows");
    return matrix(expert, rows, vector.getListSize());
  }

  /** Appends the first {@code count} lists of a fixed-size list of floats as rows; {@code who} names it in errors. */
  /** Moves the rows read one by one into a chunk of their own, keeping the order of the batches. */
  private static void flush(List<float[]> rows, List<float[]> chunks, int cols) {
    if (rows.isEmpty()) return;
    float[] c = new float[rows.size() * cols];
    for (int r = 0; r < rows.size(); r++) System.arraycopy(rows.get(r), 0, c, r * cols, cols);
    chunks.add(c);
    rows.clear();
  }

  /**
   * The values of a list column of float32 without nulls in one copy (the layout is row-major already), or null when
   * the column is another type or has nulls (the element-wise path then reports them).
   */
  private static float[] bulk(FixedSizeListVector list, int count, String who) {
    if (!(list.getDataVector() instanceof org.apache.arrow.vector.Float4Vector data) || list.getNullCount() != 0 || data.getNullCount() != 0
        || count != list.getValueCount() || (long) data.getValueCount() != (long) count * list.getListSize())
      return null;
    long bytes = 4L * count * list.getListSize();
    if (bytes > Integer.MAX_VALUE || data.getDataBuffer().capacity() < bytes)
      throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": column '" + list.getName() + "' declares " + count + " rows of "
          + list.getListSize() + " values but holds " + data.getDataBuffer().capacity() + " bytes; the file is truncated or corrupt");
    float[] out = new float[count * list.getListSize()];
    data.getDataBuffer().nioBuffer(0, (int) bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static void listRows(FixedSizeListVector list, int count, String who, List<float[]> out) {
    if (!(list.getDataVector() instanceof FloatingPointVector data))
      throw new NeedleException(NeedleException.Code.BAD_INPUT,
          who + ": column '" + list.getName() + "' is a list of " + list.getDataVector().getMinorType() + ", not floats");
    int width = list.getListSize();
    if ((long) data.getValueCount() != (long) list.getValueCount() * width)
      throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": column '" + list.getName() + "' holds " + data.getValueCount()
          + " values for " + list.getValueCount() + " rows of " + width + "; the values must be exactly rows x width");
    // a corrupt file may declare more values than its buffers hold: refuse before allocating rows of them
    if (data instanceof org.apache.arrow.vector.BaseFixedWidthVector fixed
        && fixed.getDataBuffer().capacity() < (long) count * width * fixed.getTypeWidth())
      throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": column '" + list.getName() + "' declares " + count + " rows of "
          + width + " values but holds " + fixed.getDataBuffer().capacity() + " bytes; the file is truncated or corrupt");
    for (int r = 0; r < count; r++) {
      if (list.isNull(r)) throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": row " + out.size() + " is null");
      float[] row = new float[width];
      for (int c = 0; c < width; c++) {
        if (data.isNull(r * width + c)) throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": row " + out.size() + ", element " + c + " is null");
        row[c] = (float) data.getValueAsDouble(r * width + c);
      }
      out.add(row);
    }
  }

  private static Embedding matrix(String expert, List<float[]> rows, int cols) {
    float[] data = new float[rows.size() * cols];
    for (int r = 0; r < rows.size(); r++) System.arraycopy(rows.get(r), 0, data, r * cols, cols);
    return new Embedding(expert, data, rows.size(), cols);
  }

  /** Reads the integer column {@code label} of an Arrow IPC file (any int64 values). */
  public static long[] readLabels(Path file) {
    return read(file, roots -> {
      java.util.stream.LongStream.Builder out = java.util.stream.LongStream.builder();
      int n = 0;
      for (VectorSchemaRoot root : roots) {
        FieldVector v = root.getVector("label");
        if (v == null) throw Npy.bad(file, "has no 'label' column (columns: " + root.getSchema().getFields() + ")");
        if (!(v instanceof BaseIntVector iv)) throw Npy.bad(file, "column 'label' is " + v.getMinorType() + ", not integers");
        for (int r = 0; r < root.getRowCount(); r++, n++) {
          if (v.isNull(r)) throw Npy.bad(file, "label of row " + n + " is null");
          out.add(iv.getValueAsLong(r));
        }
      }
      return out.build().toArray();
    });
  }

  /** Reads the batches of an Arrow file; each root is valid until the next is loaded. */
  interface Body<T> {
    T apply(Iterable<VectorSchemaRoot> batches);
  }

  /**
   * Opens an Arrow IPC file in the file format (it starts with the magic {@code ARROW1}), else the stream format,
   * and hands its batches to the body. Every size the file declares (footer blocks, stream messages) is checked
   * against the file's length before anything is allocated, so a truncated or corrupt file fails with a
   * message instead of an allocation of whatever its bytes claim.
   *
   * @throws NeedleException BAD_INPUT naming the file if it cannot be read
   */
  static <T> T read(Path file, Body<T> body) {
    // a valid file's buffers are slices of what is read from it; a corrupt row count makes Arrow allocate
    // whatever it claims (hundreds of MB of direct memory for a 1 KB file), so the allocator is capped
    long size;
    try {
      size = java.nio.file.Files.size(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot read: " + e.getMessage(), e);
    }
    try (BufferAllocator alloc = new RootAllocator(2 * size + (16 << 20))) {
      boolean fileFormat = startsWithMagic(file);
      try {
        return readWith(file, alloc, body, fileFormat);
      } catch (InvalidArrowFileException e) {
        throw Npy.bad(file, "is truncated or corrupt: it starts as an Arrow IPC file but " + e.getMessage());
      }
    } catch (NeedleException e) {
      throw e;
    } catch (java.nio.file.NoSuchFileException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
    } catch (org.apache.arrow.memory.OutOfMemoryException e) {
      throw Npy.bad(file, "is corrupt: it declares more data than its " + size + " bytes can hold");
    } catch (IOException | RuntimeException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": not a readable Arrow IPC file: " + e.getMessage(), e);
    }
  }

  private static final byte[] MAGIC = "ARROW1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private static boolean startsWithMagic(Path file) throws IOException {
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      return java.util.Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
    }
  }

  /** Checks that every block of a file-format footer lies inside the file. */
  private static void checkBlocks(Path file, ArrowFileReader reader, long size) throws IOException {
    List<ArrowBlock> blocks = new ArrayList<>(reader.getDictionaryBlocks());
    blocks.addAll(reader.getRecordBlocks());
    for (ArrowBlock b : blocks)
      if (b.getOffset() < 0 || b.getMetadataLength() < 0 || b.getBodyLength() < 0
          || b.getOffset() + b.getMetadataLength() + b.getBodyLength() > size)
        throw Npy.bad(file, "is truncated or corrupt: a record batch at offset " + b.getOffset() + " declares "
            + b.getMetadataLength() + " + " + b.getBodyLength() + " bytes but the file has " + size);
  }

  /**
   * Walks the messages of an Arrow IPC stream (each: optional 0xFFFFFFFF continuation, int32 metadata length,
   * flatbuffer metadata, body) and checks that each declared length fits in what is left of the file.
   */
  private static void checkStream(Path file, FileChannel ch, long size) throws IOException {
    long pos = 0;
    while (pos + 4 <= size) {
      int len = readInt(ch, pos);
      pos += 4;
      if (len == -1) {
        if (pos + 4 > size) break;
        len = readInt(ch, pos);
        pos += 4;
      }
      if (len == 0) return;  // end of stream
      if (len < 0 || len > size - pos)
        throw Npy.bad(file, "is truncated or not Arrow IPC: a message at offset " + (pos - 4) + " declares " + Integer.toUnsignedLong(len)
            + " bytes of metadata but the file has " + (size - pos) + " bytes left");
      ByteBuffer meta = ByteBuffer.allocate(len);
      while (meta.hasRemaining() && ch.read(meta, pos + meta.position()) > 0) {}
      meta.flip();
      long bodyLength = Message.getRootAsMessage(meta.order(ByteOrder.LITTLE_ENDIAN)).bodyLength();
      pos += len;
      if (bodyLength < 0 || bodyLength > size - pos)
        throw Npy.bad(file, "is truncated: a message at offset " + (pos - len) + " declares a body of " + bodyLength
            + " bytes but the file has " + (size - pos) + " bytes left");
      pos += bodyLength;
    }
    if (pos != size) throw Npy.bad(file, "is truncated: " + (size - pos) + " stray bytes at offset " + pos + " where a message should start");
  }

  private static int readInt(FileChannel ch, long pos) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining() && ch.read(b, pos + b.position()) > 0) {}
    return b.getInt(0);
  }

  private static <T> T readWith(Path file, BufferAllocator alloc, Body<T> body, boolean fileFormat) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (!fileFormat) checkStream(file, ch, size);
      ch.position(0);
      try (ArrowReader reader = fileFormat ? new ArrowFileReader(ch, alloc) : new ArrowStreamReader(ch, alloc)) {
        if (reader instanceof ArrowFileReader f) checkBlocks(file, f, size);
        return apply(reader, body);
      }
    }
  }

  private static <T> T apply(ArrowReader reader, Body<T> body) throws IOException {
    try {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      // batches are handed to the body one at a time, each valid until the next is loaded
      Iterable<VectorSchemaRoot> batches = () -> new java.util.Iterator<>() {
        Boolean has;

        @Override
        public boolean hasNext() {
          if (has == null) {
            try {
              has = reader.loadNextBatch();
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
          return has;
        }

        @Override
        public VectorSchemaRoot next() {
          if (!hasNext()) throw new java.util.NoSuchElementException();
          has = null;
          return root;
        }
      };
      return body.apply(batches);
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
