package io.needle.proxy;

import io.needle.engine.Backend;
import io.needle.engine.Dense;

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
    Backend b = task.backend();
    // the Ledoit-Wolf statistics from the smaller Gram matrix G: tr S = tr G / n, |S|_F = |G|_F / n, row norms
    boolean primal = n >= d;
    int m = primal ? d : n;
    double[] g = b.gram(f, n, d, primal);
    double[] rowNorm2 = new double[n];
    for (int i = 0; i < n; i++)
      if (primal) for (int j = 0; j < d; j++) rowNorm2[i] += f[i * d + j] * f[i * d + j];
      else rowNorm2[i] = g[i * n + i];
    double trS = trace(g, m) / n, frob2 = 0;
    for (double v : g) frob2 += v * v;
    double a = ledoitWolf(rowNorm2, trS, frob2 / ((double) n * n), n, d);
    double mu = trS / d;
    double[] dev = HScore.classDeviations(f, n, d, task.y(), c);
    // eigenvalues of the shrunk covariance: (1-a) lambda/n + a mu, lambda those of F^T F
    return (1 - a) * HScore.quadraticForms(b, f, n, d, dev, c, lam -> (1 - a) * lam / n + a * mu, false) / (n - 1);
  }

  static double trace(double[] s, int d) {
    double t = 0;
    for (int j = 0; j < d; j++) t += s[j * d + j];
    return t;
  }

  /**
   * The Ledoit-Wolf shrinkage of centred data, as scikit-learn's {@code ledoit_wolf_shrinkage}.
   *
   * @param rowNorm2 the squared norm of each (centred) example
   * @param trS the trace of the biased covariance S = X^T X / n
   * @param frob2 the sum of the squared entries of S
   */
  static double ledoitWolf(double[] rowNorm2, double trS, double frob2, int n, int d) {
    if (d == 1) return 0;
    double mu = trS / d;
    double beta = 0;  // sum of <X2^T, X2> = sum_i (sum_j x_ij^2)^2
    for (double r : rowNorm2) beta += r * r;
    double delta = frob2;  // sum of squared entries of X^T X, over n^2
    double b = (beta / n - delta) / ((double) d * n);
    double dl = (delta - 2 * mu * trS + d * mu * mu) / d;
    b = Math.min(b, dl);
    return b == 0 ? 0 : b / dl;
  }
}
