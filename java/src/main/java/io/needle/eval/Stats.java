package io.needle.eval;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/** The statistics of an evaluation: rank and linear correlation, and bootstrap confidence intervals. */
public final class Stats {
  private Stats() {}

  /**
   * A mean with its bootstrap percentile interval.
   *
   * @param mean the statistic on the data as given
   * @param lo the 2.5th percentile over resamples
   * @param hi the 97.5th percentile over resamples
   */
  public record Interval(double mean, double lo, double hi) {
    /** The interval of nothing. */
    public static final Interval NAN = new Interval(Double.NaN, Double.NaN, Double.NaN);
  }

  /**
   * Weighted Kendall τ with hyperbolic weights (Vigna 2015), as {@code scipy.stats.weightedtau(x, y)} computes it
   * by default: a pair (i, j) weighs 1/(r_i+1) + 1/(r_j+1), where r ranks elements by decreasing (x, y)
   * lexicographically; the result is the mean of that and the same with the rank by (y, x). Ties count as in
   * Kendall's τ-b. O(n²), which is fine for pools of a few thousand.
   *
   * @return τ in [-1, 1], or NaN when n &lt; 2 or either side is constant
   */
  public static double weightedTau(double[] x, double[] y) {
    if (x.length != y.length) throw new IllegalArgumentException("lengths differ");
    if (x.length < 2) return Double.NaN;
    return (weightedTau(x, y, rank(x, y)) + weightedTau(x, y, rank(y, x))) / 2;
  }

  private static double weightedTau(double[] x, double[] y, int[] rank) {
    int n = x.length;
    double num = 0, dx = 0, dy = 0;
    for (int i = 0; i < n; i++) {
      double wi = 1.0 / (rank[i] + 1);
      for (int j = i + 1; j < n; j++) {
        double w = wi + 1.0 / (rank[j] + 1);
        int sx = Double.compare(x[i], x[j]), sy = Double.compare(y[i], y[j]);
        sx = Integer.signum(sx);
        sy = Integer.signum(sy);
        num += w * sx * sy;
        dx += w * Math.abs(sx);
        dy += w * Math.abs(sy);
      }
    }
    return dx == 0 || dy == 0 ? Double.NaN : num / Math.sqrt(dx * dy);
  }

  /** Ranks (0 = most important) by decreasing a, then decreasing b, then decreasing index (scipy's tie order). */
  private static int[] rank(double[] a, double[] b) {
    Integer[] order = new Integer[a.length];
    for (int i = 0; i < order.length; i++) order[i] = i;
    Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -a[i]).thenComparingDouble(i -> -b[i]).thenComparing(i -> -i));
    int[] rank = new int[a.length];
    for (int r = 0; r < order.length; r++) rank[order[r]] = r;
    return rank;
  }

  /**
   * Kendall's τ-b (ties corrected, as {@code scipy.stats.kendalltau}); O(n²).
   *
   * @return τ in [-1, 1], or NaN when n &lt; 2 or either side is constant
   */
  public static double kendallTau(double[] x, double[] y) {
    int n = x.length;
    if (n != y.length) throw new IllegalArgumentException("lengths differ");
    double num = 0, dx = 0, dy = 0;
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++) {
        int sx = Integer.signum(Double.compare(x[i], x[j])), sy = Integer.signum(Double.compare(y[i], y[j]));
        num += sx * sy;
        dx += Math.abs(sx);
        dy += Math.abs(sy);
      }
    return dx == 0 || dy == 0 ? Double.NaN : num / Math.sqrt(dx * dy);
  }

  /** @return Pearson's r, or NaN when n &lt; 2 or either side is constant */
  public static double pearson(double[] x, double[] y) {
    int n = x.length;
    if (n != y.length) throw new IllegalArgumentException("lengths differ");
    if (n < 2) return Double.NaN;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
      mx += x[i];
      my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
  }

  /** @return the mean of the finite values, NaN if there are none */
  public static double mean(double[] v) {
    double s = 0;
    int n = 0;
    for (double x : v)
      if (Double.isFinite(x)) {
        s += x;
        n++;
      }
    return n == 0 ? Double.NaN : s / n;
  }

  /**
   * Bootstrap over tasks: the mean of {@code values} and a 95% percentile interval from {@code resamples} draws of
   * the same size with replacement. {@code draws} are shared between statistics so their intervals come from the same
   * resamples.
   */
  public static Interval bootstrap(double[] values, int[][] draws) {
    double m = mean(values);
    if (!Double.isFinite(m) || draws.length == 0) return new Interval(m, Double.NaN, Double.NaN);
    double[] stats = new double[draws.length];
    int k = 0;
    double[] sample = new double[values.length];
    for (int[] d : draws) {
      for (int i = 0; i < d.length; i++) sample[i] = values[d[i]];
      double s = mean(sample);
      if (Double.isFinite(s)) stats[k++] = s;
    }
    if (k == 0) return new Interval(m, Double.NaN, Double.NaN);
    double[] sorted = Arrays.copyOf(stats, k);
    Arrays.sort(sorted);
    return new Interval(m, percentile(sorted, 2.5), percentile(sorted, 97.5));
  }

  /** @return {@code resamples} index arrays of length n drawn with replacement, seeded */
  public static int[][] draws(int n, int resamples, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    int[][] d = new int[resamples][n];
    for (int[] row : d) for (int i = 0; i < n; i++) row[i] = rng.nextInt(n);
    return d;
  }

  /** Linear-interpolated percentile of sorted values (numpy's default method). */
  static double percentile(double[] sorted, double p) {
    double pos = p / 100 * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }

  /** Applies f to each element; a convenience for building value arrays. */
  static <T> double[] values(java.util.List<T> items, ToDoubleFunction<T> f) {
    double[] v = new double[items.size()];
    for (int i = 0; i < v.length; i++) v[i] = f.applyAsDouble(items.get(i));
    return v;
  }
}
