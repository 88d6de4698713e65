package io.needle.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.needle.NeedleException;
import io.needle.TestBackends;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every non-reference backend against the java reference on random data: same neighbours, close gradients. */
class BackendParityTest {
  static Stream<String> fast() {
    return Stream.of("cpu", "cuda");
  }

  static float[] gaussian(int n, int d, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    return x;
  }

  // shapes straddling the tile edges (96 rows, 6 x 16 micro-tiles, 256-deep panels) and tiny cases
  static final int[][] SHAPES = {{2, 1}, {3, 7}, {95, 5}, {96, 16}, {97, 17}, {250, 64}, {301, 257}, {700, 300}};

  @ParameterizedTest
  @MethodSource("fast")
  void selfNeighboursMatchJava(String name) {
    try (Backend ref = new JavaBackend(0); Backend b = TestBackends.open(name)) {
      for (int[] s : SHAPES) {
        int n = s[0], d = s[1];
        float[] x = gaussian(n, d, n * 31L + d);
        for (int k : new int[] {1, 3, 5}) {
          if (k > n - 1) continue;
          try (Tensor tr = ref.put(x, n, d); Tensor tb = b.put(x, n, d)) {
            Neighbors want = ref.nearest(tr, tr, k, true), got = b.nearest(tb, tb, k, true);
            assertArrayEquals(want.index(), got.index(), name + " n=" + n + " d=" + d + " k=" + k);
            for (int i = 0; i < want.distance().length; i++)
              assertEquals(want.distance()[i], got.distance()[i], 1e-5f * (1 + want.distance()[i]));
          }
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("fast")
  void queryBaseNeighboursMatchJava(String name) {
    try (Backend ref = new JavaBackend(0); Backend b = TestBackends.open(name)) {
      int[][] shapes = {{1, 2, 3}, {60, 240, 8}, {200, 800, 100}, {97, 33, 129}};
      for (int[] s : shapes) {
        float[] q = gaussian(s[0], s[2], 5), base = gaussian(s[1], s[2], 6);
        int k = Math.min(3, s[1]);
        try (Tensor rq = ref.put(q, s[0], s[2]); Tensor rb = ref.put(base, s[1], s[2]);
            Tensor bq = b.put(q, s[0], s[2]); Tensor bb = b.put(base, s[1], s[2])) {
          assertArrayEquals(ref.nearest(rq, rb, k, false).index(), b.nearest(bq, bb, k, false).index(), name + " " + java.util.Arrays.toString(s));
        }
      }
    }
  }

  /** Duplicates and large offsets: the float32 GEMM form alone would misorder these; the re-rank must not. */
  @ParameterizedTest
  @MethodSource("fast")
  void duplicatesAndLargeNormsMatchJava(String name) {
    int n = 300, d = 64;
    float[] x = gaussian(n, d, 9);
    for (int i = 0; i < 40; i++) System.arraycopy(x, (i * 7 % n) * d, x, ((i * 13 + 5) % n) * d, d);
    for (int i = 0; i < x.length; i++) x[i] += 100f;
    try (Backend ref = new JavaBackend(0); Backend b = TestBackends.open(name);
        Tensor tr = ref.put(x, n, d); Tensor tb = b.put(x, n, d)) {
      assertArrayEquals(ref.nearest(tr, tr, 2, true).index(), b.nearest(tb, tb, 2, true).index());
    }
  }

  @ParameterizedTest
  @MethodSource("fast")
  void batchedNearestMatchesOneByOne(String name) {
    try (Backend b = TestBackends.open(name)) {
      List<Tensor> ts = new ArrayList<>();
      int[] dims = {16, 16, 40, 16};
      for (int t = 0; t < dims.length; t++) ts.add(b.put(gaussian(150, dims[t], t), 150, dims[t]));
      List<Neighbors> batch = b.nearest(ts, ts, 1, true);
      for (int t = 0; t < ts.size(); t++) assertArrayEquals(b.nearest(ts.get(t), ts.get(t), 1, true).index(), batch.get(t).index());
      ts.forEach(Tensor::close);
    }
  }

  @ParameterizedTest
  @MethodSource("fast")
  void softmaxGradientMatchesJava(String name) {
    for (int c : new int[] {7, 23}) softmaxGradientMatchesJava(name, c);  // the dot4 path and the GEMM path
  }

  private void softmaxGradientMatchesJava(String name, int c) {
    int n = 203, d = 77;
    float[] x = gaussian(n, d, 1), w = gaussian(c, d + 1, 2);
    int[] y = new int[n];
    float[] rw = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = (i * 5 + 1) % c;
      rw[i] = i % 3 == 0 ? 0f : 1f;
    }
    try (Backend ref = new JavaBackend(0); Backend b = TestBackends.open(name);
        Tensor tr = ref.put(x, n, d); Tensor tb = b.put(x, n, d)) {
      for (float[] weights : new float[][] {null, rw}) {
        float[] gr = new float[c * (d + 1)], gb = new float[c * (d + 1)];
        double lr = ref.softmaxGrad(tr, y, weights, c, w, gr), lb = b.softmaxGrad(tb, y, weights, c, w, gb);
        assertEquals(lr, lb, 1e-4 * lr);
        for (int q = 0; q < gr.length; q++) assertEquals(gr[q], gb[q], 1e-3 * (1 + Math.abs(gr[q])), "entry " + q);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("fast")
  void invalidArgumentsAreRejected(String name) {
    try (Backend b = TestBackends.open(name); Tensor x = b.put(gaussian(4, 3, 1), 4, 3); Tensor z = b.put(gaussian(4, 2, 1), 4, 2)) {
      assertEquals(NeedleException.Code.INVALID_ARGUMENT, assertThrows(NeedleException.class, () -> b.nearest(x, x, 4, true)).code());
      assertThrows(NeedleException.class, () -> b.nearest(x, z, 1, false));
      assertThrows(NeedleException.class, () -> b.put(new float[5], 2, 3));
      assertThrows(NeedleException.class, () -> b.softmaxGrad(x, new int[] {0, 1, 2, 5}, null, 3, new float[12], new float[12]));
    }
  }
}
