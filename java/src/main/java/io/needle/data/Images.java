package io.needle.data;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.proxy.Split;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A labelled image dataset held in memory as 8-bit pixels: n images of one size and mode (gray or RGB), row
 * major, height x width x channels. Every format reader produces one; the embedder prepares each expert's
 * input from it.
 */
public final class Images {
  private final String source;
  private final int height, width, channels;
  private final byte[] pixels;
  private final int[] labels;
  private final List<String> classNames;
  private final List<String> names;
  private final List<Problem> problems;
  private String hash;

  /**
   * @param source the dataset's path, for messages
   * @param pixels n x height x width x channels bytes
   * @param labels class index of each image, 0..classNames.size()-1
   * @param classNames the class names (folder names, or the label values); those no image has (an empty class
   *     folder, a class a subsample leaves out) are dropped and the labels renumbered
   * @param names each image's origin (file, or row of a table), for messages
   * @param problems images left out, with the reason
   */
  public Images(String source, int height, int width, int channels, byte[] pixels, int[] labels, List<String> classNames,
      List<String> names, List<Problem> problems) {
    if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels " + channels);
    if ((long) labels.length * height * width * channels != pixels.length) throw new IllegalArgumentException("pixel count");
    this.source = source;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.pixels = pixels;
    boolean[] used = new boolean[classNames.size()];
    for (int y : labels) used[y] = true;
    int[] renumber = new int[used.length];
    List<String> kept = new ArrayList<>();
    for (int c = 0; c < used.length; c++) {
      renumber[c] = kept.size();
      if (used[c]) kept.add(classNames.get(c));
    }
    if (kept.size() < used.length) {
      labels = labels.clone();
      for (int i = 0; i < labels.length; i++) labels[i] = renumber[labels[i]];
    }
    this.labels = labels;
    this.classNames = List.copyOf(kept);
    this.names = List.copyOf(names);
    this.problems = List.copyOf(problems);
  }

  public String source() { return source; }
  public int size() { return labels.length; }
  public int height() { return height; }
  public int width() { return width; }
  /** @return 1 (gray) or 3 (RGB) */
  public int channels() { return channels; }
  /** @return "gray" or "RGB" with the size, e.g. "28x28 gray" */
  public String describe() { return height + "x" + width + (channels == 1 ? " gray" : " RGB"); }
  /** @return all pixels, n x height x width x channels; do not modify */
  public byte[] pixels() { return pixels; }
  /** @return each image's class index */
  public int[] labels() { return labels.clone(); }
  public List<String> classNames() { return classNames; }
  /** @return each image's origin */
  public List<String> names() { return names; }
  /** @return images that were left out while reading, with the reason */
  public List<Problem> problems() { return problems; }

  /** @return the labels as the proxies take them */
  public Labels labelSet() {
    return Labels.of(labels, source);
  }

  /**
   * A deterministic stratified subsample of at most {@code n} images (all of them if there are no more than n),
   * in the original order; class shares follow the dataset's.
   */
  public Images subsample(int n, long seed) {
    if (n < 2) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "the subsample needs at least 2 examples, got " + n);
    if (size() <= n) return this;
    return rows(Split.stratified(labelSet(), (double) n / size(), seed).val());
  }

  /** @return the images at {@code index}, in that order (classes no image keeps are dropped, as for any dataset) */
  public Images rows(int[] index) {
    int px = height * width * channels;
    byte[] p = new byte[index.length * px];
    int[] y = new int[index.length];
    List<String> nm = new ArrayList<>(index.length);
    for (int r = 0; r < index.length; r++) {
      System.arraycopy(pixels, index[r] * px, p, r * px, px);
      y[r] = labels[index[r]];
      nm.add(names.get(index[r]));
    }
    return new Images(source, height, width, channels, p, y, classNames, nm, problems);
  }

  /** @return SHA-256 (hex) of the shape, pixels and labels: equal datasets share cached embeddings */
  public synchronized String hash() {
    if (hash == null) {
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(ByteBuffer.allocate(16).putInt(size()).putInt(height).putInt(width).putInt(channels).array());
        md.update(pixels);
        ByteBuffer b = ByteBuffer.allocate(4 * labels.length);
        for (int y : labels) b.putInt(y);
        md.update(b.array());
        hash = HexFormat.of().formatHex(md.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
    return hash;
  }

  /**
   * Reads a dataset: an ImageFolder (a folder of class folders of PNG/JPEG/BMP/GIF files; images in nested
   * folders belong to the class folder they are in), an IDX image file (MNIST format, optionally gzipped, with its
   * labels file beside it, or a folder holding one such pair at its top, beside any subfolders), or
   * an Arrow IPC table ({@code .arrow}, {@code .arrows}, {@code .feather}) with a {@code label} column.
   *
   * @throws NeedleException BAD_INPUT naming the path if it is none of these, or fewer than 2 classes remain
   */
  public static Images open(java.nio.file.Path path) {
    return open(path, null);
  }

  /**
   * {@link #open(java.nio.file.Path)}, telling {@code progress} (done, total) as image files are decoded; it may
   * be called from several threads.
   */
  public static Images open(java.nio.file.Path path, java.util.function.IntBinaryOperator progress) {
    Images im = Readers.open(path, progress);
    long classes = java.util.Arrays.stream(im.labels).distinct().count();
    if (classes < 2)
      throw new NeedleException(NeedleException.Code.BAD_INPUT, path + ": " + im.size() + " images of " + classes + " class; a task needs at least 2 classes");
    return im;
  }
}
