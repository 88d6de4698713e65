package io.needle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.UInt1Vector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three dataset formats read the same images: the example ImageFolder is rewritten as gzipped IDX files
 * and as Arrow tables (encoded PNG bytes; raw pixel lists), and each must give identical pixels and labels.
 */
class DatasetTest {
  static final Path IMAGES = Path.of("..", "examples", "fashion-tiny", "images");
  @TempDir Path dir;

  /** A copy of the first {@code perClass} images of the first {@code classes} example classes. */
  Path imageFolder(Path out, int classes, int perClass) throws Exception {
    List<Path> cs;
    try (var s = Files.list(IMAGES)) {
      cs = s.sorted().limit(classes).toList();
    }
    for (Path c : cs) {
      Files.createDirectories(out.resolve(c.getFileName()));
      try (var s = Files.list(c)) {
        for (Path f : s.sorted().limit(perClass).toList()) Files.copy(f, out.resolve(c.getFileName()).resolve(f.getFileName()));
      }
    }
    return out;
  }

  /** Issue 11 item 6: a class folder without images, or a class the subsample leaves empty, is no class. */
  @Test
  void emptyClassesDoNotCount() throws Exception {
    Path data = imageFolder(dir.resolve("data"), 3, 4);
    Files.createDirectories(data.resolve("zz-empty"));
    Files.writeString(data.resolve("zz-empty/notes.txt"), "no images here");
    Images im = Images.open(data);
    assertEquals(3, im.classNames().size(), im.classNames().toString());
    assertEquals(3, im.labelSet().classes());
    // a subsample of 2 images of 3 classes holds 2 classes
    Images two = im.subsample(2, 0);
    assertEquals(2, two.classNames().size(), two.classNames().toString());
    for (int y : two.labels()) assertTrue(y >= 0 && y < 2);
    // IDX labels 0 and 7 (1..6 never occur): two classes
    byte[] px = new byte[4 * 2 * 2];
    writeIdx(dir.resolve("s-images-idx3-ubyte"), 0x00000803, new int[] {4, 2, 2}, px);
    writeIdx(dir.resolve("s-labels-idx1-ubyte"), 0x00000801, new int[] {4}, new byte[] {0, 7, 7, 0});
    assertEquals(List.of("0", "7"), Images.open(dir.resolve("s-images-idx3-ubyte")).classNames());
  }

  /**
   * Issue 11 item 6: images in folders nested inside a class folder belong to that class (flattened, as
   * torchvision's ImageFolder does); the nested folders never become classes of their own.
   */
  @Test
  void nestedFoldersInAClassFolderAreFlattenedIntoIt() throws Exception {
    Path data = imageFolder(dir.resolve("data"), 2, 4);
    Path first = Files.list(data).sorted().findFirst().orElseThrow();
    Path nested = Files.createDirectories(first.resolve("more/deeper"));
    try (var s = Files.list(first)) {
      for (Path f : s.filter(Files::isRegularFile).sorted().limit(2).toList()) Files.copy(f, nested.resolve("copy-" + f.getFileName()));
    }
    Images im = Images.open(data);
    assertEquals(2, im.classNames().size(), im.classNames().toString());
    assertEquals(10, im.size());
    int[] counts = im.labelSet().counts();
    assertEquals(6, counts[0]);
    assertEquals(4, counts[1]);
    assertTrue(im.names().contains(first.getFileName() + "/more/deeper/copy-000.png"), im.names().toString());
  }

  /**
   * Issue 11 item 7: a folder holding an IDX image/label pair and subfolders (mini-VTAB's tasks/fashion/ has
   * test/) is read as that IDX dataset, not as an ImageFolder without images.
   */
  @Test
  void aFolderWithAnIdxPairAndSubfoldersIsTheIdxDataset() throws Exception {
    Path task = Files.createDirectories(dir.resolve("task"));
    byte[] px = new byte[4 * 2 * 2];
    writeIdx(task.resolve("train-images-idx3-ubyte.gz"), 0x00000803, new int[] {4, 2, 2}, px);
    writeIdx(task.resolve("train-labels-idx1-ubyte.gz"), 0x00000801, new int[] {4}, new byte[] {0, 1, 1, 0});
    Path test = Files.createDirectories(task.resolve("test"));
    writeIdx(test.resolve("test-images-idx3-ubyte.gz"), 0x00000803, new int[] {4, 2, 2}, px);
    writeIdx(test.resolve("test-labels-idx1-ubyte.gz"), 0x00000801, new int[] {4}, new byte[] {0, 1, 1, 0});
    Images im = Images.open(task);
    assertEquals(4, im.size());
    assertTrue(im.source().endsWith("train-images-idx3-ubyte.gz"), im.source());
    // a folder of subfolders without images says what it found and what to pass
    NeedleException e = assertThrows(NeedleException.class, () -> Images.open(dir));
    assertTrue(e.getMessage().contains("no image files"), e.getMessage());
    assertTrue(e.getMessage().contains("found IDX image files task/test/test-images-idx3-ubyte.gz, task/train-images-idx3-ubyte.gz: pass one"), e.getMessage());
  }

  @Test
  void idxAndArrowReadTheSameImagesAsTheImageFolder() throws Exception {
    Images folder = Images.open(IMAGES);
    assertEquals(500, folder.size());
    int n = folder.size();
    // IDX, gzipped, labels beside it
    writeIdx(dir.resolve("t-images-idx3-ubyte.gz"), 0x00000803, new int[] {n, 28, 28}, folder.pixels());
    byte[] y = new byte[n];
    int[] labels = folder.labels();
    for (int i = 0; i < n; i++) y[i] = (byte) labels[i];
    writeIdx(dir.resolve("t-labels-idx1-ubyte.gz"), 0x00000801, new int[] {n}, y);
    Images idx = Images.open(dir.resolve("t-images-idx3-ubyte.gz"));
    assertSame(folder, idx);
    assertEquals(folder.hash(), Images.open(dir).hash());  // a folder holding one IDX pair

    // Arrow: encoded PNG bytes
    List<Path> files;
    try (var s = Files.walk(IMAGES)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    try (RootAllocator alloc = new RootAllocator();
        VarBinaryVector img = new VarBinaryVector("image", alloc);
        IntVector label = new IntVector("label", alloc)) {
      img.allocateNew();
      label.allocateNew(n);
      for (int i = 0; i < n; i++) {
        img.setSafe(i, Files.readAllBytes(files.get(i)));
        label.set(i, labels[i]);
      }
      img.setValueCount(n);
      label.setValueCount(n);
      write(dir.resolve("encoded.arrow"), new VectorSchemaRoot(List.of(img, label)));
    }
    assertSame(folder, Images.open(dir.resolve("encoded.arrow")));

    // Arrow: pixel lists (square gray inferred from the list length)
    try (RootAllocator alloc = new RootAllocator();
        FixedSizeListVector px = new FixedSizeListVector("pixels", alloc, FieldType.notNullable(new ArrowType.FixedSizeList(784)), null);
        IntVector label = new IntVector("label", alloc)) {
      px.addOrGetVector(FieldType.notNullable(new ArrowType.Int(8, false)));
      UInt1Vector data = (UInt1Vector) px.getDataVector();
      px.allocateNew();
      data.allocateNew(n * 784);
      for (int i = 0; i < n * 784; i++) data.set(i, folder.pixels()[i]);
      data.setValueCount(n * 784);
      for (int i = 0; i < n; i++) px.setNotNull(i);
      px.setValueCount(n);
      label.allocateNew(n);
      for (int i = 0; i < n; i++) label.set(i, labels[i]);
      label.setValueCount(n);
      write(dir.resolve("pixels.arrow"), new VectorSchemaRoot(List.of(px, label)));
    }
    assertSame(folder, Images.open(dir.resolve("pixels.arrow")));
  }

  static void assertSame(Images want, Images got) {
    assertEquals(want.size(), got.size());
    assertEquals(want.describe(), got.describe());
    assertArrayEquals(want.pixels(), got.pixels());
    assertArrayEquals(want.labels(), got.labels());
    assertEquals(want.hash(), got.hash());
  }

  @Test
  void subsampleIsStratifiedAndDeterministic() {
    Images all = Images.open(IMAGES);
    Images a = all.subsample(100, 7), b = all.subsample(100, 7), c = all.subsample(100, 8);
    assertEquals(100, a.size());
    assertArrayEquals(a.pixels(), b.pixels());
    assertNotEquals(a.hash(), c.hash());
    int[] counts = new int[10];
    for (int y : a.labels()) counts[y]++;
    for (int k : counts) assertEquals(10, k);
    assertTrue(all.subsample(1000, 0) == all, "a dataset no larger than N is used whole");
  }

  @Test
  void idxErrorsNameTheFile() throws Exception {
    Path im = dir.resolve("x-images-idx3-ubyte");
    writeIdx(im, 0x00000803, new int[] {2, 28, 28}, new byte[100]);
    NeedleException e = assertThrows(NeedleException.class, () -> Images.open(im));
    assertTrue(e.getMessage().contains("no labels file beside it (looked for x-labels-idx1-ubyte)"), e.getMessage());
    writeIdx(dir.resolve("x-labels-idx1-ubyte"), 0x00000801, new int[] {2}, new byte[] {0, 1});
    e = assertThrows(NeedleException.class, () -> Images.open(im));
    assertTrue(e.getMessage().contains("x-images-idx3-ubyte: truncated"), e.getMessage());
  }

  static void writeIdx(Path f, int magic, int[] dims, byte[] data) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ByteBuffer h = ByteBuffer.allocate(4 + 4 * dims.length).putInt(magic);
    for (int d : dims) h.putInt(d);
    b.write(h.array());
    b.write(data);
    try (OutputStream out = f.toString().endsWith(".gz") ? new GZIPOutputStream(Files.newOutputStream(f)) : Files.newOutputStream(f)) {
      out.write(b.toByteArray());
    }
  }

  static void write(Path f, VectorSchemaRoot root) throws Exception {
    root.setRowCount(root.getFieldVectors().get(0).getValueCount());
    try (OutputStream out = Files.newOutputStream(f); ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(out))) {
      w.start();
      w.writeBatch();
      w.end();
    }
  }
}
