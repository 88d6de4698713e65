package io.needle.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.data.Embedding;
import io.needle.engine.Backend;
import io.needle.engine.JavaBackend;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Split;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Set-level signals on probes: inconsistency, temperature calibration, greedy forward selection. */
class EnsemblesTest {
  /** A probe whose logits put {@code margin} on the class it predicts. */
  static Ensembles.Probe probe(String id, int[] predicted, int[] y, double margin) {
    double[] z = new double[predicted.length * 2];
    for (int i = 0; i < predicted.length; i++) z[i * 2 + predicted[i]] = margin;
    return Ensembles.probe(id, z, y, 2);
  }

  @Test
  void inconsistencyIsTheShareOfExamplesExactlyOneGetsRight() {
    int[] y = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
    // a right on 0-5; b right on 3-9; exactly one right on 0, 1, 2 (a only) and 6, 7, 8, 9 (b only): 7 of 10
    int[] a = {0, 0, 1, 1, 0, 1, 1, 0, 0, 1};
    int[] b = {1, 1, 0, 1, 0, 1, 0, 1, 1, 0};
    Ensembles.Probe pa = probe("a", a, y, 1), pb = probe("b", b, y, 1);
    assertEquals(0.6, pa.accuracy(), 1e-12);
    assertEquals(0.7, pb.accuracy(), 1e-12);
    assertEquals(0.7, Ensembles.inconsistency(pa, pb), 1e-12);
    assertEquals(0, Ensembles.inconsistency(pa, pa), 0);
    double[][] m = Ensembles.inconsistency(List.of(pa, pb, probe("c", y, y, 1)));
    assertEquals(0.7, m[0][1], 1e-12);
    assertEquals(0.4, m[0][2], 1e-12, "c is always right: inconsistent where a is wrong");
    assertEquals(0.3, m[2][1], 1e-12);
    assertEquals(0, m[1][1], 0);
  }

  @Test
  void theFittedTemperatureLowersValidationNll() {
    Random rnd = new Random(3);
    int n = 400, c = 3;
    int[] y = new int[n];
    double[] over = new double[n * c], under = new double[n * c];
    for (int i = 0; i < n; i++) {
      y[i] = rnd.nextInt(c);
      int p = rnd.nextDouble() < 0.7 ? y[i] : rnd.nextInt(c);  // 70% + chance right
      for (int j = 0; j < c; j++) {
        over[i * c + j] = (j == p ? 12 : 0) + rnd.nextGaussian();   // far too confident
        under[i * c + j] = (j == p ? 0.2 : 0) + 0.05 * rnd.nextGaussian();  // far too timid
      }
    }
    double tOver = Ensembles.temperature(over, y, c), tUnder = Ensembles.temperature(under, y, c);
    assertTrue(tOver > 2, "an overconfident probe is cooled: T = " + tOver);
    assertTrue(tUnder < 0.5, "an underconfident probe is sharpened: T = " + tUnder);
    for (double[] z : List.of(over, under)) {
      double t = Ensembles.temperature(z, y, c), at = Ensembles.nll(z, y, c, t);
      assertTrue(at < Ensembles.nll(z, y, c, 1) - 0.05, "NLL drops from " + Ensembles.nll(z, y, c, 1) + " to " + at);
      // it is the minimum: nearby temperatures do no better
      assertTrue(at <= Ensembles.nll(z, y, c, t * 1.05) + 1e-9 && at <= Ensembles.nll(z, y, c, t / 1.05) + 1e-9);
    }
    // the probe records it, and the calibrated ensemble uses it
    assertEquals(tOver, Ensembles.probe("o", over, y, c).temperature(), 1e-12);
  }

  /**
   * Greedy on a constructed case (temperatures fixed at 1). 12 validation examples, 2 classes. s is right on 0-7 (margin
   * 4; wrong with margin 1), w on 0-6, d1 on 5-11 (wrong with margin 3), d2 on 0-3 and 8-11 (margin 8; wrong with
   * margin 0.5). Singles: s, d2 8/12, w, d1 7/12: the first step is s (first of the ties). s + d2 is right everywhere:
   * rows 0-3 both right, rows 4-7 s's 0.98 beats d2's 0.38, rows 8-11 d2's 1.00 beats s's 0.27; s + d1 ties on 8-11
   * (10/12) and s + w misses 8-11. With a large diversity weight, d1 (inconsistent with s on 9 of 12) wins over d2 (8).
   */
  @Test
  void greedyFindsTheKnownBestSetAndReportsGains() {
    Ensembles.Probes probes = fourProbes();
    int[] y = probes.yval();
    Ensembles.Probe s = probes.get("s"), w = probes.get("w"), d1 = probes.get("d1"), d2 = probes.get("d2");
    Ensembles.Pick p = Ensembles.greedy(probes, 3, 0);
    assertEquals("s", p.steps().get(0).expert());
    assertEquals(8 / 12.0, p.steps().get(0).accuracy(), 1e-12);
    assertEquals("d2", p.steps().get(1).expert());
    assertEquals(1.0, p.steps().get(1).accuracy(), 1e-12);
    assertEquals(4 / 12.0, p.steps().get(1).gain(), 1e-12);
    assertEquals(Ensembles.inconsistency(s, d2), p.steps().get(1).inconsistency(), 1e-12);
    assertEquals(3, p.steps().size());
    assertEquals(Ensembles.accuracy(List.of(s, d2, probes.get(p.steps().get(2).expert())), y, 2), p.accuracy(), 1e-12);
    // an exhaustive search over pairs agrees with greedy's pair here
    double bestPair = 0;
    for (Ensembles.Probe a : probes.probes())
      for (Ensembles.Probe b : probes.probes()) if (a != b) bestPair = Math.max(bestPair, Ensembles.accuracy(List.of(a, b), y, 2));
    assertEquals(bestPair, p.steps().get(1).accuracy(), 1e-12);
    // K above the probes: stops with a note
    Ensembles.Pick all = Ensembles.greedy(probes, 9, 0);
    assertEquals(4, all.steps().size());
    assertTrue(all.note().contains("only 4"), all.note());
    assertThrows(NeedleException.class, () -> Ensembles.greedy(probes, 0, 0));
    // a large diversity weight prefers the most inconsistent partner of s
    Ensembles.Pick div = Ensembles.greedy(probes, 2, 10);
    assertEquals(Ensembles.DIVERSE, div.method());
    String most = probes.probes().stream().filter(x -> x != s).max(java.util.Comparator.comparingDouble(x -> Ensembles.inconsistency(s, x))).orElseThrow().expert();
    assertEquals(most, div.steps().get(1).expert());
  }

  /** The four scripted probes of {@link #greedyFindsTheKnownBestSetAndReportsGains} (its javadoc says why each is chosen). */
  static Ensembles.Probes fourProbes() {
    int n = 12;
    int[] y = new int[n];
    for (int i = 0; i < n; i++) y[i] = i % 2;
    return new Ensembles.Probes(y, 2, List.of(scripted("s", y, 0, 8, 4.0, 1.0), scripted("w", y, 0, 7, 1.0, 1.0),
        scripted("d1", y, 5, 12, 1.0, 3.0), scripted("d2", y, 8, 12, 8.0, 0.5, 0, 4)), List.of());
  }

  /**
   * A probe right on examples [from, to) (and on the extra ranges given as pairs), wrong elsewhere, with logit margin
   * {@code right} where right and {@code wrong} where wrong.
   */
  static Ensembles.Probe scripted(String id, int[] y, int from, int to, double right, double wrong, int... extra) {
    double[] z = new double[y.length * 2];
    for (int i = 0; i < y.length; i++) {
      boolean ok = i >= from && i < to;
      for (int e = 0; e + 1 < extra.length; e += 2) ok |= i >= extra[e] && i < extra[e + 1];
      int p = ok ? y[i] : 1 - y[i];
      z[i * 2 + p] = ok ? right : wrong;
    }
    // temperature fitting would rescale these; fix T = 1 so the constructed margins are what the ensemble averages
    Ensembles.Probe fitted = Ensembles.probe(id, z, y, 2);
    return new Ensembles.Probe(id, z, 1, fitted.accuracy(), fitted.correct());
  }

  @Test
  void probesAndConcatenationOnRealEmbeddings() {
    // two 2-D experts, each seeing one coordinate of a 4-class problem: alone each tells 2 of 4 classes apart, together all 4
    Random rnd = new Random(5);
    int n = 400;
    int[] y = new int[n];
    float[] a = new float[n], b = new float[n], bad = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 4;
      a[i] = (y[i] & 1) * 4 + (float) (0.3 * rnd.nextGaussian());
      b[i] = (y[i] >> 1) * 4 + (float) (0.3 * rnd.nextGaussian());
      bad[i] = Float.NaN;
    }
    boolean[] isVal = new boolean[n];
    for (int i = 0; i < n; i++) isVal[i] = i % 5 == 0;
    Split split = Split.of(isVal);
    List<Embedding> es = new ArrayList<>(List.of(new Embedding("a", a, n, 1), new Embedding("b", b, n, 1), new Embedding("bad", bad, n, 1)));
    try (Backend backend = new JavaBackend(1)) {
      Ensembles.Probes p = Ensembles.fit(backend, es, y, 4, split, LinearProbe.Params.defaults());
      assertEquals(List.of("a", "b"), Ensembles.experts(p));
      assertEquals(1, p.failed().size());
      assertTrue(p.failed().get(0).subject().equals("bad") && p.failed().get(0).message().contains("NaN"), p.failed().toString());
      assertTrue(p.get("a").accuracy() < 0.6 && p.get("b").accuracy() < 0.6, "each alone is at most half right");
      Ensembles.Pick cat = Ensembles.concat(backend, es, y, 4, split, LinearProbe.Params.defaults(), p, 2);
      assertEquals(Ensembles.CONCAT, cat.method());
      assertEquals(2, cat.steps().size());
      assertTrue(cat.accuracy() > 0.95, "together they separate all four classes: " + cat.accuracy());
      assertTrue(cat.steps().get(1).gain() > 0.4, cat.toString());
    }
  }

  @Test
  void anchoredSetsStartFromTheAnchor() {
    Ensembles.Probes probes = fourProbes();
    int[] y = probes.yval();
    Ensembles.Probe s = probes.get("s"), w = probes.get("w"), d1 = probes.get("d1"), d2 = probes.get("d2");
    // without an anchor greedy starts from s; anchored on w, w comes first and the next step is w's best partner
    Ensembles.Pick p = Ensembles.greedy(probes, 2, 0, "w");
    assertEquals("w", p.steps().get(0).expert());
    assertEquals(w.accuracy(), p.steps().get(0).accuracy(), 1e-12);
    double bestWithW = 0;
    String partner = null;
    for (Ensembles.Probe c : probes.probes())
      if (c != w && Ensembles.accuracy(List.of(w, c), y, 2) > bestWithW) {
        bestWithW = Ensembles.accuracy(List.of(w, c), y, 2);
        partner = c.expert();
      }
    assertEquals(partner, p.steps().get(1).expert());
    assertEquals(bestWithW - w.accuracy(), p.steps().get(1).gain(), 1e-12);
    assertThrows(NeedleException.class, () -> Ensembles.greedy(probes, 2, 0, "nobody"));
    // the task-agnostic anchor is the probed expert first in metadata order; an id outside the pool is refused
    java.util.function.BiFunction<String, Double, io.needle.zoo.Expert> expert = (id, score) -> new io.needle.zoo.Expert(id,
        java.nio.file.Path.of(id + ".onnx"), null, null, null, -1, io.needle.zoo.Preprocess.DEFAULT,
        new io.needle.zoo.Expert.Metadata(null, null, null, null, null, score, List.of()));
    List<io.needle.zoo.Expert> pool = List.of(expert.apply("s", 0.5), expert.apply("w", 0.7), expert.apply("d1", 0.6),
        expert.apply("d2", null), expert.apply("unprobed", 0.9));
    assertEquals(List.of("w"), Ensembles.anchors(List.of(Ensembles.ANCHOR_TASK_AGNOSTIC), pool, probes));
    assertEquals(List.of("d1"), Ensembles.anchors(List.of("d1"), pool, probes));
    NeedleException notInPool = assertThrows(NeedleException.class, () -> Ensembles.anchors(List.of("x"), pool, probes));
    assertEquals(NeedleException.Code.INVALID_ARGUMENT, notInPool.code());
    NeedleException notProbed = assertThrows(NeedleException.class, () -> Ensembles.anchors(List.of("unprobed"), pool, probes));
    assertEquals(NeedleException.Code.BAD_INPUT, notProbed.code());
    assertEquals(List.of(), Ensembles.anchors(List.of(), pool, probes));
    // several anchors: task-agnostic:N is the metadata's top N of the probed pool, skipping experts anchored by name
    assertEquals(List.of("w", "d1"), Ensembles.anchors(List.of("task-agnostic:2"), pool, probes));
    assertEquals(List.of("w", "d1", "s"), Ensembles.anchors(List.of("task-agnostic:3"), pool, probes), "d2 has no metadata score: last");
    assertEquals(List.of("d1", "w", "s"), Ensembles.anchors(List.of("d1", "task-agnostic:2"), pool, probes));
    assertThrows(NeedleException.class, () -> Ensembles.anchors(List.of("d1", "d1"), pool, probes));
    // more task-agnostic anchors than probed experts ("unprobed" is in the pool): the probed ones, and a note saying so
    List<String> five = Ensembles.anchors(List.of("task-agnostic:5"), pool, probes);
    assertEquals(List.of("w", "d1", "s", "d2"), five);
    assertEquals("only 4 of the 5 anchors asked for could be probed", Ensembles.anchorsNote(List.of("task-agnostic:5"), five));
    assertEquals(null, Ensembles.anchorsNote(List.of("d1", "task-agnostic:2"), List.of("d1", "w", "s")));
    for (String bad : List.of("task-agnostic:0", "task-agnostic:x", "task-agnostic:"))
      assertEquals(NeedleException.Code.INVALID_ARGUMENT, assertThrows(NeedleException.class, () -> Ensembles.checkAnchor(bad, pool)).code(), bad);
    // the greedy search continues from all of them, each anchor a step whose accuracy is the set's so far
    Ensembles.Pick two = Ensembles.greedy(probes, 3, 0, List.of("w", "d1"));
    assertEquals(List.of("w", "d1"), two.experts().subList(0, 2));
    assertEquals(Ensembles.accuracy(List.of(w, d1), y, 2), two.steps().get(1).accuracy(), 1e-12);
    assertEquals(Ensembles.inconsistency(w, d1), two.steps().get(1).inconsistency(), 1e-12);
    assertEquals(3, two.steps().size());
    assertThrows(NeedleException.class, () -> Ensembles.greedy(probes, 1, 0, List.of("w", "d1")), "more anchors than the size");
    assertThrows(NeedleException.class, () -> Ensembles.greedy(probes, 2, 0, List.of("w", "w")), "an anchor twice");
  }
}
