package io.needle.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Regret against an oracle that is itself an average over a few noisy fine-tuning seeds. For every pick, the seeds of
 * each expert are resampled (bootstrap, with replacement, each expert independently) and the gap between the oracle's
 * best expert and the best pick recomputed on the resampled means:
 *
 * <ul>
 *   <li>a pick is <b>distinguishable</b> from the oracle's best when that gap is positive in at least 97.5% of the
 *       resamples (its 95% percentile interval excludes zero);
 *   <li>its <b>regret beyond noise</b> is the lower end of that interval, floored at zero: the part of the absolute
 *       regret that the seeds cannot explain;
 *   <li>the mean absolute regret over tasks gets an interval that resamples tasks and, within each, seeds.
 * </ul>
 *
 * Experts whose oracle value is the best but that the picks include have zero gap in every resample. Random picking has
 * no picks and is left out.
 */
public final class Noise {
  private Noise() {}

  /** One (task, strategy, budget): the pick against the oracle's best, under seed noise (accuracy points as fractions). */
  public record Row(String task, String strategy, int budget, boolean distinguishable, double beyondNoise, double lo, double hi) {}

  /**
   * Over tasks, for one strategy and budget.
   *
   * @param distinguishable fraction of tasks where the pick is distinguishable from the oracle's best
   * @param beyondNoise mean regret beyond noise
   * @param absolute mean gap to the oracle's best with a 95% interval resampling tasks and seeds
   */
  public record Summary(String strategy, int budget, double distinguishable, double beyondNoise, Stats.Interval absolute) {}

  /**
   * What the analysis found.
   *
   * @param warnings what was left out and why (tasks without seeds, experts with a single seed: noise unknown)
   */
  public record Result(List<Row> rows, List<Summary> summaries, List<String> warnings) {}

  /**
   * @param rows the evaluation's rows (random's are skipped)
   * @param runs the oracle's seeds
   * @param pools task → the experts of its pool
   * @param best task → the oracle's best expert (the first of ties)
   */
  public static Result analyze(List<Evaluation.Row> rows, SeedRuns runs, Map<String, List<String>> pools, Map<String, String> best,
      int resamples, long seed) {
    int draws = Math.max(resamples, 200);
    // per task, the resampled mean of every expert of its pool, draw by draw
    Map<String, Map<String, double[]>> means = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    int ti = 0;
    for (Map.Entry<String, List<String>> p : pools.entrySet()) {
      Map<String, double[]> seeds = runs.accuracy().get(p.getKey());
      if (seeds == null) {
        warnings.add("noise: task '" + p.getKey() + "' has no runs: left out of the noise-aware view");
        continue;
      }
      List<String> single = p.getValue().stream().filter(e -> seeds.get(e) == null || seeds.get(e).length < 2).toList();
      if (!single.isEmpty())
        warnings.add("noise: task '" + p.getKey() + "': " + single.size() + " expert(s) with fewer than 2 usable seeds (noise unknown), picks involving them left out: "
            + String.join(", ", single.subList(0, Math.min(5, single.size()))) + (single.size() > 5 ? ", ..." : ""));
      Random rnd = new Random(seed * 1_000_003L + ti++);
      Map<String, double[]> m = new LinkedHashMap<>();
      for (String e : p.getValue()) {
        double[] s = seeds.get(e);
        if (s == null || s.length < 2) continue;
        double[] v = new double[draws];
        for (int b = 0; b < draws; b++) {
          double sum = 0;
          for (int k = 0; k < s.length; k++) sum += s[rnd.nextInt(s.length)];
          v[b] = sum / s.length;
        }
        m.put(e, v);
      }
      means.put(p.getKey(), m);
    }
    List<Row> out = new ArrayList<>();
    Map<String, Map<String, double[]>> gaps = new LinkedHashMap<>();  // strategy/budget -> task -> gap per draw
    for (Evaluation.Row r : rows) {
      if (r.strategy().equals(Evaluation.RANDOM) || r.picks().isEmpty()) continue;
      Map<String, double[]> m = means.get(r.task());
      String top = best.get(r.task());
      if (m == null || !m.containsKey(top) || r.picks().stream().anyMatch(e -> !m.containsKey(e))) continue;
      double[] gap = new double[draws];
      for (int b = 0; b < draws; b++) {
        double pick = Double.NEGATIVE_INFINITY;
        for (String e : r.picks()) pick = Math.max(pick, m.get(e)[b]);
        gap[b] = r.picks().contains(top) ? 0 : m.get(top)[b] - pick;
      }
      double[] sorted = gap.clone();
      Arrays.sort(sorted);
      double lo = Stats.percentile(sorted, 2.5), hi = Stats.percentile(sorted, 97.5);
      out.add(new Row(r.task(), r.strategy(), r.budget(), lo > 0, Math.max(0, lo), lo, hi));
      gaps.computeIfAbsent(r.strategy() + '\u0000' + r.budget(), k -> new LinkedHashMap<>()).put(r.task(), gap);
    }
    List<Summary> summaries = new ArrayList<>();
    Random rnd = new Random(seed);
    for (Map.Entry<String, Map<String, double[]>> g : gaps.entrySet()) {
      String[] key = g.getKey().split("\u0000");
      List<double[]> perTask = new ArrayList<>(g.getValue().values());
      List<Row> rs = out.stream().filter(x -> x.strategy().equals(key[0]) && x.budget() == Integer.parseInt(key[1])).toList();
      double dist = rs.stream().mapToDouble(x -> x.distinguishable() ? 1 : 0).average().orElse(Double.NaN);
      double beyond = rs.stream().mapToDouble(Row::beyondNoise).average().orElse(Double.NaN);
      double point = rs.stream().mapToDouble(x -> Stats.mean(g.getValue().get(x.task()))).average().orElse(Double.NaN);
      double[] boot = new double[draws];
      int t = perTask.size();
      for (int b = 0; b < draws; b++) {  // resample tasks, and for each the seeds (a random draw of its gap)
        double s = 0;
        for (int i = 0; i < t; i++) s += perTask.get(rnd.nextInt(t))[rnd.nextInt(draws)];
        boot[b] = s / t;
      }
      Arrays.sort(boot);
      summaries.add(new Summary(key[0], Integer.parseInt(key[1]), dist, beyond,
          new Stats.Interval(point, Stats.percentile(boot, 2.5), Stats.percentile(boot, 97.5))));
    }
    return new Result(List.copyOf(out), List.copyOf(summaries), List.copyOf(warnings));
  }
}
