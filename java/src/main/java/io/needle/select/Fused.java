package io.needle.select;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.proxy.Proxies;
import io.needle.zoo.Expert;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * {@code fused}: one ranking learned from every signal at hand. Each expert of a task is described by its within-task
 * rank under every proxy (in the proxy's direction) and under each metadata field (task-agnostic score, upstream size,
 * parameters), scaled to [0, 1] with 1 the best and 0.5 for a missing value, plus an indicator of the metadata's first
 * pick; a non-negative ridge regression from these features to the within-task standardised fine-tuned accuracy
 * (experts weighted 1/(1 + oracle rank), as weighted Kendall tau weighs them) is fitted on other tasks, with its
 * strength chosen by an inner leave-one-task-out search for the best mean weighted Kendall tau. With a budget above 1,
 * the second pick is the metadata's first ([004]'s hybrid, the learned ranking as its task-aware part), and later picks
 * hedge across architectures (metadata {@code architecture}): each is the best-ranked expert of an architecture not yet
 * picked, while any is left. Where architecture dominates fine-tuning, the model
 * learns to read metadata; where experts share an architecture and differ by what they learned, it learns the
 * feature-based estimators; in between, their mix.
 */
public final class Fused implements Strategy, Learned {
  private static final double[] LAMBDAS = {0.01, 0.1, 1, 10, 100, 1000};
  /** Metadata features and how they are read. */
  static final Map<String, Function<Expert.Metadata, Double>> META = new LinkedHashMap<>();

  static {
    META.put("meta:score", m -> m.score());
    META.put("meta:upstream-size", m -> m.upstreamSize() == null ? null : (double) m.upstreamSize());
    META.put("meta:parameters", m -> m.parameters() == null ? null : (double) m.parameters());
  }

  /** 1 for the first expert in the task-agnostic order ([004]), else 0: lets a linear model keep metadata's top pick on top. */
  static final String META_TOP = "meta:top";

  /**
   * The experts' fine-tuning history ({@link History}): each expert's mean within-task standardised fine-tuned accuracy
   * over the training tasks (never the task being ranked), weighted towards the tasks whose proxy scores order the
   * experts as the ranked task's do. Where similar tasks fine-tune alike (mini-VTAB) it predicts; where the experts'
   * order is task-specific ([001]'s experts of one architecture) it does not, and the fit leaves it at a small weight.
   * An expert the history has not seen gets the neutral rank.
   */
  static final String HISTORY = "history:fine-tuned";

  /** The history's similarity temperatures tried, with the ridge strengths, by the inner leave-one-task-out search. */
  private static final double[] TEMPERATURES = {0, 2, 5, 10};

  private final List<String> features;
  private final double[] weights;
  private final double lambda;
  private final History history;

  /** An untrained fused strategy (the service instance). */
  public Fused() {
    this(null, null, Double.NaN);
  }

  /**
   * A trained fused strategy.
   *
   * @param features feature names: proxy ids and {@code meta:*} fields
   * @param weights one per feature
   * @param lambda the ridge strength it was fitted with
   */
  public Fused(List<String> features, double[] weights, double lambda) {
    this(features, weights, lambda, null);
  }

  Fused(List<String> features, double[] weights, double lambda, History history) {
    this.features = features == null ? null : List.copyOf(features);
    this.weights = weights == null ? null : weights.clone();
    this.lambda = lambda;
    this.history = history;
  }

  /** @return the similarity temperature of the model's fine-tuning history (NaN without one) */
  public double temperature() {
    return history == null ? Double.NaN : history.temperature();
  }

  /** @return how many past tasks the model's fine-tuning history holds */
  public int historyTasks() {
    return history == null ? 0 : history.past().size();
  }

  @Override
  public String id() {
    return "fused";
  }

  @Override
  public String description() {
    return "a ridge model over every proxy's and metadata field's within-task rank, trained on tasks with an oracle";
  }

  /** @return feature name → weight, or an empty map when untrained */
  public Map<String, Double> weights() {
    Map<String, Double> m = new LinkedHashMap<>();
    if (features != null) for (int i = 0; i < features.size(); i++) m.put(features.get(i), weights[i]);
    return m;
  }

  /** @return the proxies its features and its history read, known to this build */
  @Override
  public List<String> proxies() {
    if (features == null) return List.of();
    java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
    for (String f : features) if (io.needle.proxy.Proxies.find(f) != null) out.add(f);
    if (history != null) out.addAll(history.proxies());
    return List.copyOf(out);
  }

  /** @return the ridge strength of the trained model (NaN when untrained) */
  public double lambda() {
    return lambda;
  }

  /**
   * Writes the trained model as JSON: {@code {"strategy": "fused", "lambda": ..., "weights": {feature: weight}, "note": ...}}.
   *
   * @param note where it was trained (benchmark, tasks), kept in the file for whoever uses it
   */
  @Override
  public void save(java.nio.file.Path file, String note) {
    if (features == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "fused: nothing to save, the model is untrained");
    var om = ModelFile.JSON;
    var doc = om.createObjectNode();
    doc.put("strategy", id());
    doc.put("lambda", lambda);
    var w = doc.putObject("weights");
    for (int i = 0; i < features.size(); i++) w.put(features.get(i), weights[i]);
    if (history != null) doc.set("history", history.toJson(om));
    doc.put("note", note);
    ModelFile.write(file, doc);
  }

  @Override
  public String summary() {
    return "(" + features.size() + " features)";
  }

  /**
   * Reads a model written by {@link #save}.
   *
   * @throws NeedleException BAD_INPUT naming the file and the problem
   */
  public static Fused load(java.nio.file.Path file) {
    return fromJson(ModelFile.read(file), file);
  }

  static Fused fromJson(com.fasterxml.jackson.databind.JsonNode doc, java.nio.file.Path file) {
    if (!"fused".equals(doc.path("strategy").asText()) || !doc.path("weights").isObject())
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": not a fused model (expected {\"strategy\": \"fused\", \"weights\": {...}})");
    List<String> names = new ArrayList<>();
    List<Double> w = new ArrayList<>();
    doc.get("weights").fields().forEachRemaining(e -> {
      names.add(e.getKey());
      w.add(e.getValue().asDouble());
    });
    History history = doc.has("history") ? History.fromJson(doc.get("history"), file) : null;
    if (history == null && names.contains(HISTORY))
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": weights name " + HISTORY + " but there is no \"history\"");
    return new Fused(names, w.stream().mapToDouble(Double::doubleValue).toArray(), doc.path("lambda").asDouble(Double.NaN), history);
  }

  @Override
  public List<Selection.Pick> pick(SelectionContext ctx) {
    if (features == null)
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "strategy fused needs a trained model: needle evaluate --save-model FILE on a benchmark with an oracle, then --model FILE");
    Map<String, Double> s = rankScores(ctx);
    List<String> order = ctx.pool().stream()
        .sorted(Comparator.comparingDouble((String e) -> -s.get(e)).thenComparing(Comparator.naturalOrder())).toList();
    // with a budget above 1, hedge across architectures: fine-tuning outcomes of one architecture move together, so
    // each next pick is the best-ranked expert of an architecture not yet picked, while any is left
    List<Selection.Pick> out = new ArrayList<>();
    java.util.Set<String> archs = new java.util.HashSet<>(), picked = new java.util.HashSet<>();
    while (out.size() < Math.min(ctx.budget(), order.size())) {
      String next = null;
      // the second pick is the metadata's first ([004]'s hybrid, with the learned ranking as its task-aware part):
      // a different family of evidence hedges the model's first pick
      if (out.size() == 1 && !ctx.metadata().isEmpty() && !picked.contains(ctx.byMetadata().get(0))) {
        next = ctx.byMetadata().get(0);
        picked.add(next);
        archs.add(arch(ctx, next));
        out.add(new Selection.Pick(next, s.get(next), "best by metadata"));
        continue;
      }
      for (String e : order)
        if (!picked.contains(e) && !archs.contains(arch(ctx, e))) {
          next = e;
          break;
        }
      boolean fresh = next != null;
      if (!fresh) for (String e : order) if (!picked.contains(e)) { next = e; break; }
      picked.add(next);
      archs.add(arch(ctx, next));
      out.add(new Selection.Pick(next, s.get(next), "rank " + (order.indexOf(next) + 1) + " by the fused model"
          + (out.isEmpty() || !fresh ? "" : ", best of another architecture")));
    }
    return out;
  }

  private static String arch(SelectionContext ctx, String e) {
    Expert.Metadata m = ctx.metadata().get(e);
    return m == null || m.architecture() == null ? "expert:" + e : m.architecture();
  }

  @Override
  public Map<String, Double> rankScores(SelectionContext ctx) {
    double[][] x = features(ctx, features, history == null ? Map.of() : history.predict(ctx.scores()));
    Map<String, Double> out = new LinkedHashMap<>();
    for (int e = 0; e < ctx.pool().size(); e++) {
      double s = 0;
      for (int f = 0; f < weights.length; f++) s += weights[f] * x[e][f];
      out.put(ctx.pool().get(e), s);
    }
    return out;
  }

  @Override
  public Strategy train(List<Task> tasks) {
    if (tasks.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "fused: no task to train on");
    TreeSet<String> proxies = new TreeSet<>();
    for (Task t : tasks) t.context().scores().forEach((p, m) -> {
      if (m.values().stream().anyMatch(Score::ok)) proxies.add(p);
    });
    List<String> names = new ArrayList<>(proxies);
    if (tasks.stream().allMatch(t -> !t.context().metadata().isEmpty())) {
      names.addAll(META.keySet());
      names.add(META_TOP);
    }
    if (tasks.size() >= 2) names.add(HISTORY);  // each training task's history comes from the others
    History.Memo memo = new History.Memo();
    double bestTau = Double.NEGATIVE_INFINITY, bestLambda = 1, bestT = TEMPERATURES[0];
    if (tasks.size() > 2) {
      for (double temp : names.contains(HISTORY) ? TEMPERATURES : new double[] {0})
        for (double l : LAMBDAS) {
          double tau = 0;
          for (int held = 0; held < tasks.size(); held++) {
            List<Task> rest = new ArrayList<>(tasks);
            Task h = rest.remove(held);
            Fused m = fit(rest, names, l, temp, memo);
            Map<String, Double> s = m.rankScores(h.context());
            tau += tau(h, s);
          }
          if (tau > bestTau + 1e-12) {
            bestTau = tau;
            bestLambda = l;
            bestT = temp;
          }
        }
    }
    return fit(tasks, names, bestLambda, bestT, memo).detached();
  }

  private static double tau(Task t, Map<String, Double> s) {
    List<String> pool = t.context().pool();
    double[] a = pool.stream().mapToDouble(s::get).toArray();
    double[] b = pool.stream().mapToDouble(t.oracle()::get).toArray();
    double v = io.needle.eval.Stats.weightedTau(a, b);
    return Double.isNaN(v) ? 0 : v;
  }

  /** Ridge regression of the standardised oracle on the centred features, pooled over tasks. */
  static Fused fit(List<Task> tasks, List<String> names, double lambda, double temperature, History.Memo memo) {
    int k = names.size();
    double[] a = new double[k * k], b = new double[k];
    for (Task t : tasks) {
      // a task's history never includes its own oracle: the fit sees the feature as it is at prediction time
      double[][] x = features(t.context(), names, names.contains(HISTORY) ? memo.history(tasks, t, temperature).predict(t.context().scores()) : Map.of());
      List<String> pool = t.context().pool();
      int n = pool.size();
      double[] y = new double[n];
      double my = 0;
      for (int e = 0; e < n; e++) my += y[e] = t.oracle().get(pool.get(e));
      my /= n;
      double sd = 0;
      for (int e = 0; e < n; e++) sd += (y[e] - my) * (y[e] - my);
      sd = Math.sqrt(sd / n);
      if (sd == 0) continue;  // every expert equal: nothing to learn from this task
      // the top of the ranking is what regret sees: experts weighted 1/(1 + oracle rank), as weighted Kendall tau
      Integer[] order = new Integer[n];
      for (int e = 0; e < n; e++) order[e] = e;
      java.util.Arrays.sort(order, (p, q) -> Double.compare(y[q], y[p]));
      double[] w = new double[n];
      double wsum = 0;
      for (int r = 0; r < n; r++) wsum += w[order[r]] = 1.0 / (1 + r);
      double[] mx = new double[k];
      double mw = 0;
      for (int e = 0; e < n; e++) {
        for (int f = 0; f < k; f++) mx[f] += w[e] * x[e][f] / wsum;
        mw += w[e] * (y[e] - my) / sd / wsum;
      }
      for (int e = 0; e < n; e++) {
        double ye = (y[e] - my) / sd - mw, we = w[e] / wsum;
        for (int f = 0; f < k; f++) {
          double xf = x[e][f] - mx[f];
          b[f] += we * xf * ye;
          for (int g = 0; g < k; g++) a[f * k + g] += we * xf * (x[e][g] - mx[g]);
        }
      }
    }
    for (int f = 0; f < k; f++) a[f * k + f] += lambda;
    return new Fused(names, nonNegative(a, b, k), lambda, names.contains(HISTORY) ? memo.history(tasks, null, temperature) : null);
  }

  /** This model without its training memo. */
  private Fused detached() {
    return history == null ? this : new Fused(features, weights, lambda, history.detached());
  }

  /**
   * argmin ½ wᵀAw − bᵀw subject to w ≥ 0, by cyclic coordinate descent (A is positive definite: the ridge term). Every
   * feature is oriented so that higher means better (a proxy in its own direction, metadata as [004] reads it), so a
   * negative weight could only fit noise: the constraint leaves a useless signal at zero instead.
   */
  static double[] nonNegative(double[] a, double[] b, int k) {
    double[] w = new double[k];
    for (int sweep = 0; sweep < 10_000; sweep++) {
      double change = 0;
      for (int f = 0; f < k; f++) {
        double r = b[f];
        for (int g = 0; g < k; g++) if (g != f) r -= a[f * k + g] * w[g];
        double v = Math.max(0, r / a[f * k + f]);
        change = Math.max(change, Math.abs(v - w[f]));
        w[f] = v;
      }
      if (change < 1e-12) break;
    }
    return w;
  }

  /** @return per pool expert, the named features: within-task ranks in [0, 1] (1 = best), 0.5 when missing */
  static double[][] features(SelectionContext ctx, List<String> names, Map<String, Double> history) {
    List<String> pool = ctx.pool();
    int n = pool.size();
    double[][] x = new double[n][names.size()];
    for (int f = 0; f < names.size(); f++) {
      String name = names.get(f);
      Double[] v = new Double[n];
      boolean higher = true;
      if (name.equals(META_TOP)) {
        String top = ctx.byMetadata().get(0);
        for (int e = 0; e < n; e++) x[e][f] = pool.get(e).equals(top) ? 1 : 0;
        continue;
      }
      if (name.equals(HISTORY)) {
        for (int e = 0; e < n; e++) v[e] = history.get(pool.get(e));
      } else if (META.containsKey(name)) {
        for (int e = 0; e < n; e++) {
          Expert.Metadata m = ctx.metadata().get(pool.get(e));
          v[e] = m == null ? null : META.get(name).apply(m);
        }
      } else {
        Map<String, Score> s = ctx.scores().getOrDefault(name, Map.of());
        higher = Proxies.higherIsBetter(name);
        for (int e = 0; e < n; e++) {
          Score sc = s.get(pool.get(e));
          v[e] = sc != null && sc.ok() ? sc.score() : null;
        }
      }
      double[] r = ranks(v, higher);
      for (int e = 0; e < n; e++) x[e][f] = r[e];
    }
    return x;
  }

  /** Within-task ranks scaled to [0, 1], 1 the best, ties averaged, missing values 0.5. */
  static double[] ranks(Double[] v, boolean higherIsBetter) {
    int n = v.length;
    List<Integer> have = new ArrayList<>();
    for (int i = 0; i < n; i++) if (v[i] != null && Double.isFinite(v[i])) have.add(i);
    double[] out = new double[n];
    java.util.Arrays.fill(out, 0.5);
    int m = have.size();
    if (m < 2) return out;
    have.sort(Comparator.comparingDouble(i -> higherIsBetter ? v[i] : -v[i]));
    for (int a = 0; a < m; ) {
      int b = a;
      while (b + 1 < m && v[have.get(b + 1)].doubleValue() == v[have.get(a)].doubleValue()) b++;
      double r = ((a + b) / 2.0) / (m - 1);
      for (int t = a; t <= b; t++) out[have.get(t)] = r;
      a = b + 1;
    }
    return out;
  }
}
