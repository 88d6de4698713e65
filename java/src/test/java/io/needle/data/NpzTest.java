package io.needle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code .npz} archives of float16 arrays, as the oracle saves its test logits, and the half-to-float conversion. */
public class NpzTest {
  /** A version-1 .npy of little-endian float16 values, as {@code np.save} writes it. */
  public static byte[] npyHalf(short[] halves, int rows, int cols) {
    String dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
    int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 2 * halves.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
    b.put(header.getBytes(StandardCharsets.ISO_8859_1));
    for (short h : halves) b.putShort(h);
    return b.array();
  }

  /** Writes a compressed .npz of the given entries (names without .npy). */
  public static void writeNpz(Path file, Map<String, byte[]> entries) throws IOException {
    try (OutputStream o = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(o)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        z.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
        z.write(e.getValue());
        z.closeEntry();
      }
    }
  }

  /** The float16 bits of a float that a half holds exactly (normal range; for tests). */
  public static short half(float f) {
    int bits = Float.floatToIntBits(f);
    int sign = (bits >>> 16) & 0x8000, exp = ((bits >>> 23) & 0xff) - 127 + 15, mant = (bits >>> 13) & 0x3ff;
    if (f == 0) return (short) sign;
    if (exp <= 0 || exp >= 31 || (bits & 0x1fff) != 0) throw new IllegalArgumentException(f + " is not exactly a normal half");
    return (short) (sign | (exp << 10) | mant);
  }

  @Test
  void halfToFloatCoversEveryKindOfHalf() {
    assertEquals(1.0f, Npy.halfToFloat((short) 0x3c00));
    assertEquals(-2.0f, Npy.halfToFloat((short) 0xc000));
    assertEquals(65504f, Npy.halfToFloat((short) 0x7bff), "largest half");
    assertEquals(0x1p-14f, Npy.halfToFloat((short) 0x0400), "smallest normal");
    assertEquals(0x1p-24f, Npy.halfToFloat((short) 0x0001), "smallest subnormal");
    assertEquals(0x3ffp-24f, Npy.halfToFloat((short) 0x03ff), "largest subnormal");
    assertEquals(0.333251953125f, Npy.halfToFloat((short) 0x3555), "1/3 rounded to half");
    assertEquals(Float.floatToIntBits(-0.0f), Float.floatToIntBits(Npy.halfToFloat((short) 0x8000)));
    assertEquals(Float.POSITIVE_INFINITY, Npy.halfToFloat((short) 0x7c00));
    assertEquals(Float.NEGATIVE_INFINITY, Npy.halfToFloat((short) 0xfc00));
    assertTrue(Float.isNaN(Npy.halfToFloat((short) 0x7e00)));
    // every finite half round-trips through the test's own float-to-half for normal values
    for (int h = 0x0400; h < 0x7c00; h++) assertEquals((short) h, half(Npy.halfToFloat((short) h)));
  }

  @Test
  void readsFloat16ArraysFromAnNpz(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("x.npz");
    writeNpz(f, new java.util.LinkedHashMap<>(Map.of("lr0.002_seed0", npyHalf(new short[] {half(1), half(-0.5f), half(3), half(0.25f), half(-8), half(0)}, 3, 2))));
    Map<String, Npy.Array> a = Npy.readNpz(f);
    assertEquals(1, a.size());
    Npy.Array x = a.get("lr0.002_seed0");
    assertArrayEquals(new long[] {3, 2}, x.shape());
    assertArrayEquals(new float[] {1, -0.5f, 3, 0.25f, -8, 0}, x.toFloats());
  }

  @Test
  void garbledAndWrongArchivesAreErrorsNamingTheFile(@TempDir Path dir) throws Exception {
    Path garbled = dir.resolve("garbled.npz");
    Files.write(garbled, "this is not a zip archive at all, just text".getBytes(StandardCharsets.UTF_8));
    NeedleException e = assertThrows(NeedleException.class, () -> Npy.readNpz(garbled));
    assertEquals(NeedleException.Code.BAD_INPUT, e.code());
    assertTrue(e.getMessage().contains("garbled.npz") && e.getMessage().contains("zip"), e.getMessage());

    // a real archive cut in half
    Path whole = dir.resolve("whole.npz"), cut = dir.resolve("cut.npz");
    writeNpz(whole, Map.of("a", npyHalf(new short[200], 100, 2)));
    byte[] bytes = Files.readAllBytes(whole);
    Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    e = assertThrows(NeedleException.class, () -> Npy.readNpz(cut));
    assertTrue(e.getMessage().contains("cut.npz"), e.getMessage());

    // an entry whose .npy is truncated: names the archive and the entry
    Path bad = dir.resolve("bad.npz");
    byte[] npy = npyHalf(new short[6], 3, 2);
    writeNpz(bad, Map.of("lr0.002_seed1", java.util.Arrays.copyOf(npy, npy.length - 4)));
    e = assertThrows(NeedleException.class, () -> Npy.readNpz(bad));
    assertTrue(e.getMessage().contains("bad.npz") && e.getMessage().contains("lr0.002_seed1") && e.getMessage().contains("truncated"), e.getMessage());

    // an entry that is not an array
    Path other = dir.resolve("other.npz");
    writeNpz(other, Map.of("notes.txt", "hello".getBytes(StandardCharsets.UTF_8)));
    e = assertThrows(NeedleException.class, () -> Npy.readNpz(other));
    assertTrue(e.getMessage().contains("other.npz"), e.getMessage());

    e = assertThrows(NeedleException.class, () -> Npy.readNpz(dir.resolve("missing.npz")));
    assertTrue(e.getMessage().contains("missing.npz") && e.getMessage().contains("no such file"), e.getMessage());
  }
}
