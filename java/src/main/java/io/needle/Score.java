package io.needle;

/**
 * One expert's value of one proxy.
 *
 * @param expert the expert's name
 * @param proxy the proxy's id ("knn-loo", ...)
 * @param score accuracy in [0, 1]; NaN when failed
 * @param error why it failed; null when ok
 */
public record Score(String expert, String proxy, double score, String error) {
  /** @return "ok" or "failed" */
  public String status() {
    return error == null ? "ok" : "failed";
  }

  /** @return whether the proxy was computed */
  public boolean ok() {
    return error == null;
  }

  /** @return a computed score */
  public static Score ok(String expert, String proxy, double score) {
    return new Score(expert, proxy, score, null);
  }

  /** @return a proxy that could not be computed, with the reason */
  public static Score failed(String expert, String proxy, String error) {
    return new Score(expert, proxy, Double.NaN, error);
  }
}
