package io.needle.proxy;

import io.needle.NeedleException;
import java.util.Locale;

/** The task-aware proxies Needle computes for every expert. Each is an accuracy in [0, 1]; higher is better. */
public enum Proxy {
  /**
   * Leave-one-out k-NN accuracy over all N examples: each example is classified by its k nearest other
   * examples (its own index excluded explicitly, so duplicates and zero distances are handled exactly); ties
   * in distance go to the lowest index. An example whose class has no other member is always misclassified.
   */
  KNN_LOO("knn-loo"),
  /** k-NN accuracy of the validation split against the train split (stratified, seeded; 80/20 by default). */
  KNN_SPLIT("knn-split"),
  /** Validation accuracy of multinomial logistic regression fitted on the train split. */
  LINEAR("linear");

  private final String id;

  Proxy(String id) {
    this.id = id;
  }

  /** @return the name used on the command line and in reports */
  public String id() {
    return id;
  }

  /** Parses "knn-loo", "knn-split" or "linear". */
  public static Proxy parse(String s) {
    for (Proxy p : values()) if (p.id.equals(s.trim().toLowerCase(Locale.ROOT))) return p;
    throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown proxy '" + s + "': use knn-loo, knn-split or linear");
  }
}
