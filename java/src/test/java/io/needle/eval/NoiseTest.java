package io.needle.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Score;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Noise-aware regret on a synthetic oracle whose truth is known: experts a and c are equally good (0.80) and b is ten
 * points worse (0.70); each has 5 seeds spread ±0.01 around its truth. A pick of b is distinguishable from the best
 * with about ten points of regret beyond noise; a pick of c is within the noise.
 */
class NoiseTest {
  static double[] seeds(double truth) {
    return new double[] {truth - 0.01, truth - 0.005, truth, truth + 0.005, truth + 0.01};
  }

  static Noise.Row row(Evaluation.Result r, String strategy, int budget) {
    return r.noise().rows().stream().filter(x -> x.task().equals("t1") && x.strategy().equals(strategy) && x.budget() == budget)
        .findFirst().orElseThrow();
  }

  @Test
  void regretBeyondNoiseSeparatesRealMissesFromSeedNoise() {
    Map<String, Map<String, double[]>> runs = new LinkedHashMap<>();
    Map<String, Map<String, Double>> oracle = new LinkedHashMap<>();
    Map<String, Map<String, Map<String, Score>>> scores = new LinkedHashMap<>();
    for (String t : List.of("t1", "t2", "t3")) {
      runs.put(t, Map.of("a", seeds(0.80), "b", seeds(0.70), "c", seeds(0.7995)));
      oracle.put(t, Map.of("a", 0.80, "b", 0.70, "c", 0.7995));
      scores.put(t, Map.of(
          "wrong", Map.of("a", Score.ok("a", "wrong", 0), "b", Score.ok("b", "wrong", 1), "c", Score.ok("c", "wrong", 0.5)),
          "close", Map.of("a", Score.ok("a", "close", 0), "b", Score.ok("b", "close", 0.5), "c", Score.ok("c", "close", 1))));
    }
    Evaluation.Result r = Evaluation.run(new Oracle(oracle), new ScoreTable(scores),
        new Evaluation.Config(null, null, Map.of(), List.of(1, 2), 500, 7, Map.of(), new SeedRuns(runs)));
    Noise.Row wrong = row(r, "wrong", 1);
    assertTrue(wrong.distinguishable(), wrong.toString());
    assertTrue(wrong.beyondNoise() > 0.09 && wrong.beyondNoise() < 0.1, wrong.toString());
    assertTrue(wrong.lo() <= 0.1 && wrong.hi() >= 0.1, "the interval holds the true gap: " + wrong);
    Noise.Row close = row(r, "close", 1);
    assertFalse(close.distinguishable(), close.toString());
    assertEquals(0, close.beyondNoise(), 0, close.toString());
    // at B=2 the wrong proxy also picks c (its second): within the noise
    Noise.Row wrong2 = row(r, "wrong", 2);
    assertFalse(wrong2.distinguishable(), wrong2.toString());
    Noise.Summary s = r.noise().summaries().stream().filter(x -> x.strategy().equals("wrong") && x.budget() == 1).findFirst().orElseThrow();
    assertEquals(1.0, s.distinguishable(), 0);
    assertTrue(s.absolute().lo() <= 0.1 && s.absolute().hi() >= 0.1 && s.absolute().hi() - s.absolute().lo() < 0.03, s.toString());
  }

  @Test
  void oneSeedIsNoiseUnknownAndDuplicateRunsAreErrors(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path f = dir.resolve("runs.csv");
    java.nio.file.Files.writeString(f, """
        task,expert,lr,seed,val_accuracy,test_accuracy,diverged
        t1,a,0.01,0,0.8,0.8,0
        t1,a,0.01,1,0.8,0.81,0
        t1,b,0.01,0,0.7,0.7,0
        t1,b,0.01,1,0.1,0.1,1
        t1,c,0.01,0,0.2,0.12,1
        t1,c,0.01,1,0.2,0.14,1
        t1,c,0.1,0,0.4,0.1,1
        t1,c,0.1,1,nan,nan,1
        t1,d,0.01,0,0.8,0.8,0
        """);
    SeedRuns runs = SeedRuns.read(f);
    assertEquals(1, runs.accuracy().get("t1").get("b").length, "the diverged seed is dropped");
    // every run of c diverged: its runs with accuracies are kept, at the rate with the best mean validation accuracy
    // (0.1, neither the smaller rate nor the first in the file), as oracle.py computes oracle.csv
    assertArrayEquals(new double[] {0.1}, runs.accuracy().get("t1").get("c"), 1e-12);
    assertEquals(0.1, runs.chosen().get("t1").get("c").lr(), 0);
    assertArrayEquals(new int[] {0}, runs.chosen().get("t1").get("c").seeds());
    assertTrue(runs.chosen().get("t1").get("c").diverged());
    assertFalse(runs.chosen().get("t1").get("b").diverged());
    assertEquals(List.of("a", "b", "c", "d"), List.copyOf(runs.accuracy().get("t1").keySet()), "experts in file order");
    Map<String, Map<String, Score>> sc = Map.of("p", Map.of("a", Score.ok("a", "p", 0), "b", Score.ok("b", "p", 1)));
    Evaluation.Result r = Evaluation.run(new Oracle(Map.of("t1", Map.of("a", 0.805, "b", 0.7))), new ScoreTable(Map.of("t1", sc)),
        new Evaluation.Config(null, null, Map.of(), List.of(1), 100, 0, Map.of(), runs));
    assertTrue(r.noise().rows().stream().noneMatch(x -> x.strategy().equals("p")), "a pick of a one-seed expert has no noise-aware row");
    assertTrue(r.noise().warnings().toString().contains("noise unknown"), r.noise().warnings().toString());
    java.nio.file.Files.writeString(f, "task,expert,lr,seed,val_accuracy,test_accuracy\nt1,a,0.01,0,0.8,0.8\nt1,a,0.01,0,0.8,0.8\n");
    io.needle.NeedleException e = org.junit.jupiter.api.Assertions.assertThrows(io.needle.NeedleException.class, () -> SeedRuns.read(f));
    assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("given twice"), e.getMessage());
  }
}
