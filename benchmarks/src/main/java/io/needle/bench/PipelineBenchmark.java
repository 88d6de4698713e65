package io.needle.bench;

import io.needle.data.Images;
import io.needle.embed.Device;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.select.Halving;
import io.needle.select.Selector;
import io.needle.select.Strategies;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * End-to-end selection throughput, experts per second: {@code needle select}'s whole path (sessions, preparation,
 * inference, knn-loo, the pick; no cache) over a generated zoo of {@link #EXPERTS} small experts and 1000 random
 * 28x28 images, scoring on the plain-Java reference backend against the native cpu one, with and without successive
 * halving; and ONNX Runtime alone (each session created and the same images run through it, nothing else), the
 * ceiling for any pipeline on these models.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PipelineBenchmark {
  static final int EXPERTS = 48;

  @Param({"java", "cpu"})
  public String backend;

  private Path dir;
  private Zoo zoo;
  private Images images;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    dir = Files.createTempDirectory("needle-pipeline-bench");
    GeneratedZoo.write(dir, EXPERTS, 28, 1, 0);
    zoo = Zoo.open(dir);
    Random r = new Random(0);
    int n = 1000;
    byte[] px = new byte[n * 28 * 28];
    r.nextBytes(px);
    int[] y = new int[n];
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      y[i] = i % 10;
      names.add("img" + i);
    }
    images = new Images("random", 28, 28, 1, px, y, List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), names, List.of());
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    ZooRun.deleteTree(dir);
  }

  private Selector.Config config(Halving h) {
    return new Selector.Config(Device.CPU, 0, 32, Backends.Kind.parse(backend), List.of(Proxies.get("knn-loo")), Settings.defaults(),
        Strategies.get("task-aware"), 1, h);
  }

  @Benchmark
  @OperationsPerInvocation(EXPERTS)
  public Object select() {
    return Selector.run(zoo, images, null, config(null), null).selection();
  }

  @Benchmark
  @OperationsPerInvocation(EXPERTS)
  public Object selectHalving() {
    return Selector.run(zoo, images, null, config(Halving.defaults(0)), null).selection();
  }

  @Benchmark
  @OperationsPerInvocation(EXPERTS)
  public long ortAlone() throws Exception {
    return ZooRun.bare(zoo.experts(), images, 0, 32, false);
  }
}
