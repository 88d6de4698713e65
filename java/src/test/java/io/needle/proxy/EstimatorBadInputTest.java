package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Labels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every registered proxy on the inputs that break estimators: D much larger than N, a class with one example, a
 * singular covariance (duplicated columns), constant features, NaN, and a single-class task. Each (expert, proxy) is ok
 * with a finite value, or undefined / failed with a reason naming the expert, the proxy and the problem; a bad expert
 * never takes the others down.
 */
class EstimatorBadInputTest {
  static final List<String> ESTIMATORS = List.of("logme", "hscore", "hscore-shrinkage", "transrate", "sfda", "parc", "gbc",
      "nleep", "leep", "nce", "knn-loo", "knn-split", "linear");

  static Embedding gaussian(String name, int n, int d, int[] y, long seed, double sep) {
    Random r = new Random(seed);
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] = (float) (r.nextGaussian() + (j % 7 == y[i] % 7 ? sep : 0));
    return new Embedding(name, x, n, d);
  }

  static int[] labels(int n, int c) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) y[i] = i % c;
    return y;
  }

  static List<Score> score(Labels y, List<ExpertInput> in) {
    try (Needle n = Needle.builder().backend("java").proxies(ESTIMATORS.toArray(String[]::new)).build()) {
      return n.scoreInputs(y, in, null);
    }
  }

  static void wellFormed(List<Score> scores) {
    for (Score s : scores) {
      if (s.ok()) assertTrue(Double.isFinite(s.score()), s.toString());
      else assertTrue(s.reason().contains(s.expert()) && s.reason().length() > s.expert().length() + 5, s.toString());
    }
  }

  static ExpertInput withLogits(Embedding x, int z, long seed) {
    Random r = new Random(seed);
    float[] l = new float[x.rows() * z];
    for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian();
    return new ExpertInput(x, new Embedding(x.expert(), l, x.rows(), z), null);
  }

  @Test
  void wideFeaturesSingletonClassAndSingularCovariance() {
    int n = 40;
    int[] y = labels(n, 4);
    y[n - 1] = 4;  // class 4 has one example
    Labels l = Labels.of(y, "y");
    Embedding wide = gaussian("wide", n, 600, y, 1, 2);  // D = 15 N
    Embedding ok = gaussian("ok", n, 8, y, 2, 3);
    // duplicated columns: a singular covariance with N > D
    float[] dup = new float[n * 6];
    for (int i = 0; i < n; i++) for (int j = 0; j < 6; j++) dup[i * 6 + j] = ok.data()[i * 8 + j % 3];
    Embedding singular = new Embedding("singular", dup, n, 6);
    List<Score> s = score(l, List.of(withLogits(wide, 5, 3), withLogits(ok, 5, 4), withLogits(singular, 5, 5)));
    wellFormed(s);
    assertEquals(3 * ESTIMATORS.size(), s.size());
    // the well-posed expert is scored by every proxy
    for (Score x : s) if (x.expert().equals("ok")) assertTrue(x.ok(), x.toString());
    for (Score x : s) if (x.expert().equals("wide") && !x.proxy().equals("parc")) assertTrue(x.ok(), x.toString());
  }

  @Test
  void constantFeaturesAndNanFailAloneWithTheirReason() {
    int n = 30;
    int[] y = labels(n, 3);
    Labels l = Labels.of(y, "y");
    float[] c = new float[n * 5];
    java.util.Arrays.fill(c, 0.5f);
    Embedding constant = new Embedding("constant", c, n, 5);
    Embedding nan = gaussian("nan", n, 5, y, 1, 2);
    nan.data()[17] = Float.NaN;
    Embedding good = gaussian("good", n, 5, y, 2, 2);
    List<Score> s = score(l, List.of(ExpertInput.of(constant), ExpertInput.of(nan), ExpertInput.of(good)));
    wellFormed(s);
    Map<String, List<Score>> by = new java.util.HashMap<>();
    for (Score x : s) by.computeIfAbsent(x.expert(), k -> new ArrayList<>()).add(x);
    for (Score x : by.get("nan")) {
      assertEquals(Score.Status.FAILED, x.status(), x.toString());
      assertTrue(x.reason().contains("NaN"), x.reason());
    }
    for (Score x : by.get("constant"))
      if (List.of("logme", "hscore", "hscore-shrinkage", "transrate", "sfda", "parc", "gbc", "nleep").contains(x.proxy())) {
        assertEquals(Score.Status.FAILED, x.status(), x.toString());
        assertTrue(x.reason().contains("constant"), x.reason());
      }
    for (Score x : by.get("good"))
      if (!x.proxy().equals("leep") && !x.proxy().equals("nce")) assertTrue(x.ok(), x.toString());
      else assertEquals(Score.Status.UNDEFINED, x.status(), x.toString());
  }

  @Test
  void singleClassTaskIsUndefinedEverywhere() {
    int[] y = new int[20];
    try (Needle n = Needle.builder().backend("java").proxies(ESTIMATORS.toArray(String[]::new)).build()) {
      List<Score> s = n.score(y, Map.of("e", new float[20 * 3]));
      assertEquals(ESTIMATORS.size(), s.size());
      for (Score x : s) {
        assertEquals(Score.Status.UNDEFINED, x.status(), x.toString());
        assertTrue(x.reason().contains("single class"), x.reason());
      }
    }
  }
}
