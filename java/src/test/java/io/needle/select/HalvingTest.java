package io.needle.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.embed.Device;
import io.needle.embed.EmbeddingCache;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.zoo.Expert;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Successive halving over inference: the schedule, the savings, and that it ranks like a full run where it must. */
class HalvingTest {
  static Zoo zoo;
  static Images images;
  @TempDir static Path dir;

  @BeforeAll
  static void setUp() {
    GeneratedZoo.write(dir.resolve("zoo"), 40, 28, 1, 11);
    zoo = Zoo.open(dir.resolve("zoo"));
    images = Images.open(Path.of("..", "examples", "fashion-tiny", "images"));
  }

  static Selector.Config config(Halving h) {
    return new Selector.Config(Device.CPU, 0, 32, Backends.Kind.AUTO, List.of(Proxies.get("knn-loo"), Proxies.get("linear")), Settings.defaults(),
        Strategies.get("task-aware"), 2, h);
  }

  @Test
  void everyPrefixOfTheOrderIsStratified() {
    int[] labels = new int[300];
    for (int i = 0; i < labels.length; i++) labels[i] = i < 150 ? 0 : i < 250 ? 1 : 2;  // shares 1/2, 1/3, 1/6
    int[] order = Halving.stratifiedOrder(labels, 5);
    assertEquals(300, java.util.Arrays.stream(order).distinct().count());
    int[] count = new int[3];
    for (int k = 0; k < order.length; k++) {
      count[labels[order[k]]]++;
      double[] share = {0.5, 1 / 3.0, 1 / 6.0};
      for (int c = 0; c < 3; c++) assertTrue(Math.abs(count[c] - share[c] * (k + 1)) <= 1.0 + 1e-9, "prefix " + (k + 1) + " class " + c);
    }
    assertEquals(java.util.Arrays.toString(order), java.util.Arrays.toString(Halving.stratifiedOrder(labels, 5)), "seeded");
  }

  @Test
  void schedule() {
    Halving h = Halving.defaults(0);
    assertEquals(List.of(125, 250, 500, 1000), h.sizes(1000, 10));
    assertEquals(List.of(40, 80, 100), h.sizes(100, 20), "at least 2 images per class in the first round");
    assertEquals(List.of(100), new Halving(100, 2, 0, 0).sizes(100, 10), "a first round of every image is the only round");
    assertEquals(List.of(10, 30, 90, 100), new Halving(10, 3, 0, 0).sizes(100, 2));
    assertThrows(NeedleException.class, () -> new Halving(0, 1, 0, 0));
  }

  @Test
  void savesInferencesLeavesOutWithAReasonAndIsDeterministic() {
    Selector.Result full = Selector.run(zoo, images, null, config(null), null);
    Selector.Result a = Selector.run(zoo, images, null, config(Halving.defaults(3)), null);
    Selector.Result b = Selector.run(zoo, images, null, config(Halving.defaults(3)), null);
    Halving.Report r = a.halving();
    assertNotNull(r);
    int n = images.size(), pool = zoo.experts().size();
    assertEquals((long) pool * n, r.full());
    // rounds of 63, 126, 252, 500 images: experts 40 -> 20 -> 10 -> 5 (keep >= 4 = 2 x budget)
    assertEquals(List.of(63, 126, 252, 500), r.rounds().stream().map(Halving.Round::images).toList());
    assertEquals(List.of(40, 20, 10, 5), r.rounds().stream().map(Halving.Round::experts).toList());
    assertEquals(40L * 63 + 20L * 63 + 10L * 126 + 5L * 248, r.inferences());
    assertTrue(r.saving() > 3, r.describe());
    assertEquals(35, r.leftOut().size());
    // every expert has a row per proxy; those left out are undefined with the round named
    assertEquals(pool * 2, a.scores().size());
    for (Score s : a.scores()) {
      if (r.leftOut().containsKey(s.expert())) {
        assertEquals(Score.Status.UNDEFINED, s.status());
        assertTrue(s.reason().startsWith("left out by successive halving in round "), s.reason());
      } else {
        assertTrue(s.ok(), s.toString());
      }
    }
    // finalists are scored on every image, exactly as a full run scores them
    Map<String, Double> fullScore = new HashMap<>();
    for (Score s : full.scores()) fullScore.put(s.expert() + "/" + s.proxy(), s.score());
    for (Score s : a.scores()) if (s.ok()) assertEquals(fullScore.get(s.expert() + "/" + s.proxy()), s.score(), 1e-6, s.toString());
    assertEquals(a.scores(), b.scores(), "deterministic for a seed");
    assertEquals(a.selection(), b.selection());
  }

  @Test
  void aFirstRoundOfEveryImageRanksAsTheFullRun() {
    Selector.Result full = Selector.run(zoo, images, null, config(null), null);
    Selector.Result h = Selector.run(zoo, images, null, config(new Halving(images.size(), 2, 0, 1)), null);
    assertEquals(full.scores(), h.scores());
    assertEquals(full.selection(), h.selection());
    assertEquals(1, h.halving().rounds().size());
    assertEquals(h.halving().full(), h.halving().inferences());
  }

  @Test
  void finalistsEmbeddingsReachTheCacheInTheImagesOrder(@TempDir Path cacheDir) {
    Selector.Result h;
    try (EmbeddingCache c = EmbeddingCache.open(cacheDir)) {
      h = Selector.run(zoo, images, c, config(Halving.defaults(9)), null);
    }
    Selector.Result full = Selector.run(zoo, images, null, config(null), null);
    // a full run with that cache takes the finalists from it (no inference) and scores them as without it
    try (EmbeddingCache c = EmbeddingCache.open(cacheDir)) {
      Selector.Result again = Selector.run(zoo, images, c, config(null), null);
      long cached = again.experts().stream().filter(Selector.ExpertRun::cached).count();
      assertEquals(zoo.experts().size() - h.halving().leftOut().size(), cached);
      for (Expert e : zoo.experts()) {
        if (h.halving().leftOut().containsKey(e.id())) continue;
        Embedding x = c.get(e, c.key(e, images));
        assertNotNull(x, e.id());
      }
      Map<String, Double> want = new HashMap<>();
      for (Score s : full.scores()) want.put(s.expert() + "/" + s.proxy(), s.score());
      for (Score s : again.scores()) assertEquals(want.get(s.expert() + "/" + s.proxy()), s.score(), 1e-6, s.toString());
    }
  }

  @Test
  void theRankingProxyMustUseOnlyEmbeddings() {
    Selector.Config c = new Selector.Config(Device.CPU, 0, 32, Backends.Kind.AUTO, List.of(Proxies.get("leep")), Settings.defaults(),
        Strategies.get("task-aware"), 1, Halving.defaults(0));
    NeedleException e = assertThrows(NeedleException.class, () -> Selector.run(zoo, images, null, c, null));
    assertEquals(NeedleException.Code.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("leep"), e.getMessage());
  }

  @Test
  void cli(@TempDir Path out) throws Exception {
    String zooDir = dir.resolve("zoo").toString(), data = Path.of("..", "examples", "fashion-tiny", "images").toString();
    assertEquals(0, io.needle.cli.Main.run("select", "--zoo", zooDir, "--data", data, "--halving", "--no-cache", "--quiet", "--out", out.toString()));
    List<String> ranking = java.nio.file.Files.readAllLines(out.resolve("ranking.csv"));
    assertEquals(zoo.experts().size() + 1, ranking.size(), "every expert has a row");
    assertTrue(ranking.stream().filter(l -> l.contains("left out by successive halving")).count() >= 30, "left-out rows say why");
    assertEquals(2, io.needle.cli.Main.run("select", "--zoo", zooDir, "--data", data, "--halving-eta", "3", "--no-cache", "--quiet"),
        "--halving-eta without --halving is a usage error");
    assertEquals(2, io.needle.cli.Main.run("select", "--zoo", zooDir, "--data", data, "--halving", "--halving-eta", "1", "--no-cache", "--quiet"));
  }
}
