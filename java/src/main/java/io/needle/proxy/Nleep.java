package io.needle.proxy;

import io.needle.engine.Dense;
import java.util.List;
import java.util.Random;

/**
 * {@code nleep}: N-LEEP (Li et al., CVPR 2021, "Ranking Neural Checkpoints"): LEEP with the expert's classifier
 * replaced by a Gaussian mixture fitted on the task's features. The features are reduced by PCA to the fewest
 * components explaining more than 80% of the variance; a full-covariance mixture of 5·C components is fitted by EM
 * (scikit-learn's defaults: k-means++ then Lloyd's k-means to initialise, reg 1e-6 on the diagonal, tolerance 1e-3 on
 * the mean log-likelihood, at most 100 iterations), seeded by {@code seed}; its posteriors θ play the upstream
 * classifier: NLEEP = (1/N) Σ_i ln Σ_z P(y_i | z) θ_z(x_i) (the paper). {@code nleep-form=sfda} drops the logarithm, as
 * the TencentARC/SFDA implementation does. The mixture's initialisation is random, so values match other
 * implementations only to within their spread over seeds, not digit for digit.
 */
public final class Nleep extends Estimator {
  /** With the logarithm (the paper) or without (TencentARC/SFDA's code). */
  public static final Option<String> FORM = Option.choice("nleep-form", "leep", List.of("leep", "sfda"),
      "NLEEP: leep (the paper: mean log-likelihood) or sfda (TencentARC/SFDA's code: without the logarithm)");
  /** Cap on the PCA dimensions (0: none, as the authors). */
  public static final Option<Integer> MAX_DIMS = Option.integer("nleep-max-dims", 0, 0, 1 << 16,
      "cap on NLEEP's PCA dimensions; 0 keeps all that explain 80% of the variance (the paper); a cap bounds the mixture's cost");
  /** Components per class. */
  public static final Option<Integer> RATIO = Option.integer("nleep-components", 5, 1, 100, "NLEEP's mixture components per class (paper: 5)");

  @Override
  public String id() {
    return "nleep";
  }

  @Override
  public String description() {
    return "N-LEEP: LEEP on the posteriors of a Gaussian mixture fitted on PCA-reduced features (Li et al., 2021)";
  }

  @Override
  public List<Option<?>> options() {
    return List.of(FORM, RATIO, MAX_DIMS);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d0 = e.embedding().cols(), c = task.classes();
    double[] x = Pca.exact(task.backend(), Dense.of(e.embedding()), n, d0, 0, 0.8);
    int d = x.length / n, cap = task.settings().get(MAX_DIMS);
    if (cap > 0 && d > cap) {  // the leading components are the first columns
      double[] t = new double[n * cap];
      for (int i = 0; i < n; i++) System.arraycopy(x, i * d, t, i * cap, cap);
      x = t;
      d = cap;
    }
    int k = Math.min(task.settings().get(RATIO) * c, n);
    double[] theta = new Mixture(x, n, d, k, new Random(task.settings().get(TaskData.SEED))).fit();
    return Leep.leep(theta, n, k, task.y(), c, task.settings().get(FORM).equals("leep"));
  }

  /** A full-covariance Gaussian mixture fitted by EM, as scikit-learn's {@code GaussianMixture} with its defaults. */
  static final class Mixture {
    final double[] x;
    final int n, d, k;
    final Random rnd;
    double[] weights, means, cov;  // k; k x d; k x d x d
    double[][] chol;               // per component: lower Cholesky factor of its covariance

    Mixture(double[] x, int n, int d, int k, Random rnd) {
      this.x = x;
      this.n = n;
      this.d = d;
      this.k = k;
      this.rnd = rnd;
    }

    /** @return the posteriors (n x k) after EM from a k-means initialisation */
    double[] fit() {
      double[] resp = new double[n * k];
      int[] label = kmeans();
      for (int i = 0; i < n; i++) resp[i * k + label[i]] = 1;
      mStep(resp);
      double prev = Double.NEGATIVE_INFINITY;
      for (int it = 0; it < 100; it++) {
        double lb = eStep(resp);
        mStep(resp);
        if (Math.abs(lb - prev) < 1e-3) break;
        prev = lb;
      }
      eStep(resp);
      return resp;
    }

    /** k-means++ seeding (2 + ln k local trials, as scikit-learn) then Lloyd's iterations to a fixed point. */
    int[] kmeans() {
      double[] centers = new double[k * d];
      int first = rnd.nextInt(n);
      System.arraycopy(x, first * d, centers, 0, d);
      double[] closest = new double[n];
      for (int i = 0; i < n; i++) closest[i] = dist2(x, i * d, centers, 0);
      int trials = 2 + (int) Math.log(k);
      for (int c = 1; c < k; c++) {
        double total = 0;
        for (double v : closest) total += v;
        int best = -1;
        double bestPot = Double.POSITIVE_INFINITY;
        for (int t = 0; t < trials; t++) {
          double r = rnd.nextDouble() * total, acc = 0;
          int cand = n - 1;
          for (int i = 0; i < n; i++) {
            acc += closest[i];
            if (acc > r) {
              cand = i;
              break;
            }
          }
          double pot = 0;
          for (int i = 0; i < n; i++) pot += Math.min(closest[i], dist2(x, i * d, x, cand * d));
          if (pot < bestPot) {
            bestPot = pot;
            best = cand;
          }
        }
        System.arraycopy(x, best * d, centers, c * d, d);
        for (int i = 0; i < n; i++) closest[i] = Math.min(closest[i], dist2(x, i * d, centers, c * d));
      }
      int[] label = new int[n];
      java.util.Arrays.fill(label, -1);
      for (int it = 0; it < 300; it++) {
        boolean changed = false;
        for (int i = 0; i < n; i++) {
          int arg = 0;
          double min = Double.POSITIVE_INFINITY;
          for (int c = 0; c < k; c++) {
            double v = dist2(x, i * d, centers, c * d);
            if (v < min) {
              min = v;
              arg = c;
            }
          }
          if (label[i] != arg) changed = true;
          label[i] = arg;
        }
        if (!changed) break;
        double[] sum = new double[k * d];
        int[] count = new int[k];
        for (int i = 0; i < n; i++) {
          count[label[i]]++;
          for (int j = 0; j < d; j++) sum[label[i] * d + j] += x[i * d + j];
        }
        for (int c = 0; c < k; c++)
          if (count[c] > 0) for (int j = 0; j < d; j++) centers[c * d + j] = sum[c * d + j] / count[c];
      }
      return label;
    }

    static double dist2(double[] a, int ao, double[] b, int bo, int d) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        double t = a[ao + j] - b[bo + j];
        s += t * t;
      }
      return s;
    }

    double dist2(double[] a, int ao, double[] b, int bo) {
      return dist2(a, ao, b, bo, d);
    }

    void mStep(double[] resp) {
      weights = new double[k];
      means = new double[k * d];
      cov = new double[k * d * d];
      chol = new double[k][];
      double eps = 10 * Math.ulp(1.0);
      for (int c = 0; c < k; c++) {
        double nk = eps;
        for (int i = 0; i < n; i++) nk += resp[i * k + c];
        weights[c] = nk / n;
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) means[c * d + j] += resp[i * k + c] * x[i * d + j] / nk;
        int o = c * d * d;
        for (int i = 0; i < n; i++) {
          double r = resp[i * k + c];
          if (r == 0) continue;
          for (int a = 0; a < d; a++) {
            double da = x[i * d + a] - means[c * d + a];
            for (int b = 0; b <= a; b++) cov[o + a * d + b] += r * da * (x[i * d + b] - means[c * d + b]);
          }
        }
        for (int a = 0; a < d; a++) {
          for (int b = 0; b <= a; b++) {
            cov[o + a * d + b] /= nk;
            cov[o + b * d + a] = cov[o + a * d + b];
          }
          cov[o + a * d + a] += 1e-6;
        }
        chol[c] = Dense.cholesky(java.util.Arrays.copyOfRange(cov, o, o + d * d), d);
      }
    }

    /** Replaces resp by the posteriors under the current parameters; returns the mean log-likelihood. */
    double eStep(double[] resp) {
      double[] logp = new double[k];
      double[] z = new double[d];
      double total = 0;
      double[] logdet = new double[k];
      for (int c = 0; c < k; c++) for (int a = 0; a < d; a++) logdet[c] += Math.log(chol[c][a * d + a]);
      for (int i = 0; i < n; i++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
          double[] l = chol[c];
          double q = 0;
          for (int a = 0; a < d; a++) {  // solve L z = x - mu
            double s = x[i * d + a] - means[c * d + a];
            for (int b = 0; b < a; b++) s -= l[a * d + b] * z[b];
            z[a] = s / l[a * d + a];
            q += z[a] * z[a];
          }
          logp[c] = Math.log(weights[c]) - 0.5 * (d * Math.log(2 * Math.PI) + q) - logdet[c];
          max = Math.max(max, logp[c]);
        }
        double sum = 0;
        for (int c = 0; c < k; c++) sum += Math.exp(logp[c] - max);
        double lse = max + Math.log(sum);
        total += lse;
        for (int c = 0; c < k; c++) resp[i * k + c] = Math.exp(logp[c] - lse);
      }
      return total / n;
    }
  }
}
