package io.needle.engine;

import io.needle.data.Embedding;
import java.util.ArrayList;
import java.util.List;

/**
 * How proxies are computed: the two kernels every proxy reduces to. A proxy says <em>what</em> is computed;
 * a backend says <em>how</em> (plain Java loops, C++ SIMD, CUDA). {@link JavaBackend} is the reference;
 * every other backend must agree with it (exactly for neighbours, closely for gradients).
 *
 * <p>Batched methods take several experts at once so a GPU can cover them in one launch; the defaults simply
 * loop. Implementations are not thread-safe: use one backend per thread.
 */
public interface Backend extends AutoCloseable {
  /** @return "java", "cpu" or "cuda" */
  String name();

  /** @return one line on how this backend runs here (ISA, device, threads) */
  String describe();

  /** Copies a row-major {@code rows x cols} matrix to where this backend computes. */
  Tensor put(float[] data, int rows, int cols);

  /**
   * An expert's embeddings where this backend computes. A backend that computes in native memory may use an
   * {@link Embedding#isOffHeap() off-heap} embedding in place, without a copy: the embedding must then stay unreleased
   * until the tensor is closed. The default copies {@link Embedding#data()}.
   */
  default Tensor put(Embedding e) {
    return put(e.data(), e.rows(), e.cols());
  }

  /** The given rows of an expert's embeddings (a train split, say), in that order, where this backend computes. */
  default Tensor putRows(Embedding e, int[] rows) {
    float[] data = e.data(), out = new float[rows.length * e.cols()];
    for (int r = 0; r < rows.length; r++) System.arraycopy(data, rows[r] * e.cols(), out, r * e.cols(), e.cols());
    return put(out, rows.length, e.cols());
  }

  /**
   * Exact k nearest neighbours by squared Euclidean distance, ties to the lowest index. In self mode
   * {@code query == base} and row i never lists itself (excluded by index, not by distance).
   */
  Neighbors nearest(Tensor query, Tensor base, int k, boolean self);

  /** {@link #nearest} for several experts; {@code queries[t]} goes with {@code bases[t]}. */
  default List<Neighbors> nearest(List<Tensor> queries, List<Tensor> bases, int k, boolean self) {
    List<Neighbors> out = new ArrayList<>(queries.size());
    for (int t = 0; t < queries.size(); t++) out.add(nearest(queries.get(t), bases.get(t), k, self));
    return out;
  }

  /**
   * Softmax cross-entropy of a linear classifier and its gradient: {@code w} and {@code grad} are
   * {@code classes x (cols + 1)} row-major, the last entry of each row the class bias.
   *
   * @param x examples (n x d)
   * @param y labels in [0, classes), length n
   * @param rowWeight optional weight per row (null = all 1; 0 leaves a row out, as outside an SGD minibatch)
   * @return sum over rows of weight * -log p(y | x); grad receives its derivative with respect to w
   */
  double softmaxGrad(Tensor x, int[] y, float[] rowWeight, int classes, float[] w, float[] grad);

  /** {@link #softmaxGrad} for several experts sharing labels; returns one loss per expert. */
  default double[] softmaxGrad(List<Tensor> xs, int[] y, float[] rowWeight, int classes, List<float[]> w,
      List<float[]> grad) {
    double[] out = new double[xs.size()];
    for (int t = 0; t < xs.size(); t++) out[t] = softmaxGrad(xs.get(t), y, rowWeight, classes, w.get(t), grad.get(t));
    return out;
  }

  // ---- float64 dense linear algebra: the estimators' Gram, covariance and eigen problems ----
  // The defaults are the reference implementations in Dense (plain loops and EJML); native backends override them.

  /**
   * The float64 Gram matrix of a row-major {@code rows x cols} matrix: X^T X ({@code cols x cols}) when
   * {@code byColumns}, else X X^T ({@code rows x rows}).
   */
  default double[] gram(double[] x, int rows, int cols, boolean byColumns) {
    return byColumns ? Dense.gramCols(x, rows, cols) : Dense.gramRows(x, rows, cols);
  }

  /**
   * A float64 matrix product, row-major: A B ({@code n x m}) for A {@code n x k}, or A^T B for A {@code k x n} when
   * {@code transA}; B is {@code k x m}.
   */
  default double[] mult(double[] a, double[] b, int n, int k, int m, boolean transA) {
    return transA ? Dense.multTransA(a, k, n, b, m) : Dense.mult(a, n, k, b, m);
  }

  /** The eigendecomposition of a symmetric {@code n x n} matrix, eigenvalues descending (the input is not modified). */
  default Dense.Eigen eigh(double[] a, int n) {
    return Dense.eigh(a, n);
  }

  /** Solves A X = B for a symmetric positive definite A ({@code n x n}) and B ({@code n x m}); neither is modified. */
  default double[] solveSpd(double[] a, int n, double[] b, int m) {
    return Dense.solveSpd(a, n, b, m);
  }

  /** @return log det A of a symmetric positive definite A (not modified) */
  default double logDetSpd(double[] a, int n) {
    return Dense.logDetSpd(a, n);
  }

  /** Releases native resources held by the backend itself (tensors are closed separately). */
  @Override
  default void close() {}
}
