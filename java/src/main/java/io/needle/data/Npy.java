package io.needle.data;

import io.needle.NeedleException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format versions 1, 2 and 3): C-order arrays of float16/float32/float64 and signed or
 * unsigned integers, either byte order; and {@code .npz} archives of them ({@link #readNpz}). Errors name the file
 * and the problem.
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-zA-Z])(\\d+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** A parsed array: its shape, element kind ('f', 'i', 'u', 'b'), element size and raw data. */
  public record Array(Path file, long[] shape, char kind, int itemSize, ByteBuffer data) {
    /** @return the number of elements */
    public long size() {
      long n = 1;
      for (long s : shape) n *= s;
      return n;
    }

    /** @return the elements converted to float (float64 is rounded); integers are converted exactly where possible */
    public float[] toFloats() {
      float[] out = new float[arrayLength()];
      ByteBuffer b = data.duplicate().order(data.order());
      try {
        if (kind == 'f' && itemSize == 4) {
          b.asFloatBuffer().get(out);  // one bulk copy (byte-swapped if the file is big-endian)
        } else if (kind == 'f' && itemSize == 8) {
          java.nio.DoubleBuffer d = b.asDoubleBuffer();
          double[] chunk = new double[Math.min(out.length, 8192)];
          for (int at = 0; at < out.length; at += chunk.length) {
            int n = Math.min(chunk.length, out.length - at);
            d.get(chunk, 0, n);
            for (int i = 0; i < n; i++) out[at + i] = (float) chunk[i];
          }
        } else {
          for (int i = 0; i < out.length; i++) out[i] = (float) value(b, i);
        }
      } catch (InternalError e) {  // a memory-mapped file was truncated while being read (the JVM's SIGBUS)
        throw changed(e);
      }
      return out;
    }

    /** @return the elements as ints; fails on non-integer or out-of-range values */
    public int[] toInts() {
      int[] out = new int[arrayLength()];
      ByteBuffer b = data.duplicate().order(data.order());
      try {
        for (int i = 0; i < out.length; i++) {
          double v = value(b, i);
          if (v != Math.rint(v) || v < Integer.MIN_VALUE || v > Integer.MAX_VALUE)
            throw bad(file, "element " + i + " = " + v + " is not an integer label");
          out[i] = (int) v;
        }
      } catch (InternalError e) {  // labels of 1 MiB or more are memory-mapped too
        throw changed(e);
      }
      return out;
    }

    /** @return the elements as int64 values, exactly (not through a double); fails on non-integer or out-of-range values */
    public long[] toLongs() {
      long[] out = new long[arrayLength()];
      ByteBuffer b = data.duplicate().order(data.order());
      try {
        return longs(b, out);
      } catch (InternalError e) {  // labels of 1 MiB or more are memory-mapped too
        throw changed(e);
      }
    }

    private long[] longs(ByteBuffer b, long[] out) {
      for (int i = 0; i < out.length; i++) {
        int at = i * itemSize;
        if (kind == 'i' || kind == 'u') {
          long v = switch (itemSize) {
            case 1 -> kind == 'i' ? b.get(at) : b.get(at) & 0xff;
            case 2 -> kind == 'i' ? b.getShort(at) : b.getShort(at) & 0xffff;
            case 4 -> kind == 'i' ? b.getInt(at) : b.getInt(at) & 0xffffffffL;
            default -> b.getLong(at);
          };
          if (kind == 'u' && itemSize == 8 && v < 0)
            throw bad(file, "element " + i + " = " + Long.toUnsignedString(v) + " is beyond the int64 range of labels");
          out[i] = v;
        } else {
          double v = value(b, i);
          if (v != Math.rint(v) || !(Math.abs(v) < 0x1p63)) throw bad(file, "element " + i + " = " + v + " is not an integer label");
          out[i] = (long) v;
        }
      }
      return out;
    }

    /** A memory-mapped file truncated while being read (the JVM turns SIGBUS into InternalError). */
    private NeedleException changed(InternalError e) {
      return new NeedleException(NeedleException.Code.IO, file + ": changed while being read: " + e.getMessage(), e);
    }

    private int arrayLength() {
      long n = size();
      if (n > Integer.MAX_VALUE) throw bad(file, "has " + n + " elements, more than one Java array holds");
      return (int) n;
    }

    private double value(ByteBuffer b, int i) {
      int at = i * itemSize;
      switch (kind) {
        case 'f':
          return itemSize == 4 ? b.getFloat(at) : itemSize == 8 ? b.getDouble(at) : halfToFloat(b.getShort(at));
        case 'i':
          return switch (itemSize) { case 1 -> b.get(at); case 2 -> b.getShort(at); case 4 -> b.getInt(at); default -> b.getLong(at); };
        case 'u':
          return switch (itemSize) {
            case 1 -> b.get(at) & 0xff; case 2 -> b.getShort(at) & 0xffff; case 4 -> b.getInt(at) & 0xffffffffL;
            default -> (double) b.getLong(at);
          };
        default:
          return b.get(at) != 0 ? 1 : 0;
      }
    }
  }

  /**
   * Files of at least this many bytes are memory-mapped rather than read into the Java heap: their data is then
   * copied once, in bulk, where it is used ({@link Array#toFloats}), at memory bandwidth.
   */
  static final long MAP_AT = 1 << 20;

  /** Reads a whole {@code .npy} file (memory-mapped from {@link #MAP_AT} bytes on; unmapped when no longer reachable). */
  public static Array read(Path file) {
    return parse(file, bytes(file));
  }

  /**
   * Reads a {@code .npy} file and hands its parsed array to {@code use}; a memory-mapped file is unmapped as soon as
   * {@code use} returns, so what it returns must not refer to the array's data (copy it, as {@link Array#toFloats}).
   * Reading many large files this way keeps no mapping (and no page of it in the resident set) beyond the one in use.
   */
  public static <T> T read(Path file, java.util.function.Function<Array, T> use) {
    ByteBuffer buf = bytes(file);
    try {
      return use.apply(parse(file, buf));
    } finally {
      if (buf.isDirect()) Unmap.unmap(buf);
    }
  }

  private static ByteBuffer bytes(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) throw bad(file, "is larger than 2 GiB");
      if (size >= MAP_AT) return ch.map(FileChannel.MapMode.READ_ONLY, 0, size);  // stays valid after the channel is closed
      ByteBuffer buf = ByteBuffer.allocate((int) size);
      while (buf.hasRemaining() && ch.read(buf) >= 0) {}
      return buf.flip();
    } catch (java.nio.file.NoSuchFileException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot read: " + e.getMessage(), e);
    }
  }

  static Array parse(Path file, ByteBuffer buf) {
    buf.order(ByteOrder.LITTLE_ENDIAN);
    if (buf.remaining() < 10) throw bad(file, "is empty or too short to be a .npy file (" + buf.remaining() + " bytes)");
    for (int i = 0; i < MAGIC.length; i++) if (buf.get(i) != MAGIC[i]) throw bad(file, "is not a .npy file (bad magic)");
    int major = buf.get(6) & 0xff;
    int headerLen, start;
    if (major == 1) {
      headerLen = buf.getShort(8) & 0xffff;
      start = 10;
    } else if (major == 2 || major == 3) {
      if (buf.remaining() < 12) throw bad(file, "is truncated in its header");
      headerLen = buf.getInt(8);
      start = 12;
    } else {
      throw bad(file, "has unsupported .npy format version " + major);
    }
    if (headerLen < 0 || (long) start + headerLen > buf.limit()) throw bad(file, "is truncated in its header");
    byte[] h = new byte[headerLen];
    buf.get(start, h);
    String header = new String(h, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
    if (!d.find()) throw bad(file, "has an unsupported dtype (header: " + header.trim() + "); use float32, float64 or integers");
    if (!f.find() || !s.find()) throw bad(file, "has a malformed header: " + header.trim());
    if (f.group(1).equals("True")) throw bad(file, "is in Fortran order; save it with np.ascontiguousarray");
    char order = d.group(1).charAt(0), kind = d.group(2).charAt(0);
    int item = d.group(3).length() > 2 ? 0 : Integer.parseInt(d.group(3));
    boolean ok = (kind == 'f' && (item == 2 || item == 4 || item == 8)) || ((kind == 'i' || kind == 'u') && (item == 1 || item == 2 || item == 4 || item == 8))
        || (kind == 'b' && item == 1);
    if (!ok) throw bad(file, "has dtype " + d.group(1) + kind + item + "; use float16, float32, float64 or integers");
    String[] dims = s.group(1).split(",");
    if (!s.group(1).matches("[\\s,0-9]*")) throw bad(file, "has a malformed shape (" + s.group(1).trim() + ")");
    long[] shape;
    long count = 1;
    try {
      shape = java.util.Arrays.stream(dims).map(String::trim).filter(x -> !x.isEmpty()).mapToLong(Long::parseLong).toArray();
      for (long v : shape) count = Math.multiplyExact(count, v);
      Math.multiplyExact(count, item);
    } catch (ArithmeticException | NumberFormatException e) {
      throw bad(file, "declares a shape (" + s.group(1).trim() + ") larger than any file");
    }
    long need = count * item, have = buf.limit() - (start + headerLen);
    if (have < need) throw bad(file, "is truncated: shape " + java.util.Arrays.toString(shape) + " needs " + need + " data bytes, found " + have);
    // more data than declared is another shape (a 2N x D matrix under an N x D header), not padding: np.save writes none
    if (have > need) throw bad(file, "holds " + have + " data bytes but its shape " + java.util.Arrays.toString(shape) + " declares " + need);
    ByteBuffer data = buf.slice(start + headerLen, (int) need).order(order == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    return new Array(file, shape, kind, item, data);
  }

  /**
   * Reads every array of a NumPy {@code .npz} archive ({@code np.savez} or {@code np.savez_compressed}: a zip of
   * {@code <key>.npy} entries), keyed by entry name without {@code .npy}, in archive order.
   *
   * @throws NeedleException BAD_INPUT naming the file (and the entry) when it is missing, not a zip archive, or holds
   *     an entry that is not a readable .npy array; IO when it cannot be read
   */
  public static java.util.Map<String, Array> readNpz(Path file) {
    java.util.Map<String, Array> out = new java.util.LinkedHashMap<>();
    if (!Files.exists(file)) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
    try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(file.toFile())) {
      for (java.util.Enumeration<? extends java.util.zip.ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
        java.util.zip.ZipEntry e = en.nextElement();
        if (e.isDirectory()) continue;
        String name = e.getName();
        if (!name.endsWith(".npy")) throw bad(file, "entry '" + name + "' is not a .npy array");
        if (e.getSize() > Integer.MAX_VALUE) throw bad(file, "entry '" + name + "' is larger than 2 GiB");
        byte[] bytes;
        try (java.io.InputStream in = zip.getInputStream(e)) {
          bytes = in.readAllBytes();
        } catch (IOException | RuntimeException ex) {  // a corrupt deflate stream or CRC
          throw bad(file, "entry '" + name + "' is corrupt: " + ex.getMessage());
        }
        String key = name.substring(0, name.length() - 4);
        if (out.put(key, parse(Path.of(file + ":" + name), ByteBuffer.wrap(bytes))) != null) throw bad(file, "entry '" + name + "' given twice");
      }
    } catch (java.util.zip.ZipException e) {
      throw bad(file, "is not a readable .npz (zip) archive: " + e.getMessage());
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot read: " + e.getMessage(), e);
    }
    if (out.isEmpty()) throw bad(file, "holds no arrays");
    return out;
  }

  /**
   * IEEE 754 binary16 to float (exact: every half is a float). JDK 17 has no {@code Float.float16ToFloat}.
   *
   * @param h the half's 16 bits
   */
  public static float halfToFloat(short h) {
    int bits = h & 0xffff, sign = (bits & 0x8000) << 16, exp = (bits >>> 10) & 0x1f, mant = bits & 0x3ff;
    if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));  // Inf, NaN (payload kept)
    if (exp == 0) {
      float v = mant * 0x1p-24f;  // zero and subnormals: mant * 2^-24, exact in float
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** Writes a float32 matrix ({@code shape = [rows, cols]}, or [rows] if cols is 0) as a version-1 .npy file. */
  public static void writeFloats(Path file, float[] values, int rows, int cols) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    write(file, "<f4", cols > 0 ? "(" + rows + ", " + cols + ")" : "(" + rows + ",)", b.array());
  }

  /** Writes an int64 vector as a version-1 .npy file. */
  public static void writeLongs(Path file, int[] values) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      writeLongs(out, values);
    }
  }

  /** Writes an int64 vector in the version-1 .npy format to a stream. */
  public static void writeLongs(OutputStream out, int[] values) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) b.putLong(v);
    write(out, "<i8", "(" + values.length + ",)", b.array());
  }

  private static void write(Path file, String descr, String shape, byte[] data) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      write(out, descr, shape, data);
    }
  }

  private static void write(OutputStream out, String descr, String shape, byte[] data) throws IOException {
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    int total = 10 + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    out.write(MAGIC);
    out.write(new byte[] {1, 0, (byte) (header.length() & 0xff), (byte) (header.length() >> 8)});
    out.write(header.getBytes(StandardCharsets.ISO_8859_1));
    out.write(data);
  }

  static NeedleException bad(Path file, String problem) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, file + ": " + problem);
  }
}
