package io.needle;

/**
 * One expert's value of one proxy, with its status. A value may have any sign (LogME and NCE are negative by
 * design); whether higher is better is the proxy's to say ({@link io.needle.proxy.Proxy#higherIsBetter()}). No value
 * is ever used as a sentinel: a score that was not computed says so in its {@link Status} and {@code reason}.
 *
 * @param expert the expert's name
 * @param proxy the proxy's id ("knn-loo", "logme", ...)
 * @param score the value; NaN unless {@code status} is {@link Status#OK}
 * @param status whether the value was computed
 * @param reason why it was not (names the expert, the proxy and the problem); null when ok
 */
public record Score(String expert, String proxy, double score, Status status, String reason) {
  /** Whether a score was computed. */
  public enum Status {
    /** Computed; {@code score} holds the value. */
    OK,
    /** The proxy does not apply here (e.g. LEEP on an expert without a classifier head, a task with one class). */
    UNDEFINED,
    /** The input was bad or the computation broke (NaN in the embedding, a native error, ...). */
    FAILED;

    /** @return "ok", "undefined" or "failed", as written in CSV, JSON and Arrow outputs */
    public String id() {
      return Ids.id(this);
    }

    /** Parses {@link #id()}. */
    public static Status parse(String s) {
      return Ids.parse(Status.class, s, "score status", NeedleException.Code.BAD_INPUT);
    }
  }

  /** Checks that a value goes with an ok status and a reason with any other. */
  public Score {
    if (status == Status.OK && (reason != null || !Double.isFinite(score)))
      throw new IllegalArgumentException(expert + "/" + proxy + ": an ok score needs a finite value and no reason");
    if (status != Status.OK && (reason == null || !Double.isNaN(score)))
      throw new IllegalArgumentException(expert + "/" + proxy + ": a " + status.id() + " score needs a reason and no value");
  }

  /** @return whether the proxy was computed */
  public boolean ok() {
    return status == Status.OK;
  }

  /** @return a computed score */
  public static Score ok(String expert, String proxy, double score) {
    return new Score(expert, proxy, score, Status.OK, null);
  }

  /** @return a proxy that does not apply to this expert or task, with the reason */
  public static Score undefined(String expert, String proxy, String reason) {
    return new Score(expert, proxy, Double.NaN, Status.UNDEFINED, reason);
  }

  /**
   * @return the score an exception stands for: undefined for NOT_APPLICABLE, else failed; the reason names the expert
   *     and the proxy unless the message already starts with the expert
   */
  public static Score of(String expert, String proxy, NeedleException e) {
    String m = e.getMessage().startsWith(expert) ? e.getMessage() : expert + ": " + proxy + ": " + e.getMessage();
    return e.code() == NeedleException.Code.NOT_APPLICABLE ? undefined(expert, proxy, m) : failed(expert, proxy, m);
  }

  /** @return a proxy that could not be computed, with the reason */
  public static Score failed(String expert, String proxy, String reason) {
    return new Score(expert, proxy, Double.NaN, Status.FAILED, reason);
  }
}
