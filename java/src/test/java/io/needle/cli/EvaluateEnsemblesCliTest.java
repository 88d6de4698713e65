package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code needle evaluate --ensembles --sets --single} on the bundled mini-VTAB oracle (its runs and test logits), with a
 * scores table made here: knn-loo "scores" equal to the oracle's own accuracies, so no embedding is needed.
 */
class EvaluateEnsemblesCliTest {
  static final Path V = Path.of("..", "examples", "mini-vtab");
  @TempDir Path dir;

  @Test
  void setsAreEvaluatedAndAnUnknownSingleIsAUsageError() throws Exception {
    List<String> oracle = Files.readAllLines(V.resolve("oracle.csv"));
    List<String> scores = new ArrayList<>(List.of("task,expert,proxy,score"));
    for (String l : oracle.subList(1, oracle.size())) {
      String[] f = l.split(",");
      scores.add(f[0] + "," + f[1] + ",knn-loo," + f[2]);
    }
    Path s = Files.write(dir.resolve("scores.csv"), scores);
    Path sets = Files.write(dir.resolve("sets.csv"), List.of("task,method,k,experts,predicted",
        "cells,calibrated,2,cnn-wide;resnet-tiny,0.9", "retina,calibrated,2,adapters@shapes;cnn-random,0.8"));
    String[] base = {"evaluate", "--scores", s.toString(), "--oracle", V.resolve("oracle.csv").toString(), "--tasks", V.resolve("tasks").toString(),
        "--runs", V.resolve("oracle/runs.csv").toString(), "--ensembles", V.resolve("oracle/logits").toString(), "--sets", sets.toString(),
        "--budget", "1..2", "--resamples", "20"};
    ScoreCommandTest.Run ok = ScoreCommandTest.run(concat(base, "--single", "knn-loo", "--out", dir.resolve("ok").toString()));
    assertEquals(Main.OK, ok.code(), ok.err());
    assertTrue(Files.readString(dir.resolve("ok").resolve("ensembles.csv")).contains("cnn-wide;resnet-tiny"));
    ScoreCommandTest.Run typo = ScoreCommandTest.run(concat(base, "--single", "knn-lo"));
    assertEquals(Main.USAGE, typo.code(), typo.err());
    assertTrue(typo.err().contains("--single knn-lo") && typo.err().contains("knn-loo"), typo.err());
  }

  static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
