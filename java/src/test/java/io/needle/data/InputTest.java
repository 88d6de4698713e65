package io.needle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
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

  private Path raw(String name, String dict, byte[] data) throws Exception {
    String header = dict + " ".repeat((64 - (10 + dict.length() + 1) % 64) % 64) + "\n";
    ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length()).put(header.getBytes()).put(data);
    return Files.write(dir.resolve(name), b.array());
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
