package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Needle;
import io.needle.NeedleException;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Labels;
import io.needle.report.Reports;
import io.needle.select.SelectionContext;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The proxy seam: proxies registered from the test class path (src/test/resources/META-INF/services) are found by id,
 * computed, ranked in their own direction; a proxy that needs what an expert lacks is undefined, a throwing one fails
 * that expert only.
 */
class SpiTest {
  /** Test proxy: the spread (max - min) of column 0; lower is better; throws for experts named "bad*". */
  public static final class Spread extends Estimator {
    static final Option<Double> SCALE = Option.real("test-spread-scale", 1.0, v -> v > 0, "test: multiplies the spread, > 0");

    @Override public String id() { return "test-spread"; }
    @Override public String description() { return "test proxy"; }
    @Override public boolean higherIsBetter() { return false; }
    @Override public List<Option<?>> options() { return List.of(SCALE); }

    @Override
    protected double estimate(TaskData task, ExpertInput e) {
      if (e.id().startsWith("bad")) throw new NeedleException(NeedleException.Code.BAD_INPUT, "test failure");
      float[] x = e.embedding().data();
      int d = e.embedding().cols();
      double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
      for (int i = 0; i < e.embedding().rows(); i++) {
        lo = Math.min(lo, x[i * d]);
        hi = Math.max(hi, x[i * d]);
      }
      return task.settings().get(SCALE) * (hi - lo);
    }
  }

  /** Test proxy that needs upstream logits: the mean of the largest logit. */
  public static final class LogitMax extends Estimator {
    @Override public String id() { return "test-logit-max"; }
    @Override public String description() { return "test proxy needing logits"; }
    @Override public Set<Need> needs() { return EnumSet.of(Need.EMBEDDINGS, Need.UPSTREAM_LOGITS); }

    @Override
    protected double estimate(TaskData task, ExpertInput e) {
      Embedding z = e.logits();
      double s = 0;
      for (int i = 0; i < z.rows(); i++) {
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < z.cols(); j++) m = Math.max(m, z.data()[i * z.cols() + j]);
        s += m;
      }
      return s / z.rows();
    }
  }

  private static Embedding column(String name, float... v) {
    return new Embedding(name, v, v.length, 1);
  }

  @Test
  void testClassPathProxiesAreFoundAndComputed() {
    assertTrue(Proxies.ids().containsAll(List.of("knn-loo", "knn-split", "linear", "test-spread", "test-logit-max")), Proxies.ids().toString());
    assertEquals("test-spread-scale", Proxies.option("test-spread-scale").name());
    Labels y = Labels.of(new int[] {0, 0, 1, 1}, "y");
    List<Embedding> xs = List.of(column("wide", 0, 1, 5, 9), column("narrow", 0, 1, 2, 3), column("bad-one", 0, 0, 1, 1));
    try (Needle n = Needle.builder().backend("java").proxies("test-spread", "knn-loo").settings(Settings.defaults().with("test-spread-scale", "2")).build()) {
      List<Score> s = n.score(y, xs);
      Map<String, Score> spread = new java.util.HashMap<>();
      for (Score x : s) if (x.proxy().equals("test-spread")) spread.put(x.expert(), x);
      assertEquals(18.0, spread.get("wide").score(), 0);
      assertEquals(6.0, spread.get("narrow").score(), 0);
      assertEquals(Score.Status.FAILED, spread.get("bad-one").status());
      assertTrue(spread.get("bad-one").reason().contains("bad-one") && spread.get("bad-one").reason().contains("test failure"), spread.get("bad-one").reason());
      // the failing expert still has its other proxy
      assertTrue(s.stream().anyMatch(x -> x.expert().equals("bad-one") && x.proxy().equals("knn-loo") && x.ok()));
      // lower is better: narrow ranks first, the failed one last
      assertEquals(List.of("narrow", "wide", "bad-one"), Reports.rank(s, "test-spread"));
      SelectionContext ctx = Selector.context(List.of(), s, "test-spread", 1);
      ctx = new SelectionContext(List.of("wide", "narrow", "bad-one"), Map.of(), ctx.scores(), "test-spread", 1);
      assertEquals(List.of("narrow", "wide"), ctx.byProxy("test-spread"));
    }
  }

  @Test
  void proxyNeedingLogitsIsUndefinedWithoutThem() {
    Labels y = Labels.of(new int[] {0, 1, 0, 1}, "y");
    Embedding x = column("a", 0, 1, 0, 1);
    Embedding z = new Embedding("a", new float[] {1, 2, 3, 0, 0, 5, 4, 4}, 4, 2);
    try (Needle n = Needle.builder().backend("java").proxies("test-logit-max").build()) {
      Score without = n.score(y, List.of(x)).get(0);
      assertEquals(Score.Status.UNDEFINED, without.status());
      assertTrue(without.reason().contains("upstream classifier outputs"), without.reason());
      assertFalse(without.ok());
      Score with = n.scoreInputs(y, List.of(new ExpertInput(x, z, new Expert.Metadata(null, null, null, null, null, null, null))), null).get(0);
      assertEquals((2 + 3 + 5 + 4) / 4.0, with.score(), 1e-12);
    }
  }

  @Test
  void unknownIdsAndOptionsNameTheKnownOnes() {
    NeedleException e = assertThrows(NeedleException.class, () -> Proxies.get("nope"));
    assertTrue(e.getMessage().contains("knn-loo") && e.getMessage().contains("test-spread"), e.getMessage());
    e = assertThrows(NeedleException.class, () -> Settings.defaults().with("nope", "1"));
    assertTrue(e.getMessage().contains("linear-c"), e.getMessage());
    e = assertThrows(NeedleException.class, () -> Settings.defaults().with("k", "0"));
    assertTrue(e.getMessage().contains("option k"), e.getMessage());
    e = assertThrows(NeedleException.class, () -> Settings.defaults().with("metric", "manhattan"));
    assertTrue(e.getMessage().contains("euclidean, cosine"), e.getMessage());
    assertTrue(Proxies.parse(List.of("all")).size() >= 5);
  }

  @Test
  void noSentinels() {
    assertThrows(IllegalArgumentException.class, () -> Score.ok("e", "p", Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> new Score("e", "p", -1, Score.Status.FAILED, "x"));
    assertEquals(-3.5, Score.ok("e", "logme", -3.5).score());
  }
}
