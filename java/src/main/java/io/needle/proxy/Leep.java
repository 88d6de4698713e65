package io.needle.proxy;

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
    int n = task.size(), c = task.classes(), z = e.logits().cols();
    int[] y = task.y();
    double[] theta = softmax(e.logits().data(), n, z);
    double[] joint = new double[c * z];
    for (int i = 0; i < n; i++) for (int j = 0; j < z; j++) joint[y[i] * z + j] += theta[i * z + j] / n;
    double[] cond = new double[c * z];  // P(y | z)
    for (int j = 0; j < z; j++) {
      double pz = 0;
      for (int q = 0; q < c; q++) pz += joint[q * z + j];
      for (int q = 0; q < c; q++) cond[q * z + j] = joint[q * z + j] / pz;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      double p = 0;
      for (int j = 0; j < z; j++) p += cond[y[i] * z + j] * theta[i * z + j];
      s += Math.log(p);
    }
    return s / n;
  }

  /** @return row-wise softmax of an n x z float matrix, in float64, the row maximum subtracted first */
  static double[] softmax(float[] logits, int n, int z) {
    double[] out = new double[n * z];
    for (int i = 0; i < n; i++) {
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int j = 0; j < z; j++) max = Math.max(max, logits[i * z + j]);
      for (int j = 0; j < z; j++) sum += out[i * z + j] = Math.exp(logits[i * z + j] - max);
      for (int j = 0; j < z; j++) out[i * z + j] /= sum;
    }
    return out;
  }
}
