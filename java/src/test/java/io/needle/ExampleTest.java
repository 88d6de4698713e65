package io.needle;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.needle.data.Experts;
import io.needle.data.Labels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The bundled example (the README's main job) against the scikit-learn LOO 1-NN counts recorded in
 * examples/synthetic/README.md when it was generated.
 */
class ExampleTest {
  @Test
  void bundledExampleMatchesItsRecordedReference() throws Exception {
    Path root = Path.of("..", "examples", "synthetic");
    Map<String, Integer> want = new HashMap<>();
    Matcher m = Pattern.compile("\\| `(expert-[^`]+)` \\| \\d+ \\| [0-9.]+ \\| (\\d+) \\|").matcher(Files.readString(root.resolve("README.md")));
    while (m.find()) want.put(m.group(1), Integer.parseInt(m.group(2)));
    assertEquals(16, want.size());
    Labels labels = Experts.labels(root.resolve("labels.npy"));
    try (Needle needle = Needle.builder().proxies("knn-loo").build()) {
      List<Score> scores = needle.scoreSources(labels, Experts.list(root.resolve("embeddings"), null), null);
      assertEquals(16, scores.size());
      for (Score s : scores) assertEquals(want.get(s.expert()), (int) Math.round(s.score() * 1000), s.expert() + " on " + needle.backend().name());
    }
  }
}
