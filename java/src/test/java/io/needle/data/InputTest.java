package io.needle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Fixtures;
import io.needle.NeedleException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The .npy reader and the label checks, on files made here. */
class InputTest {
  @TempDir Path dir;

  @Test
  void npyRoundTripAndRemappedLabels() throws Exception {
    Path f = dir.resolve("a.npy");
    Npy.writeFloats(f, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Npy.Array a = Npy.read(f);
    assertArrayEquals(new long[] {2, 3}, a.shape());
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, a.toFloats());
    Path l = dir.resolve("l.npy");
    Npy.writeLongs(l, new int[] {42, -3, 42, 7});
    Labels labels = Experts.labels(l);
    assertArrayEquals(new int[] {2, 0, 2, 1}, labels.classes0());
    assertEquals(42, labels.original(2));
  }

  @Test
  void float64AndBigEndianAreRead() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
    b.putDouble(1.5).putDouble(-2.25);
    Path f = raw("b.npy", "{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }", b.array());
    assertArrayEquals(new float[] {1.5f, -2.25f}, Npy.read(f).toFloats());
  }

  @Test
  void badFilesNameTheFileAndTheProblem() throws Exception {
    Path empty = Files.write(dir.resolve("empty.npy"), new byte[0]);
    assertBad(empty, "empty");
    Path garbage = Files.write(dir.resolve("garbage.npy"), "hello world, not numpy".getBytes());
    assertBad(garbage, "bad magic");
    Path fortran = raw("f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }", new byte[4]);
    assertBad(fortran, "Fortran");
    Path complex = raw("c.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 1), }", new byte[8]);
    assertBad(complex, "dtype");
    Path truncated = raw("t.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 10), }", new byte[40]);
    assertBad(truncated, "truncated");
    assertBad(dir.resolve("missing.npy"), "no such file");
  }

  @Test
  void labelsNeedTwoExamplesAndTwoClasses() throws Exception {
    assertThrows(NeedleException.class, () -> Labels.of(new int[] {3}, "x"));
    NeedleException e = assertThrows(NeedleException.class, () -> Labels.of(new int[] {3, 3, 3}, "lab.npy"));
    assertTrue(e.getMessage().contains("lab.npy") && e.getMessage().contains("same label"), e.getMessage());
    Path l = dir.resolve("l.npy");
    Npy.writeFloats(l, new float[] {0.5f, 1}, 2, 0);
    assertBad(l, "not an integer");
  }

  /**
   * Issue 11 item 2: a truncated .arrow fell back to the stream reader, which took the file's magic for a message
   * length and allocated ~1.3 GB. Sizes are now checked against the file's length before anything is allocated.
   */
  @Test
  void truncatedArrowFilesFailWithoutAllocatingWhatTheyClaim() throws Exception {
    float[] x = new float[300 * 64];
    for (int i = 0; i < x.length; i++) x[i] = i % 97;
    Path whole = dir.resolve("whole.arrow"), stream = dir.resolve("stream.arrow");
    Fixtures.writeArrowExpert(whole, x, 64);
    Fixtures.writeArrowExpert(stream, x, 64, true);
    assertEquals(300, new Experts.Source("x", whole, null, null).load().rows());
    assertEquals(300, new Experts.Source("x", stream, null, null).load().rows());
    byte[] f = Files.readAllBytes(whole), st = Files.readAllBytes(stream);
    ByteBuffer huge = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putInt(-1).putInt(0x7ffffff0);
    Path[] bad = {
        Files.write(dir.resolve("cut.arrow"), java.util.Arrays.copyOf(f, f.length * 2 / 3)),
        Files.write(dir.resolve("cut-early.arrow"), java.util.Arrays.copyOf(f, 100)),
        Files.write(dir.resolve("cut-stream.arrow"), java.util.Arrays.copyOf(st, st.length * 2 / 3)),
        Files.write(dir.resolve("claims.arrow"), huge.array())};
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    for (Path p : bad) {
      long before = threads.getCurrentThreadAllocatedBytes();
      assertBad(p, "truncated");
      long allocated = threads.getCurrentThreadAllocatedBytes() - before;
      assertTrue(allocated < 32 << 20, p + ": allocated " + allocated + " bytes");
    }
  }

  /** Issue 11 item 6: nulls in Arrow vectors are Needle's BAD_INPUT naming the file, never a runtime exception. */
  @Test
  void nullsInArrowVectorsNameTheFile() throws Exception {
    try (RootAllocator a = new RootAllocator();
        FixedSizeListVector list = new FixedSizeListVector("embedding", a, FieldType.nullable(new ArrowType.FixedSizeList(2)), null);
        Float4Vector col = new Float4Vector("d0", a); BigIntVector label = new BigIntVector("label", a)) {
      list.addOrGetVector(FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)));
      list.allocateNew();
      Float4Vector data = (Float4Vector) list.getDataVector();
      col.allocateNew(3);
      label.allocateNew(3);
      for (int i = 0; i < 3; i++) {
        list.setNotNull(i);
        data.setSafe(2 * i, i);
        if (i != 1) data.setSafe(2 * i + 1, i);  // element 1 of row 1 stays null
        if (i != 2) col.set(i, i);
        if (i != 0) label.set(i, i);
      }
      data.setValueCount(6);
      list.setValueCount(3);
      col.setValueCount(3);
      label.setValueCount(3);
      NeedleException inMemory = assertThrows(NeedleException.class, () -> ArrowTables.embedding("mem", list));
      assertTrue(inMemory.getMessage().startsWith("mem: row 1, element 1 is null"), inMemory.getMessage());
      Path elem = dir.resolve("elem.arrow"), column = dir.resolve("column.arrow"), labels = dir.resolve("labels.arrow");
      try (VectorSchemaRoot r = VectorSchemaRoot.of(list)) {
        Fixtures.writeArrow(elem, r, false);
      }
      try (VectorSchemaRoot r = VectorSchemaRoot.of(col)) {
        Fixtures.writeArrow(column, r, false);
      }
      try (VectorSchemaRoot r = VectorSchemaRoot.of(label)) {
        Fixtures.writeArrow(labels, r, false);
      }
      assertBad(elem, "row 1, element 1 is null");
      assertBad(column, "row 2, column 'd0' is null");
      NeedleException l = assertThrows(NeedleException.class, () -> Experts.labels(labels));
      assertEquals(NeedleException.Code.BAD_INPUT, l.code());
      assertTrue(l.getMessage().equals(labels + ": label of row 0 is null"), l.getMessage());
    }
  }

  /** Issue 11 item 6: int64 label values beyond the int range are classes like any other value. */
  @Test
  void int64LabelsAboveTwoToThe31AreMapped() throws Exception {
    long big = (1L << 40) + 1;
    ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : new long[] {big, 5, big, big - 1}) b.putLong(v);
    Path npy = raw("l64.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", b.array());
    Labels l = Experts.labels(npy);
    assertEquals(3, l.classes());
    assertArrayEquals(new int[] {2, 0, 2, 1}, l.classes0());
    assertEquals(big, l.original(2));
    assertEquals(big - 1, l.original(1));
    Path arrow = dir.resolve("l64.arrow");
    try (RootAllocator a = new RootAllocator(); BigIntVector v = new BigIntVector("label", a)) {
      v.allocateNew(4);
      long[] vals = {big, 5, big, big - 1};
      for (int i = 0; i < 4; i++) v.set(i, vals[i]);
      v.setValueCount(4);
      try (VectorSchemaRoot r = VectorSchemaRoot.of(v)) {
        Fixtures.writeArrow(arrow, r, false);
      }
    }
    assertArrayEquals(new int[] {2, 0, 2, 1}, Experts.labels(arrow).classes0());
    assertEquals(big, Experts.labels(arrow).original(2));
  }

  /**
   * Issue 11 item 6: a 2N x D matrix is never taken for N x 2D (or N x D): the declared shape must match the data
   * exactly, and the rows must match the labels.
   */
  @Test
  void declaredShapesAreCheckedAgainstTheData() throws Exception {
    int n = 6, d = 2;
    float[] x = new float[2 * n * d];
    for (int i = 0; i < x.length; i++) x[i] = i;
    Path tall = dir.resolve("tall.npy");
    Npy.writeFloats(tall, x, 2 * n, d);
    NeedleException rows = assertThrows(NeedleException.class, () -> new Experts.Source("tall", tall, null, null).load().validate(n));
    assertTrue(rows.getMessage().contains("has 12 rows (examples) but the labels have 6"), rows.getMessage());
    // a header declaring N x D in front of 2N x D values
    ByteBuffer b = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(x);
    Path more = raw("more.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 2), }", b.array());
    assertBad(more, "holds 96 data bytes but its shape [6, 2] declares 48");
    // an Arrow fixed-size list whose values are twice what its rows x width declare
    try (RootAllocator a = new RootAllocator();
        FixedSizeListVector list = new FixedSizeListVector("embedding", a, FieldType.nullable(new ArrowType.FixedSizeList(d)), null)) {
      list.addOrGetVector(FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)));
      list.allocateNew();
      Float4Vector data = (Float4Vector) list.getDataVector();
      for (int i = 0; i < x.length; i++) data.setSafe(i, x[i]);
      for (int i = 0; i < n; i++) list.setNotNull(i);
      list.setValueCount(n);
      data.setValueCount(x.length);  // after the list's, which sets it to rows x width
      NeedleException e = assertThrows(NeedleException.class, () -> ArrowTables.embedding("mem", list));
      assertTrue(e.getMessage().contains("mem: column 'embedding' holds 24 values for 6 rows of 2"), e.getMessage());
    }
  }

  private Path raw(String name, String dict, byte[] data) throws Exception {
    return Fixtures.npy(dir.resolve(name), dict, data);
  }

  private static void assertBad(Path f, String words) {
    NeedleException e = assertThrows(NeedleException.class, () -> {
      if (f.getFileName().toString().startsWith("l")) Experts.labels(f);
      else new Experts.Source("x", f, null, null).load();
    });
    assertEquals(NeedleException.Code.BAD_INPUT, e.code());
    assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains(words), e.getMessage());
  }
}
