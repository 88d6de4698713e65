package io.needle.select;

import java.util.List;
import java.util.Map;

/**
 * A strategy that learns how to combine signals from tasks with a fine-tune oracle. {@code needle evaluate} trains it
 * leave-one-task-out (no task is ever scored by a model trained on it); {@code needle select} uses a model trained on a
 * benchmark and saved with {@code needle evaluate --save-model}.
 */
public interface Learned {
  /**
   * A training task.
   *
   * @param context the task's scores and metadata (its budget is not used)
   * @param oracle fine-tuned accuracy of each expert of the context's pool
   */
  record Task(SelectionContext context, Map<String, Double> oracle) {}

  /** @return this strategy trained on the given tasks */
  Strategy train(List<Task> tasks);

  /**
   * @param proxy the proxy it ranks by, for a strategy that {@link Strategy#usesProxy() uses one} (evaluation trains one
   *     per proxy); null otherwise
   * @return this strategy trained on the given tasks
   */
  default Strategy train(List<Task> tasks, String proxy) {
    return train(tasks);
  }

  /**
   * @return the proxies a trained model reads (the one it ranks by first), known to this build; empty when untrained or
   *     when it reads none
   */
  default List<String> proxies() {
    return List.of();
  }

  /**
   * Writes the trained model as JSON for {@code needle select --model} ({@link Strategies#load} reads it back).
   *
   * @param note where it was trained, kept in the file
   * @throws io.needle.NeedleException INVALID_ARGUMENT when untrained
   */
  void save(java.nio.file.Path file, String note);

  /** @return a few words on the trained model, for the line that says where it was written */
  String summary();

  /** @return the value the trained strategy ranks each expert of the pool by (higher is better) */
  Map<String, Double> rankScores(SelectionContext ctx);
}
