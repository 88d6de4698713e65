package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Labels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * [001]'s selectors on task signals small enough to compute by hand: the expert-prediction network's mean
 * log-probability ([001] appendix A, sigmoid and softmax outputs) and KL label matching (appendix B, categorical and
 * Bernoulli forms); experts the selectors do not know are undefined.
 */
class SelectorProxiesTest {
  static final Labels Y = Labels.of(new int[] {0, 1}, "y");

  static List<Score> score(TaskSignals s, Settings settings, String proxy, String... experts) {
    try (Needle n = Needle.builder().backend("java").proxies(proxy).settings(settings).build()) {
      List<ExpertInput> in = new java.util.ArrayList<>();
      for (String e : experts) in.add(ExpertInput.of(new Embedding(e, new float[] {0, 1}, 2, 1)));
      return n.scoreInputs(Y, in, s);
    }
  }

  @Test
  void epnIsTheMeanLogProbabilityOfTheExpertsSlice() {
    // two images, two experts; logits 0 -> p = 0.5, ln 2 = 0.6931...; logit ln 3 -> p = 0.75
    Embedding logits = new Embedding("epn", new float[] {0f, (float) Math.log(3), (float) Math.log(3), 0f}, 2, 2);
    TaskSignals s = new TaskSignals(Map.of(TaskSignals.EXPERT_PREDICTION, logits), Map.of(TaskSignals.EXPERT_PREDICTION, List.of("a", "b")), Map.of(), false);
    List<Score> r = score(s, Settings.defaults(), "epn", "a", "b", "c");
    double want = (Math.log(0.5) + Math.log(0.75)) / 2;
    assertEquals(want, r.get(0).score(), 1e-6);
    assertEquals(want, r.get(1).score(), 1e-6);
    assertEquals(Score.Status.UNDEFINED, r.get(2).status());
    assertTrue(r.get(2).reason().contains("does not know"), r.get(2).reason());
    // softmax over experts: image 1 p(a) = 1/(1+3) = 0.25, image 2 p(a) = 3/4
    TaskSignals soft = new TaskSignals(s.outputs(), s.columns(), Map.of(), true);
    assertEquals((Math.log(0.25) + Math.log(0.75)) / 2, score(soft, Settings.defaults(), "epn", "a").get(0).score(), 1e-6);
    // an adapter trained on a's slice shares a's column
    TaskSignals shared = new TaskSignals(s.outputs(), s.columns(), Map.of(), false, Map.of("a", 0, "adapters@a", 0, "b", 1));
    List<Score> r2 = score(shared, Settings.defaults(), "epn", "a", "adapters@a", "c");
    assertEquals(r2.get(0).score(), r2.get(1).score(), 0);
    assertEquals(Score.Status.UNDEFINED, r2.get(2).status());
  }

  @Test
  void klIsUndefinedForAnExpertThatSawNoUpstreamLabels() {
    Embedding logits = new Embedding("gen", new float[] {0f, 0f, (float) Math.log(9), 0f}, 2, 2);
    TaskSignals s = new TaskSignals(Map.of(TaskSignals.GENERIC_CLASSIFIER, logits), Map.of(TaskSignals.GENERIC_CLASSIFIER, List.of("u0", "u1")),
        Map.of("random-init", new double[] {0, 0}), false);
    Score r = score(s, Settings.defaults(), "kl", "random-init").get(0);
    assertEquals(Score.Status.UNDEFINED, r.status());
    assertTrue(r.reason().contains("prior is empty"), r.reason());
  }

  @Test
  void klMatchesTheExpertsPriorWithThePredictedLabels() {
    // generic classifier over 2 upstream labels: image 1 softmax (0.5, 0.5), image 2 (0.9, 0.1) -> Q = (0.7, 0.3)
    Embedding logits = new Embedding("gen", new float[] {0f, 0f, (float) Math.log(9), 0f}, 2, 2);
    TaskSignals s = new TaskSignals(Map.of(TaskSignals.GENERIC_CLASSIFIER, logits), Map.of(TaskSignals.GENERIC_CLASSIFIER, List.of("u0", "u1")),
        Map.of("a", new double[] {0.7, 0.3}, "b", new double[] {0.2, 0.8}), false);
    List<Score> r = score(s, Settings.defaults(), "kl", "a", "b", "c");
    assertEquals(0, r.get(0).score(), 1e-6);
    assertEquals(-(0.2 * Math.log(0.2 / 0.7) + 0.8 * Math.log(0.8 / 0.3)), r.get(1).score(), 1e-6);
    assertEquals(Score.Status.UNDEFINED, r.get(2).status());
    // Bernoulli: Q_k = mean sigmoid(logit_k): (0.5 + 0.9)/2 = 0.7 and (0.5 + 0.5)/2 = 0.5
    double q0 = 0.7, q1 = 0.5, p0 = 0.2, p1 = 0.8;
    double want = -(p0 * Math.log(p0 / q0) + (1 - p0) * Math.log((1 - p0) / (1 - q0)) + p1 * Math.log(p1 / q1) + (1 - p1) * Math.log((1 - p1) / (1 - q1)));
    assertEquals(want, score(s, Settings.defaults().with(LabelMatch.FORM, "bernoulli"), "kl", "b").get(0).score(), 1e-6);
  }

  @Test
  void withoutSignalsBothAreUndefined() {
    try (Needle n = Needle.builder().backend("java").proxies("epn", "kl").build()) {
      for (Score s : n.score(Y, List.of(new Embedding("a", new float[] {0, 1}, 2, 1)))) {
        assertEquals(Score.Status.UNDEFINED, s.status());
        assertTrue(s.reason().contains("selectors"), s.reason());
      }
    }
  }
}
