package io.needle.select;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.proxy.Proxies;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code history}: a proxy's ranking blended with the experts' fine-tuning history on similar tasks ({@link History}):
 * each expert is ranked by {@code (1 - w) rank(proxy) + w rank(history)}, ranks within the task scaled to [0, 1].
 * (w, T) is learned from tasks with an oracle by an inner leave-one-task-out search over w in {0, 1/4, 1/2, 3/4, 1}
 * and T in {0, 2, 5, 10}, with the one-standard-error rule: the smallest w whose mean weighted Kendall tau over the
 * held-out tasks is within one standard error of the best. The history is used only where it clearly helps: where
 * tasks whose proxies order the experts alike fine-tune alike (mini-VTAB), not where each task wants its own expert
 * (mini-experts, where w stays 0 and the strategy is its proxy).
 */
public final class HistoryBlend implements Strategy, Learned {
  static final double[] WEIGHTS = {0, 0.25, 0.5, 0.75, 1};
  static final double[] TEMPERATURES = {0, 2, 5, 10};

  private final String proxy;
  private final double weight;
  private final History history;

  /** An untrained history strategy (the service instance). */
  public HistoryBlend() {
    this(null, Double.NaN, null);
  }

  HistoryBlend(String proxy, double weight, History history) {
    this.proxy = proxy;
    this.weight = weight;
    this.history = history;
  }

  @Override
  public String id() {
    return "history";
  }

  @Override
  public String description() {
    return "the first proxy's ranking blended with the fine-tuning history of similar tasks, learned from tasks with an oracle";
  }

  @Override
  public boolean usesProxy() {
    return true;
  }

  /** @return the proxy it was trained with (null when untrained) */
  public String proxy() {
    return proxy;
  }

  /** @return w, the history's share of the blend (0: the proxy alone) */
  public double weight() {
    return weight;
  }

  /** @return T, the history's similarity temperature */
  public double temperature() {
    return history == null ? Double.NaN : history.temperature();
  }

  /** @return its ranking proxy first, then the others its history's task similarity reads */
  @Override
  public List<String> proxies() {
    if (proxy == null) return List.of();
    List<String> out = new ArrayList<>(List.of(proxy));
    for (String p : history.proxies()) if (!out.contains(p)) out.add(p);
    return out;
  }

  @Override
  public Strategy train(List<Task> tasks) {
    throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "strategy history learns a blend with one proxy: train it with a proxy");
  }

  @Override
  public Strategy train(List<Task> tasks, String proxy) {
    if (proxy == null) return train(tasks);
    if (tasks.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "history: no task to train on");
    if (tasks.size() < 3) return new HistoryBlend(proxy, 0, History.of(tasks, 0));  // too few to tell: the proxy alone
    // per (w, T): weighted tau on each task, ranked with the history of the others
    List<double[]> grid = new ArrayList<>();  // {w, T, mean, standard error}
    History.Memo memo = new History.Memo();
    for (double t : TEMPERATURES) {
      List<Map<String, Double>> hist = new ArrayList<>();
      for (Task h : tasks) hist.add(memo.history(tasks, h, t).predict(h.context().scores()));
      for (double w : WEIGHTS) {
        double[] tau = new double[tasks.size()];
        for (int i = 0; i < tasks.size(); i++) {
          Task h = tasks.get(i);
          Map<String, Double> s = blend(h.context(), proxy, w, hist.get(i));
          List<String> pool = h.context().pool();
          double v = io.needle.eval.Stats.weightedTau(pool.stream().mapToDouble(s::get).toArray(), pool.stream().mapToDouble(h.oracle()::get).toArray());
          tau[i] = Double.isNaN(v) ? 0 : v;
        }
        double mean = io.needle.eval.Stats.mean(tau), ss = 0;
        for (double v : tau) ss += (v - mean) * (v - mean);
        grid.add(new double[] {w, t, mean, Math.sqrt(ss / (tau.length - 1) / tau.length)});
      }
    }
    double[] best = grid.stream().max(Comparator.comparingDouble(g -> g[2])).orElseThrow();
    double[] pick = grid.stream().filter(g -> g[2] >= best[2] - best[3] - 1e-12)
        .min(Comparator.comparingDouble((double[] g) -> g[0]).thenComparingDouble(g -> -g[2])).orElseThrow();
    return new HistoryBlend(proxy, pick[0], memo.history(tasks, null, pick[1]).detached());
  }

  @Override
  public Map<String, Double> rankScores(SelectionContext ctx) {
    trained();
    return blend(ctx, proxy, weight, weight > 0 ? history.predict(ctx.scores()) : Map.of());
  }

  private static Map<String, Double> blend(SelectionContext ctx, String proxy, double w, Map<String, Double> hist) {
    List<String> pool = ctx.pool();
    Map<String, Score> s = ctx.scores().getOrDefault(proxy, Map.of());
    Double[] p = new Double[pool.size()], h = new Double[pool.size()];
    for (int e = 0; e < p.length; e++) {
      Score sc = s.get(pool.get(e));
      p[e] = sc != null && sc.ok() ? sc.score() : null;
      h[e] = hist.get(pool.get(e));
    }
    double[] rp = Fused.ranks(p, Proxies.higherIsBetter(proxy)), rh = Fused.ranks(h, true);
    Map<String, Double> out = new LinkedHashMap<>();
    for (int e = 0; e < p.length; e++) out.put(pool.get(e), (1 - w) * rp[e] + w * rh[e]);
    return out;
  }

  @Override
  public List<Selection.Pick> pick(SelectionContext ctx) {
    trained();
    if (ctx.proxy() != null && !ctx.proxy().equals(proxy))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "this history model was trained with proxy " + proxy + ", not " + ctx.proxy() + ": rank by " + proxy + " (--proxy " + proxy + ")");
    Map<String, Double> s = rankScores(ctx);
    List<String> order = ctx.pool().stream().sorted(Comparator.comparingDouble((String e) -> -s.get(e)).thenComparing(Comparator.naturalOrder())).toList();
    List<Selection.Pick> out = new ArrayList<>();
    for (String e : order.subList(0, Math.min(ctx.budget(), order.size())))
      out.add(new Selection.Pick(e, s.get(e), "rank " + (out.size() + 1) + " by " + proxy
          + (weight > 0 ? String.format(java.util.Locale.ROOT, " and the fine-tuning history of similar tasks (w = %.2f, T = %.0f)", weight, temperature()) : "")));
    return out;
  }

  private void trained() {
    if (proxy == null)
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT,
          "strategy history needs a trained model: needle evaluate --save-model FILE --save-strategy history-<proxy> on a benchmark with an oracle, then --model FILE");
  }

  /** Writes the trained model as JSON: strategy, proxy, weight, the history (temperature and past tasks), note. */
  @Override
  public void save(Path file, String note) {
    trained();
    var om = ModelFile.JSON;
    var doc = om.createObjectNode();
    doc.put("strategy", id());
    doc.put("proxy", proxy);
    doc.put("weight", weight);
    doc.set("history", history.toJson(om));
    doc.put("note", note);
    ModelFile.write(file, doc);
  }

  @Override
  public String summary() {
    return String.format(java.util.Locale.ROOT, "(history weight %.2f, T = %.0f)", weight, temperature());
  }

  /**
   * Reads a model written by {@link #save}.
   *
   * @throws NeedleException BAD_INPUT naming the file and the problem
   */
  public static HistoryBlend load(Path file) {
    return fromJson(ModelFile.read(file), file);
  }

  static HistoryBlend fromJson(com.fasterxml.jackson.databind.JsonNode doc, Path file) {
    if (!"history".equals(doc.path("strategy").asText()) || !doc.path("proxy").isTextual() || !doc.path("history").isObject())
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": not a history model (expected {\"strategy\": \"history\", \"proxy\": ..., \"weight\": ..., \"history\": {...}})");
    double w = doc.path("weight").asDouble(Double.NaN);
    if (!(w >= 0 && w <= 1)) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": weight must be in [0, 1]");
    return new HistoryBlend(doc.get("proxy").asText(), w, History.fromJson(doc.get("history"), file));
  }
}
