package io.needle.proxy;

import io.needle.engine.Dense;

/**
 * {@code logme}: LogME, the log maximum evidence of a Bayesian linear model from the features to each one-hot label
 * column, averaged over classes (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for
 * Transfer Learning", and its fixed-point form in the authors' TPAMI version).
 *
 * <p>With the thin SVD F = U S V^T (σ = s², k = rank: for N > D the singular values of F^T F above 1e-10 are kept,
 * else all N) and, per class c, y = 1[label = c], x = U^T y: starting from α = β = 1, up to 11 times, with t = α/β,
 * γ = Σ σ/(σ+t), m² = Σ σ x²/(t+σ)², r² = Σ x²/(1+σ/t)² + (|y|² − |x|²), α = γ/(m² + 1e-5), β = (N − γ)/(r² + 1e-5);
 * the evidence is [D/2 ln α + N/2 ln β − ½ Σ ln(α + βσ) − β/2 r² − α/2 m² − N/2 ln 2π] / N; stop when α/β moves by at
 * most 1e-3 relative. All as the authors' {@code LogME.fit} with its defaults (thuml/LogME), in float64; the SVD is
 * taken from the eigendecomposition of the smaller Gram matrix (F^T F or F F^T), the same subspace.
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
      k = 0;
      while (k < d && Math.sqrt(Math.max(eig.values()[k], 0)) > 1e-10) k++;
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
      sum += evidence(sigma, x2, count[q] - sx2, n, d);
    }
    return sum / c;
  }

  /** The fixed-point iteration for one label column; {@code resX2} = |y|² − |x|² (the part outside the rank). */
  static double evidence(double[] sigma, double[] x2, double resX2, int n, int d) {
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
      ev = (d / 2.0 * Math.log(alpha) + n / 2.0 * Math.log(beta) - 0.5 * logs - beta / 2 * res2 - alpha / 2 * m2
          - n / 2.0 * Math.log(2 * Math.PI)) / n;
      if (Math.abs(t2 - t) / t <= 1e-3) break;
    }
    return ev;
  }
}
