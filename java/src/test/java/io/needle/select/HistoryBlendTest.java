package io.needle.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.eval.Evaluation;
import io.needle.eval.Oracle;
import io.needle.eval.ScoreTable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HistoryBlendTest {
  @TempDir Path dir;

  static final int EXPERTS = 12;

  /**
   * Tasks in two families. In {@code familyHistory} mode the experts' fine-tuned order is the family's (plus a little
   * noise) and proxy "p" shows which family a task is in (a pattern per family) but not the order; otherwise the order is
   * random per task and "p" tracks it.
   */
  static Object[] benchmark(long seed, boolean familyHistory) {
    Random r = new Random(seed);
    double[][] quality = new double[2][EXPERTS], pattern = new double[2][EXPERTS];
    for (int f = 0; f < 2; f++)
      for (int e = 0; e < EXPERTS; e++) {
        quality[f][e] = r.nextDouble();
        pattern[f][e] = r.nextGaussian();
      }
    Map<String, Map<String, Map<String, Score>>> scores = new LinkedHashMap<>();
    Map<String, Map<String, Double>> acc = new LinkedHashMap<>();
    for (int t = 0; t < 8; t++) {
      int f = t % 2;
      Map<String, Score> p = new LinkedHashMap<>();
      Map<String, Double> a = new LinkedHashMap<>();
      for (int e = 0; e < EXPERTS; e++) {
        double v = familyHistory ? 0.5 + 0.3 * quality[f][e] + 0.01 * r.nextGaussian() : 0.5 + 0.3 * r.nextDouble();
        a.put("e" + e, v);
        p.put("e" + e, Score.ok("e" + e, "p", familyHistory ? pattern[f][e] + 0.1 * r.nextGaussian() : v + 0.01 * r.nextGaussian()));
      }
      scores.put("t" + t, Map.of("p", p));
      acc.put("t" + t, a);
    }
    return new Object[] {new ScoreTable(scores), new Oracle(acc)};
  }

  static Evaluation.Result evaluate(Object[] b) {
    return Evaluation.run((Oracle) b[1], (ScoreTable) b[0], new Evaluation.Config(null, null, Map.of(), List.of(1, 2), 0, 0));
  }

  @Test
  void followsTheHistoryOfSimilarTasksWhereItPredicts() {
    Evaluation.Result r = evaluate(benchmark(1, true));
    double history = r.correlation("history-p").weightedTau().mean(), proxy = r.correlation("p").weightedTau().mean();
    assertTrue(history > 0.8 && history > proxy + 0.5, "history-p " + history + ", p " + proxy);
    HistoryBlend m = (HistoryBlend) r.models().get("history-p");
    assertTrue(m.weight() > 0 && m.temperature() > 0, "w " + m.weight() + ", T " + m.temperature());
  }

  @Test
  void isItsProxyWhereTheHistoryDoesNotPredict() {
    Object[] b = benchmark(2, false);
    Evaluation.Result r = evaluate(b);
    HistoryBlend m = (HistoryBlend) r.models().get("history-p");
    assertEquals(0, m.weight(), "one-standard-error rule: no history without a clear gain");
    for (String t : r.tasks()) assertEquals(r.row(t, "p", 2).picks(), r.row(t, "history-p", 2).picks(), t);
    assertEquals(r.correlation("p").weightedTau().mean(), r.correlation("history-p").weightedTau().mean(), 1e-12);
  }

  @Test
  void savedModelPicksAsTheTrainedOne() {
    Object[] b = benchmark(3, true);
    HistoryBlend m = (HistoryBlend) evaluate(b).models().get("history-p");
    Path f = dir.resolve("history.json");
    m.save(f, "test");
    Strategy back = Strategies.load(f);
    Map<String, Map<String, Score>> t0 = ((ScoreTable) b[0]).scores().get("t0");
    SelectionContext ctx = new SelectionContext(List.copyOf(t0.get("p").keySet()), Map.of(), t0, "p", 3);
    assertEquals(m.pick(ctx), back.pick(ctx));
    NeedleException wrong = assertThrows(NeedleException.class, () -> back.pick(new SelectionContext(ctx.pool(), Map.of(), t0, "q", 3)));
    assertTrue(wrong.getMessage().contains("trained with proxy p"), wrong.getMessage());
    NeedleException untrained = assertThrows(NeedleException.class, () -> new HistoryBlend().pick(ctx));
    assertTrue(untrained.getMessage().contains("--save-strategy"), untrained.getMessage());
  }

  @Test
  void aTrainedModelNamesTheProxiesItReads() {
    // select --model without --proxy computes these: the ranking proxy first, then those the task similarity reads
    List<Learned.Task> tasks = new java.util.ArrayList<>();
    Random r = new Random(4);
    for (int t = 0; t < 4; t++) {
      Map<String, Score> a = new LinkedHashMap<>(), b = new LinkedHashMap<>(), c = new LinkedHashMap<>();
      Map<String, Double> acc = new LinkedHashMap<>();
      for (int e = 0; e < 6; e++) {
        a.put("e" + e, Score.ok("e" + e, "logme", r.nextGaussian()));
        b.put("e" + e, Score.ok("e" + e, "knn-loo", r.nextDouble()));
        c.put("e" + e, Score.ok("e" + e, "mine", r.nextDouble()));
        acc.put("e" + e, r.nextDouble());
      }
      tasks.add(new Learned.Task(new SelectionContext(List.copyOf(acc.keySet()), Map.of(), Map.of("logme", a, "knn-loo", b, "mine", c), null, 1), acc));
    }
    HistoryBlend m = (HistoryBlend) new HistoryBlend().train(tasks, "logme");
    assertEquals(List.of("logme", "knn-loo"), m.proxies(), "known proxies only: 'mine' is no registered proxy");
    assertEquals(List.of(), new HistoryBlend().proxies());
  }

  @Test
  void badModelFilesAreRefusedNamingTheFile() throws Exception {
    String[][] cases = {
        {"{\"strategy\": \"history\", \"proxy\": \"p\", \"weight\": 2, \"history\": {\"temperature\": 0, \"tasks\": []}}", "weight"},
        {"{\"strategy\": \"history\", \"proxy\": \"p\", \"weight\": 0.5}", "not a history model"},
        {"{\"strategy\": \"history\", \"proxy\": \"p\", \"weight\": 0.5, \"history\": {\"temperature\": \"hot\", \"tasks\": []}}", "temperature"},
        {"{\"strategy\": \"history\", \"proxy\": \"p\", \"weight\": 0.5, \"history\": {\"temperature\": 1, \"tasks\": [{\"scores\": {\"p\": {\"e0\": \"x\"}}, \"standardised\": {}}]}}", "history score of 'e0'"},
        {"{\"strategy\": \"soup\"}", "expected fused or history"},
        {"not json", "bad.json"}};
    Path f = dir.resolve("bad.json");
    for (String[] c : cases) {
      java.nio.file.Files.writeString(f, c[0]);
      NeedleException e = assertThrows(NeedleException.class, () -> Strategies.load(f), c[0]);
      assertEquals(NeedleException.Code.BAD_INPUT, e.code(), c[0]);
      assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains(c[1]), e.getMessage());
    }
  }
}
