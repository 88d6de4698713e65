package io.needle.proxy;

import io.needle.engine.Backend;
import io.needle.engine.Dense;

/**
 * {@code sfda}: Self-challenging Fisher Discriminant Analysis (Shao et al., ECCV 2022), as the authors' {@code SFDA_Score}
 * (TencentARC/SFDA) with its defaults. A shrunk Fisher classifier with Sw = Σ_c π_c cov_c (biased), shrinkage
 * a = max(exp(−5 λ), 1e-10) for λ the largest eigenvalue of Sw by the authors' 3-step power iteration, and
 * S = (1−a) Sw + a (tr Sw / D) I; class scores x^T S^-1 μ_c − ½ μ_c^T S^-1 μ_c + ln π_c and p = softmax. Then the
 * self-challenge: q = softmax(p) (a second softmax, as their code), each example moved toward the mean of the other
 * classes' means, x ← q_y x + (1 − q_y) μ̄_y with μ̄_y = (Σ_k μ_k − μ_y)/(C−1), and the classifier refitted on the moved
 * examples with the same a. SFDA is the mean refitted probability of each example's own class. All eigenvectors of the
 * authors' generalised eigenproblem are kept, so their projection equals S^-1: a Cholesky solve here.
 */
public final class Sfda extends Estimator {
  @Override
  public String id() {
    return "sfda";
  }

  @Override
  public String description() {
    return "SFDA: self-challenging Fisher discriminant analysis (Shao et al., 2022)";
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d = e.embedding().cols(), c = task.classes();
    int[] y = task.y();
    Backend b = task.backend();
    double[] x = Dense.of(e.embedding());
    int[][] members = Dense.members(y, c);
    double[] mu = means(x, d, members);
    double[] xw = withinCentred(x, n, d, y, mu);
    double lambda = largestEigenvalue(xw, n, d);
    double a = Math.max(Math.exp(-5 * lambda), 1e-10);
    double[] p = probabilities(b, x, n, d, members, mu, xw, a);
    // second softmax over the probabilities, as the authors' code
    double[] q = p.clone();
    Dense.softmaxRows(q, n, c);
    double[] total = new double[d];
    for (int k = 0; k < c; k++) for (int j = 0; j < d; j++) total[j] += mu[k * d + j];
    double[] moved = new double[n * d];
    for (int i = 0; i < n; i++) {
      double w = q[i * c + y[i]];
      for (int j = 0; j < d; j++) {
        double other = (total[j] - mu[y[i] * d + j]) / (c - 1);
        moved[i * d + j] = w * x[i * d + j] + (1 - w) * other;
      }
    }
    double[] mu2 = means(moved, d, members);
    double[] p2 = probabilities(b, moved, n, d, members, mu2, withinCentred(moved, n, d, y, mu2), a);
    double s = 0;
    for (int i = 0; i < n; i++) s += p2[i * c + y[i]];
    return s / n;
  }

  /** @return each example minus its class mean (n x d): Sw = Xw^T Xw / n is the prior-weighted biased within-class covariance */
  static double[] withinCentred(double[] x, int n, int d, int[] y, double[] mu) {
    double[] xw = new double[n * d];
    for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) xw[i * d + j] = x[i * d + j] - mu[y[i] * d + j];
    return xw;
  }

  /** @return class means, c x d */
  static double[] means(double[] x, int d, int[][] members) {
    double[] mu = new double[members.length * d];
    for (int k = 0; k < members.length; k++) {
      for (int i : members[k]) for (int j = 0; j < d; j++) mu[k * d + j] += x[i * d + j];
      for (int j = 0; j < d; j++) mu[k * d + j] /= members[k].length;
    }
    return mu;
  }

  /** Sw v = Xw^T (Xw v) / n, without forming Sw. */
  private static double[] sw(double[] xw, int n, int d, double[] v) {
    double[] t = new double[n], out = new double[d];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = 0; j < d; j++) s += xw[i * d + j] * v[j];
      t[i] = s / n;
    }
    for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) out[j] += xw[i * d + j] * t[i];
    return out;
  }

  /** The authors' {@code iterative_A} on Sw: x = Sw 1, then 3 double power steps, λ = x^T Sw y. */
  static double largestEigenvalue(double[] xw, int n, int d) {
    double[] ones = new double[d];
    java.util.Arrays.fill(ones, 1);
    double[] x = sw(xw, n, d, ones);
    double[] yv = new double[d];
    for (int it = 0; it < 3; it++) {
      yv = normalize(sw(xw, n, d, x));
      x = normalize(sw(xw, n, d, yv));
    }
    double[] ay = sw(xw, n, d, yv);
    double s = 0;
    for (int i = 0; i < d; i++) s += x[i] * ay[i];
    return s;
  }

  private static double[] normalize(double[] v) {
    double s = 0;
    for (double x : v) s += x * x;
    s = Math.sqrt(s);
    if (s == 0) return v;
    for (int i = 0; i < v.length; i++) v[i] /= s;
    return v;
  }

  /**
   * @return n x c softmax probabilities of the shrunk Fisher classifier fitted on x: S = (1−a) Sw + a μ I with
   *     μ = tr Sw / d; S^-1 M^T by Cholesky on the d x d matrix, or (D &gt; N) by Woodbury's identity on the n x n one:
   *     S^-1 = (1/(aμ)) [I − Xw^T (Xw Xw^T + (aμ n/(1−a)) I)^-1 Xw]
   */
  static double[] probabilities(Backend b, double[] x, int n, int d, int[][] members, double[] mu, double[] xw, double a) {
    int c = members.length;
    double tr = 0;
    for (double v : xw) tr += v * v;
    double mu0 = tr / n / d;
    if (!(mu0 > 0)) throw new io.needle.NeedleException(io.needle.NeedleException.Code.BAD_INPUT, "sfda: the within-class covariance is zero (every class is constant)");
    double[] muT = new double[d * c];
    for (int k = 0; k < c; k++) for (int j = 0; j < d; j++) muT[j * c + k] = mu[k * d + j];
    double[] w;
    if (a >= 1) {
      w = muT.clone();
      for (int i = 0; i < w.length; i++) w[i] /= mu0;
    } else if (n >= d) {
      double[] s = b.gram(xw, n, d, true);
      for (int i = 0; i < s.length; i++) s[i] *= (1 - a) / n;
      for (int j = 0; j < d; j++) s[j * d + j] += a * mu0;
      w = b.solveSpd(s, d, muT, c);  // d x c: S^-1 mu_c
    } else {
      double[] g = b.gram(xw, n, d, false);
      double tau = a * mu0 * n / (1 - a);
      for (int i = 0; i < n; i++) g[i * n + i] += tau;
      double[] t = b.solveSpd(g, n, b.mult(xw, muT, n, d, c, false), c);  // n x c
      double[] corr = b.mult(xw, t, d, n, c, true);                        // d x c
      w = new double[d * c];
      for (int i = 0; i < w.length; i++) w[i] = (muT[i] - corr[i]) / (a * mu0);
    }
    double[] bias = new double[c];
    for (int k = 0; k < c; k++) {
      double q = 0;
      for (int j = 0; j < d; j++) q += mu[k * d + j] * w[j * c + k];
      bias[k] = -0.5 * q + Math.log((double) members[k].length / n);
    }
    double[] z = b.mult(x, w, n, d, c, false);
    for (int i = 0; i < n; i++) for (int k = 0; k < c; k++) z[i * c + k] += bias[k];
    Dense.softmaxRows(z, n, c);
    return z;
  }
}
