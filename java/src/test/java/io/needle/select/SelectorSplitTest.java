package io.needle.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.needle.Score;
import io.needle.data.Images;
import io.needle.embed.Device;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.zoo.Expert;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Selector.score on parts of a pool, then Selector.pick once: the same selection as Selector.run on the whole (what needle-spark relies on). */
class SelectorSplitTest {
  @Test
  void scoringInPartsThenPickingOnceEqualsOneRun() {
    Zoo zoo = Zoo.open(Path.of("..", "examples", "fashion-tiny", "zoo"));
    Images task = Images.open(Path.of("..", "examples", "fashion-tiny", "images")).subsample(200, 0);
    Selector.Config c = new Selector.Config(Device.AUTO, 0, 32, Backends.Kind.AUTO, Proxies.parse(List.of("knn-loo", "linear", "logme")),
        Settings.defaults(), Strategies.get("hybrid"), 2);
    Selector.Result whole = Selector.run(zoo, task, null, c, null);

    List<Expert> pool = zoo.experts();
    List<Score> scores = new ArrayList<>();
    Map<String, Double> seconds = new LinkedHashMap<>();
    for (List<Expert> part : List.of(pool.subList(2, pool.size()), pool.subList(0, 2))) {  // parts in any order; rows go back in pool order below
      Selector.Scored s = Selector.score(part, List.of(), null, task, null, c, null);
      scores.addAll(s.scores());
      s.seconds().forEach((k, v) -> seconds.merge(k, v, Double::sum));
    }
    List<String> order = pool.stream().map(Expert::id).toList();
    scores.sort(java.util.Comparator.comparingInt((Score s) -> order.indexOf(s.expert())));
    Selector.Result parts = Selector.pick(pool, new Selector.Scored(scores, List.of(), List.of(), seconds, whole.backend()), c);
    assertEquals(whole.scores(), parts.scores());
    assertEquals(whole.selection(), parts.selection());
  }
}
