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
import org.junit.jupiter.api.Assumptions;
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

  /**
   * The cpu backend's two k-NN candidate passes (float32, and bfloat16 where the CPU has AVX512-BF16, forced even where
   * rows need exact scans) give the java reference's neighbours exactly, one by one and batched, on data made to trip
   * them: Gaussian, rounded to few values (ties), duplicated rows, a large common offset, tight clusters.
   */
  @org.junit.jupiter.api.Test
  void cpuKnnPassesMatchJavaExactly() {
    Assumptions.assumeTrue(CpuBackend.status().loaded(), "cpu backend unavailable here");
    int[][] shapes = {{300, 257}, {211, 129}, {150, 640}, {97, 2048}, {64, 3}};
    try (Backend ref = new JavaBackend(0); CpuBackend f32 = new CpuBackend(0, CpuBackend.KNN_F32); CpuBackend bf16 = new CpuBackend(0, CpuBackend.KNN_BF16);
        CpuBackend auto = new CpuBackend(0)) {
      for (int[] s : shapes)
        for (String kind : new String[] {"gauss", "ties", "dups", "offset", "clusters"}) {
          int n = s[0], d = s[1];
          float[] x = gaussian(n, d, n * 7L + d);
          for (int i = 0; i < x.length; i++) {
            if (kind.equals("ties")) x[i] = Math.round(x[i] * 2);
            if (kind.equals("offset")) x[i] += 500f;
            if (kind.equals("clusters")) x[i] = (i / d) % 5 * 3f + 1e-3f * x[i];
          }
          if (kind.equals("dups")) for (int i = 0; i + 1 < n; i += 4) System.arraycopy(x, i * d, x, (i + 1) * d, d);
          for (int k : new int[] {1, 3}) {
            try (Tensor tr = ref.put(x, n, d)) {
              int[] want = ref.nearest(tr, tr, k, true).index();
              for (CpuBackend b : List.of(f32, bf16, auto)) {
                try (Tensor t = b.put(x, n, d)) {
                  assertArrayEquals(want, b.nearest(t, t, k, true).index(), kind + " n=" + n + " d=" + d + " k=" + k + " " + b.describe());
                }
              }
            }
          }
        }
      // a batch of experts of one row count and several widths: one native call, the same neighbours
      List<Tensor> ts = new ArrayList<>(), refs = new ArrayList<>();
      int n = 180;
      for (int d : new int[] {1, 17, 300, 129, 640}) {
        float[] x = gaussian(n, d, d);
        ts.add(bf16.put(x, n, d));
        refs.add(ref.put(x, n, d));
      }
      List<Neighbors> got = bf16.nearest(ts, ts, 2, true), want = ref.nearest(refs, refs, 2, true);
      for (int t = 0; t < ts.size(); t++) assertArrayEquals(want.get(t).index(), got.get(t).index(), "batch expert " + t);
      ts.forEach(Tensor::close);
    }
  }

  /** The batched gradient (one native call, experts of several widths) equals the java reference, with and without row weights. */
  @ParameterizedTest
  @MethodSource("fast")
  void batchedSoftmaxGradientMatchesJava(String name) {
    int n = 157;
    int[] dims = {1, 16, 33, 300};
    for (int c : new int[] {2, 10, 23}) {
      int[] y = new int[n];
      float[] rw = new float[n];
      for (int i = 0; i < n; i++) {
        y[i] = (i * 3 + 2) % c;
        rw[i] = i % 5 == 0 ? 0f : 1f;
      }
      try (Backend ref = new JavaBackend(0); Backend b = TestBackends.open(name)) {
        List<Tensor> xs = new ArrayList<>(), xr = new ArrayList<>();
        List<float[]> ws = new ArrayList<>(), gs = new ArrayList<>(), gr = new ArrayList<>();
        for (int t = 0; t < dims.length; t++) {
          float[] x = gaussian(n, dims[t], 100 + t);
          xs.add(b.put(x, n, dims[t]));
          xr.add(ref.put(x, n, dims[t]));
          ws.add(gaussian(c, dims[t] + 1, 200 + t));
          gs.add(new float[c * (dims[t] + 1)]);
          gr.add(new float[c * (dims[t] + 1)]);
        }
        for (float[] weights : new float[][] {null, rw}) {
          double[] lb = b.softmaxGrad(xs, y, weights, c, ws, gs), lr = ref.softmaxGrad(xr, y, weights, c, ws, gr);
          for (int t = 0; t < dims.length; t++) {
            assertEquals(lr[t], lb[t], 1e-4 * lr[t], name + " c=" + c + " expert " + t + " loss");
            for (int q = 0; q < gr.get(t).length; q++)
              assertEquals(gr.get(t)[q], gs.get(t)[q], 1e-3 * (1 + Math.abs(gr.get(t)[q])), name + " c=" + c + " expert " + t + " entry " + q);
          }
        }
        xs.forEach(Tensor::close);
      }
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
