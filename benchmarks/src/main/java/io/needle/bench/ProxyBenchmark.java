package io.needle.bench;

import io.needle.data.Embedding;
import io.needle.data.Labels;
import io.needle.engine.Backend;
import io.needle.engine.Backends;
import io.needle.proxy.Knn;
import io.needle.proxy.LinearProbe;

import io.needle.proxy.Split;
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
 * Experts per second for one expert's proxy (N examples, D dimensions, C classes), per backend. The data is
 * the same as ../shared/bench/cpu_peers.py's: class centres ~ N(0, 1), examples = centre + 1.5 N(0, 1).
 * A backend that cannot run here (e.g. cuda without a GPU) fails its trials in setup with the reason.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ProxyBenchmark {
  @Param({"java", "cpu", "cuda"})
  public String backend;

  @Param({"1000"})
  public int n;

  @Param({"128", "512", "2048"})
  public int d;

  @Param({"10", "100"})
  public int c;

  private Backend b;
  private List<Embedding> experts;
  private Labels labels;
  private Split split;

  @Setup(Level.Trial)
  public void setup() {
    b = Backends.open(backend, 0);
    Random r = new Random(0);
    float[][] centres = new float[c][d];
    for (float[] row : centres) for (int p = 0; p < d; p++) row[p] = (float) r.nextGaussian();
    int[] y = new int[n];
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(c);
      for (int p = 0; p < d; p++) x[i * d + p] = centres[y[i]][p] + (float) (1.5 * r.nextGaussian());
    }
    labels = Labels.of(y, "bench");
    experts = List.of(new Embedding("bench", x, n, d));
    split = Split.stratified(labels, 0.2, 0);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    b.close();
  }

  /** knn-loo for one expert: upload, exact 1-NN with self excluded, accuracy. */
  @Benchmark
  public double knnLoo() {
    return Knn.leaveOneOut(b, experts, labels.classes0(), 1, false)[0];
  }

  /** linear for one expert: L-BFGS logistic regression on the 80% split, validation accuracy. */
  @Benchmark
  public double linear() {
    return LinearProbe.score(b, experts, labels.classes0(), labels.classes(), split, LinearProbe.Params.defaults())[0];
  }
}
