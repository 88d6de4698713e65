package io.needle.proxy;

import io.needle.engine.Backend;
import io.needle.engine.Dense;
import java.util.function.DoubleUnaryOperator;

/**
 * {@code hscore}: H-score (Bao et al., ICIP 2019): tr(cov(f)^+ cov(g)), where g_i is the mean feature of example i's
 * class; both covariances with ddof = 1 and the pseudo-inverse cutting eigenvalues at or below 1e-15 of the largest, as
 * the authors' implementation in TLlib ({@code tllib.ranking.h_score}). With {@code cov(g) = Σ_c n_c d_c d_c^T / (N−1)},
 * d_c = μ_c − μ, this is (1/(N−1)) Σ_c n_c d_c^T cov(f)^+ d_c, computed in the eigenbasis of the smaller Gram matrix
 * (F^T F, or F F^T when D > N: the same non-zero spectrum, and d_c lies in the span of the centred examples).
 *
 * <p>Where D ≥ N the covariance is singular and the score saturates at C − 1 (every class is separable); the shrinkage
 * form {@code hscore-shrinkage} is the one to use there.
 */
public final class HScore extends Estimator {
  @Override
  public String id() {
    return "hscore";
  }

  @Override
  public String description() {
    return "H-score: tr(cov(f)^+ cov(E[f|y])) (Bao et al., 2019)";
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d = e.embedding().cols(), c = task.classes();
    double[] f = Dense.of(e.embedding());
    double[] dev = classDeviations(f, n, d, task.y(), c);
    // (1/(N-1)) sum_c n_c d_c^T pinv(Xc^T Xc / (N-1)) d_c = sum_c n_c d_c^T pinv(Xc^T Xc) d_c
    return quadraticForms(task.backend(), centered(f, n, d), n, d, dev, c, lambda -> lambda, true);
  }

  /**
   * Σ over the columns b of B (d x c) of b^T A^-1 b, where A shares its eigenvectors with Xc^T Xc (eigenvalues λ) and has
   * eigenvalues {@code denom(λ)}; B must lie in the row space of Xc. Computed on the smaller Gram matrix: Xc^T Xc
   * (d x d) when n ≥ d, else Xc Xc^T (n x n), where v_k^T b = u_k^T Xc b / sqrt(λ_k). With {@code cut}, eigenvalues at
   * or below 1e-15 of the largest are left out (numpy's pinv); without, only exact zeros of the dual side.
   */
  static double quadraticForms(Backend backend, double[] xc, int n, int d, double[] b, int c, DoubleUnaryOperator denom, boolean cut) {
    boolean primal = n >= d;
    int m = primal ? d : n;
    Dense.Eigen eig = backend.eigh(backend.gram(xc, n, d, primal), m);
    double[] p = eig.project(primal ? b : backend.mult(xc, b, n, d, c, false), c);
    double max = 0;
    for (double v : eig.values()) max = Math.max(max, Math.abs(v));
    double limit = cut || !primal ? 1e-15 * max : -1, s = 0;
    for (int k = 0; k < m; k++) {
      double lam = eig.values()[k];
      if (Math.abs(lam) <= limit) continue;
      double q = 0;
      for (int j = 0; j < c; j++) q += p[k * c + j] * p[k * c + j];
      s += (primal ? q : q / lam) / denom.applyAsDouble(lam);
    }
    return s;
  }

  /** @return a centred copy */
  static double[] centered(double[] f, int n, int d) {
    double[] x = f.clone();
    Dense.center(x, n, d);
    return x;
  }

  /** @return D x C matrix whose column c is sqrt(n_c) (μ_c − μ) */
  static double[] classDeviations(double[] f, int n, int d, int[] y, int c) {
    double[] mu = Dense.colMeans(f, n, d);
    double[] sum = new double[c * d];
    int[] count = new int[c];
    for (int i = 0; i < n; i++) {
      count[y[i]]++;
      for (int j = 0; j < d; j++) sum[y[i] * d + j] += f[i * d + j];
    }
    double[] out = new double[d * c];
    for (int q = 0; q < c; q++) {
      double w = Math.sqrt(count[q]);
      for (int j = 0; j < d; j++) out[j * c + q] = w * (sum[q * d + j] / count[q] - mu[j]);
    }
    return out;
  }

}
