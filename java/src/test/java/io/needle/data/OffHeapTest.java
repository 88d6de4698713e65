package io.needle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Needle;
import io.needle.NeedleException;
import io.needle.Score;
import io.needle.TestBackends;
import io.needle.engine.Backend;
import io.needle.proxy.Knn;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Split;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Embeddings read off the Java heap (memory-mapped .npy, copied into pooled direct buffers) against the same files read
 * into Java arrays: the same values, the same scores on every backend (native backends use them in place), released
 * buffers reused, and the folder scoring path (read-ahead, release) giving what scoring the arrays in memory gives.
 */
class OffHeapTest {
  @TempDir Path dir;

  static Stream<String> backends() {
    return TestBackends.names().stream();
  }

  static float[] gaussian(int n, int d, long seed, int classes, int[] y) {
    Random r = new Random(seed);
    float[][] centres = new float[classes][d];
    for (float[] c : centres) for (int p = 0; p < d; p++) c[p] = (float) r.nextGaussian();
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) for (int p = 0; p < d; p++) x[i * d + p] = centres[y[i]][p] + 2f * (float) r.nextGaussian();
    return x;
  }

  /** Writes a float32 .npy in the given byte order (np.save's layout). */
  static void write(Path f, float[] x, int rows, int cols, ByteOrder order) throws Exception {
    if (order == ByteOrder.LITTLE_ENDIAN) {
      Npy.writeFloats(f, x, rows, cols);
      return;
    }
    String dict = "{'descr': '>f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
    int total = 10 + dict.length() + 1, pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 4 * x.length);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length());
    b.put(header.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    b.order(ByteOrder.BIG_ENDIAN).asFloatBuffer().put(x);
    Files.write(f, b.array());
  }

  @Test
  void offHeapReadsEqualArrayReadsAndBuffersAreReused() throws Exception {
    int[] y = new int[300];
    // 300 x 900 floats: a file above the 1 MiB from which .npy files are memory-mapped; 300 x 40: one read into the heap
    float[] big = gaussian(300, 900, 1, 3, y), small = gaussian(300, 40, 2, 3, y);
    write(dir.resolve("big.npy"), big, 300, 900, ByteOrder.LITTLE_ENDIAN);
    write(dir.resolve("bigbe.npy"), big, 300, 900, ByteOrder.BIG_ENDIAN);
    write(dir.resolve("small.npy"), small, 300, 40, ByteOrder.LITTLE_ENDIAN);
    try (OffHeap pool = new OffHeap()) {
      for (Experts.Source s : Experts.list(dir, null)) {
        Embedding heap = s.load(), off = s.load(pool);
        assertFalse(heap.isOffHeap());
        assertTrue(off.isOffHeap(), s.expert());
        assertArrayEquals(heap.data(), off.data(), s.expert());
        float[] want = s.expert().equals("small") ? small : big;
        assertArrayEquals(want, heap.data(), s.expert());
        off.release();
        off.release();  // idempotent
      }
      // a released buffer is handed out again
      Experts.Source first = Experts.list(dir, null).get(0);
      Embedding a = first.load(pool);
      ByteBuffer root = pool.take(4 * 300 * 900);
      pool.give(root);
      a.release();
      Embedding b = first.load(pool);
      assertEquals(a.rows(), b.rows());
      b.release();
      assertThrows(IllegalStateException.class, b::data);
    }
  }

  /** An Arrow file of the cache's layout is read off the heap (memory-mapped), equal to Arrow's reader's values; others as before. */
  @Test
  void arrowFilesOfTheCacheLayoutAreReadOffHeap() throws Exception {
    int[] y = new int[300];
    float[] x = gaussian(300, 900, 4, 3, y), small = gaussian(300, 20, 5, 3, y);
    io.needle.Fixtures.writeArrowExpert(dir.resolve("file.arrow"), x, 900);
    io.needle.Fixtures.writeArrowExpert(dir.resolve("stream.arrow"), x, 900, true);
    io.needle.Fixtures.writeArrowExpert(dir.resolve("small.arrow"), small, 20);  // small files too: the fast path maps any size
    // a truncated copy: the fast path declines, the reader proper names the problem
    byte[] whole = Files.readAllBytes(dir.resolve("file.arrow"));
    Files.write(dir.resolve("trunc.arrow"), java.util.Arrays.copyOf(whole, whole.length - 5000));
    try (OffHeap pool = new OffHeap()) {
      Embedding file = ArrowTables.readEmbedding(dir.resolve("file.arrow"), "file", pool);
      assertTrue(file.isOffHeap());
      assertArrayEquals(x, file.data());
      assertArrayEquals(ArrowTables.readEmbedding(dir.resolve("file.arrow"), "file").data(), file.data());
      file.release();
      Embedding stream = ArrowTables.readEmbedding(dir.resolve("stream.arrow"), "stream", pool);
      assertFalse(stream.isOffHeap());  // the stream format has no footer to find the data by
      assertArrayEquals(x, stream.data());
      assertArrayEquals(small, ArrowTables.readEmbedding(dir.resolve("small.arrow"), "small", pool).data());
      NeedleException bad = assertThrows(NeedleException.class, () -> ArrowTables.readEmbedding(dir.resolve("trunc.arrow"), "trunc", pool));
      assertEquals(NeedleException.Code.BAD_INPUT, bad.code());
      assertEquals(bad.getMessage(), assertThrows(NeedleException.class, () -> ArrowTables.readEmbedding(dir.resolve("trunc.arrow"), "trunc")).getMessage());
    }
  }

  @Test
  void offHeapValidationNamesTheRowAndColumn() throws Exception {
    int[] y = new int[300];
    float[] x = gaussian(300, 900, 3, 2, y);
    x[7 * 900 + 11] = Float.NaN;
    write(dir.resolve("nan.npy"), x, 300, 900, ByteOrder.LITTLE_ENDIAN);
    try (OffHeap pool = new OffHeap()) {
      Embedding e = Experts.list(dir, null).get(0).load(pool);
      NeedleException ex = assertThrows(NeedleException.class, () -> e.validate(300));
      assertTrue(ex.getMessage().contains("row 7, column 11"), ex.getMessage());
      e.release();
    }
  }

  /** knn-loo, knn-split and linear give identical results on the off-heap and the array copy of the same matrix. */
  @ParameterizedTest
  @MethodSource("backends")
  void proxiesGiveTheSameScoresOffHeap(String name) throws Exception {
    int n = 300, d = 700;
    int[] y = new int[n];
    for (int i = 0; i < n; i++) y[i] = i % 4;
    float[] x = gaussian(n, d, 5, 4, y);
    write(dir.resolve("x.npy"), x, n, d, ByteOrder.LITTLE_ENDIAN);
    Labels labels = Labels.of(y, "y");
    Split split = Split.stratified(labels, 0.2, 0);
    try (OffHeap pool = new OffHeap(); Backend b = TestBackends.open(name)) {
      Embedding heap = new Embedding("x", x, n, d), off = Experts.list(dir, null).get(0).load(pool);
      assertTrue(off.isOffHeap());
      for (boolean cosine : new boolean[] {false, true}) {
        assertArrayEquals(Knn.leaveOneOut(b, List.of(heap), labels.classes0(), 3, cosine), Knn.leaveOneOut(b, List.of(off), labels.classes0(), 3, cosine));
        assertArrayEquals(Knn.trainVal(b, List.of(heap), labels.classes0(), split, 1, cosine), Knn.trainVal(b, List.of(off), labels.classes0(), split, 1, cosine));
      }
      // several experts in one batch, in place and copied, of two widths
      float[] x2 = gaussian(n, 33, 6, 4, y);
      List<Embedding> mixed = List.of(off, new Embedding("x2", x2, n, 33), heap);
      double[] lin = LinearProbe.score(b, mixed, labels.classes0(), labels.classes(), split, LinearProbe.Params.defaults());
      double[] one = LinearProbe.score(b, List.of(heap), labels.classes0(), labels.classes(), split, LinearProbe.Params.defaults());
      assertEquals(lin[0], lin[2], 0, name + ": the same matrix in place and copied");
      assertEquals(one[0], lin[0], 0, name + ": batched and alone");
      off.release();
    }
  }

  /** Scoring a folder (read ahead, off heap, released batch by batch) equals scoring the same arrays in memory. */
  @ParameterizedTest
  @MethodSource("backends")
  void folderScoringEqualsInMemoryScoring(String name) throws Exception {
    int n = 120;
    int[] y = new int[n];
    for (int i = 0; i < n; i++) y[i] = i % 3;
    Npy.writeLongs(dir.resolve("labels.npy"), y);
    Map<String, float[]> inMemory = new HashMap<>();
    for (int t = 0; t < 7; t++) {
      int d = t % 2 == 0 ? 2200 : 50;  // above and below the 1 MiB from which files are mapped
      float[] x = gaussian(n, d, 10 + t, 3, y);
      write(dir.resolve("e" + t + ".npy"), x, n, d, t == 3 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
      inMemory.put("e" + t, x);
    }
    float[] bad = gaussian(n, 2200, 99, 3, y);
    bad[5] = Float.POSITIVE_INFINITY;
    write(dir.resolve("e9bad.npy"), bad, n, 2200, ByteOrder.LITTLE_ENDIAN);
    Labels labels = Experts.labels(dir.resolve("labels.npy"));
    List<Experts.Source> sources = Experts.list(dir, dir.resolve("labels.npy"));
    for (int batch : new int[] {1, 3, 8}) {
      try (Needle a = Needle.builder().backend(name).proxies("knn-loo", "linear").batch(batch).build();
          Needle m = Needle.builder().backend(name).proxies("knn-loo", "linear").batch(batch).build()) {
        List<Score> folder = a.scoreSources(labels, sources, null), memory = m.score(y, inMemory);
        Map<String, Double> want = new HashMap<>();
        for (Score s : memory) want.put(s.expert() + "/" + s.proxy(), s.score());
        List<String> failed = new ArrayList<>();
        for (Score s : folder) {
          if (!s.ok()) {
            failed.add(s.expert());
            assertTrue(s.reason().contains("row 0, column 5"), s.reason());
            continue;
          }
          assertEquals(want.get(s.expert() + "/" + s.proxy()), s.score(), 0, name + " batch " + batch + " " + s.expert() + " " + s.proxy());
        }
        assertEquals(List.of("e9bad", "e9bad"), failed);
        assertEquals(16, folder.size());
      }
    }
  }

  @Test
  void offHeapNeedsADirectNativeOrderBuffer() {
    assertThrows(IllegalArgumentException.class, () -> Embedding.offHeap("e", java.nio.FloatBuffer.allocate(4), 2, 2, null));
    java.nio.FloatBuffer ok = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).asFloatBuffer();
    Embedding e = Embedding.offHeap("e", ok, 2, 2, null);
    assertSame(ok, e.directBuffer());
    assertEquals(4, e.data().length);
  }

  /**
   * A crafted Arrow file whose data-buffer offset is near Long.MAX_VALUE: the off-heap reader's bound checks once
   * wrapped around and it returned the message's bytes as values (found by review); now it falls back to Arrow's
   * reader, which refuses the file.
   */
  @Test
  void arrowOffsetsThatOverflowAreRefusedNotWrapped(@TempDir Path dir) throws Exception {
    int n = 4, d = 8;
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) x[i] = i + 1;
    Path f = dir.resolve("e.arrow");
    io.needle.Fixtures.writeArrowExpert(f, x, d);
    byte[] bytes = Files.readAllBytes(f);
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int footerLen = b.getInt(bytes.length - 10), footerAt = bytes.length - 10 - footerLen;
    org.apache.arrow.flatbuf.Block block = org.apache.arrow.flatbuf.Footer.getRootAsFooter(
        ByteBuffer.wrap(bytes, footerAt, footerLen).slice().order(ByteOrder.LITTLE_ENDIAN)).recordBatches(0);
    // the values buffer's (offset, length) pair in the batch message: length 4*n*d, offset small
    int at = -1;
    for (int i = (int) block.offset(); i + 16 <= block.offset() + block.metaDataLength(); i++)
      if (b.getLong(i + 8) == 4L * n * d && b.getLong(i) >= 0 && b.getLong(i) < 64) at = i;
    assertTrue(at > 0, "the values buffer's descriptor");
    try (OffHeap pool = new OffHeap()) {
      assertArrayEquals(x, ArrowTables.readEmbedding(f, "e", pool).data());
      b.putLong(at, Long.MAX_VALUE - 7);
      Files.write(f, bytes);
      NeedleException ex = assertThrows(NeedleException.class, () -> ArrowTables.readEmbedding(f, "e", pool));
      assertTrue(ex.getMessage().contains("e.arrow"), ex.getMessage());
    }
  }
}
