package io.needle.engine;

import io.needle.NeedleException;
import io.needle.data.Embedding;
import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * Float64 dense linear algebra for the estimators: row-major {@code double[]} matrices, with EJML's symmetric eigen
 * solver, Cholesky and QR underneath. This is the reference path (plain, single-threaded); the estimators' papers
 * compute in float64, and so does every method here.
 */
public final class Dense {
  private Dense() {}

  /** @return the embedding as a row-major N x D float64 matrix */
  public static double[] of(Embedding e) {
    float[] x = e.data();
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) out[i] = x[i];
    return out;
  }

  /** @return column means of an n x d matrix */
  public static double[] colMeans(double[] x, int n, int d) {
    double[] m = new double[d];
    for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) m[j] += x[i * d + j];
    for (int j = 0; j < d; j++) m[j] /= n;
    return m;
  }

  /** Subtracts the column means in place; returns the means. */
  public static double[] center(double[] x, int n, int d) {
    double[] m = colMeans(x, n, d);
    for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] -= m[j];
    return m;
  }

  /** @return the rows at the given indices */
  public static double[] rows(double[] x, int d, int[] idx) {
    double[] out = new double[idx.length * d];
    for (int r = 0; r < idx.length; r++) System.arraycopy(x, idx[r] * d, out, r * d, d);
    return out;
  }

  /** @return X^T X (d x d) of an n x d matrix */
  public static double[] gramCols(double[] x, int n, int d) {
    double[] g = new double[d * d];
    for (int i = 0; i < n; i++) {
      int o = i * d;
      for (int a = 0; a < d; a++) {
        double xa = x[o + a];
        if (xa == 0) continue;
        int ga = a * d;
        for (int b = a; b < d; b++) g[ga + b] += xa * x[o + b];
      }
    }
    mirror(g, d);
    return g;
  }

  /** @return X X^T (n x n) of an n x d matrix */
  public static double[] gramRows(double[] x, int n, int d) {
    double[] g = new double[n * n];
    for (int i = 0; i < n; i++)
      for (int k = i; k < n; k++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += x[i * d + j] * x[k * d + j];
        g[i * n + k] = s;
        g[k * n + i] = s;
      }
    return g;
  }

  private static void mirror(double[] g, int d) {
    for (int a = 0; a < d; a++) for (int b = a + 1; b < d; b++) g[b * d + a] = g[a * d + b];
  }

  /** @return A B for row-major (n x k) and (k x m) */
  public static double[] mult(double[] a, int n, int k, double[] b, int m) {
    DMatrixRMaj c = new DMatrixRMaj(n, m);
    CommonOps_DDRM.mult(DMatrixRMaj.wrap(n, k, a), DMatrixRMaj.wrap(k, m, b), c);
    return c.data;
  }

  /** @return A^T B for row-major (k x n) and (k x m) */
  public static double[] multTransA(double[] a, int k, int n, double[] b, int m) {
    DMatrixRMaj c = new DMatrixRMaj(n, m);
    CommonOps_DDRM.multTransA(DMatrixRMaj.wrap(k, n, a), DMatrixRMaj.wrap(k, m, b), c);
    return c.data;
  }

  /**
   * A symmetric eigendecomposition, eigenvalues descending.
   *
   * @param values the eigenvalues, largest first
   * @param vectors n x n row-major; column k is the unit eigenvector of {@code values[k]}
   */
  public record Eigen(double[] values, double[] vectors, int n) {
    /** @return V^T B for a row-major n x m matrix B: B in the eigenbasis */
    public double[] project(double[] b, int m) {
      return multTransA(vectors, n, n, b, m);
    }
  }

  /**
   * @return the eigendecomposition of the symmetric n x n matrix {@code a} (not modified)
   * @throws NeedleException BAD_INPUT if the solver does not converge
   */
  public static Eigen eigh(double[] a, int n) {
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
    DMatrixRMaj m = DMatrixRMaj.wrap(n, n, a.clone());
    if (!eig.decompose(m)) throw new NeedleException(NeedleException.Code.BAD_INPUT, "symmetric eigendecomposition did not converge");
    Integer[] order = new Integer[n];
    double[] val = new double[n];
    for (int k = 0; k < n; k++) {
      order[k] = k;
      val[k] = eig.getEigenvalue(k).getReal();
    }
    Arrays.sort(order, (p, q) -> Double.compare(val[q], val[p]));
    double[] values = new double[n], vectors = new double[n * n];
    for (int k = 0; k < n; k++) {
      values[k] = val[order[k]];
      DMatrixRMaj v = eig.getEigenVector(order[k]);
      for (int r = 0; r < n; r++) vectors[r * n + k] = v.get(r, 0);
    }
    return new Eigen(values, vectors, n);
  }

  /**
   * Solves A X = B for a symmetric positive definite A (n x n) and B (n x m).
   *
   * @throws NeedleException BAD_INPUT if A is not positive definite
   */
  public static double[] solveSpd(double[] a, int n, double[] b, int m) {
    LinearSolverDense<DMatrixRMaj> s = LinearSolverFactory_DDRM.chol(n);
    if (!s.setA(DMatrixRMaj.wrap(n, n, a.clone())))
      throw new NeedleException(NeedleException.Code.BAD_INPUT, "matrix is not positive definite (singular covariance)");
    DMatrixRMaj x = new DMatrixRMaj(n, m);
    s.solve(DMatrixRMaj.wrap(n, m, b.clone()), x);
    return x.data;
  }

  /**
   * @return log det A for a symmetric positive definite A
   * @throws NeedleException BAD_INPUT if A is not positive definite
   */
  public static double logDetSpd(double[] a, int n) {
    var ch = DecompositionFactory_DDRM.chol(n, true);
    DMatrixRMaj m = DMatrixRMaj.wrap(n, n, a.clone());
    if (!ch.decompose(m)) throw new NeedleException(NeedleException.Code.BAD_INPUT, "matrix is not positive definite");
    DMatrixRMaj l = ch.getT(null);
    double s = 0;
    for (int i = 0; i < n; i++) s += Math.log(l.get(i, i));
    return 2 * s;
  }

  /**
   * @return the lower Cholesky factor L (row-major, A = L L^T) of a symmetric positive definite A (not modified)
   * @throws NeedleException BAD_INPUT if A is not positive definite
   */
  public static double[] cholesky(double[] a, int n) {
    var ch = DecompositionFactory_DDRM.chol(n, true);
    if (!ch.decompose(DMatrixRMaj.wrap(n, n, a.clone()))) throw new NeedleException(NeedleException.Code.BAD_INPUT, "matrix is not positive definite");
    double[] l = ch.getT(null).data;
    for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) l[i * n + j] = 0;
    return l;
  }

  /** @return an orthonormal basis (n x m, row-major) of the column space of the n x m matrix {@code a}, m <= n */
  public static double[] orthonormalBasis(double[] a, int n, int m) {
    var qr = DecompositionFactory_DDRM.qr(n, m);
    if (!qr.decompose(DMatrixRMaj.wrap(n, m, a.clone()))) throw new NeedleException(NeedleException.Code.BAD_INPUT, "QR decomposition failed");
    return qr.getQ(null, true).data;
  }

  /** @return per-class index lists for labels 0..c-1 */
  public static int[][] members(int[] y, int c) {
    int[] count = new int[c];
    for (int v : y) count[v]++;
    int[][] out = new int[c][];
    for (int k = 0; k < c; k++) out[k] = new int[count[k]];
    int[] at = new int[c];
    for (int i = 0; i < y.length; i++) out[y[i]][at[y[i]]++] = i;
    return out;
  }

  /** Row-wise softmax of an n x c matrix in place, the row maximum subtracted first. */
  public static void softmaxRows(double[] z, int n, int c) {
    for (int i = 0; i < n; i++) {
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int k = 0; k < c; k++) max = Math.max(max, z[i * c + k]);
      for (int k = 0; k < c; k++) sum += z[i * c + k] = Math.exp(z[i * c + k] - max);
      for (int k = 0; k < c; k++) z[i * c + k] /= sum;
    }
  }
}
