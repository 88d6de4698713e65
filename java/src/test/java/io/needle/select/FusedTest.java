package io.needle.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Score;
import io.needle.eval.Evaluation;
import io.needle.eval.Oracle;
import io.needle.eval.ScoreTable;
import io.needle.zoo.Expert;
import io.needle.zoo.Preprocess;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused strategy on synthetic benchmarks where the truth is known: it learns which signal predicts fine-tuned
 * accuracy, evaluation trains it leave-one-task-out (a task that contradicts the others is scored by what the others
 * taught), and a saved model ranks as the trained one.
 */
class FusedTest {
  @TempDir Path dir;

  static final int TASKS = 6, EXPERTS = 12;

  /** Proxy "good" tracks the oracle (plus noise), "noise" does not; metadata score is random. */
  static Object[] benchmark(long seed, int contrarian) {
    Random r = new Random(seed);
    Map<String, Map<String, Map<String, Score>>> scores = new LinkedHashMap<>();
    Map<String, Map<String, Double>> acc = new LinkedHashMap<>();
    List<Expert> experts = new java.util.ArrayList<>();
    for (int e = 0; e < EXPERTS; e++)
      experts.add(new Expert("e" + e, Path.of("e" + e + ".onnx"), null, null, null, 0, Preprocess.DEFAULT,
          new Expert.Metadata("a", 1000L + e, 8, "u", 100L, r.nextDouble(), List.of())));
    for (int t = 0; t < TASKS; t++) {
      String task = "t" + t;
      Map<String, Score> good = new LinkedHashMap<>(), noise = new LinkedHashMap<>();
      Map<String, Double> a = new LinkedHashMap<>();
      for (int e = 0; e < EXPERTS; e++) {
        double v = 0.5 + 0.4 * r.nextDouble();
        a.put("e" + e, v);
        double g = t == contrarian ? -v : v + 0.02 * r.nextGaussian();
        good.put("e" + e, Score.ok("e" + e, "good", g));
        noise.put("e" + e, Score.ok("e" + e, "noise", r.nextGaussian()));
      }
      scores.put(task, Map.of("good", good, "noise", noise));
      acc.put(task, a);
    }
    return new Object[] {new ScoreTable(scores), new Oracle(acc), experts};
  }

  @SuppressWarnings("unchecked")
  static Evaluation.Result evaluate(Object[] b) {
    return Evaluation.run((Oracle) b[1], (ScoreTable) b[0],
        new Evaluation.Config((List<Expert>) b[2], null, Map.of(), List.of(1, 2), 0, 0));
  }

  @Test
  void learnsTheSignalThatPredictsFineTuning() {
    Evaluation.Result r = evaluate(benchmark(1, -1));
    double fused = r.correlation("fused").weightedTau().mean(), good = r.correlation("good").weightedTau().mean();
    assertTrue(fused > 0.8 && fused > good - 0.05, "fused " + fused + ", good " + good);
    Fused m = (Fused) r.models().get("fused");
    assertTrue(m.weights().get("good") > 5 * Math.abs(m.weights().get("noise")), m.weights().toString());
    assertTrue(m.weights().get("good") > 5 * Math.abs(m.weights().get("meta:score")), m.weights().toString());
  }

  @Test
  void evaluationNeverTrainsOnTheTaskItScores() {
    // on t0 the proxy is reversed: a model that had seen t0 could not rank it as badly as one trained on the rest
    Evaluation.Result r = evaluate(benchmark(2, 0));
    Evaluation.Row row = r.row("t0", "fused", 1);
    Evaluation.Row byGood = r.row("t0", "good", 1);
    assertEquals(byGood.picks(), row.picks(), "trained on the other tasks, fused follows the proxy, also where it is wrong");
    assertTrue(row.absolute() > 0.2, "and pays for it on t0: " + row.absolute());
  }

  @Test
  void learnsFromTheFineTuningHistoryWhereExpertsFineTuneAlike() {
    // every expert has a quality that shows on every task (plus a little noise); the proxies are noise: only the
    // history of the other tasks can rank a held-out task, and it is built without that task's oracle
    Random r = new Random(7);
    double[] quality = new double[EXPERTS];
    for (int e = 0; e < EXPERTS; e++) quality[e] = r.nextDouble();
    Map<String, Map<String, Map<String, Score>>> scores = new LinkedHashMap<>();
    Map<String, Map<String, Double>> acc = new LinkedHashMap<>();
    for (int t = 0; t < TASKS; t++) {
      Map<String, Score> noise = new LinkedHashMap<>();
      Map<String, Double> a = new LinkedHashMap<>();
      for (int e = 0; e < EXPERTS; e++) {
        a.put("e" + e, 0.5 + 0.3 * quality[e] + 0.01 * r.nextGaussian());
        noise.put("e" + e, Score.ok("e" + e, "noise", r.nextGaussian()));
      }
      scores.put("t" + t, Map.of("noise", noise));
      acc.put("t" + t, a);
    }
    Evaluation.Result res = Evaluation.run(new Oracle(acc), new ScoreTable(scores), new Evaluation.Config(null, null, Map.of(), List.of(1), 0, 0));
    double fused = res.correlation("fused").weightedTau().mean();
    assertTrue(fused > 0.8, "fused " + fused);
    Fused m = (Fused) res.models().get("fused");
    assertTrue(m.weights().get(Fused.HISTORY) > 5 * m.weights().get("noise"), m.weights().toString());
    assertEquals(TASKS, m.historyTasks());

    // a history never includes the task it is built for, and weighs past tasks by how alike their scores are
    List<Learned.Task> tasks = new java.util.ArrayList<>();
    for (String t : acc.keySet()) {
      List<String> pool = List.copyOf(acc.get(t).keySet());
      tasks.add(new Learned.Task(new SelectionContext(pool, Map.of(), scores.get(t), null, 1), acc.get(t)));
    }
    assertEquals(TASKS - 1, History.without(tasks, tasks.get(0), 5).past().size());
    Map<String, Double> uniform = History.of(tasks.subList(1, TASKS), 0).predict(scores.get("t0"));
    assertEquals(EXPERTS, uniform.size());
    double mean = 0;
    for (History.Past p : History.of(tasks.subList(1, TASKS), 0).past()) mean += p.standardised().get("e3") / (TASKS - 1);
    assertEquals(mean, uniform.get("e3"), 1e-12, "T = 0: the plain mean over past tasks");
  }

  @Test
  void historyFollowsTheTasksWhoseScoresOrderTheExpertsAlike() {
    // two past tasks with opposite oracles; the new task's scores order the experts as past task "a"'s do
    Map<String, Score> sa = new LinkedHashMap<>(), sb = new LinkedHashMap<>(), snow = new LinkedHashMap<>();
    Map<String, Double> oa = new LinkedHashMap<>(), ob = new LinkedHashMap<>();
    for (int e = 0; e < 6; e++) {
      sa.put("e" + e, Score.ok("e" + e, "p", e));
      sb.put("e" + e, Score.ok("e" + e, "p", -e));
      snow.put("e" + e, Score.ok("e" + e, "p", 2 * e + 1));
      oa.put("e" + e, 0.5 + 0.05 * e);
      ob.put("e" + e, 0.8 - 0.05 * e);
    }
    List<String> pool = List.copyOf(oa.keySet());
    List<Learned.Task> past = List.of(new Learned.Task(new SelectionContext(pool, Map.of(), Map.of("p", sa), null, 1), oa),
        new Learned.Task(new SelectionContext(pool, Map.of(), Map.of("p", sb), null, 1), ob));
    Map<String, Double> flat = History.of(past, 0).predict(Map.of("p", snow)), sharp = History.of(past, 10).predict(Map.of("p", snow));
    assertEquals(0, flat.get("e5"), 1e-12, "alike-weighted, the two cancel");
    assertTrue(sharp.get("e5") > 1.4 && sharp.get("e0") < -1.4, sharp.toString());
    assertEquals(1, History.similarity(History.scores(Map.of("p", snow)), History.scores(Map.of("p", sa))), 1e-12);
    assertEquals(-1, History.similarity(History.scores(Map.of("p", snow)), History.scores(Map.of("p", sb))), 1e-12);
    assertEquals(0, History.similarity(History.scores(Map.of("p", snow)), History.scores(Map.of("q", sb))), 0, "no shared proxy");
  }

  @Test
  void savedModelRanksAsTheTrainedOne() {
    Object[] b = benchmark(3, -1);
    Evaluation.Result r = evaluate(b);
    Fused m = (Fused) r.models().get("fused");
    Path f = dir.resolve("fused.json");
    m.save(f, "test");
    Fused back = Fused.load(f);
    assertEquals(m.weights(), back.weights());
    assertEquals(m.historyTasks(), back.historyTasks());
    assertEquals(m.temperature(), back.temperature());
    assertTrue(m.historyTasks() > 0);
    Map<String, Map<String, Score>> t0 = ((ScoreTable) b[0]).scores().get("t0");
    Map<String, Expert.Metadata> meta = new LinkedHashMap<>();
    for (Object o : (List<?>) b[2]) meta.put(((Expert) o).id(), ((Expert) o).meta());
    SelectionContext ctx = new SelectionContext(List.copyOf(meta.keySet()), meta, t0, null, 3);
    assertEquals(m.pick(ctx), back.pick(ctx));
  }
}
