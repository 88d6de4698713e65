package io.needle.proxy;

import io.needle.engine.Dense;

/**
 * {@code transrate}: TransRate (Huang et al., ICML 2022), the coding rate of the features minus the mean coding rate of
 * each class's features: R(Z) = ½ ln det(I + Z^T Z / (n ε)) with n the rows of Z and ε = 1e-4, on features centred over
 * all examples; TrR = R(F) − (1/C) Σ_c R(F_c), as TLlib's {@code transrate} (ε = 1e-4). The determinant is taken on the
 * smaller Gram matrix (det(I + Z^T Z a) = det(I + Z Z^T a)).
 */
public final class TransRate extends Estimator {
  /** The distortion ε. */
  public static final Option<Double> EPS = Option.real("transrate-eps", 1e-4, v -> v > 0, "TransRate's distortion eps, > 0 (default as TLlib)");

  @Override
  public String id() {
    return "transrate";
  }

  @Override
  public String description() {
    return "TransRate: coding rate of the features minus the mean per-class coding rate (Huang et al., 2022)";
  }

  @Override
  public java.util.List<Option<?>> options() {
    return java.util.List.of(EPS);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), d = e.embedding().cols(), c = task.classes();
    double eps = task.settings().get(EPS);
    double[] f = Dense.of(e.embedding());
    Dense.center(f, n, d);
    double r = rate(task.backend(), f, n, d, eps), rc = 0;
    for (int[] m : Dense.members(task.y(), c)) rc += rate(task.backend(), Dense.rows(f, d, m), m.length, d, eps);
    return r - rc / c;
  }

  /** @return ½ ln det(I + Z^T Z / (n ε)) */
  static double rate(io.needle.engine.Backend b, double[] z, int n, int d, double eps) {
    double[] g = b.gram(z, n, d, n >= d);
    int m = Math.min(n, d);
    double a = 1 / (n * eps);
    for (int i = 0; i < g.length; i++) g[i] *= a;
    for (int i = 0; i < m; i++) g[i * m + i] += 1;
    return 0.5 * b.logDetSpd(g, m);
  }
}
