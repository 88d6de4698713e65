package io.needle.proxy;

import io.needle.engine.Dense;
import java.util.List;

/**
 * {@code gbc}: Gaussian Bhattacharyya Coefficient (Pándy et al., CVPR 2022): features reduced by PCA to min(64, N, D)
 * components, each class modelled as a Gaussian with per-dimension population variances floored at 1e-4 (spherical by
 * default: their mean), and GBC = −Σ over ordered class pairs of exp(−BD), with the Bhattacharyya distance
 * BD = Σ (μ1 − μ2)² / v̄ / 8 + ½ (Σ ln v̄ − ½ Σ ln v1 − ½ Σ ln v2), v̄ = (v1 + v2)/2. Written from the authors' formula
 * (google-research stable_transfer gbc.py, which needs TensorFlow and 64 ≤ min(N, D)), in float64.
 */
public final class Gbc extends Estimator {
  /** Covariance form. */
  public static final Option<String> GAUSSIAN = Option.choice("gbc-gaussian", "spherical", List.of("spherical", "diagonal"),
      "GBC's class Gaussians: spherical (authors' default) or diagonal");
  /** Components kept. */
  public static final Option<Integer> DIMS = Option.integer("gbc-dims", 64, 1, 1 << 16, "GBC's PCA components (authors: 64)");

  @Override
  public String id() {
    return "gbc";
  }

  @Override
  public String description() {
    return "GBC: Bhattacharyya overlap of per-class Gaussians after PCA (Pándy et al., 2022)";
  }

  @Override
  public List<Option<?>> options() {
    return List.of(GAUSSIAN, DIMS);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d = e.embedding().cols(), c = task.classes();
    int k = Math.min(task.settings().get(DIMS), Math.min(n, d));
    boolean spherical = task.settings().get(GAUSSIAN).equals("spherical");
    double[] f = Pca.exact(task.backend(), Dense.of(e.embedding()), n, d, k);
    int[][] members = Dense.members(task.y(), c);
    double[] mu = Sfda.means(f, k, members);
    double[][] var = new double[c][];
    for (int q = 0; q < c; q++) {
      double[] v = new double[k];
      for (int i : members[q]) for (int j = 0; j < k; j++) v[j] += (f[i * k + j] - mu[q * k + j]) * (f[i * k + j] - mu[q * k + j]);
      double mean = 0;
      for (int j = 0; j < k; j++) {
        v[j] = Math.max(v[j] / members[q].length, 1e-4);
        mean += v[j] / k;
      }
      var[q] = spherical ? new double[] {mean} : v;
    }
    double total = 0;
    for (int p = 0; p < c; p++)
      for (int q = 0; q < c; q++) {
        if (p == q) continue;
        double[] v1 = var[p], v2 = var[q];
        double dist = 0, logs = 0;
        for (int j = 0; j < k; j++) {
          double avg = (v1[spherical ? 0 : j] + v2[spherical ? 0 : j]) / 2;
          double diff = mu[p * k + j] - mu[q * k + j];
          dist += diff * diff / avg;
        }
        for (int j = 0; j < v1.length; j++) {
          double avg = (v1[j] + v2[j]) / 2;
          logs += Math.log(avg) - 0.5 * Math.log(v1[j]) - 0.5 * Math.log(v2[j]);
        }
        total += Math.exp(-(dist / 8 + 0.5 * logs));
      }
    return -total;
  }
}
