package io.needle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.data.Tasks;
import io.needle.embed.Device;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.select.Selector;
import io.needle.select.Strategies;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder of tasks with a cache runs expert-major (each model loaded once for every task) and scores as task by task. */
class SuiteTest {
  @Test
  void expertMajorScoresAsTaskMajor(@TempDir Path dir) throws Exception {
    GeneratedZoo.write(dir.resolve("zoo"), 20, 28, 1, 4);
    Zoo zoo = Zoo.open(dir.resolve("zoo"));
    // two tasks of the bundled benchmark
    List<Tasks.Task> tasks = Tasks.read(Path.of("..", "examples", "mini-vtab", "tasks")).stream().filter(t -> t.excluded() == null).limit(2).toList();
    Selector.Config cfg = new Selector.Config(Device.CPU, 0, 32, Backends.Kind.AUTO, List.of(Proxies.get("knn-loo"), Proxies.get("linear")),
        Settings.defaults(), Strategies.get("task-aware"), 1);
    Suite.Run taskMajor = Suite.run(zoo, tasks, cfg, 300, 0, null, null, new Suite.Listener() {});
    assertEquals(0, taskMajor.computedUpFront());
    Suite.Run expertMajor = Suite.run(zoo, tasks, cfg, 300, 0, dir.resolve("cache"), null, new Suite.Listener() {});
    assertEquals(2L * zoo.experts().size(), expertMajor.computedUpFront(), "every expert embedded every task up front");
    assertTrue(expertMajor.tasks().stream().allMatch(t -> t.result().experts().stream().allMatch(Selector.ExpertRun::cached)),
        "the selections read them back");
    for (int t = 0; t < 2; t++) {
      List<Score> a = taskMajor.tasks().get(t).result().scores(), b = expertMajor.tasks().get(t).result().scores();
      assertEquals(a.size(), b.size());
      for (int i = 0; i < a.size(); i++) {
        assertEquals(a.get(i).expert(), b.get(i).expert());
        assertEquals(a.get(i).score(), b.get(i).score(), 1e-6, a.get(i).toString());
      }
      assertEquals(taskMajor.tasks().get(t).result().selection(), expertMajor.tasks().get(t).result().selection());
    }
    // a second run finds everything cached: nothing up front
    assertEquals(0, Suite.run(zoo, tasks, cfg, 300, 0, dir.resolve("cache"), null, new Suite.Listener() {}).computedUpFront());
  }
}
