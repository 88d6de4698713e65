package io.needle.proxy;

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
    double[] x = Dense.of(e.embedding());
    int[][] members = Dense.members(y, c);
    double[] sw = within(x, n, d, members);
    double lambda = largestEigenvalue(sw, d);
    double a = Math.max(Math.exp(-5 * lambda), 1e-10);
    double[] p = probabilities(x, n, d, members, sw, a);
    // second softmax over the probabilities, as the authors' code
    double[] q = p.clone();
    softmaxRows(q, n, c);
    double[] mu = means(x, d, members);
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
    double[] p2 = probabilities(moved, n, d, members, within(moved, n, d, members), a);
    double s = 0;
    for (int i = 0; i < n; i++) s += p2[i * c + y[i]];
    return s / n;
  }

  /** @return Σ_c π_c cov_c with biased class covariances (d x d) */
  static double[] within(double[] x, int n, int d, int[][] members) {
    double[] sw = new double[d * d];
    double[] mu = means(x, d, members);
    for (int k = 0; k < members.length; k++) {
      int[] m = members[k];
      double[] xc = Dense.rows(x, d, m);
      for (int r = 0; r < m.length; r++) for (int j = 0; j < d; j++) xc[r * d + j] -= mu[k * d + j];
      double[] g = Dense.gramCols(xc, m.length, d);
      // pi_c * (1/n_c) * G = G / n
      for (int i = 0; i < sw.length; i++) sw[i] += g[i] / n;
    }
    return sw;
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

  /** The authors' {@code iterative_A}: x = A 1, then 3 double power steps, λ = x^T A y. */
  static double largestEigenvalue(double[] a, int d) {
    double[] x = new double[d];
    for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) x[i] += a[i * d + j];
    double[] yv = new double[d];
    for (int it = 0; it < 3; it++) {
      yv = normalize(times(a, d, x));
      x = normalize(times(a, d, yv));
    }
    double[] ay = times(a, d, yv);
    double s = 0;
    for (int i = 0; i < d; i++) s += x[i] * ay[i];
    return s;
  }

  private static double[] times(double[] a, int d, double[] v) {
    double[] out = new double[d];
    for (int i = 0; i < d; i++) {
      double s = 0;
      for (int j = 0; j < d; j++) s += a[i * d + j] * v[j];
      out[i] = s;
    }
    return out;
  }

  private static double[] normalize(double[] v) {
    double s = 0;
    for (double x : v) s += x * x;
    s = Math.sqrt(s);
    for (int i = 0; i < v.length; i++) v[i] /= s;
    return v;
  }

  /** @return n x c softmax probabilities of the shrunk Fisher classifier fitted on x */
  static double[] probabilities(double[] x, int n, int d, int[][] members, double[] sw, double a) {
    int c = members.length;
    double mu0 = HScoreShrinkage.trace(sw, d) / d;
    double[] s = new double[d * d];
    for (int i = 0; i < s.length; i++) s[i] = (1 - a) * sw[i];
    for (int j = 0; j < d; j++) s[j * d + j] += a * mu0;
    double[] mu = means(x, d, members);
    double[] muT = new double[d * c];
    for (int k = 0; k < c; k++) for (int j = 0; j < d; j++) muT[j * c + k] = mu[k * d + j];
    double[] w = Dense.solveSpd(s, d, muT, c);  // d x c: S^-1 mu_c
    double[] bias = new double[c];
    for (int k = 0; k < c; k++) {
      double q = 0;
      for (int j = 0; j < d; j++) q += mu[k * d + j] * w[j * c + k];
      bias[k] = -0.5 * q + Math.log((double) members[k].length / n);
    }
    double[] z = Dense.mult(x, n, d, w, c);
    for (int i = 0; i < n; i++) for (int k = 0; k < c; k++) z[i * c + k] += bias[k];
    softmaxRows(z, n, c);
    return z;
  }

  static void softmaxRows(double[] z, int n, int c) {
    for (int i = 0; i < n; i++) {
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int k = 0; k < c; k++) max = Math.max(max, z[i * c + k]);
      for (int k = 0; k < c; k++) sum += z[i * c + k] = Math.exp(z[i * c + k] - max);
      for (int k = 0; k < c; k++) z[i * c + k] /= sum;
    }
  }
}
