package io.needle.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.TestBackends;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The cpu backend's float64 linear algebra (BLAS/LAPACK) against the Java reference in {@link Dense}: Gram matrices,
 * symmetric eigendecompositions, SPD solves and log-determinants, and the same failure for a matrix that is not
 * positive definite. Skipped where the cpu backend is absent (TestBackends fails instead if native code was
 * required); where it was built without LAPACK these check its fallback to Dense, which must agree too.
 */
class LinalgParityTest {
  static double[] gaussian(int n, int d, long seed) {
    Random r = new Random(seed);
    double[] x = new double[n * d];
    for (int i = 0; i < x.length; i++) x[i] = r.nextGaussian();
    return x;
  }

  /** (B + B^T) / 2: symmetric, indefinite */
  static double[] symmetric(int n, long seed) {
    double[] b = gaussian(n, n, seed), a = new double[n * n];
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) a[i * n + j] = 0.5 * (b[i * n + j] + b[j * n + i]);
    return a;
  }

  /** B B^T / n + I: symmetric positive definite, well conditioned */
  static double[] spd(int n, long seed) {
    double[] g = Dense.gramRows(gaussian(n, n, seed), n, n);
    for (int i = 0; i < n * n; i++) g[i] /= n;
    for (int i = 0; i < n; i++) g[i * n + i] += 1;
    return g;
  }

  static CpuBackend open() {
    return (CpuBackend) TestBackends.open("cpu");
  }

  @Test
  void describeSaysWhereTheLinearAlgebraRuns() {
    try (CpuBackend b = open()) {
      assertTrue(b.describe().contains("float64 linear algebra " + (b.nativeLinearAlgebra() ? "on " : "in Java")), b.describe());
    }
  }

  @Test
  void gramMatchesDenseBothWays() {
    int[][] shapes = {{1, 1}, {1, 5}, {5, 1}, {7, 3}, {40, 90}, {300, 120}, {120, 300}};
    try (CpuBackend b = open(); Backend one = Backends.open("cpu", 1)) {
      for (int[] s : shapes) {
        int rows = s[0], cols = s[1];
        double[] x = gaussian(rows, cols, rows * 131L + cols), copy = x.clone();
        for (boolean byColumns : new boolean[] {true, false}) {
          int n = byColumns ? cols : rows;
          double[] want = byColumns ? Dense.gramCols(x, rows, cols) : Dense.gramRows(x, rows, cols);
          double[] got = b.gram(x, rows, cols, byColumns);
          String what = rows + "x" + cols + (byColumns ? " X^T X" : " X X^T");
          assertEquals(n * n, got.length, what);
          for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
              // |G_ij| <= sqrt(G_ii G_jj): the scale of every rounding error in entry ij
              double scale = Math.sqrt(want[i * n + i] * want[j * n + j]);
              assertEquals(want[i * n + j], got[i * n + j], 1e-12 * scale, what + " entry " + i + "," + j);
              assertEquals(got[i * n + j], got[j * n + i], 0.0, what + " symmetric");
            }
          assertArrayEquals(got, one.gram(x, rows, cols, byColumns), 1e-12 * maxAbs(got), what + " one thread");
        }
        assertArrayEquals(copy, x, 0.0, "input not modified");
      }
    }
  }

  @Test
  void eighMatchesDense() {
    try (CpuBackend b = open()) {
      for (int n : new int[] {1, 2, 5, 50, 300}) checkEigh(b, symmetric(n, n), n, "symmetric n=" + n);
      // rank-deficient Gram matrices: 300 x 300 of rank 20 (280 zero eigenvalues), and of a 1 x 300 matrix (rank 1)
      checkEigh(b, Dense.gramRows(gaussian(300, 20, 3), 300, 20), 300, "rank-20 Gram 300x300");
      checkEigh(b, Dense.gramCols(gaussian(1, 300, 4), 1, 300), 300, "rank-1 Gram 300x300");
      checkEigh(b, new double[] {4.5}, 1, "1x1");
    }
  }

  private static void checkEigh(Backend b, double[] a, int n, String what) {
    double[] copy = a.clone();
    Dense.Eigen want = Dense.eigh(a, n), got = b.eigh(a, n);
    assertArrayEquals(copy, a, 0.0, what + ": input not modified");
    assertEquals(n, got.n());
    assertEquals(n, got.values().length);
    assertEquals(n * n, got.vectors().length);
    double top = Math.max(Math.abs(want.values()[0]), Math.abs(want.values()[n - 1]));
    double tol = 1e-10 * Math.max(top, Double.MIN_NORMAL);
    for (int k = 0; k < n; k++) {
      assertEquals(want.values()[k], got.values()[k], tol, what + ": eigenvalue " + k);
      if (k > 0) assertTrue(got.values()[k] <= got.values()[k - 1], what + ": descending");
    }
    double[] v = got.vectors(), lam = got.values();
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double r = 0, o = 0;
        for (int k = 0; k < n; k++) {
          r += v[i * n + k] * lam[k] * v[j * n + k];  // V diag(lambda) V^T
          o += v[k * n + i] * v[k * n + j];  // V^T V
        }
        assertEquals(a[i * n + j], r, tol, what + ": reconstruction " + i + "," + j);
        assertEquals(i == j ? 1.0 : 0.0, o, 1e-10, what + ": orthonormal " + i + "," + j);
      }
    // the top eigenvector, where it is well separated, is Dense's up to sign
    if (n > 1 && want.values()[0] - want.values()[1] > 1e-3 * top) {
      double dot = 0;
      for (int r = 0; r < n; r++) dot += want.vectors()[r * n] * v[r * n];
      assertEquals(1.0, Math.abs(dot), 1e-9, what + ": top eigenvector");
    }
  }

  @Test
  void multMatchesDenseBothWays() {
    try (CpuBackend cpu = open()) {
      for (int[] s : new int[][] {{1, 1, 1}, {3, 5, 2}, {120, 300, 42}, {300, 64, 10}}) {
        int n = s[0], k = s[1], m = s[2];
        double[] a = gaussian(n, k, n + k), at = gaussian(k, n, n * k), b = gaussian(k, m, m + 7);
        double[] want = Dense.mult(a, n, k, b, m), got = cpu.mult(a, b, n, k, m, false);
        double[] wantT = Dense.multTransA(at, k, n, b, m), gotT = cpu.mult(at, b, n, k, m, true);
        for (int i = 0; i < want.length; i++) {
          assertEquals(want[i], got[i], 1e-12 * Math.max(1, Math.abs(want[i])) * k, "A B " + n + "x" + k + "x" + m);
          assertEquals(wantT[i], gotT[i], 1e-12 * Math.max(1, Math.abs(wantT[i])) * k, "A^T B " + n + "x" + k + "x" + m);
        }
      }
    }
  }

  @Test
  void solveSpdMatchesDense() {
    try (CpuBackend b = open()) {
      for (int n : new int[] {1, 5, 300})
        for (int m : new int[] {1, 10}) {
          double[] a = spd(n, n), rhs = gaussian(n, m, n + m), ac = a.clone(), rc = rhs.clone();
          double[] want = Dense.solveSpd(a, n, rhs, m), got = b.solveSpd(a, n, rhs, m);
          assertArrayEquals(want, got, 1e-10 * (1 + maxAbs(want)), "n=" + n + " m=" + m);
          assertArrayEquals(ac, a, 0.0, "A not modified");
          assertArrayEquals(rc, rhs, 0.0, "B not modified");
        }
    }
  }

  @Test
  void logDetSpdMatchesDense() {
    try (CpuBackend b = open()) {
      for (int n : new int[] {1, 2, 5, 300}) {
        double[] a = spd(n, 7 * n);
        double want = Dense.logDetSpd(a, n);
        assertEquals(want, b.logDetSpd(a, n), 1e-10 * (1 + Math.abs(want)), "n=" + n);
      }
      assertEquals(Math.log(4.5), b.logDetSpd(new double[] {4.5}, 1), 1e-15);
    }
  }

  @Test
  void notPositiveDefiniteFailsAsDenseDoes() {
    int n = 4;
    double[] minusI = new double[n * n], zero = new double[n * n], indefinite = symmetric(n, 11), rhs = gaussian(n, 2, 1);
    for (int i = 0; i < n; i++) minusI[i * n + i] = -1;
    double[] rankDeficient = Dense.gramRows(gaussian(n, 2, 5), n, 2);  // rank 2 of 4, exact zero pivots are not guaranteed
    try (CpuBackend b = open()) {
      for (double[] a : new double[][] {minusI, zero, indefinite, {-2.0}, {0.0}}) {
        int k = (int) Math.round(Math.sqrt(a.length));
        double[] r = k == n ? rhs : new double[] {1, 2};
        NeedleException want = assertThrows(NeedleException.class, () -> Dense.solveSpd(a, k, r, r.length / k));
        NeedleException got = assertThrows(NeedleException.class, () -> b.solveSpd(a, k, r, r.length / k));
        assertEquals(NeedleException.Code.BAD_INPUT, got.code());
        assertEquals(want.getMessage(), got.getMessage());
        want = assertThrows(NeedleException.class, () -> Dense.logDetSpd(a, k));
        got = assertThrows(NeedleException.class, () -> b.logDetSpd(a, k));
        assertEquals(NeedleException.Code.BAD_INPUT, got.code());
        assertEquals(want.getMessage(), got.getMessage());
      }
      // near-singular: either a finite answer or the same BAD_INPUT, never a native error
      try {
        assertTrue(!Double.isNaN(b.logDetSpd(rankDeficient, n)));
      } catch (NeedleException e) {
        assertEquals(NeedleException.Code.BAD_INPUT, e.code());
      }
    }
  }

  @Test
  void wrongShapesAreRejected() {
    try (CpuBackend b = open()) {
      if (!b.nativeLinearAlgebra()) return;  // the Java fallback validates as Dense does (not at all)
      assertEquals(NeedleException.Code.INVALID_ARGUMENT,
          assertThrows(NeedleException.class, () -> b.gram(new double[5], 2, 3, true)).code());
      assertThrows(NeedleException.class, () -> b.eigh(new double[5], 2));
      assertThrows(NeedleException.class, () -> b.solveSpd(new double[4], 2, new double[3], 2));
      assertThrows(NeedleException.class, () -> b.logDetSpd(new double[3], 2));
    }
  }

  private static double maxAbs(double[] a) {
    double m = 0;
    for (double v : a) m = Math.max(m, Math.abs(v));
    return m;
  }
}
