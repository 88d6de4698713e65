package io.needle.proxy;

/**
 * {@code hscore}: H-score (Bao et al., ICIP 2019): tr(cov(f)^+ cov(g)), where g_i is the mean feature of example i's
 * class; both covariances with ddof = 1 and the pseudo-inverse cutting eigenvalues at or below 1e-15 of the largest, as
 * the authors' implementation in TLlib ({@code tllib.ranking.h_score}). With {@code cov(g) = Σ_c n_c d_c d_c^T / (N−1)},
 * d_c = μ_c − μ, this is (1/(N−1)) Σ_c n_c d_c^T cov(f)^+ d_c, computed in the eigenbasis of cov(f).
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
    double[] cov = Dense.gramCols(centered(f, n, d), n, d);
    for (int i = 0; i < cov.length; i++) cov[i] /= n - 1;
    return traceInvTimesBetween(cov, d, classDeviations(f, n, d, task.y(), c), c, 1.0 / (n - 1));
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

  /**
   * @return scale · tr(A^+ B B^T) for a symmetric PSD A (d x d) and B (d x c): Σ over eigenpairs with λ above 1e-15 of
   *     the largest |λ| of |v^T B|² / λ (numpy's pinv cut-off)
   */
  static double traceInvTimesBetween(double[] a, int d, double[] b, int c, double scale) {
    Dense.Eigen eig = Dense.eigh(a, d);
    double[] p = eig.project(b, c);
    double max = 0;
    for (double v : eig.values()) max = Math.max(max, Math.abs(v));
    double cut = 1e-15 * max, s = 0;
    for (int k = 0; k < d; k++) {
      double lam = eig.values()[k];
      if (Math.abs(lam) <= cut) continue;
      double q = 0;
      for (int j = 0; j < c; j++) q += p[k * c + j] * p[k * c + j];
      s += q / lam;
    }
    return scale * s;
  }
}
