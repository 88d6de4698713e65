package io.needle.proxy;

import io.needle.engine.Dense;
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
    // the label dissimilarity takes two values (0 within a class, 1 + 1/(C-1) between): Spearman's rho is then the
    // point-biserial correlation of the feature dissimilarities' ranks with "between classes"
    int[] y = task.y();
    int pairs = n * (n - 1) / 2, between = 0;
    for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) if (y[i] != y[j]) between++;
    long[] all = new long[pairs], cross = new long[between];
    for (int i = 0, p = 0, q = 0; i < n; i++)
      for (int j = i + 1; j < n; j++, p++) {
        long key = sortable(1 - corr[i * n + j]);
        all[p] = key;
        if (y[i] != y[j]) cross[q++] = key;
      }
    return 100 * spearmanBinary(all, cross);
  }

  /** @return a long whose unsigned order is the numeric order of {@code v} (-0.0 and 0.0 equal) */
  static long sortable(double v) {
    long bits = Double.doubleToLongBits(v + 0.0);
    return bits ^ ((bits >> 63) | Long.MIN_VALUE);
  }

  /**
   * Spearman's ρ between values (as {@link #sortable} keys, {@code all}) and a 0/1 indicator that is 1 exactly for the
   * values in {@code ones} (a sub-multiset of {@code all}); ties get their average rank. Both arrays are sorted in place.
   */
  static double spearmanBinary(long[] all, long[] ones) {
    radixSort(all);
    radixSort(ones);
    double p = all.length, n1 = ones.length, sumOnes = 0, sumSq = 0;
    for (int lo = 0, o = 0; lo < all.length; ) {
      int hi = lo;
      while (hi + 1 < all.length && all[hi + 1] == all[lo]) hi++;
      double r = (lo + hi) / 2.0 + 1;
      sumSq += (hi - lo + 1) * r * r;
      int c = 0;
      while (o < ones.length && ones[o] == all[lo]) {
        o++;
        c++;
      }
      sumOnes += c * r;
      lo = hi + 1;
    }
    double meanR = (p + 1) / 2, frac = n1 / p;
    double cov = sumOnes / p - meanR * frac, varR = sumSq / p - meanR * meanR, varB = frac * (1 - frac);
    return cov / Math.sqrt(varR * varB);
  }

  /** Sorts longs by their unsigned value: LSD radix sort, 16-bit digits, passes where every key agrees skipped. */
  static void radixSort(long[] a) {
    long[] buf = new long[a.length];
    int[] count = new int[1 << 16];
    long[] src = a, dst = buf;
    for (int shift = 0; shift < 64; shift += 16) {
      java.util.Arrays.fill(count, 0);
      for (long v : src) count[(int) (v >>> shift) & 0xffff]++;
      if (src.length == 0 || count[(int) (src[0] >>> shift) & 0xffff] == src.length) continue;
      for (int i = 0, sum = 0; i < count.length; i++) {
        int c = count[i];
        count[i] = sum;
        sum += c;
      }
      for (long v : src) dst[count[(int) (v >>> shift) & 0xffff]++] = v;
      long[] t = src;
      src = dst;
      dst = t;
    }
    if (src != a) System.arraycopy(src, 0, a, 0, a.length);
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
}
