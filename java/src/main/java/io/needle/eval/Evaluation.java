package io.needle.eval;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.proxy.Proxies;
import io.needle.select.Learned;
import io.needle.select.Selection;
import io.needle.select.SelectionContext;
import io.needle.select.Strategies;
import io.needle.select.Strategy;
import io.needle.zoo.Expert;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Regret of model-search strategies against a fine-tune oracle ([004] section 3).
 *
 * <p>For a task, the pool's oracle value is the best fine-tuned accuracy in the pool; a strategy with budget B picks
 * B experts and is worth s = the best fine-tuned accuracy among its picks. Absolute regret is oracle − s; relative
 * regret is [004] eq. 2 with the oracle in place of the first strategy: (oracle − s) / (1 − s). Strategies:
 *
 * <ul>
 *   <li>{@code random}: B experts drawn uniformly without replacement; its regret and zero-regret rate are exact
 *       expectations over all draws, not a sample;
 *   <li>every registered {@link Strategy} that uses no proxy (e.g. {@code task-agnostic}: metadata order);
 *   <li>every registered strategy that uses a proxy, once per proxy in the score table, under
 *       {@link Strategy#label}: {@code knn-loo} (task-aware: its top B), {@code hybrid-knn-loo}, ...
 * </ul>
 *
 * Strategies that read metadata need the experts' metadata (a zoo); without it they are left out. Each strategy picks
 * through {@link Strategy#pick}, the same code {@code needle select} runs.
 */
public final class Evaluation {
  /** The name of the random strategy. */
  public static final String RANDOM = "random";
  /** The name of the metadata strategy. */
  public static final String AGNOSTIC = "task-agnostic";
  /** The scope name of the all-tasks aggregate. */
  public static final String ALL = "all";

  /**
   * One strategy on one task at one budget.
   *
   * @param picks the experts picked, in order (empty for random)
   * @param picked s: the best oracle accuracy among the picks (an expectation for random)
   * @param oracle the best oracle accuracy in the pool
   * @param best the expert(s) reaching it
   * @param absolute oracle − s
   * @param relative (oracle − s) / (1 − s), [004] eq. 2 (an expectation for random)
   * @param zero 1 if the regret is zero, else 0 (for random: the probability of it)
   */
  public record Row(String task, String group, String strategy, int budget, List<String> picks, double picked,
      double oracle, List<String> best, double absolute, double relative, double zero) {}

  /**
   * Means over the tasks of a scope (all tasks, or one group), with bootstrap 95% intervals over tasks.
   *
   * @param scope {@link #ALL} or a group name
   * @param tasks how many tasks it covers
   */
  public record Summary(String scope, String strategy, int budget, int tasks, Stats.Interval absolute,
      Stats.Interval relative, Stats.Interval zero) {}

  /**
   * How a proxy's scores (or a strategy's ranking) on a task agree with the oracle over the pool.
   *
   * @param n experts with both a score and an oracle value
   * @param weightedTau weighted Kendall τ (hyperbolic weights, as the SFDA paper reports)
   * @param kendallTau Kendall's τ-b
   * @param top1 1 if its first expert is one of the oracle's best, else 0
   */
  public record Correlation(String task, String group, String proxy, int n, double weightedTau, double kendallTau, double pearson, double top1) {
    static Correlation of(String task, String group, String proxy, double[] score, double[] oracle) {
      int arg = -1;
      double max = Double.NEGATIVE_INFINITY, best = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < score.length; i++) {
        best = Math.max(best, oracle[i]);
        if (score[i] > max) {
          max = score[i];
          arg = i;
        }
      }
      return new Correlation(task, group, proxy, score.length, Stats.weightedTau(score, oracle), Stats.kendallTau(score, oracle),
          Stats.pearson(score, oracle), arg < 0 ? Double.NaN : oracle[arg] == best ? 1 : 0);
    }
  }

  /** A proxy's (or strategy's) correlations averaged over tasks, with bootstrap 95% intervals. */
  public record CorrelationSummary(String proxy, Stats.Interval weightedTau, Stats.Interval kendallTau, Stats.Interval pearson,
      Stats.Interval top1) {}

  /**
   * [004] eq. 2 between two strategies on a task: (s1 − s2) / (1 − min(s1, s2)); positive when the first is better.
   */
  public record Delta(String task, int budget, String first, String second, double delta) {}

  /**
   * Everything an evaluation found.
   *
   * @param models each learned strategy trained on every evaluated task, by name (to save and use on new tasks)
   */
  public record Result(List<String> tasks, Map<String, String> groups, List<String> strategies, List<Integer> budgets,
      List<Row> rows, List<Summary> summaries, List<Correlation> correlations, List<CorrelationSummary> correlationSummaries,
      List<Delta> deltas, List<String> warnings, int resamples, Map<String, Double> secondsPerExpert, Map<String, Strategy> models,
      Noise.Result noise) {

    /** @return the row of a task, strategy and budget, or null */
    public Row row(String task, String strategy, int budget) {
      for (Row r : rows) if (r.task.equals(task) && r.strategy.equals(strategy) && r.budget == budget) return r;
      return null;
    }

    /** @return the correlation summary of a proxy or strategy, or null */
    public CorrelationSummary correlation(String name) {
      for (CorrelationSummary c : correlationSummaries) if (c.proxy.equals(name)) return c;
      return null;
    }

    /** @return the summary of a scope, strategy and budget, or null */
    public Summary summary(String scope, String strategy, int budget) {
      for (Summary s : summaries) if (s.scope.equals(scope) && s.strategy.equals(strategy) && s.budget == budget) return s;
      return null;
    }
  }

  /**
   * What to evaluate.
   *
   * @param experts the experts' metadata, or null when there is none (then the metadata strategies are left out)
   * @param pool if not null, only experts it admits are in the pool (needs {@code experts})
   * @param groups task → group; tasks not in it are in group {@link #ALL}
   * @param budgets the budgets B to evaluate, each at least 1
   * @param resamples bootstrap resamples (0: no intervals)
   * @param seed bootstrap seed
   * @param secondsPerExpert proxy id → scoring seconds per expert and task, when known (from the run that made the scores)
   * @param runs the oracle's individual seeds, for the noise-aware view ({@link Noise}); null for none
   */
  public record Config(List<Expert> experts, io.needle.zoo.Pool pool, Map<String, String> groups, List<Integer> budgets,
      int resamples, long seed, Map<String, Double> secondsPerExpert, SeedRuns runs) {
    /** A configuration without timings or seeds. */
    public Config(List<Expert> experts, io.needle.zoo.Pool pool, Map<String, String> groups, List<Integer> budgets, int resamples, long seed) {
      this(experts, pool, groups, budgets, resamples, seed, Map.of(), null);
    }
  }

  private Evaluation() {}

  /**
   * Evaluates every strategy on every task the oracle and the scores share.
   *
   * @throws NeedleException INVALID_ARGUMENT for a budget below 1 or a pool without metadata; BAD_INPUT when the oracle
   *     and the scores share no task
   */
  public static Result run(Oracle oracle, ScoreTable scores, Config cfg) {
    for (int b : cfg.budgets())
      if (b < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "budget must be at least 1, got " + b);
    if (cfg.pool() != null && cfg.experts() == null)
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "a pool filter needs the experts' metadata (--zoo)");
    List<String> warnings = new ArrayList<>();
    Map<String, Expert> meta = new HashMap<>();
    if (cfg.experts() != null) for (Expert e : cfg.experts()) meta.put(e.id(), e);

    List<String> tasks = new ArrayList<>();
    for (String t : oracle.accuracy().keySet())
      if (scores.scores().containsKey(t)) tasks.add(t);
      else warnings.add("task '" + t + "' is in the oracle but has no scores: left out");
    for (String t : scores.scores().keySet())
      if (!oracle.accuracy().containsKey(t)) warnings.add("task '" + t + "' has scores but no oracle: left out");
    if (tasks.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, "the oracle and the scores share no task");

    Set<String> proxySet = new java.util.LinkedHashSet<>();
    for (String t : tasks) proxySet.addAll(scores.scores().get(t).keySet());
    List<String> proxies = List.copyOf(proxySet);
    boolean metadata = cfg.experts() != null;
    if (!metadata) warnings.add("no expert metadata (--zoo): strategies that read metadata (task-agnostic, hybrid, ...) left out");
    // every strategy once, or once per proxy; random is computed exactly below, not picked
    List<Instance> instances = new ArrayList<>();
    for (Strategy st : Strategies.all())
      if (!st.usesProxy() && (metadata || !st.needsMetadata())) instances.add(new Instance(st.label(null), st, null));
    // a proxy with no computed score anywhere (undefined everywhere, e.g. LEEP without upstream logits) keeps its own
    // row, but no strategy is built on it
    List<String> scored = proxies.stream().filter(p -> tasks.stream().anyMatch(t -> scores.scores().get(t).getOrDefault(p, Map.of())
        .values().stream().anyMatch(Score::ok))).toList();
    for (Strategy st : Strategies.all())
      if (st.usesProxy() && (metadata || !st.needsMetadata()))
        for (String p : proxies) if (scored.contains(p) || st.label(p).equals(p)) instances.add(new Instance(st.label(p), st, p));
    List<String> strategies = new ArrayList<>();
    strategies.add(RANDOM);
    for (Instance in : instances) strategies.add(in.label());

    Map<String, String> groups = new LinkedHashMap<>();
    for (String t : tasks) groups.put(t, cfg.groups() == null ? ALL : cfg.groups().getOrDefault(t, ALL));
    List<Row> rows = new ArrayList<>();
    Map<String, Row> index = new HashMap<>();    // task/strategy/budget -> row, for the aggregates
    List<Correlation> corr = new ArrayList<>();
    List<Delta> deltas = new ArrayList<>();
    Set<String> missingMeta = new TreeSet<>();
    Map<String, Expert.Metadata> metaById = new HashMap<>();
    meta.forEach((k, v) -> metaById.put(k, v.meta()));
    // the pool and oracle of every task first: learned strategies train on the other tasks
    List<View> views = new ArrayList<>();
    for (String task : tasks) {
      Map<String, Double> acc = new LinkedHashMap<>();
      for (Map.Entry<String, Double> e : oracle.accuracy().get(task).entrySet()) {
        Expert x = meta.get(e.getKey());
        if (metadata && x == null) {
          missingMeta.add(e.getKey());
          continue;
        }
        if (cfg.pool() != null && !cfg.pool().admits(x)) continue;
        acc.put(e.getKey(), e.getValue());
      }
      if (acc.isEmpty()) {
        warnings.add("task '" + task + "': no expert of the pool has an oracle value: left out");
        continue;
      }
      List<String> pool = List.copyOf(acc.keySet());
      views.add(new View(task, acc, new SelectionContext(pool, metaById, scores.scores().get(task), null, 1)));
    }
    if (views.size() < 2) {  // learned strategies train leave-one-task-out: one task leaves nothing to train on
      List<String> learned = instances.stream().filter(in -> in.strategy() instanceof Learned).map(Instance::label).toList();
      if (!learned.isEmpty()) {
        instances.removeIf(in -> in.strategy() instanceof Learned);
        strategies.removeAll(learned);
        warnings.add(String.join(", ", learned) + ": trained leave-one-task-out, needs at least 2 tasks: left out");
      }
    }
    List<String> correlated = new ArrayList<>(proxies);
    if (metadata) correlated.add(AGNOSTIC);
    for (Instance in : instances) if (in.strategy() instanceof Learned) correlated.add(in.label());
    for (int ti = 0; ti < views.size(); ti++) {
      View view = views.get(ti);
      String task = view.task();
      Map<String, Double> acc = view.oracle();
      String group = groups.get(task);
      List<String> pool = view.context().pool();
      double best = Collections.max(acc.values());
      List<String> bestIds = pool.stream().filter(e -> acc.get(e) == best).toList();
      Map<String, Map<String, Score>> taskScores = view.context().scores();
      SelectionContext base = view.context();
      // learned strategies: trained leave-one-task-out, never on the task they score
      Map<Instance, Strategy> trained = new LinkedHashMap<>();
      for (Instance in : instances)
        if (in.strategy() instanceof Learned l) {
          List<Learned.Task> others = new ArrayList<>();
          for (int tj = 0; tj < views.size(); tj++)
            if (tj != ti) others.add(new Learned.Task(views.get(tj).context(), views.get(tj).oracle()));
          trained.put(in, l.train(others, in.proxy()));
        }
      for (String p : proxies) {
        Map<String, Score> s = taskScores.getOrDefault(p, Map.of());
        List<String> ranked = base.byProxy(p);
        int unscored = pool.size() - ranked.size();
        if (unscored > 0) warnings.add("task '" + task + "', " + p + ": " + unscored + " expert(s) of the pool have no score and are never picked by it");
        long extra = s.keySet().stream().filter(e -> !acc.containsKey(e)).count();
        if (extra > 0 && cfg.pool() == null)
          warnings.add("task '" + task + "', " + p + ": " + extra + " scored expert(s) have no oracle value and are not evaluated");
        double sign = Proxies.higherIsBetter(p) ? 1 : -1;
        double[] x = ranked.stream().mapToDouble(e -> sign * s.get(e).score()).toArray();
        double[] y = ranked.stream().mapToDouble(acc::get).toArray();
        corr.add(Correlation.of(task, group, p, x, y));
      }
      if (metadata) {
        List<String> order = base.byMetadata();
        Map<String, Integer> position = new HashMap<>();
        for (int i = 0; i < order.size(); i++) position.put(order.get(i), i);
        double[] x = pool.stream().mapToDouble(e -> -position.get(e)).toArray();
        double[] y = pool.stream().mapToDouble(acc::get).toArray();
        corr.add(Correlation.of(task, group, AGNOSTIC, x, y));
      }
      for (Map.Entry<Instance, Strategy> t : trained.entrySet()) {
        Map<String, Double> r = ((Learned) t.getValue()).rankScores(base);
        double[] x = pool.stream().mapToDouble(r::get).toArray();
        double[] y = pool.stream().mapToDouble(acc::get).toArray();
        corr.add(Correlation.of(task, group, t.getKey().label(), x, y));
      }
      double[] sorted = acc.values().stream().mapToDouble(Double::doubleValue).sorted().toArray();
      for (int b : cfg.budgets()) {
        Map<String, Double> value = new HashMap<>();
        List<Row> budgetRows = new ArrayList<>();
        budgetRows.add(random(task, group, b, sorted, best, bestIds));
        for (Instance in : instances) {
          SelectionContext ctx = new SelectionContext(pool, metaById, taskScores, in.proxy(), b);
          List<String> picks = trained.getOrDefault(in, in.strategy()).pick(ctx).stream().map(Selection.Pick::expert).toList();
          double s = picks.stream().mapToDouble(acc::get).max().orElse(Double.NaN);
          budgetRows.add(new Row(task, group, in.label(), b, picks, s, best, bestIds, best - s, relative(best, s), s == best ? 1 : picks.isEmpty() ? Double.NaN : 0));
        }
        for (Row row : budgetRows) {
          rows.add(row);
          index.put(key(task, row.strategy, b), row);
          value.put(row.strategy, row.picked);
        }
        for (String m1 : strategies)
          for (String m2 : strategies)
            if (!m1.equals(m2)) deltas.add(new Delta(task, b, m1, m2, delta(value.get(m1), value.get(m2))));
      }
    }
    if (!missingMeta.isEmpty())
      warnings.add(missingMeta.size() + " expert(s) of the oracle are not in the zoo and are left out: " + String.join(", ", missingMeta));

    // aggregates, with the same bootstrap draws for every statistic of a scope
    List<String> used = rows.stream().map(Row::task).distinct().toList();
    List<Summary> summaries = new ArrayList<>();
    List<String> scopes = new ArrayList<>();
    scopes.add(ALL);
    used.stream().map(groups::get).distinct().filter(g -> !g.equals(ALL)).forEach(scopes::add);
    for (int si = 0; si < scopes.size(); si++) {
      String scope = scopes.get(si);
      List<String> ts = used.stream().filter(t -> scope.equals(ALL) || groups.get(t).equals(scope)).toList();
      int[][] draws = Stats.draws(ts.size(), cfg.resamples(), cfg.seed() + si);
      for (String strat : strategies)
        for (int b : cfg.budgets()) {
          List<Row> rs = new ArrayList<>();
          for (String t : ts) rs.add(index.get(key(t, strat, b)));
          summaries.add(new Summary(scope, strat, b, ts.size(),
              Stats.bootstrap(Stats.values(rs, Row::absolute), draws),
              Stats.bootstrap(Stats.values(rs, Row::relative), draws),
              Stats.bootstrap(Stats.values(rs, Row::zero), draws)));
        }
    }
    List<CorrelationSummary> cs = new ArrayList<>();
    int[][] draws = Stats.draws(used.size(), cfg.resamples(), cfg.seed() + scopes.size());
    for (String p : correlated) {
      List<Correlation> c = used.stream().map(t -> corr.stream().filter(x -> x.task.equals(t) && x.proxy.equals(p)).findFirst().orElse(null)).toList();
      cs.add(new CorrelationSummary(p, Stats.bootstrap(Stats.values(c, x -> x == null ? Double.NaN : x.weightedTau), draws),
          Stats.bootstrap(Stats.values(c, x -> x == null ? Double.NaN : x.kendallTau), draws),
          Stats.bootstrap(Stats.values(c, x -> x == null ? Double.NaN : x.pearson), draws),
          Stats.bootstrap(Stats.values(c, x -> x == null ? Double.NaN : x.top1), draws)));
    }
    return new Result(used, Collections.unmodifiableMap(groups), List.copyOf(strategies), List.copyOf(cfg.budgets()), List.copyOf(rows),
        List.copyOf(summaries), List.copyOf(corr), List.copyOf(cs), List.copyOf(deltas), List.copyOf(warnings), cfg.resamples(),
        cfg.secondsPerExpert() == null ? Map.of() : Map.copyOf(cfg.secondsPerExpert()), trainedOnAll(instances, views),
        cfg.runs() == null ? null : noise(rows, views, cfg));
  }

  private static Noise.Result noise(List<Row> rows, List<View> views, Config cfg) {
    Map<String, List<String>> pools = new LinkedHashMap<>();
    Map<String, String> best = new LinkedHashMap<>();
    for (View v : views) {
      pools.put(v.task(), v.context().pool());
      best.put(v.task(), v.oracle().entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey());
    }
    return Noise.analyze(rows, cfg.runs(), pools, best, cfg.resamples(), cfg.seed());
  }

  /** Each learned strategy trained on every task (for use on new tasks; the evaluation itself never uses these). */
  private static Map<String, Strategy> trainedOnAll(List<Instance> instances, List<View> views) {
    Map<String, Strategy> out = new LinkedHashMap<>();
    List<Learned.Task> all = new ArrayList<>();
    for (View v : views) all.add(new Learned.Task(v.context(), v.oracle()));
    for (Instance in : instances) if (in.strategy() instanceof Learned l && !all.isEmpty()) out.put(in.label(), l.train(all, in.proxy()));
    return out;
  }

  /** One task as evaluated: its pool's oracle values and what strategies see of it. */
  private record View(String task, Map<String, Double> oracle, SelectionContext context) {}

  /** A strategy as evaluated: with the proxy it ranks by, under its table name. */
  private record Instance(String label, Strategy strategy, String proxy) {}

  private static String key(String task, String strategy, int budget) {
    return task + '\u0000' + strategy + '\u0000' + budget;
  }

  /** [004] eq. 2: (s1 − s2) / (1 − min(s1, s2)); 0 when both are 1. */
  public static double delta(double s1, double s2) {
    if (Double.isNaN(s1) || Double.isNaN(s2)) return Double.NaN;
    double d = 1 - Math.min(s1, s2);
    return d == 0 ? 0 : (s1 - s2) / d;
  }

  /** The relative regret of s against the oracle value: {@link #delta}(oracle, s). */
  public static double relative(double oracle, double s) {
    return delta(oracle, s);
  }

  /**
   * Random picking, as exact expectations: with the pool's accuracies sorted ascending a_0..a_{n-1}, the best of B
   * uniform draws without replacement is a_i with probability C(i, B−1) / C(n, B).
   */
  private static Row random(String task, String group, int b, double[] sorted, double best, List<String> bestIds) {
    int n = sorted.length;
    if (b >= n) return new Row(task, group, RANDOM, b, List.of(), best, best, bestIds, 0, 0, 1);
    double es = 0, erel = 0, total = choose(n, b);
    for (int i = b - 1; i < n; i++) {
      double p = choose(i, b - 1) / total;
      es += p * sorted[i];
      erel += p * relative(best, sorted[i]);
    }
    int m = bestIds.size();
    double zero = 1 - choose(n - m, b) / total;
    return new Row(task, group, RANDOM, b, List.of(), es, best, bestIds, best - es, erel, zero);
  }

  /** C(n, k) as a double (exact for the pool sizes and budgets at hand). */
  static double choose(int n, int k) {
    if (k < 0 || k > n) return 0;
    double c = 1;
    for (int i = 1; i <= k; i++) c = c * (n - k + i) / i;
    return c;
  }
}
