package io.needle.proxy;

import io.needle.engine.Dense;
import java.util.Arrays;
import java.util.List;

/**
 * {@code parc}: Pairwise Annotation Representation Comparison (Bolya et al., NeurIPS 2021), as the SFDA authors' code
 * ({@code PARC_Score}, TencentARC/SFDA) with its defaults: features reduced by scikit-learn's randomised PCA to
 * min(32, N) components (seed 1919, one power iteration), standardised per column; PARC = 100 × Spearman's ρ between
 * the strict upper triangles of 1 − corr(rows of the reduced features) and 1 − corr(rows of the one-hot labels).
 * Deliberate difference: where D &lt; 32 the authors' code raises; here the PCA keeps min(32, N, D) components.
 * {@code parc-pca=exact} uses the exact PCA instead of the randomised one.
 */
public final class Parc extends Estimator {
  /** Components kept. */
  public static final Option<Integer> DIMS = Option.integer("parc-dims", 32, 1, 1 << 16, "PARC's PCA components (authors: 32)");
  /** Which PCA. */
  public static final Option<String> PCA = Option.choice("parc-pca", "randomized", List.of("randomized", "exact"),
      "PARC's PCA: randomized (the authors' scikit-learn call, seed 1919) or exact");

  @Override
  public String id() {
    return "parc";
  }

  @Override
  public String description() {
    return "PARC: Spearman correlation of feature and label dissimilarity matrices (Bolya et al., 2021)";
  }

  @Override
  public List<Option<?>> options() {
    return List.of(DIMS, PCA);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d = e.embedding().cols();
    int k = Math.min(task.settings().get(DIMS), Math.min(n, d));
    double[] x = Dense.of(e.embedding());
    double[] f = task.settings().get(PCA).equals("exact") ? Pca.exact(task.backend(), x, n, d, k) : Pca.randomized(task.backend(), x, n, d, k, 1919, 1);
    standardize(f, n, k);
    // rows centred and scaled to unit length: their dot products are the row correlations
    for (int i = 0; i < n; i++) {
      double m = 0, s = 0;
      for (int j = 0; j < k; j++) m += f[i * k + j];
      m /= k;
      for (int j = 0; j < k; j++) s += (f[i * k + j] - m) * (f[i * k + j] - m);
      s = Math.sqrt(s);
      for (int j = 0; j < k; j++) f[i * k + j] = (f[i * k + j] - m) / s;
    }
    double[] corr = task.backend().gram(f, n, k, false);
    int pairs = n * (n - 1) / 2;
    double[] a = new double[pairs];
    double[] b = new double[pairs];
    int[] y = task.y();
    for (int i = 0, p = 0; i < n; i++)
      for (int j = i + 1; j < n; j++, p++) {
        a[p] = 1 - corr[i * n + j];
        b[p] = y[i] == y[j] ? 0 : 1;
      }
    return 100 * spearman(a, b);
  }

  /** Columns centred and divided by their population standard deviation (a zero one left at 1, as scikit-learn). */
  static void standardize(double[] f, int n, int k) {
    for (int j = 0; j < k; j++) {
      double m = 0, s = 0;
      for (int i = 0; i < n; i++) m += f[i * k + j];
      m /= n;
      for (int i = 0; i < n; i++) s += (f[i * k + j] - m) * (f[i * k + j] - m);
      s = Math.sqrt(s / n);
      if (s == 0) s = 1;
      for (int i = 0; i < n; i++) f[i * k + j] = (f[i * k + j] - m) / s;
    }
  }

  /** @return Spearman's rank correlation (ties get their average rank) */
  static double spearman(double[] a, double[] b) {
    return pearson(ranks(a), ranks(b));
  }

  /** @return 1-based ranks, ties averaged (primitive sort, then each value's first and last position by binary search) */
  static double[] ranks(double[] v) {
    double[] sorted = v.clone();
    Arrays.sort(sorted);
    double[] r = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      int lo = lowerBound(sorted, v[i]), hi = lowerBound(sorted, Math.nextUp(v[i])) - 1;
      r[i] = (lo + hi) / 2.0 + 1;
    }
    return r;
  }

  /** @return the first index whose value is not below {@code x} */
  private static int lowerBound(double[] a, double x) {
    int lo = 0, hi = a.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  static double pearson(double[] a, double[] b) {
    int n = a.length;
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / Math.sqrt(saa * sbb);
  }
}
