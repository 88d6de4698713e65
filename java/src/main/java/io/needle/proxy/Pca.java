package io.needle.proxy;

import io.needle.engine.Backend;
import io.needle.engine.Dense;

/**
 * Principal component scores as scikit-learn's {@code PCA(k).fit_transform} computes them (centred, signs fixed so the
 * largest-magnitude entry of each sample-side column is positive): exact (the full SVD, from the eigendecomposition of
 * the smaller Gram matrix) or randomised ({@code svd_solver='randomized'} with a numpy-seeded test matrix, the given
 * power iterations without normalisation, 10 oversamples), which is what the authors of PARC ran.
 */
final class Pca {
  private Pca() {}

  /** @return the n x k scores of the k largest exact principal components */
  static double[] exact(Backend b, double[] x, int n, int d, int k) {
    return exact(b, x, n, d, k, Double.NaN);
  }

  /**
   * @param ratio if not NaN, k is instead the fewest components whose cumulative explained-variance ratio exceeds it
   *     (scikit-learn's {@code PCA(n_components=ratio)}); the scores then have that many columns
   * @return the n x k scores of the k largest exact principal components
   */
  static double[] exact(Backend b, double[] x, int n, int d, int k, double ratio) {
    double[] xc = x.clone();
    Dense.center(xc, n, d);
    double[] scores;
    Dense.Eigen e = b.eigh(b.gram(xc, n, d, n >= d), Math.min(n, d));
    if (!Double.isNaN(ratio)) k = componentsFor(e.values(), ratio);
    if (n < d) {
      scores = new double[n * k];
      for (int j = 0; j < k; j++) {
        double s = Math.sqrt(Math.max(e.values()[j], 0));
        for (int i = 0; i < n; i++) scores[i * k + j] = e.vectors()[i * n + j] * s;
      }
    } else {
      double[] v = new double[d * k];
      for (int r = 0; r < d; r++) for (int j = 0; j < k; j++) v[r * k + j] = e.vectors()[r * d + j];
      scores = b.mult(xc, v, n, d, k, false);
    }
    flipSigns(scores, n, k);
    return scores;
  }

  /** @return the n x k scores of scikit-learn's randomised PCA with this seed and power iterations */
  static double[] randomized(Backend be, double[] x, int n, int d, int k, long seed, int powerIterations) {
    boolean transpose = n < d;
    int rows = transpose ? d : n, cols = transpose ? n : d, size = k + 10;
    if (size >= cols) return exact(be, x, n, d, k);  // the range finder spans everything: the exact PCA
    double[] xc = x.clone();
    Dense.center(xc, n, d);
    double[] m = transpose ? transpose(xc, n, d) : xc;  // rows x cols
    NumpyRandom rnd = new NumpyRandom(seed);
    double[] q = new double[cols * size];
    for (int i = 0; i < q.length; i++) q[i] = rnd.nextGaussian();
    for (int it = 0; it < powerIterations; it++) {
      double[] mq = be.mult(m, q, rows, cols, size, false);   // rows x size
      q = be.mult(m, mq, cols, rows, size, true);             // cols x size
    }
    double[] basis = Dense.orthonormalBasis(be.mult(m, q, rows, cols, size, false), rows, size);  // rows x size
    double[] b = be.mult(basis, m, size, rows, cols, true);  // size x cols
    // B B^T = Uhat S^2 Uhat^T
    Dense.Eigen e = be.eigh(be.gram(b, size, cols, false), size);
    double[] uhat = new double[size * k];
    for (int r = 0; r < size; r++) for (int j = 0; j < k; j++) uhat[r * k + j] = e.vectors()[r * size + j];
    double[] u = be.mult(basis, uhat, rows, size, k, false);  // rows x k: left singular vectors of M
    double[] scores;
    if (!transpose) {
      scores = new double[n * k];
      for (int j = 0; j < k; j++) {
        double s = Math.sqrt(Math.max(e.values()[j], 0));
        for (int i = 0; i < n; i++) scores[i * k + j] = u[i * k + j] * s;
      }
    } else {
      scores = be.mult(xc, u, n, d, k, false);  // samples projected on the top axes
    }
    flipSigns(scores, n, k);
    return scores;
  }

  /** @return the fewest leading eigenvalues whose share of the total exceeds {@code ratio} (strictly) */
  static int componentsFor(double[] values, double ratio) {
    double total = 0;
    for (double v : values) total += Math.max(v, 0);
    double cum = 0;
    for (int k = 0; k < values.length; k++) {
      cum += Math.max(values[k], 0);
      if (cum / total > ratio) return k + 1;
    }
    return values.length;
  }

  private static double[] transpose(double[] x, int n, int d) {
    double[] t = new double[n * d];
    for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) t[j * n + i] = x[i * d + j];
    return t;
  }

  /** Makes the largest-magnitude entry of each column positive (scikit-learn's {@code svd_flip} on the sample side). */
  static void flipSigns(double[] s, int n, int k) {
    for (int j = 0; j < k; j++) {
      int arg = 0;
      for (int i = 1; i < n; i++) if (Math.abs(s[i * k + j]) > Math.abs(s[arg * k + j])) arg = i;
      if (s[arg * k + j] < 0) for (int i = 0; i < n; i++) s[i * k + j] = -s[i * k + j];
    }
  }
}
