package io.needle.bench;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Embedding;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Experts per second for one expert's transferability estimator (N examples, D dimensions, C classes), per backend,
 * through the public scoring API (float64 conversion included). Data as {@link ProxyBenchmark}'s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class EstimatorBenchmark {
  @Param({"java", "cpu"})
  public String backend;

  @Param({"logme", "hscore", "hscore-shrinkage", "transrate", "sfda", "parc", "gbc", "nleep"})
  public String estimator;

  @Param({"1000"})
  public int n;

  @Param({"256", "2048"})
  public int d;

  @Param({"10"})
  public int c;

  private Needle needle;
  private int[] y;
  private List<Embedding> experts;

  @Setup(Level.Trial)
  public void setup() {
    needle = Needle.builder().backend(backend).proxies(estimator).batch(1).build();
    Random r = new Random(0);
    float[][] centres = new float[c][d];
    for (float[] row : centres) for (int p = 0; p < d; p++) row[p] = (float) r.nextGaussian();
    y = new int[n];
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      y[i] = i % c;
      for (int p = 0; p < d; p++) x[i * d + p] = centres[y[i]][p] + (float) (1.5 * r.nextGaussian());
    }
    experts = List.of(new Embedding("bench", x, n, d));
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    needle.close();
  }

  /** One expert scored by the estimator. */
  @Benchmark
  public double score() {
    Score s = needle.score(io.needle.data.Labels.of(y, "bench"), experts).get(0);
    if (!s.ok()) throw new IllegalStateException(s.reason());
    return s.score();
  }
}
