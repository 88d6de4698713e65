package io.needle.data;

import io.needle.NeedleException;
import io.needle.Problem;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.LargeVarBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.ListVector;

/** The dataset formats {@link Images#open} reads. */
final class Readers {
  private Readers() {}

  /** One image as read: its pixels (h x w x c) or the reason it cannot be used. */
  private record Decoded(String name, int label, int h, int w, int c, byte[] px, String error) {
    static Decoded failed(String name, String error) {
      return new Decoded(name, -1, 0, 0, 0, null, error);
    }
  }

  static Images open(Path path, java.util.function.IntBinaryOperator progress) {
    if (!Files.exists(path)) throw bad(path, "no such file or directory");
    String n = path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (Files.isDirectory(path)) {
      List<Path> idx = idxImageFiles(path);
      if (!idx.isEmpty()) {  // an IDX pair at the top is the dataset, beside any subfolders (e.g. a test/ split)
        if (idx.size() > 1) throw bad(path, "holds " + idx.size() + " IDX image files " + idx.stream().map(p -> p.getFileName().toString()).toList() + "; pass one of them");
        return idx(idx.get(0));
      }
      return imageFolder(path, progress);
    }
    if (n.endsWith(".arrow") || n.endsWith(".arrows") || n.endsWith(".feather") || n.endsWith(".ipc")) return arrow(path);
    if (n.contains("idx3") || n.contains("-ubyte")) return idx(path);
    throw bad(path, "not a dataset: expected an ImageFolder directory, an IDX images file (*-images-idx3-ubyte[.gz]) or an Arrow IPC table (.arrow)");
  }

  // ---------------------------------------------------------------- ImageFolder

  private static final List<String> IMAGE_EXT = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

  private static Images imageFolder(Path dir, java.util.function.IntBinaryOperator progress) {
    List<Path> classes = subdirs(dir);
    if (classes.isEmpty()) throw bad(dir, "an ImageFolder needs one subfolder per class; found none");
    List<String> classNames = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    for (Path c : classes) {
      int label = classNames.size();
      classNames.add(c.getFileName().toString());
      try (Stream<Path> s = Files.walk(c)) {
        s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
            .filter(p -> IMAGE_EXT.stream().anyMatch(e -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(e)))
            .sorted().forEach(p -> {
              files.add(p);
              labels.add(label);
            });
      } catch (IOException e) {
        throw new NeedleException(NeedleException.Code.IO, c + ": cannot list: " + e.getMessage(), e);
      }
    }
    if (files.isEmpty()) {
      List<String> found;
      try (Stream<Path> s = Files.walk(dir, 3)) {
        found = s.filter(p -> p.getFileName().toString().contains("idx3") && Files.isRegularFile(p)).map(p -> dir.relativize(p).toString()).sorted().toList();
      } catch (IOException e) {
        found = List.of();
      }
      throw bad(dir, "no image files (" + String.join(", ", IMAGE_EXT) + ") in its class folders"
          + (found.isEmpty() ? "" : "; found IDX image files " + String.join(", ", found) + ": pass one of them (or its folder) to --data"));
    }
    Decoded[] out = new Decoded[files.size()];
    java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
    IntStream.range(0, out.length).parallel().forEach(i -> {
      if (progress != null) progress.applyAsInt(done.incrementAndGet(), out.length);
      Path f = files.get(i);
      String name = dir.relativize(f).toString();
      try {
        out[i] = decode(name, labels.get(i), Files.readAllBytes(f));
      } catch (IOException e) {
        out[i] = Decoded.failed(name, "cannot read: " + e.getMessage());
      }
    });
    return assemble(dir.toString(), out, classNames);
  }

  private static List<Path> subdirs(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, dir + ": cannot list: " + e.getMessage(), e);
    }
  }

  /**
   * Pixels one encoded byte can hold at most, with room to spare (deflate peaks near 1032:1, GIF's LZW near
   * 2730:1, JPEG near 256:1): an image whose header declares more than its size can hold is corrupt, and is
   * refused before its raster is allocated.
   */
  private static final long PIXELS_PER_BYTE = 4096, PIXELS_SLACK = 1 << 20;

  /** Decodes an encoded image (PNG, JPEG, BMP, GIF) to 8-bit gray or RGB; alpha is dropped. */
  private static Decoded decode(String name, int label, byte[] bytes) {
    BufferedImage img;
    try (javax.imageio.stream.ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      java.util.Iterator<javax.imageio.ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) return Decoded.failed(name, "not a readable image (unknown or corrupt format)");
      javax.imageio.ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        long w = reader.getWidth(0), h = reader.getHeight(0);
        if (w * h > PIXELS_PER_BYTE * bytes.length + PIXELS_SLACK)
          return Decoded.failed(name, "not a readable image: its header declares " + w + "x" + h + " pixels, more than its " + bytes.length + " bytes can hold");
        img = reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      return Decoded.failed(name, "not a readable image: " + e.getMessage());
    }
    if (img == null) return Decoded.failed(name, "not a readable image (unknown or corrupt format)");
    int h = img.getHeight(), w = img.getWidth();
    boolean gray = img.getColorModel().getNumColorComponents() == 1 && img.getType() != BufferedImage.TYPE_BYTE_INDEXED
        && img.getType() != BufferedImage.TYPE_BYTE_BINARY;
    if (gray) {
      Raster r = img.getRaster();
      int bits = img.getColorModel().getComponentSize(0);
      byte[] px = new byte[h * w];
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        r.getSamples(0, y, w, 1, 0, row);
        for (int x = 0; x < w; x++) px[y * w + x] = (byte) (bits > 8 ? row[x] >>> (bits - 8) : bits < 8 ? row[x] * 255 / ((1 << bits) - 1) : row[x]);
      }
      return new Decoded(name, label, h, w, 1, px, null);
    }
    int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
    byte[] px = new byte[h * w * 3];
    for (int i = 0; i < argb.length; i++) {
      px[3 * i] = (byte) (argb[i] >>> 16);
      px[3 * i + 1] = (byte) (argb[i] >>> 8);
      px[3 * i + 2] = (byte) argb[i];
    }
    return new Decoded(name, label, h, w, 3, px, null);
  }

  /**
   * Builds the dataset from the images of the most common size and mode; every other image is a problem
   * naming its size and mode, so one odd file cannot change what the whole dataset looks like.
   */
  private static Images assemble(String source, Decoded[] images, List<String> classNames) {
    Map<String, Integer> shapes = new HashMap<>();
    for (Decoded d : images) if (d.error == null) shapes.merge(d.h + "x" + d.w + "x" + d.c, 1, Integer::sum);
    List<Problem> problems = new ArrayList<>();
    for (Decoded d : images) if (d.error != null) problems.add(new Problem(d.name, d.error));
    if (shapes.isEmpty())
      throw bad(Path.of(source), "none of its " + images.length + " images could be read (first: " + problems.get(0) + ")");
    String top = shapes.entrySet().stream().max(Map.Entry.<String, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
        .get().getKey();
    String[] hwc = top.split("x");
    int h = Integer.parseInt(hwc[0]), w = Integer.parseInt(hwc[1]), c = Integer.parseInt(hwc[2]);
    String mode = h + "x" + w + (c == 1 ? " gray" : " RGB");
    int kept = 0;
    for (Decoded d : images) {
      if (d.error != null) continue;
      if (d.h == h && d.w == w && d.c == c) kept++;
      else problems.add(new Problem(d.name, "image is " + d.h + "x" + d.w + (d.c == 1 ? " gray" : " RGB") + " but the dataset is " + mode
          + " (" + shapes.get(top) + " of " + images.length + " images); left out. Convert the dataset to one size and mode"));
    }
    byte[] px = new byte[kept * h * w * c];
    int[] labels = new int[kept];
    List<String> names = new ArrayList<>(kept);
    int r = 0;
    for (Decoded d : images) {
      if (d.error != null || d.h != h || d.w != w || d.c != c) continue;
      System.arraycopy(d.px, 0, px, r * h * w * c, h * w * c);
      labels[r++] = d.label;
      names.add(d.name);
    }
    return new Images(source, h, w, c, px, labels, classNames, names, problems);
  }

  // ---------------------------------------------------------------- IDX

  private static List<Path> idxImageFiles(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().contains("idx3") && Files.isRegularFile(p)).sorted().toList();
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, dir + ": cannot list: " + e.getMessage(), e);
    }
  }

  /** An IDX images file (idx3, unsigned bytes) and its labels file (idx1): same name with images→labels, idx3→idx1. */
  private static Images idx(Path images) {
    String name = images.getFileName().toString();
    Path labelsFile = images.resolveSibling(name.replace("images", "labels").replace("idx3", "idx1"));
    if (labelsFile.equals(images) || !Files.isRegularFile(labelsFile))
      throw bad(images, "no labels file beside it (looked for " + labelsFile.getFileName() + ")");
    ByteBuffer im = idxBytes(images), lb = idxBytes(labelsFile);
    int[] imDims = idxHeader(images, im, 3), lbDims = idxHeader(labelsFile, lb, 1);
    if (imDims[0] != lbDims[0]) throw bad(images, imDims[0] + " images but " + labelsFile.getFileName() + " has " + lbDims[0] + " labels");
    int n = imDims[0], h = imDims[1], w = imDims[2];
    if ((long) n * h * w > im.remaining()) throw bad(images, "truncated: header says " + n + " x " + h + " x " + w + " bytes");
    if (n > lb.remaining()) throw bad(labelsFile, "truncated: header says " + n + " labels");
    byte[] px = new byte[n * h * w];
    im.get(px);
    long[] raw = new long[n];
    for (int i = 0; i < n; i++) raw[i] = lb.get() & 0xFF;
    List<String> classNames = new ArrayList<>();
    int[] labels = classIndex(raw, classNames);
    List<String> names = new ArrayList<>(n);
    for (int i = 0; i < n; i++) names.add(name + "[" + i + "]");
    return new Images(images.toString(), h, w, 1, px, labels, classNames, names, List.of());
  }

  private static ByteBuffer idxBytes(Path f) {
    try (InputStream in = Files.newInputStream(f)) {
      InputStream s = in;
      byte[] head = in.readNBytes(2);
      s = new java.io.SequenceInputStream(new ByteArrayInputStream(head), in);
      if (head.length == 2 && (head[0] & 0xFF) == 0x1f && (head[1] & 0xFF) == 0x8b) s = new GZIPInputStream(s);
      return ByteBuffer.wrap(s.readAllBytes());
    } catch (IOException e) {
      throw bad(f, "cannot read: " + e.getMessage());
    }
  }

  private static int[] idxHeader(Path f, ByteBuffer b, int ndim) {
    if (b.remaining() < 4 + 4 * ndim) throw bad(f, "too short for an IDX header");
    int magic = b.getInt();
    if ((magic >>> 16) != 0 || ((magic >>> 8) & 0xFF) != 0x08)
      throw bad(f, "not an IDX file of unsigned bytes (magic 0x" + Integer.toHexString(magic) + ")");
    if ((magic & 0xFF) != ndim) throw bad(f, "has " + (magic & 0xFF) + " dimensions; expected " + ndim);
    int[] dims = new int[ndim];
    for (int i = 0; i < ndim; i++) {
      dims[i] = b.getInt();
      if (dims[i] < 1) throw bad(f, "dimension " + i + " is " + dims[i]);
    }
    return dims;
  }

  // ---------------------------------------------------------------- Arrow

  /**
   * An Arrow IPC table with an integer {@code label} column and the images as either a binary column of
   * encoded files (PNG/JPEG...) or a list column of 8-bit pixel values (h x w x c, row major); the pixel shape
   * comes from integer columns {@code height}, {@code width} and optional {@code channels}, or from schema
   * metadata {@code shape} = "h,w[,c]", or, for square images, from the list length.
   */
  private static Images arrow(Path file) {
    List<Decoded> out = new ArrayList<>();
    List<Long> raw = new ArrayList<>();
    ArrowTables.read(file, batches -> {
      for (VectorSchemaRoot root : batches) {
        Map<String, String> meta = root.getSchema().getCustomMetadata();
        FieldVector label = root.getVector("label");
        if (!(label instanceof BaseIntVector lv))
          throw bad(file, label == null ? "has no 'label' column (columns: " + names(root) + ")" : "column 'label' is " + label.getMinorType() + ", not integers");
        FieldVector img = null;
        for (FieldVector v : root.getFieldVectors())
          if (v != label && (v instanceof VarBinaryVector || v instanceof LargeVarBinaryVector || v instanceof FixedSizeListVector || v instanceof ListVector)
              && !v.getName().equals("height") && !v.getName().equals("width")) {
            if (img != null) throw bad(file, "has several image columns ('" + img.getName() + "', '" + v.getName() + "'); keep one");
            img = v;
          }
        if (img == null) throw bad(file, "has no image column: expected binary (encoded images) or a list of pixel values (columns: " + names(root) + ")");
        for (int r = 0; r < root.getRowCount(); r++) {
          String name = file.getFileName() + " row " + out.size();
          if (lv.isNull(r)) throw bad(file, "label of row " + out.size() + " is null");
          raw.add(lv.getValueAsLong(r));
          if (img.isNull(r)) {
            out.add(Decoded.failed(name, "image is null"));
          } else if (img instanceof VarBinaryVector vb) {
            out.add(decode(name, 0, vb.get(r)));
          } else if (img instanceof LargeVarBinaryVector vb) {
            out.add(decode(name, 0, vb.get(r)));
          } else {
            out.add(pixels(file, name, root, meta, img, r));
          }
        }
      }
      return null;
    });
    if (out.isEmpty()) throw bad(file, "holds no rows");
    List<String> classNames = new ArrayList<>();
    int[] labels = classIndex(raw.stream().mapToLong(Long::longValue).toArray(), classNames);
    Decoded[] d = new Decoded[out.size()];
    for (int i = 0; i < d.length; i++) {
      Decoded x = out.get(i);
      d[i] = new Decoded(x.name, labels[i], x.h, x.w, x.c, x.px, x.error);
    }
    return assemble(file.toString(), d, classNames);
  }

  /** Maps label values to class indices in ascending order of value; the values, as text, become the class names. */
  private static int[] classIndex(long[] raw, List<String> classNames) {
    TreeMap<Long, Integer> ids = new TreeMap<>();
    for (long v : raw) ids.put(v, 0);
    for (var e : ids.entrySet()) {
      e.setValue(classNames.size());
      classNames.add(String.valueOf(e.getKey()));
    }
    int[] out = new int[raw.length];
    for (int i = 0; i < raw.length; i++) out[i] = ids.get(raw[i]);
    return out;
  }

  private static Decoded pixels(Path file, String name, VectorSchemaRoot root, Map<String, String> meta, FieldVector img, int r) {
    // element range of row r in the list's data vector (read through the vector: uint8 stays unsigned)
    int start, len;
    FieldVector data;
    if (img instanceof FixedSizeListVector f) {
      start = r * f.getListSize();
      len = f.getListSize();
      data = f.getDataVector();
    } else {
      ListVector l = (ListVector) img;
      start = l.getElementStartIndex(r);
      len = l.getElementEndIndex(r) - start;
      data = l.getDataVector();
    }
    if (start < 0 || len < 0 || (long) start + len > data.getValueCount())
      throw bad(file, "row " + r + " of column '" + img.getName() + "' runs past its " + data.getValueCount() + " pixel values; the file is corrupt");
    if (!(data instanceof BaseIntVector) && !(data instanceof org.apache.arrow.vector.FloatingPointVector))
      throw bad(file, "column '" + img.getName() + "' holds " + data.getMinorType() + "; pixel lists must hold numbers 0..255");
    int h, w, c;
    FieldVector hv = root.getVector("height"), wv = root.getVector("width"), cv = root.getVector("channels");
    if (hv instanceof BaseIntVector hi && wv instanceof BaseIntVector wi) {
      h = (int) hi.getValueAsLong(r);
      w = (int) wi.getValueAsLong(r);
      c = cv instanceof BaseIntVector ci ? (int) ci.getValueAsLong(r) : len / Math.max(1, h * w);
    } else if (meta != null && meta.containsKey("shape")) {
      String[] s = meta.get("shape").split(",");
      h = Integer.parseInt(s[0].trim());
      w = Integer.parseInt(s[1].trim());
      c = s.length > 2 ? Integer.parseInt(s[2].trim()) : 1;
    } else {
      int side = (int) Math.round(Math.sqrt(len)), side3 = (int) Math.round(Math.sqrt(len / 3.0));
      if (side * side == len) {
        h = w = side;
        c = 1;
      } else if (3 * side3 * side3 == len) {
        h = w = side3;
        c = 3;
      } else {
        throw bad(file, "cannot tell the image shape of " + len + " pixel values: add height/width columns or schema metadata shape=\"h,w,c\"");
      }
    }
    if ((c != 1 && c != 3) || h < 1 || w < 1 || (long) h * w * c != len)
      return Decoded.failed(name, len + " pixel values do not make a " + h + "x" + w + "x" + c + " image (gray or RGB)");
    byte[] px = new byte[len];
    for (int i = 0; i < len; i++) {
      double x = data.isNull(start + i) ? Double.NaN : data instanceof BaseIntVector iv ? iv.getValueAsLong(start + i)
          : ((org.apache.arrow.vector.FloatingPointVector) data).getValueAsDouble(start + i);
      if (!(x >= 0 && x <= 255)) return Decoded.failed(name, "pixel value " + x + " at " + i + " is not in 0..255");
      px[i] = (byte) Math.round(x);
    }
    return new Decoded(name, 0, h, w, c, px, null);
  }

  private static List<String> names(VectorSchemaRoot root) {
    return root.getSchema().getFields().stream().map(f -> f.getName() + ":" + f.getType()).toList();
  }

  private static NeedleException bad(Path p, String msg) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, p + ": " + msg);
  }
}
