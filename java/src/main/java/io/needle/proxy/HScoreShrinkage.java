package io.needle.proxy;

/**
 * {@code hscore-shrinkage}: the shrinkage-regularised H-score (Ibrahim et al., "Newer is not always better: rethinking
 * transferability metrics", 2022): cov(f) replaced by the Ledoit-Wolf estimate Σ_a = (1−a) S + a (tr S / D) I of the
 * centred features (S = F^T F / N, a the Ledoit-Wolf shrinkage as scikit-learn computes it), and the score
 * tr(Σ_a^+ (1−a) cov(g)) with cov(g) as in {@link HScore} (ddof = 1), as TLlib's {@code regularized_h_score}.
 */
public final class HScoreShrinkage extends Estimator {
  @Override
  public String id() {
    return "hscore-shrinkage";
  }

  @Override
  public String description() {
    return "H-score with a Ledoit-Wolf shrunk feature covariance (Ibrahim et al., 2022)";
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d = e.embedding().cols(), c = task.classes();
    double[] f = Dense.of(e.embedding());
    Dense.center(f, n, d);
    double[] s = Dense.gramCols(f, n, d);
    for (int i = 0; i < s.length; i++) s[i] /= n;
    double a = ledoitWolf(f, s, n, d);
    double mu = trace(s, d) / d;
    for (int i = 0; i < s.length; i++) s[i] *= 1 - a;
    for (int j = 0; j < d; j++) s[j * d + j] += a * mu;
    return HScore.traceInvTimesBetween(s, d, HScore.classDeviations(f, n, d, task.y(), c), c, (1 - a) / (n - 1));
  }

  static double trace(double[] s, int d) {
    double t = 0;
    for (int j = 0; j < d; j++) t += s[j * d + j];
    return t;
  }

  /**
   * The Ledoit-Wolf shrinkage of centred data, as scikit-learn's {@code ledoit_wolf_shrinkage}.
   *
   * @param x centred n x d data
   * @param s its biased covariance X^T X / n
   */
  static double ledoitWolf(double[] x, double[] s, int n, int d) {
    if (d == 1) return 0;
    double mu = trace(s, d) / d;
    double beta = 0;  // sum of <X2^T, X2> = sum_i (sum_j x_ij^2)^2
    for (int i = 0; i < n; i++) {
      double r = 0;
      for (int j = 0; j < d; j++) r += x[i * d + j] * x[i * d + j];
      beta += r * r;
    }
    double delta = 0;  // sum of squared entries of X^T X, over n^2
    for (double v : s) delta += v * v;
    double b = (beta / n - delta) / ((double) d * n);
    double dl = (delta - 2 * mu * trace(s, d) + d * mu * mu) / d;
    b = Math.min(b, dl);
    return b == 0 ? 0 : b / dl;
  }
}
