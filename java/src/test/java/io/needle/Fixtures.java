package io.needle;

import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.data.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.FieldType;

/** The scikit-learn reference fixtures made by tools/fixtures/make_fixtures.py (see their README). */
public final class Fixtures {
  public static final List<String> EXPERTS = List.of("clean_d8", "mid_d64", "weak_d200", "noise_d8", "dups", "ties_int");

  private Fixtures() {}

  public static Path dir() {
    try {
      return Path.of(Fixtures.class.getResource("/fixtures/labels.npy").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A model of java/src/test/resources/onnx/ (made by tools/fixtures/make_onnx_fixtures.py). */
  public static Path onnx(String name) {
    try {
      return Path.of(Fixtures.class.getResource("/onnx/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Labels labels() {
    return Experts.labels(dir().resolve("labels.npy"));
  }

  public static Embedding expert(String name) {
    return new Experts.Source(name, dir().resolve(name + ".npy"), null, null).load();
  }

  public static int[] ints(String file) {
    return Npy.read(dir().resolve(file)).toInts();
  }

  /** Rows of a reference CSV (header dropped), split on commas. */
  public static List<String[]> csv(String file) {
    try {
      List<String[]> out = new ArrayList<>();
      List<String> lines = Files.readAllLines(dir().resolve(file));
      for (String l : lines.subList(1, lines.size())) if (!l.isBlank()) out.add(l.split(","));
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes an n x d float32 matrix as an Arrow IPC file (one fixed-size-list column), as needle embed does. */
  public static void writeArrowExpert(Path file, float[] x, int d) throws IOException {
    writeArrowExpert(file, x, d, false);
  }

  /** As {@link #writeArrowExpert(Path, float[], int)}, in the stream format if {@code stream}. */
  public static void writeArrowExpert(Path file, float[] x, int d, boolean stream) throws IOException {
    int n = x.length / d;
    try (org.apache.arrow.memory.RootAllocator a = new org.apache.arrow.memory.RootAllocator();
        FixedSizeListVector list = new FixedSizeListVector("embedding", a, FieldType.nullable(new ArrowType.FixedSizeList(d)), null)) {
      list.addOrGetVector(FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)));
      list.allocateNew();
      Float4Vector data = (Float4Vector) list.getDataVector();
      for (int i = 0; i < n; i++) {
        list.setNotNull(i);
        for (int c = 0; c < d; c++) data.setSafe(i * d + c, x[i * d + c]);
      }
      list.setValueCount(n);
      data.setValueCount(n * d);
      try (VectorSchemaRoot root = VectorSchemaRoot.of(list)) {
        writeArrow(file, root, stream);
      }
    }
  }

  /** Writes a version-1 .npy file with the given header dictionary (padded as NumPy does) and raw data bytes. */
  public static Path npy(Path file, String dict, byte[] data) throws IOException {
    String header = dict + " ".repeat((64 - (10 + dict.length() + 1) % 64) % 64) + "\n";
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + header.length() + data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length()).put(header.getBytes()).put(data);
    return Files.write(file, b.array());
  }

  /** Writes one batch as an Arrow IPC file, or in the stream format. */
  public static void writeArrow(Path file, VectorSchemaRoot root, boolean stream) throws IOException {
    try (var ch = Files.newByteChannel(file, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
            java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
        org.apache.arrow.vector.ipc.ArrowWriter w = stream ? new org.apache.arrow.vector.ipc.ArrowStreamWriter(root, null, ch)
            : new ArrowFileWriter(root, null, ch)) {
      w.start();
      w.writeBatch();
      w.end();
    }
  }
  /** Gzips bytes (an IDX file as distributed). */
  public static byte[] gzip(byte[] b) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream z = new java.util.zip.GZIPOutputStream(out)) {
      z.write(b);
    }
    return out.toByteArray();
  }

  /** Encodes an image ("png", "jpeg") to bytes. */
  public static byte[] encode(java.awt.image.BufferedImage img, String format) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    javax.imageio.ImageIO.write(img, format, out);
    return out.toByteArray();
  }

  /** Writes labels as an Arrow IPC file with one int64 column {@code label}. */
  public static void writeArrowLabels(Path file, long[] values) throws IOException {
    try (var a = new org.apache.arrow.memory.RootAllocator(); var v = new org.apache.arrow.vector.BigIntVector("label", a)) {
      v.allocateNew(values.length);
      for (int i = 0; i < values.length; i++) v.set(i, values[i]);
      v.setValueCount(values.length);
      try (var r = VectorSchemaRoot.of(v)) {
        writeArrow(file, r, false);
      }
    }
  }

  /**
   * An Arrow image dataset: 6 gray 3x3 images (two classes) as fixed-size lists of uint8 pixels, with {@code
   * height} and {@code width} columns holding the given values unless they are null (then the shape is inferred).
   */
  public static Path writeArrowDataset(Path file, Integer height, Integer width) throws IOException {
    try (var a = new org.apache.arrow.memory.RootAllocator();
        var list = new FixedSizeListVector("image", a, FieldType.nullable(new ArrowType.FixedSizeList(9)), null);
        var label = new org.apache.arrow.vector.BigIntVector("label", a);
        var h = new org.apache.arrow.vector.IntVector("height", a); var w = new org.apache.arrow.vector.IntVector("width", a)) {
      list.addOrGetVector(FieldType.nullable(new ArrowType.Int(8, false)));
      list.allocateNew();
      var px = (org.apache.arrow.vector.UInt1Vector) list.getDataVector();
      label.allocateNew(6);
      h.allocateNew(6);
      w.allocateNew(6);
      for (int i = 0; i < 6; i++) {
        list.setNotNull(i);
        for (int j = 0; j < 9; j++) px.setSafe(i * 9 + j, (i * 40 + j * 3) & 0xff);
        label.set(i, i % 2);
        if (height != null) h.set(i, height);
        if (width != null) w.set(i, width);
      }
      for (var v : List.of(list, label, h, w)) v.setValueCount(6);
      px.setValueCount(54);
      try (var r = height == null ? VectorSchemaRoot.of(list, label) : VectorSchemaRoot.of(list, label, h, w)) {
        writeArrow(file, r, false);
      }
    }
    return file;
  }
}
