package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.data.Csv;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's main job, {@code needle demo}, on the bundled benchmark (examples/mini-vtab): every expert of the
 * zoo (adapters included) on every task, scored through ONNX Runtime and Needle's kernels, against knn-loo
 * computed independently with PyTorch embeddings and scikit-learn ({@code tools/zoo/reference.py}); and the regret
 * tables for B=1..5 against the committed oracle.
 */
class DemoTest {
  @TempDir Path out;

  @Test
  void demoMatchesTheIndependentReferenceAndReportsRegret() {
    Path dir = Path.of("..", "examples", "mini-vtab");
    ScoreCommandTest.Run r = ScoreCommandTest.run("demo", "--dir", dir.toString(), "--proxy", "knn-loo", "--no-cache", "--quiet",
        "--resamples", "200", "--out", out.toString());
    assertEquals(Main.OK, r.code(), r.err());

    Csv ref = Csv.read(dir.resolve("reference").resolve("knn_loo.csv"));
    Map<String, Double> want = new HashMap<>();
    java.util.Set<String> in = new java.util.HashSet<>();
    for (io.needle.data.Tasks.Task t : io.needle.data.Tasks.included(io.needle.data.Tasks.read(dir.resolve("tasks")))) in.add(t.name());
    for (int i = 0; i < ref.rows().size(); i++)
      if (in.contains(ref.rows().get(i)[0])) want.put(ref.rows().get(i)[0] + "/" + ref.rows().get(i)[1], ref.number(i, 2));
    Csv got = Csv.read(out.resolve("scores.csv"));
    int n = 0, exact = 0;
    for (int i = 0; i < got.rows().size(); i++) {
      String[] row = got.rows().get(i);
      String key = row[0] + "/" + row[1];
      assertEquals("ok", row[got.column("status")], key);
      // float32 embeddings from two runtimes may swap a near-tie neighbour: allow 3 of 1000 examples
      assertEquals(want.get(key), got.number(i, got.column("score")), 0.0031, key);
      if (Math.abs(want.get(key) - got.number(i, got.column("score"))) < 1e-9) exact++;
      n++;
    }
    assertEquals(want.size(), n, "every (task, expert) pair scored");
    assertTrue(exact >= n * 9 / 10, exact + " of " + n + " exactly equal to the reference");

    for (int b = 1; b <= 5; b++) assertTrue(r.out().contains("B=" + b), r.out());
    assertTrue(r.out().contains("Mean relative regret") && r.out().contains("task-agnostic") && r.out().contains("hybrid-knn-loo")
        && r.out().contains("exhaustive fine-tuning"), r.out());
    assertTrue(out.resolve("evaluation").resolve("report.html").toFile().isFile());
    assertTrue(r.err().contains("task terrain") && r.err().contains("excluded by tasks.json: saturated"), r.err());
  }

  /**
   * The second bundled benchmark, mini-experts ([001]'s setting), by name: experts exported with their upstream head
   * get LEEP scores, adapters (no head) get {@code undefined}; the EPN scores an adapter with its slice's column.
   */
  @Test
  void demoRunsTheSecondBenchmarkByName() {
    Path cache = out.resolve("cache");
    ScoreCommandTest.Run r = ScoreCommandTest.run("demo", "--benchmark", "mini-experts", "--proxy", "knn-loo,leep,epn", "--cache", cache.toString(),
        "--quiet", "--resamples", "50", "--out", out.toString());
    assertEquals(Main.OK, r.code(), r.err());
    // issue 11: the cost of selection is set beside the fine-tuning's only when this run computed every embedding
    assertTrue(r.out().contains("selection took") && !r.out().contains("no ratio"), r.out());
    ScoreCommandTest.Run again = ScoreCommandTest.run("demo", "--benchmark", "mini-experts", "--proxy", "knn-loo", "--cache", cache.toString(),
        "--quiet", "--resamples", "0", "--out", out.resolve("again").toString());
    assertEquals(Main.OK, again.code(), again.err());
    assertTrue(again.out().contains("no ratio: this run read embeddings from the cache") && !again.out().contains("selection took"), again.out());
    Csv got = Csv.read(out.resolve("scores.csv"));
    Map<String, String> status = new HashMap<>();
    for (String[] row : got.rows()) status.put(row[1] + "/" + row[2], row[got.column("status")]);
    assertEquals("ok", status.get("semantic-clothing/leep"));
    assertEquals("undefined", status.get("adapters@clothing/leep"));
    assertEquals("ok", status.get("adapters@clothing/epn"));
    assertEquals("undefined", status.get("baseline/epn"));
    assertTrue(r.out().contains("hybrid-knn-loo") && r.out().contains("B=5"), r.out());
  }

  @Test
  void anUnknownBenchmarkIsAUsageError() {
    ScoreCommandTest.Run r = ScoreCommandTest.run("demo", "--benchmark", "nope", "--out", out.toString());
    assertEquals(Main.USAGE, r.code(), r.err());
    assertTrue(r.err().contains("--benchmark nope") && r.err().contains("mini-experts"), r.err());
  }
}
