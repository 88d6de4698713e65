package io.needle.proxy;

import io.needle.engine.Dense;

import java.util.EnumSet;
import java.util.Set;

/**
 * {@code leep}: Log Expected Empirical Prediction (Nguyen et al., ICML 2020). With θ(x) = softmax of the expert's
 * upstream logits, the empirical joint P(y, z) = (1/N) Σ_{i: y_i = y} θ_z(x_i) and conditional P(y | z) = P(y, z) / P(z):
 * LEEP = (1/N) Σ_i ln Σ_z P(y_i | z) θ_z(x_i). As the authors' code (thuml/LogME LEEP.py), in float64; softmax with the
 * row maximum subtracted. Needs the expert's upstream classifier outputs.
 */
public final class Leep extends Estimator {
  @Override
  public String id() {
    return "leep";
  }

  @Override
  public String description() {
    return "LEEP: log expected empirical prediction from the expert's upstream classifier (Nguyen et al., 2020)";
  }

  @Override
  public Set<Need> needs() {
    return EnumSet.of(Need.UPSTREAM_LOGITS);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), z = e.logits().cols();
    double[] theta = new double[n * z];
    float[] l = e.logits().data();
    for (int i = 0; i < theta.length; i++) theta[i] = l[i];
    Dense.softmaxRows(theta, n, z);
    return leep(theta, n, z, task.y(), task.classes(), true);
  }

  /**
   * LEEP's expected empirical prediction from source-class probabilities θ (n x z): the empirical joint
   * P(y, z) = (1/N) Σ_{i: y_i = y} θ_z(x_i), P(y | z) = P(y, z) / P(z), then (1/N) Σ_i [ln] Σ_z P(y_i | z) θ_z(x_i).
   *
   * @param log with the logarithm (LEEP) or without (the SFDA code's N-LEEP)
   */
  static double leep(double[] theta, int n, int z, int[] y, int c, boolean log) {
    double[] joint = new double[c * z];
    for (int i = 0; i < n; i++) for (int j = 0; j < z; j++) joint[y[i] * z + j] += theta[i * z + j] / n;
    double[] cond = new double[c * z];  // P(y | z)
    for (int j = 0; j < z; j++) {
      double pz = 0;
      for (int q = 0; q < c; q++) pz += joint[q * z + j];
      for (int q = 0; q < c; q++) cond[q * z + j] = pz > 0 ? joint[q * z + j] / pz : 0;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      double p = 0;
      for (int j = 0; j < z; j++) p += cond[y[i] * z + j] * theta[i * z + j];
      s += log ? Math.log(p) : p;
    }
    return s / n;
  }
}
