package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LogME on features of lower rank than their width (14 dead ReLU units of 40: fixtures/estimators-rank, made and scored
 * by the authors' code with tools/fixtures/make_rank_deficient_fixture.py): the authors' value on every backend and
 * thread count. With the authors' absolute 1e-10 cut, eigenvalues at rounding level stood for directions of F and the
 * score moved with the backend and the number of threads (0.363 / 0.396 / 0.405 on a real embedding whose authors'
 * value is 0.170).
 */
class LogMeRankTest {
  static final Path DIR = Path.of("src/test/resources/fixtures/estimators-rank");

  @Test
  void rankDeficientFeaturesScoreAsTheAuthorsOnEveryBackendAndThreadCount() throws Exception {
    String[] ref = Files.readAllLines(DIR.resolve("reference.csv")).get(1).split(",", 3);
    assertEquals("logme", ref[0]);
    double want = Double.parseDouble(ref[1]);
    Embedding x = new Experts.Source("rank", DIR.resolve("x.npy"), null, null).load();
    Labels y = Experts.labels(DIR.resolve("y.npy"));
    int checked = 0;
    for (String backend : List.of("java", "cpu")) {
      for (int threads : new int[] {1, 2}) {
        try (Needle n = Needle.builder().backend(backend).threads(threads).proxies("logme").build()) {
          Score s = n.scoreInputs(y, List.of(ExpertInput.of(x)), null).get(0);
          assertTrue(s.ok(), s.toString());
          assertEquals(want, s.score(), 1e-9 * Math.abs(want), backend + ", " + threads + " threads");
          checked++;
        }
      }
    }
    assertEquals(4, checked);
  }
}
