package io.needle.bench;

import io.needle.engine.Backend;
import io.needle.engine.Backends;
import io.needle.engine.Dense;
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
 * Milliseconds per call of the estimators' float64 linear algebra at their typical size (N = 1000 examples,
 * D = 2048 features), per backend: java is the reference in engine.Dense (plain loops and EJML), cpu the
 * system's BLAS/LAPACK (OpenBLAS) when the native library was built with it. Each call includes the copies to
 * and from native memory.
 *
 * <pre>
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar LinalgBenchmark \
 *      -p backend=java,cpu -f 1 -wi 1 -i 3
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LinalgBenchmark {
  @Param({"java", "cpu"})
  public String backend;

  @Param({"1000"})
  public int n;

  @Param({"2048"})
  public int d;

  /** right-hand sides of the solve (SFDA: one per class) */
  @Param({"10"})
  public int m;

  private Backend b;
  private double[] x, gramN, gramD, rhs;

  @Setup(Level.Trial)
  public void setup() {
    b = Backends.open(backend, 0);
    Random r = new Random(0);
    x = new double[n * d];
    for (int i = 0; i < x.length; i++) x[i] = r.nextGaussian();
    gramN = Dense.gramRows(x, n, d);  // N x N, full rank
    gramD = Dense.gramCols(x, n, d);  // D x D, rank N: + I to make it positive definite (as a ridge would)
    for (int i = 0; i < d; i++) gramD[i * d + i] += 1;
    rhs = new double[d * m];
    for (int i = 0; i < rhs.length; i++) rhs[i] = r.nextGaussian();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    b.close();
  }

  /** X X^T, N x N, of the N x D features (the dual form when D > N) */
  @Benchmark
  public double[] gramRows() {
    return b.gram(x, n, d, false);
  }

  /** X^T X, D x D */
  @Benchmark
  public double[] gramCols() {
    return b.gram(x, n, d, true);
  }

  /** all eigenpairs of the N x N Gram matrix (LogME and H-score in the dual form, PCA) */
  @Benchmark
  public Dense.Eigen eighN() {
    return b.eigh(gramN, n);
  }

  /** all eigenpairs of the D x D Gram matrix */
  @Benchmark
  public Dense.Eigen eighD() {
    return b.eigh(gramD, d);
  }

  /** D x D SPD solve with m right-hand sides (SFDA's primal form) */
  @Benchmark
  public double[] solveSpdD() {
    return b.solveSpd(gramD, d, rhs, m);
  }

  /** log det of the D x D SPD matrix (TransRate) */
  @Benchmark
  public double logDetSpdD() {
    return b.logDetSpd(gramD, d);
  }
}
