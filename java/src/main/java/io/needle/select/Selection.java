package io.needle.select;

import java.util.List;

/**
 * The experts picked for fine-tuning.
 *
 * @param strategy the strategy's id
 * @param budget how many fine-tunes were allowed
 * @param proxy the task-aware proxy used (null if none)
 * @param picks the picked experts, in order of choice
 */
public record Selection(String strategy, int budget, String proxy, List<Pick> picks) {
  public Selection {
    picks = List.copyOf(picks);
  }

  /**
   * One picked expert.
   *
   * @param expert its id
   * @param score its task-aware proxy score (NaN if it has none)
   * @param reason why it was picked, e.g. "rank 1 by knn-loo"
   */
  public record Pick(String expert, double score, String reason) {}
}
