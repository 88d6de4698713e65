package io.needle.select;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.zoo.Expert;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How the experts to fine-tune are picked within a budget of B fine-tunes ([004] section 3).
 *
 * <ul>
 *   <li>{@code task-aware}: the B best by a task-aware proxy (e.g. knn-loo).
 *   <li>{@code task-agnostic}: the B best by metadata alone: task-agnostic score (e.g. upstream accuracy), then
 *       upstream dataset size, then parameter count, all descending; experts with no score come after.
 *   <li>{@code hybrid}: the best task-agnostic expert plus the B-1 best task-aware others.
 * </ul>
 */
public enum Strategy {
  TASK_AWARE("task-aware"),
  TASK_AGNOSTIC("task-agnostic"),
  HYBRID("hybrid");

  private final String id;

  Strategy(String id) {
    this.id = id;
  }

  /** @return the name on the command line and in reports */
  public String id() {
    return id;
  }

  /** Parses a strategy name. */
  public static Strategy parse(String s) {
    for (Strategy x : values()) if (x.id.equals(s.trim().toLowerCase(Locale.ROOT))) return x;
    throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown strategy '" + s + "': use task-aware, task-agnostic or hybrid");
  }

  /** The metadata order of the task-agnostic strategy: score, upstream size, parameters (all descending), id. */
  public static final Comparator<Expert> TASK_AGNOSTIC_ORDER = Comparator
      .comparing((Expert e) -> e.meta().score(), Comparator.nullsLast(Comparator.reverseOrder()))
      .thenComparing(e -> e.meta().upstreamSize(), Comparator.nullsLast(Comparator.reverseOrder()))
      .thenComparing(e -> e.meta().parameters(), Comparator.nullsLast(Comparator.reverseOrder()))
      .thenComparing(Expert::id);

  /**
   * Picks up to {@code budget} experts.
   *
   * @param experts the pool
   * @param scores task-aware scores of the pool (failed ones are never picked by the task-aware part)
   * @param proxy the proxy that ranks task-aware picks
   */
  public Selection select(List<Expert> experts, List<Score> scores, String proxy, int budget) {
    if (budget < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "budget must be at least 1");
    Map<String, Double> aware = new HashMap<>();
    for (Score s : scores) if (s.proxy().equals(proxy) && s.ok()) aware.put(s.expert(), s.score());
    List<Expert> byAware = experts.stream().filter(e -> aware.containsKey(e.id()))
        .sorted(Comparator.comparingDouble((Expert e) -> -aware.get(e.id())).thenComparing(Expert::id)).toList();
    List<Expert> byMeta = experts.stream().sorted(TASK_AGNOSTIC_ORDER).toList();
    List<Expert> chosen = choose(byAware, byMeta, budget);
    List<Selection.Pick> picks = new ArrayList<>();
    for (int i = 0; i < chosen.size(); i++) {
      Expert e = chosen.get(i);
      String reason = this == TASK_AGNOSTIC ? "rank " + (i + 1) + " by metadata"
          : this == HYBRID && i == 0 ? "best by metadata"
          : "rank " + (byAware.indexOf(e) + 1) + " by " + proxy;
      picks.add(pick(e, aware, proxy, reason));
    }
    return new Selection(this, budget, proxy, picks);
  }

  /**
   * The rule itself, on any kind of item: the first {@code budget} distinct items of the task-aware order, of the
   * task-agnostic order, or the first of the task-agnostic order followed by the task-aware order.
   *
   * @param byAware items in task-aware order (best first); unscored items left out
   * @param byMeta items in task-agnostic order (best first)
   * @return the picks, in order of choice; fewer than {@code budget} when the orders run out
   */
  public <T> List<T> choose(List<T> byAware, List<T> byMeta, int budget) {
    if (budget < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "budget must be at least 1");
    LinkedHashSet<T> picked = new LinkedHashSet<>();
    if (this != TASK_AWARE && !byMeta.isEmpty()) picked.add(byMeta.get(0));
    for (T e : this == TASK_AGNOSTIC ? byMeta : byAware) {
      if (picked.size() >= budget) break;
      picked.add(e);
    }
    return List.copyOf(picked);
  }

  private static Selection.Pick pick(Expert e, Map<String, Double> aware, String proxy, String reason) {
    return new Selection.Pick(e.id(), aware.getOrDefault(e.id(), Double.NaN), reason);
  }
}
