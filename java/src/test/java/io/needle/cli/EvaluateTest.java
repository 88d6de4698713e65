package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Fixtures;
import io.needle.data.Csv;
import io.needle.eval.Stats;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code needle evaluate} against a hand computation on the committed example in test resources {@code eval/}.
 *
 * <pre>
 * oracle      e1    e2    e3    e4     best        knn-loo   e1   e2   e3   e4   order
 * a (g1)    0.60  0.80  0.70  0.50   0.80 (e2)     a        0.3  0.5  0.6  0.1  e3 e2 e1 e4
 * b (g2)    0.90  0.40  0.60  0.95   0.95 (e4)     b        0.2  0.1  0.9  0.8  e3 e4 e1 e2
 * metadata order (task-agnostic): e1 e2 e3 e4
 * </pre>
 */
class EvaluateTest {
  @TempDir static Path dir;
  static Path oracle, scores, zoo, tasks;

  @BeforeAll
  static void setUp() throws IOException, URISyntaxException {
    Path res = Path.of(EvaluateTest.class.getResource("/eval/oracle.csv").toURI()).getParent();
    oracle = res.resolve("oracle.csv");
    scores = res.resolve("scores.csv");
    zoo = Files.createDirectories(dir.resolve("zoo"));
    Files.copy(Fixtures.onnx("rank2.onnx"), zoo.resolve("m.onnx"));
    StringBuilder m = new StringBuilder("{\"experts\": [");
    for (int i = 1; i <= 4; i++)
      m.append(i > 1 ? "," : "").append("{\"id\": \"e").append(i).append("\", \"file\": \"m.onnx\", \"score\": ").append(1.0 - i / 10.0)
          .append(", \"tags\": [").append(i == 4 ? "\"big\"" : "\"small\"").append("]}");
    Files.writeString(zoo.resolve("zoo.json"), m.append("]}").toString());
    Path t = Files.createDirectories(dir.resolve("tasks"));
    Files.createDirectories(t.resolve("a"));
    Files.createDirectories(t.resolve("b"));
    tasks = t.resolve("tasks.json");
    Files.writeString(tasks, "{\"tasks\": [{\"name\": \"a\", \"group\": \"g1\", \"train\": \"a\"}, {\"name\": \"b\", \"group\": \"g2\", \"train\": \"b\"}]}");
  }

  /** regret.csv as (task, strategy, budget) → [picked, absolute, relative, zero]. */
  static Map<String, double[]> regret(Path out) {
    Csv csv = Csv.read(out.resolve("regret.csv"));
    Map<String, double[]> m = new HashMap<>();
    for (int r = 0; r < csv.rows().size(); r++) {
      String[] row = csv.rows().get(r);
      m.put(row[csv.column("task")] + "/" + row[csv.column("strategy")] + "/" + row[csv.column("budget")],
          new double[] {csv.number(r, csv.column("picked_accuracy")), csv.number(r, csv.column("absolute_regret")),
              csv.number(r, csv.column("relative_regret")), csv.number(r, csv.column("zero_regret"))});
    }
    return m;
  }

  static void near(double expected, double actual, String what) {
    assertEquals(expected, actual, 1e-9, what);
  }

  @Test
  void regretsMatchTheHandComputation() {
    Path out = dir.resolve("out");
    ScoreCommandTest.Run r = ScoreCommandTest.run("evaluate", "--scores", scores.toString(), "--oracle", oracle.toString(),
        "--zoo", zoo.toString(), "--tasks", tasks.toString(), "--budget", "1..2", "--out", out.toString());
    assertEquals(Main.OK, r.code(), r.err());
    Map<String, double[]> g = regret(out);
    // B=1. task-agnostic picks e1: a 0.60 → 0.20, relative 0.2/(1-0.6) = 0.5; b 0.90 → 0.05, 0.05/0.1 = 0.5
    near(0.20, g.get("a/task-agnostic/1")[1], "a agnostic abs");
    near(0.5, g.get("a/task-agnostic/1")[2], "a agnostic rel");
    near(0.05, g.get("b/task-agnostic/1")[1], "b agnostic abs");
    near(0.5, g.get("b/task-agnostic/1")[2], "b agnostic rel");
    // knn-loo picks e3: a 0.70 → 0.10, 0.1/0.3; b 0.60 → 0.35, 0.35/0.4
    near(0.10, g.get("a/knn-loo/1")[1], "a knn abs");
    near(1.0 / 3, g.get("a/knn-loo/1")[2], "a knn rel");
    near(0.35, g.get("b/knn-loo/1")[1], "b knn abs");
    near(0.875, g.get("b/knn-loo/1")[2], "b knn rel");
    // hybrid with B=1 is the task-agnostic pick
    near(0.20, g.get("a/hybrid-knn-loo/1")[1], "a hybrid 1");
    // random B=1: the mean; a (0.6+0.8+0.7+0.5)/4 = 0.65 → 0.15, rel (0.5+0+1/3+0.6)/4; zero 1/4
    near(0.15, g.get("a/random/1")[1], "a random abs");
    near((0.5 + 1.0 / 3 + 0.6) / 4, g.get("a/random/1")[2], "a random rel");
    near(0.25, g.get("a/random/1")[3], "a random zero");
    // b: (0.9+0.4+0.6+0.95)/4 = 0.7125 → 0.2375, rel (0.5+0.55/0.6+0.875+0)/4
    near(0.2375, g.get("b/random/1")[1], "b random abs");
    near((0.5 + 0.55 / 0.6 + 0.875) / 4, g.get("b/random/1")[2], "b random rel");
    // B=2. task-agnostic e1,e2: a 0.80 → 0; b 0.90 → 0.05. knn-loo a e3,e2 → 0; b e3,e4 → 0
    near(0, g.get("a/task-agnostic/2")[1], "a agnostic 2");
    near(0.05, g.get("b/task-agnostic/2")[1], "b agnostic 2");
    near(0, g.get("a/knn-loo/2")[1], "a knn 2");
    near(0, g.get("b/knn-loo/2")[1], "b knn 2");
    near(1, g.get("b/knn-loo/2")[3], "b knn 2 zero");
    // hybrid: e1 then the best other by knn-loo, e3: a max(0.6,0.7) → 0.1; b max(0.9,0.6) → 0.05
    near(0.10, g.get("a/hybrid-knn-loo/2")[1], "a hybrid 2");
    near(0.05, g.get("b/hybrid-knn-loo/2")[1], "b hybrid 2");
    // random B=2: P(best of two = i-th smallest) = C(i,1)/C(4,2) = i/6.
    // a sorted 0.5 0.6 0.7 0.8: E = 0.6/6 + 2*0.7/6 + 3*0.8/6 = 0.7333.. → 0.0666..; rel (0.5 + 2/3)/6; zero 1 - C(3,2)/C(4,2) = 0.5
    near(0.8 - (0.6 + 1.4 + 2.4) / 6, g.get("a/random/2")[1], "a random 2 abs");
    near((0.5 + 2.0 / 3) / 6, g.get("a/random/2")[2], "a random 2 rel");
    near(0.5, g.get("a/random/2")[3], "a random 2 zero");
    // b sorted 0.4 0.6 0.9 0.95: E = (0.6 + 1.8 + 2.85)/6 = 0.875 → 0.075; rel (0.35/0.4 + 2*0.5)/6
    near(0.075, g.get("b/random/2")[1], "b random 2 abs");
    near((0.875 + 1.0) / 6, g.get("b/random/2")[2], "b random 2 rel");

    // summaries: means over both tasks, and per group (one task each)
    Csv s = Csv.read(out.resolve("summary.csv"));
    Map<String, double[]> sm = new HashMap<>();
    for (int i = 0; i < s.rows().size(); i++) {
      String[] row = s.rows().get(i);
      sm.put(row[0] + "/" + row[1] + "/" + row[2], new double[] {s.number(i, 4), s.number(i, 5), s.number(i, 6), s.number(i, 7), s.number(i, 10)});
    }
    near(0.125, sm.get("all/task-agnostic/1")[0], "mean agnostic abs");
    near(0.225, sm.get("all/knn-loo/1")[0], "mean knn abs");
    near((1.0 / 3 + 0.875) / 2, sm.get("all/knn-loo/1")[3], "mean knn rel");
    near(0, sm.get("all/knn-loo/1")[4], "knn zero-regret fraction at B=1");
    near(1, sm.get("all/knn-loo/2")[4], "knn zero-regret fraction at B=2");
    near(0.5, sm.get("all/task-agnostic/2")[4], "agnostic zero-regret fraction at B=2");
    near(0.10, sm.get("g1/knn-loo/1")[0], "group g1 = task a");
    near(0.35, sm.get("g2/knn-loo/1")[0], "group g2 = task b");
    double[] ci = sm.get("all/knn-loo/1");
    assertTrue(ci[1] <= ci[0] && ci[0] <= ci[2] && ci[1] >= 0.10 - 1e-12 && ci[2] <= 0.35 + 1e-12, "the interval lies within the task values");

    // relative delta, [004] eq. 2, knn-loo vs task-agnostic at B=1: a (0.7-0.6)/(1-0.6) = 0.25; b (0.6-0.9)/(1-0.6) = -0.75
    Csv d = Csv.read(out.resolve("relative-delta.csv"));
    Map<String, Double> dm = new HashMap<>();
    for (int i = 0; i < d.rows().size(); i++) {
      String[] row = d.rows().get(i);
      dm.put(row[0] + "/" + row[1] + "/" + row[2] + "/" + row[3], d.number(i, 4));
    }
    near(0.25, dm.get("a/1/knn-loo/task-agnostic"), "delta a");
    near(-0.75, dm.get("b/1/knn-loo/task-agnostic"), "delta b");

    // correlations: reference values from scipy 1.10.1 weightedtau / pearsonr
    Csv c = Csv.read(out.resolve("correlation.csv"));
    int ra = -1, rb = -1;
    for (int i = 0; i < c.rows().size(); i++) {
      String[] row = c.rows().get(i);
      if (row[c.column("proxy")].equals("knn-loo")) {
        if (row[c.column("task")].equals("a")) ra = i;
        if (row[c.column("task")].equals("b")) rb = i;
      }
    }
    near(0.52, c.number(ra, c.column("weighted_tau")), "tau a");
    near(0.8733337646093728, c.number(ra, c.column("pearson")), "pearson a");
    near(0.2, c.number(rb, c.column("weighted_tau")), "tau b");
    near(0.29901800063856077, c.number(rb, c.column("pearson")), "pearson b");

    assertTrue(r.out().contains("Mean relative regret") && r.out().contains("hybrid-knn-loo"), r.out());
    String html = assertFile(out.resolve("report.html"));
    assertTrue(html.contains("<svg") && html.contains("zero regret") && !html.contains("<script"), "self-contained HTML with plots");
  }

  @Test
  void poolFilterChangesTheOracle() {
    Path out = dir.resolve("pool");
    ScoreCommandTest.Run r = ScoreCommandTest.run("evaluate", "--scores", scores.toString(), "--oracle", oracle.toString(),
        "--zoo", zoo.toString(), "--budget", "1", "--pool", "tag=small", "--resamples", "0", "--out", out.toString());
    assertEquals(Main.OK, r.code(), r.err());
    Map<String, double[]> g = regret(out);
    // without e4, b's best is e1 (0.90), which task-agnostic picks; knn-loo still picks e3 (0.60): 0.30, 0.3/0.4
    near(0, g.get("b/task-agnostic/1")[1], "b agnostic in the small pool");
    near(0.30, g.get("b/knn-loo/1")[1], "b knn in the small pool");
    near(0.75, g.get("b/knn-loo/1")[2], "b knn rel in the small pool");
  }

  @Test
  void withoutMetadataOnlyRandomAndProxies() {
    ScoreCommandTest.Run r = ScoreCommandTest.run("evaluate", "--scores", scores.toString(), "--oracle", oracle.toString(), "--budget", "2");
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.out().contains("knn-loo") && !r.out().contains("task-agnostic"), r.out());
    assertTrue(r.err().contains("--zoo"), r.err());
  }

  @Test
  void badInputNamesTheFileAndLine() throws IOException {
    Path bad = dir.resolve("bad-oracle.csv");
    Files.writeString(bad, "task,expert,accuracy\na,e1,0.5\na,e2,87\n");
    ScoreCommandTest.Run r = ScoreCommandTest.run("evaluate", "--scores", scores.toString(), "--oracle", bad.toString());
    assertEquals(Main.BAD_INPUT, r.code());
    assertTrue(r.err().contains("bad-oracle.csv") && r.err().contains("line 3") && r.err().contains("[0, 1]"), r.err());
    Path noCol = dir.resolve("no-col.csv");
    Files.writeString(noCol, "task,model,score\n");
    r = ScoreCommandTest.run("evaluate", "--scores", noCol.toString(), "--oracle", oracle.toString());
    assertEquals(Main.BAD_INPUT, r.code());
    assertTrue(r.err().contains("no-col.csv") && r.err().contains("'expert'"), r.err());
    r = ScoreCommandTest.run("evaluate", "--scores", scores.toString(), "--oracle", oracle.toString(), "--pool", "tag=x");
    assertEquals(Main.USAGE, r.code(), r.err());
  }

  @Test
  void weightedTauMatchesScipyWithTies() {
    double[] x = {4, 3, 3, 4, 2, 3, 4, 1, 0, 1, 1, 4, 4, 0, 2};
    double[] y = {7, 3, 6, 4, 3, 6, 5, 2, 1, 3, 2, 7, 5, 1, 4};
    near(0.7458551793682, Stats.weightedTau(x, y), "scipy.stats.weightedtau");
  }

  static String assertFile(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new AssertionError(p + " missing", e);
    }
  }
}
