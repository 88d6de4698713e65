package io.needle.select;

import io.needle.NeedleException;
import io.needle.Score;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What past fine-tuning says about a new task: the tasks with an oracle that a learned strategy was trained on, each as
 * its proxy scores and its experts' within-task standardised fine-tuned accuracy. For a new task, each expert gets the
 * mean of its standardised accuracy over the past tasks, weighted by how alike the task is to each: {@code exp(T (s -
 * max s))}, s the mean over the proxies both tasks have of the Spearman correlation of their scores across the experts
 * both have (the proxies see which experts' features suit a task; tasks whose proxies order the experts alike have
 * been found to fine-tune alike). T = 0 weighs every past task alike; a large T follows the most similar task. No
 * oracle of the new task is read: only its scores.
 */
final class History {
  /** A past task: proxy → expert → score (computed scores only), expert → standardised fine-tuned accuracy. */
  record Past(Map<String, Map<String, Double>> scores, Map<String, Double> standardised) {}

  private final List<Past> past;
  private final double temperature;
  private final Memo memo;

  History(List<Past> past, double temperature) {
    this(past, temperature, null);
  }

  private History(List<Past> past, double temperature, Memo memo) {
    this.past = List.copyOf(past);
    this.temperature = temperature;
    this.memo = memo;
  }

  /** The history of these tasks (tasks whose experts all fine-tune alike carry nothing and are left out). */
  static History of(List<Learned.Task> tasks, double temperature) {
    return without(tasks, null, temperature);
  }

  /** The history of every task but {@code left} (may be null). */
  static History without(List<Learned.Task> tasks, Learned.Task left, double temperature) {
    return new Memo().history(tasks, left, temperature).detached();
  }

  /** @return the past task of t, or null when its experts all fine-tune alike */
  private static Past past(Learned.Task t, Map<String, Map<String, Double>> scores) {
    double[] y = t.oracle().values().stream().mapToDouble(Double::doubleValue).toArray();
    double m = java.util.Arrays.stream(y).average().orElse(0), sd = 0;
    for (double v : y) sd += (v - m) * (v - m);
    sd = Math.sqrt(sd / Math.max(1, y.length));
    if (!(sd > 0)) return null;
    Map<String, Double> z = new TreeMap<>();
    for (Map.Entry<String, Double> e : t.oracle().entrySet()) z.put(e.getKey(), (e.getValue() - m) / sd);
    return new Past(scores, z);
  }

  /** This history without its training memo (what a trained model keeps). */
  History detached() {
    return memo == null ? this : new History(past, temperature, null);
  }

  /**
   * What one training run derives from its tasks once, however many folds, temperatures and weights it tries: each
   * task's scores as numbers, its past task, and the similarity of each pair of score tables (all by identity: the
   * same task objects come back in every fold). Not thread-safe: one training run at a time.
   */
  static final class Memo {
    private final Map<Map<String, Map<String, Score>>, Map<String, Map<String, Double>>> scores = new java.util.IdentityHashMap<>();
    private final Map<Learned.Task, java.util.Optional<Past>> pasts = new java.util.IdentityHashMap<>();
    private final Map<Map<String, Map<String, Double>>, Map<Map<String, Map<String, Double>>, Double>> similarity = new java.util.IdentityHashMap<>();

    /** The history of {@code tasks} but {@code left} (may be null), read through this memo. */
    History history(List<Learned.Task> tasks, Learned.Task left, double temperature) {
      List<Past> out = new ArrayList<>();
      for (Learned.Task t : tasks)
        if (t != left) pasts.computeIfAbsent(t, x -> java.util.Optional.ofNullable(past(x, scores(x.context().scores())))).ifPresent(out::add);
      return new History(out, temperature, this);
    }

    Map<String, Map<String, Double>> scores(Map<String, Map<String, Score>> raw) {
      return scores.computeIfAbsent(raw, History::scores);
    }

    double similarity(Map<String, Map<String, Double>> a, Map<String, Map<String, Double>> b) {
      return similarity.computeIfAbsent(a, x -> new java.util.IdentityHashMap<>()).computeIfAbsent(b, x -> History.similarity(a, x));
    }
  }

  static Map<String, Map<String, Double>> scores(Map<String, Map<String, Score>> s) {
    Map<String, Map<String, Double>> out = new TreeMap<>();
    s.forEach((p, m) -> m.forEach((e, sc) -> {
      if (sc.ok()) out.computeIfAbsent(p, x -> new TreeMap<>()).put(e, sc.score());
    }));
    return out;
  }

  /** @return T, the weight of similarity */
  double temperature() {
    return temperature;
  }

  /** @return the proxies the past tasks were scored with, known to this build, sorted */
  List<String> proxies() {
    java.util.TreeSet<String> out = new java.util.TreeSet<>();
    for (Past p : past) out.addAll(p.scores().keySet());
    out.removeIf(id -> io.needle.proxy.Proxies.find(id) == null);
    return List.copyOf(out);
  }

  /** @return the past tasks */
  List<Past> past() {
    return past;
  }

  /** @return expert → its similarity-weighted mean standardised accuracy, for the experts some past task has */
  Map<String, Double> predict(Map<String, Map<String, Score>> taskScores) {
    Map<String, Map<String, Double>> now = memo != null ? memo.scores(taskScores) : scores(taskScores);
    double[] s = new double[past.size()];
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < s.length; i++)
      max = Math.max(max, s[i] = memo != null ? memo.similarity(now, past.get(i).scores()) : similarity(now, past.get(i).scores()));
    Map<String, double[]> acc = new TreeMap<>();
    for (int i = 0; i < s.length; i++) {
      double w = Math.exp(temperature * (s[i] - max));
      for (Map.Entry<String, Double> e : past.get(i).standardised().entrySet()) {
        double[] a = acc.computeIfAbsent(e.getKey(), x -> new double[2]);
        a[0] += w * e.getValue();
        a[1] += w;
      }
    }
    Map<String, Double> out = new LinkedHashMap<>();
    acc.forEach((e, a) -> {
      if (a[1] > 0) out.put(e, a[0] / a[1]);
    });
    return out;
  }

  /** Mean over shared proxies of the Spearman correlation across shared experts (at least 3); 0 if none. */
  static double similarity(Map<String, Map<String, Double>> a, Map<String, Map<String, Double>> b) {
    double sum = 0;
    int n = 0;
    for (Map.Entry<String, Map<String, Double>> p : a.entrySet()) {
      Map<String, Double> other = b.get(p.getKey());
      if (other == null) continue;
      List<String> common = p.getValue().keySet().stream().filter(other::containsKey).toList();
      if (common.size() < 3) continue;
      Double[] x = common.stream().map(p.getValue()::get).toArray(Double[]::new), y = common.stream().map(other::get).toArray(Double[]::new);
      double r = io.needle.eval.Stats.pearson(Fused.ranks(x, true), Fused.ranks(y, true));
      if (Double.isFinite(r)) {
        sum += r;
        n++;
      }
    }
    return n == 0 ? 0 : sum / n;
  }

  /** As JSON: {@code {"temperature": T, "tasks": [{"scores": {proxy: {expert: score}}, "standardised": {expert: z}}]}}. */
  com.fasterxml.jackson.databind.node.ObjectNode toJson(com.fasterxml.jackson.databind.ObjectMapper om) {
    var doc = om.createObjectNode();
    doc.put("temperature", temperature);
    var tasks = doc.putArray("tasks");
    for (Past p : past) {
      var t = tasks.addObject();
      var sc = t.putObject("scores");
      p.scores().forEach((proxy, m) -> m.forEach(sc.putObject(proxy)::put));
      var z = t.putObject("standardised");
      p.standardised().forEach(z::put);
    }
    return doc;
  }

  /**
   * Reads {@link #toJson}'s form.
   *
   * @throws NeedleException BAD_INPUT naming the file and what is wrong
   */
  static History fromJson(com.fasterxml.jackson.databind.JsonNode doc, java.nio.file.Path file) {
    double t = number(doc.get("temperature"), file, "history temperature");
    if (!doc.path("tasks").isArray()) throw bad(file, "\"history\" has no \"tasks\" list");
    List<Past> past = new ArrayList<>();
    for (var task : doc.get("tasks")) {
      Map<String, Map<String, Double>> scores = new TreeMap<>();
      if (!task.path("scores").isObject() || !task.path("standardised").isObject()) throw bad(file, "a history task lacks \"scores\" or \"standardised\"");
      task.get("scores").fields().forEachRemaining(p -> {
        if (!p.getValue().isObject()) throw bad(file, "history scores of '" + p.getKey() + "' are not an object");
        Map<String, Double> m = new TreeMap<>();
        p.getValue().fields().forEachRemaining(e -> m.put(e.getKey(), number(e.getValue(), file, "history score of '" + e.getKey() + "'")));
        scores.put(p.getKey(), m);
      });
      Map<String, Double> z = new TreeMap<>();
      task.get("standardised").fields().forEachRemaining(e -> z.put(e.getKey(), number(e.getValue(), file, "history of '" + e.getKey() + "'")));
      past.add(new Past(scores, z));
    }
    return new History(past, t);
  }

  private static double number(com.fasterxml.jackson.databind.JsonNode v, java.nio.file.Path file, String what) {
    if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble())) throw bad(file, what + " is not a finite number");
    return v.asDouble();
  }

  private static NeedleException bad(java.nio.file.Path file, String what) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, file + ": " + what);
  }
}
