package io.needle.bench;

import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.data.Npy;
import io.needle.data.OffHeap;
import io.needle.engine.Backend;
import io.needle.engine.Backends;
import io.needle.proxy.Knn;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Split;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
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
 * Experts per second for a batch of 8 experts handed to the backend together (the batched native calls: one expert per
 * thread), as {@code needle score} scores a folder: knn-loo with the float32 or the bfloat16 candidate pass
 * ({@code knn}: the system property {@code needle.cpu.knn}), linear, and reading the batch's .npy files (memory-mapped,
 * copied off the heap, validated). Experts live on the Java heap or off it ({@code layout}; off it, native backends use
 * them in place). Data as ../shared/bench/cpu_peers.py's: class centres ~ N(0, 1), examples = centre + 1.5 N(0, 1).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class BatchBenchmark {
  static final int BATCH = 8;

  @Param({"cpu"})
  public String backend;

  @Param({"1000"})
  public int n;

  @Param({"128", "2048"})
  public int d;

  @Param({"10"})
  public int c;

  @Param({"auto", "f32"})
  public String knn;

  @Param({"heap", "offheap"})
  public String layout;

  private Backend b;
  private List<Embedding> experts;
  private Labels labels;
  private Split split;
  private Path dir;
  private List<Experts.Source> files;
  private OffHeap pool;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    System.setProperty("needle.cpu.knn", knn);
    b = Backends.open(backend, 0);
    Random r = new Random(0);
    int[] y = new int[n];
    for (int i = 0; i < n; i++) y[i] = r.nextInt(c);
    experts = new ArrayList<>();
    dir = Files.createTempDirectory("needle-batch-bench");
    for (int t = 0; t < BATCH; t++) {
      float[][] centres = new float[c][d];
      for (float[] row : centres) for (int p = 0; p < d; p++) row[p] = (float) r.nextGaussian();
      float[] x = new float[n * d];
      for (int i = 0; i < n; i++) for (int p = 0; p < d; p++) x[i * d + p] = centres[y[i]][p] + (float) (1.5 * r.nextGaussian());
      Npy.writeFloats(dir.resolve("e" + t + ".npy"), x, n, d);
      if (layout.equals("heap")) {
        experts.add(new Embedding("e" + t, x, n, d));
      } else {
        FloatBuffer buf = ByteBuffer.allocateDirect(4 * x.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        buf.put(x).clear();
        experts.add(Embedding.offHeap("e" + t, buf, n, d, null));
      }
    }
    Npy.writeLongs(dir.resolve("labels.npy"), y);
    files = Experts.list(dir, dir.resolve("labels.npy"));
    labels = Labels.of(y, "bench");
    split = Split.stratified(labels, 0.2, 0);
    pool = new OffHeap();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    b.close();
    pool.close();
    System.clearProperty("needle.cpu.knn");
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) Files.delete(p);
    }
    Files.delete(dir);
  }

  /** knn-loo for the batch: exact 1-NN with self excluded, accuracies; one native call on the cpu backend. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public double knnLoo() {
    return Knn.leaveOneOut(b, experts, labels.classes0(), 1, false)[0];
  }

  /** linear for the batch: L-BFGS logistic regression of all eight in lock step, validation accuracies. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public double linear() {
    return LinearProbe.score(b, experts, labels.classes0(), labels.classes(), split, LinearProbe.Params.defaults())[0];
  }

  /** Reads the batch's files as scoring a folder does ({@code layout=offheap}: into pooled direct buffers) and validates them. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public double read() {
    double s = 0;
    for (Experts.Source f : files) {
      Embedding e = layout.equals("heap") ? f.load() : f.load(pool);
      s += e.validate(n).rows();
      e.release();
    }
    return s;
  }
}
