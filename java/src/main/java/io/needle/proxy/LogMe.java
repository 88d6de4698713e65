package io.needle.proxy;

import io.needle.engine.Dense;

/**
 * {@code logme}: LogME, the log maximum evidence of a Bayesian linear model from the features to each one-hot label
 * column, averaged over classes (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for
 * Transfer Learning", and its fixed-point form in the authors' TPAMI version).
 *
 * <p>With the thin SVD F = U S V^T (σ = s², k = rank: for N > D the numerical rank of F^T F, below; else all N) and, per class c, y = 1[label = c], x = U^T y: starting from α = β = 1, up to 11 times, with t = α/β,
 * γ = Σ σ/(σ+t), m² = Σ σ x²/(t+σ)², r² = Σ x²/(1+σ/t)² + (|y|² − |x|²), α = γ/(m² + 1e-5), β = (N − γ)/(r² + 1e-5);
 * the evidence is [D/2 ln α + N/2 ln β − ½ Σ ln(α + βσ) − β/2 r² − α/2 m² − N/2 ln 2π] / N; stop when α/β moves by at
 * most 1e-3 relative. All as the authors' {@code LogME.fit} with its defaults (thuml/LogME), in float64; the SVD is
 * taken from the eigendecomposition of the smaller Gram matrix (F^T F or F F^T), the same subspace.
 *
 * <p>For N > D the weight space has D directions, and ln det(αI + βF^T F) runs over all of them: the D − k beyond the
 * rank have σ = 0 and add ln α each (and nothing to γ, m² or x). The authors' code keeps only eigenvalues of F^T F
 * above 1e-20 (1e-10 on s): for features of lower rank than D (dead ReLU units are common) the eigenvalues beyond the
 * rank sit at rounding level (1e-11 beside 1e6), pass that cut, and come back as ln(α + β·1e-11) ≈ ln α, which is
 * the exact value only by luck: U = F V / s then divides rounding noise by s ~ 1e-5, and x = U^T y for those
 * directions is noise unless F V is exactly zero. Here they are cut at λ_max · max(N, D) · ε (numerical rank, as
 * numpy's {@code matrix_rank}) and counted as exact zeros. Measured on a real 400 x 64 embedding of rank 31 (33
 * dead units): the authors' code 0.1703; this class with the authors' cut 0.363 (java backend), 0.396 and 0.405
 * (cpu, one and two threads), the noise directions' x being different noise each time; with the rank cut and the
 * zeros counted, 0.1703 on every backend and thread count.
 */
public final class LogMe extends Estimator {
  @Override
  public String id() {
    return "logme";
  }

  @Override
  public String description() {
    return "LogME: log maximum evidence of a Bayesian linear model on one-hot labels (You et al., 2021)";
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = e.embedding().rows(), d = e.embedding().cols(), c = task.classes();
    int[] y = task.y();
    double[] f = Dense.of(e.embedding());
    // one-hot label columns (n x c)
    double[] onehot = new double[n * c];
    for (int i = 0; i < n; i++) onehot[i * c + y[i]] = 1;
    double[] sigma;
    double[] proj;  // k x c: x = U^T y per class
    int k;
    if (n > d) {
      Dense.Eigen eig = task.backend().eigh(task.backend().gram(f, n, d, true), d);
      // numerical rank: what is below rounding level relative to the largest eigenvalue is no direction of F
      double tol = Math.max(1e-20, Math.max(eig.values()[0], 0) * Math.max(n, d) * Math.ulp(1.0));
      k = 0;
      while (k < d && eig.values()[k] > tol) k++;
      // U^T y = V_k^T F^T y / s
      double[] fty = task.backend().mult(f, onehot, d, n, c, true);
      double[] all = eig.project(fty, c);
      sigma = new double[k];
      proj = new double[k * c];
      for (int j = 0; j < k; j++) {
        sigma[j] = eig.values()[j];
        double s = Math.sqrt(sigma[j]);
        for (int q = 0; q < c; q++) proj[j * c + q] = all[j * c + q] / s;
      }
    } else {
      Dense.Eigen eig = task.backend().eigh(task.backend().gram(f, n, d, false), n);
      k = n;
      sigma = new double[k];
      for (int j = 0; j < k; j++) sigma[j] = Math.max(eig.values()[j], 0);
      proj = eig.project(onehot, c);
    }
    int[] count = new int[c];
    for (int v : y) count[v]++;
    double sum = 0;
    double[] x2 = new double[k];
    for (int q = 0; q < c; q++) {
      double sx2 = 0;
      for (int j = 0; j < k; j++) {
        x2[j] = proj[j * c + q] * proj[j * c + q];
        sx2 += x2[j];
      }
      sum += evidence(sigma, x2, count[q] - sx2, n, d, n > d ? d - k : 0);
    }
    return sum / c;
  }

  /**
   * The fixed-point iteration for one label column; {@code resX2} = |y|² − |x|² (the part outside the rank);
   * {@code zeros} more eigenvalues σ = 0 (the directions beyond the rank of F, for N > D).
   */
  static double evidence(double[] sigma, double[] x2, double resX2, int n, int d, int zeros) {
    double alpha = 1, beta = 1, ev = 0;
    for (int it = 0; it < 11; it++) {
      double t = alpha / beta, gamma = 0, m2 = 0, res2 = resX2;
      for (int j = 0; j < sigma.length; j++) {
        double s = sigma[j];
        gamma += s / (s + t);
        m2 += s * x2[j] / ((t + s) * (t + s));
        double r = 1 + s / t;
        res2 += x2[j] / (r * r);
      }
      alpha = gamma / (m2 + 1e-5);
      beta = (n - gamma) / (res2 + 1e-5);
      double t2 = alpha / beta, logs = 0;
      for (double s : sigma) logs += Math.log(alpha + beta * s);
      logs += zeros * Math.log(alpha);
      ev = (d / 2.0 * Math.log(alpha) + n / 2.0 * Math.log(beta) - 0.5 * logs - beta / 2 * res2 - alpha / 2 * m2
          - n / 2.0 * Math.log(2 * Math.PI)) / n;
      if (Math.abs(t2 - t) / t <= 1e-3) break;
    }
    return ev;
  }
}
