package io.needle.select;

import java.util.List;

/**
 * How the experts to fine-tune are picked within a budget of B fine-tunes ([004] section 3). Implementations are found
 * with {@link java.util.ServiceLoader} ({@link Strategies}): a new strategy is one class plus one line in
 * {@code META-INF/services/io.needle.select.Strategy}. A strategy is stateless; everything it reads is in the
 * {@link SelectionContext}, and {@code needle select} and {@code needle evaluate} run the same code.
 */
public interface Strategy {
  /** @return the id on the command line ("task-aware", "task-agnostic", "hybrid", ...) */
  String id();

  /** @return one line on how it picks */
  String description();

  /** @return whether it reads a task-aware proxy ({@link SelectionContext#proxy()}); evaluation then runs it once per proxy */
  default boolean usesProxy() {
    return false;
  }

  /** @return whether it reads the experts' metadata; evaluation leaves it out when there is none */
  default boolean needsMetadata() {
    return false;
  }

  /** @return its name in evaluation tables when it ranks by {@code proxy} (e.g. "hybrid-knn-loo") */
  default String label(String proxy) {
    return usesProxy() ? id() + "-" + proxy : id();
  }

  /** @return up to {@link SelectionContext#budget()} distinct experts of the pool, in order of choice, each with why */
  List<Selection.Pick> pick(SelectionContext ctx);
}
