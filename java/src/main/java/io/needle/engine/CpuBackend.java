package io.needle.engine;

import io.needle.NeedleException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * C++ kernels through JavaCPP: a packed, blocked GEMM fused with candidate selection (float32 with AVX2/FMA, or
 * bfloat16 where the CPU has AVX512-BF16), then an exact float64 re-rank; the softmax gradient in blocks of rows.
 * Tensors live in native memory so repeated gradient evaluations copy nothing. The batched methods hand a whole batch
 * of experts to one native call, which runs one expert per thread.
 *
 * <p>The float64 linear algebra ({@link #gram}, {@link #eigh}, {@link #solveSpd}, {@link #logDetSpd}) runs on the
 * system's BLAS/LAPACK (OpenBLAS: dsyrk, dsyevd, dpotrf/dpotrs, threaded) when the native library was built with
 * one; otherwise, and for inputs holding NaN or infinities, it falls back to the Java reference in {@link Dense}
 * (the reason logged once per process).
 */
public final class CpuBackend implements Backend {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.needle.engine");
  private static final AtomicBoolean NO_LAPACK_LOGGED = new AtomicBoolean();
  // native return codes (needle.h)
  private static final int ENOTPD = 5, ENOCONV = 6;

  // needle_cpu_knn_ex flags (needle.h)
  static final int KNN_F32 = 1, KNN_BF16 = 2;

  private final int threads;
  private final boolean lapack;
  private final int knnFlags;
  private int[] labelsKey;
  private IntPointer labels;
  private FloatPointer wbuf, gbuf;  // the batched gradient's weights and gradients, grown as needed and kept

  /**
   * @param threads threads per kernel call; 0 or less means all cores
   * @throws NeedleException BACKEND_UNAVAILABLE if the native library is absent or does not load
   */
  public CpuBackend(int threads) {
    this(threads, knnPass(System.getProperty("needle.cpu.knn", "auto")));
  }

  /** The system property {@code needle.cpu.knn}: auto (default), f32 or bf16 (for benchmarks and tests; results are identical). */
  private static int knnPass(String v) {
    return switch (v) {
      case "f32" -> KNN_F32;
      case "bf16" -> KNN_BF16;
      case "auto" -> 0;
      default -> throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "needle.cpu.knn must be auto, f32 or bf16, not '" + v + "'");
    };
  }

  /**
   * @param knnFlags 0 (the default choice of k-NN candidate pass), {@link #KNN_F32} or {@link #KNN_BF16}: for tests of
   *     each path; results are identical
   */
  CpuBackend(int threads, int knnFlags) {
    NativeLoader.Status s = status();
    if (!s.loaded()) throw new NeedleException(NeedleException.Code.BACKEND_UNAVAILABLE, "cpu backend: " + s.reason());
    this.threads = threads;
    this.lapack = NativeCpu.needle_cpu_has_lapack() != 0;
    this.knnFlags = knnFlags;
  }

  /** @return whether the k-NN candidate pass can run in bfloat16 here (the CPU has AVX512-BF16) */
  static boolean bf16() {
    return status().loaded() && NativeCpu.needle_cpu_knn_tier().getString().startsWith("bfloat16");
  }

  /** @return whether the float64 linear algebra runs natively (BLAS/LAPACK) rather than in Java */
  public boolean nativeLinearAlgebra() {
    return lapack;
  }

  /** @return whether the native CPU library loads here, and why not */
  static NativeLoader.Status status() {
    return NativeLoader.load(NativeCpu.class, "built with -Dneedle.skipNative, or the C++ build failed");
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public String describe() {
    return "C++ kernels, " + NativeCpu.needle_cpu_isa().getString() + ", k-NN candidates in " + NativeCpu.needle_cpu_knn_tier().getString()
        + ", " + (threads > 0 ? threads : Runtime.getRuntime().availableProcessors()) + " threads; float64 linear algebra "
        + (lapack ? "on " : "in Java (") + NativeCpu.needle_cpu_lapack().getString() + (lapack ? "" : ")");
  }

  static final class NativeTensor extends Shaped {
    final FloatPointer data;
    final java.nio.FloatBuffer in;  // the off-heap embedding's buffer this tensor reads in place, or null (own memory)

    NativeTensor(float[] values, int rows, int cols) {
      super(rows, cols);
      this.data = new FloatPointer(values);
      this.in = null;
    }

    NativeTensor(FloatPointer own, int rows, int cols) {
      super(rows, cols);
      this.data = own;
      this.in = null;
    }

    NativeTensor(java.nio.FloatBuffer direct, int rows, int cols) {
      super(rows, cols);
      this.data = new FloatPointer(direct);  // its address: no copy, no memory of its own to free
      this.in = direct;
    }

    @Override public void close() { if (in == null) data.close(); }
  }

  @Override
  public Tensor put(float[] data, int rows, int cols) {
    Checks.put(data, rows, cols);
    return new NativeTensor(data, rows, cols);
  }

  /** An off-heap embedding is used in place (no copy); a Java-array one is copied. */
  @Override
  public Tensor put(io.needle.data.Embedding e) {
    java.nio.FloatBuffer b = e.directBuffer();
    if (b == null) return put(e.data(), e.rows(), e.cols());
    return new NativeTensor(b, e.rows(), e.cols());
  }

  /** The rows gathered straight into native memory, from the off-heap buffer or the Java array. */
  @Override
  public Tensor putRows(io.needle.data.Embedding e, int[] rows) {
    int cols = e.cols();
    if (rows.length < 1) throw Checks.invalid("no rows to put");
    for (int r : rows) if (r < 0 || r >= e.rows()) throw Checks.invalid("row " + r + " outside [0, " + e.rows() + ")");
    FloatPointer out = new FloatPointer((long) rows.length * cols);
    java.nio.FloatBuffer b = e.directBuffer();
    if (b != null) {
      // byte views whose positions (in bytes: memcpy takes void*) move row by row
      BytePointer src = new BytePointer(new FloatPointer(b)), dst = new BytePointer(out);
      for (int r = 0; r < rows.length; r++)
        org.bytedeco.javacpp.Pointer.memcpy(dst.position(4L * r * cols), src.position(4L * rows[r] * cols), 4L * cols);
    } else {
      float[] data = e.data();
      for (int r = 0; r < rows.length; r++) out.position((long) r * cols).put(data, rows[r] * cols, cols);
      out.position(0);
    }
    return new NativeTensor(out, rows.length, cols);
  }

  private static NativeTensor nat(Tensor t) {
    if (t instanceof NativeTensor n) return n;
    throw Checks.invalid("tensor was not made by the cpu backend");
  }

  @Override
  public Neighbors nearest(Tensor query, Tensor base, int k, boolean self) {
    Checks.nearest(query, base, k, self);
    NativeTensor q = nat(query), b = nat(base);
    int n = q.rows;
    try (IntPointer idx = new IntPointer((long) n * k); FloatPointer dist = new FloatPointer((long) n * k)) {
      check(NativeCpu.needle_cpu_knn_ex(q.data, n, b.data, b.rows, q.cols, k, self ? 1 : 0, threads, knnFlags, idx, dist), "knn");
      int[] index = new int[n * k];
      float[] distance = new float[n * k];
      idx.get(index);
      dist.get(distance);
      return new Neighbors(n, k, index, distance);
    }
  }

  /** Leave-one-out k-NN of a batch of experts (self mode, the same rows) in one native call; otherwise one by one. */
  @Override
  public List<Neighbors> nearest(List<Tensor> queries, List<Tensor> bases, int k, boolean self) {
    int e = queries.size();
    boolean batch = self && e > 1 && bases.size() == e;
    for (int t = 0; batch && t < e; t++) batch = queries.get(t) == bases.get(t) && queries.get(t).rows() == queries.get(0).rows();
    if (!batch) return Backend.super.nearest(queries, bases, k, self);
    for (Tensor q : queries) Checks.nearest(q, q, k, true);
    int n = queries.get(0).rows();
    long size = (long) e * n * k;
    if (size > Integer.MAX_VALUE) return Backend.super.nearest(queries, bases, k, self);
    int[] dims = new int[e];
    try (PointerPointer<FloatPointer> xs = new PointerPointer<>(e); IntPointer d = new IntPointer(e);
        IntPointer idx = new IntPointer(size); FloatPointer dist = new FloatPointer(size)) {
      for (int t = 0; t < e; t++) {
        NativeTensor q = nat(queries.get(t));
        xs.put(t, q.data);
        dims[t] = q.cols;
      }
      d.put(dims);
      check(NativeCpu.needle_cpu_knn_batch(e, xs, n, d, k, threads, knnFlags, idx, dist), "knn");
      List<Neighbors> out = new ArrayList<>(e);
      for (int t = 0; t < e; t++) {
        int[] index = new int[n * k];
        float[] distance = new float[n * k];
        idx.position((long) t * n * k).get(index);
        dist.position((long) t * n * k).get(distance);
        out.add(new Neighbors(n, k, index, distance));
      }
      idx.position(0);
      dist.position(0);
      return out;
    }
  }

  private IntPointer labelsOf(int[] y) {
    if (labelsKey != y) {  // labels are the same array across an optimisation: copy them once
      if (labels != null) labels.close();
      labels = new IntPointer(y);
      labelsKey = y;
    }
    return labels;
  }

  /** The gradients of a batch of experts in one native call (one expert per thread); weights copied into kept buffers. */
  @Override
  public double[] softmaxGrad(List<Tensor> xs, int[] y, float[] rowWeight, int classes, List<float[]> w, List<float[]> grad) {
    int e = xs.size();
    if (e == 1) return new double[] {softmaxGrad(xs.get(0), y, rowWeight, classes, w.get(0), grad.get(0))};
    long total = 0;
    for (int t = 0; t < e; t++) {
      Checks.softmax(xs.get(t), y, rowWeight, classes, w.get(t), grad.get(t));
      total += w.get(t).length;
    }
    if (wbuf == null || wbuf.capacity() < total) {
      if (wbuf != null) wbuf.close();
      if (gbuf != null) gbuf.close();
      wbuf = new FloatPointer(total);
      gbuf = new FloatPointer(total);
    }
    IntPointer yp = labelsOf(y);
    int[] dims = new int[e];
    try (PointerPointer<FloatPointer> xp = new PointerPointer<>(e); IntPointer d = new IntPointer(e); DoublePointer loss = new DoublePointer(e);
        FloatPointer rw = rowWeight == null ? null : new FloatPointer(rowWeight)) {
      long at = 0;
      for (int t = 0; t < e; t++) {
        NativeTensor x = nat(xs.get(t));
        xp.put(t, x.data);
        dims[t] = x.cols;
        wbuf.position(at).put(w.get(t));
        at += w.get(t).length;
      }
      wbuf.position(0);
      d.put(dims);
      check(NativeCpu.needle_cpu_softmax_grad_batch(e, xp, xs.get(0).rows(), d, yp, rw, classes, wbuf, gbuf, loss, threads), "softmax");
      double[] out = new double[e];
      at = 0;
      for (int t = 0; t < e; t++) {
        gbuf.position(at).get(grad.get(t));
        at += grad.get(t).length;
        out[t] = loss.get(t);
      }
      gbuf.position(0);
      return out;
    }
  }

  @Override
  public double softmaxGrad(Tensor x, int[] y, float[] rowWeight, int classes, float[] w, float[] grad) {
    Checks.softmax(x, y, rowWeight, classes, w, grad);
    NativeTensor t = nat(x);
    labelsOf(y);
    try (FloatPointer wp = new FloatPointer(w); FloatPointer gp = new FloatPointer(grad.length);
        DoublePointer loss = new DoublePointer(1);
        FloatPointer rw = rowWeight == null ? null : new FloatPointer(rowWeight)) {
      check(NativeCpu.needle_cpu_softmax_grad(t.data, t.rows, t.cols, labels, rw, classes, wp, gp, loss, threads), "softmax");
      gp.get(grad);
      return loss.get();
    }
  }

  // ---- float64 linear algebra on BLAS/LAPACK; the same results and failures as Dense's ----

  /** @return whether to compute natively: LAPACK is built in, the shape is non-empty and every value is finite */
  private boolean useNative(double[]... inputs) {
    if (!lapack) {
      if (NO_LAPACK_LOGGED.compareAndSet(false, true))
        LOG.info("cpu backend: " + NativeCpu.needle_cpu_lapack().getString()
            + "; gram, eigh, solveSpd and logDetSpd use the Java reference");
      return false;
    }
    for (double[] a : inputs) for (double v : a) if (!Double.isFinite(v)) return false;  // Dense's NaN semantics
    return true;
  }

  private static void shape(double[] a, long rows, long cols, String what) {
    if (rows < 1 || cols < 1 || a.length != rows * cols)
      throw Checks.invalid(what + ": a " + rows + " x " + cols + " matrix needs " + rows * cols + " values, got " + a.length);
  }

  @Override
  public double[] gram(double[] x, int rows, int cols, boolean byColumns) {
    long n = byColumns ? cols : rows;
    if (rows < 1 || cols < 1 || n * n > Integer.MAX_VALUE - 8) return Backend.super.gram(x, rows, cols, byColumns);
    shape(x, rows, cols, "gram");
    if (!useNative(x)) return Backend.super.gram(x, rows, cols, byColumns);
    try (DoublePointer xp = new DoublePointer(x); DoublePointer out = new DoublePointer(n * n)) {
      check(NativeCpu.needle_cpu_gram(xp, rows, cols, byColumns ? 1 : 0, out, threads), "gram");
      double[] g = new double[(int) (n * n)];
      out.get(g);
      return g;
    }
  }

  @Override
  public double[] mult(double[] a, double[] b, int n, int k, int m, boolean transA) {
    if (n < 1 || k < 1 || m < 1 || (long) n * m > Integer.MAX_VALUE - 8) return Backend.super.mult(a, b, n, k, m, transA);
    shape(a, transA ? k : n, transA ? n : k, "mult");
    shape(b, k, m, "mult");
    if (!useNative(a) || !useNative(b)) return Backend.super.mult(a, b, n, k, m, transA);
    try (DoublePointer ap = new DoublePointer(a); DoublePointer bp = new DoublePointer(b); DoublePointer cp = new DoublePointer((long) n * m)) {
      check(NativeCpu.needle_cpu_gemm(ap, bp, n, k, m, transA ? 1 : 0, cp, threads), "gemm");
      double[] c = new double[n * m];
      cp.get(c);
      return c;
    }
  }

  @Override
  public Dense.Eigen eigh(double[] a, int n) {
    if (n < 1 || n > 30000) return Backend.super.eigh(a, n);  // dsyevd's 2n^2 workspace must fit a 32-bit int
    shape(a, n, n, "eigh");
    if (!useNative(a)) return Backend.super.eigh(a, n);
    try (DoublePointer ap = new DoublePointer(a); DoublePointer vp = new DoublePointer(n);
        DoublePointer ep = new DoublePointer((long) n * n)) {
      int rc = NativeCpu.needle_cpu_eigh(ap, n, vp, ep, threads);
      if (rc == ENOCONV) throw new NeedleException(NeedleException.Code.BAD_INPUT, "symmetric eigendecomposition did not converge");
      check(rc, "eigh");
      double[] values = new double[n], vectors = new double[n * n];
      vp.get(values);
      ep.get(vectors);
      return new Dense.Eigen(values, vectors, n);
    }
  }

  @Override
  public double[] solveSpd(double[] a, int n, double[] b, int m) {
    if (n < 1 || m < 1) return Backend.super.solveSpd(a, n, b, m);
    shape(a, n, n, "solveSpd");
    shape(b, n, m, "solveSpd right-hand side");
    if (!useNative(a, b)) return Backend.super.solveSpd(a, n, b, m);
    try (DoublePointer ap = new DoublePointer(a); DoublePointer bp = new DoublePointer(b)) {
      int rc = NativeCpu.needle_cpu_solve_spd(ap, n, bp, m, threads);
      if (rc == ENOTPD) throw new NeedleException(NeedleException.Code.BAD_INPUT, "matrix is not positive definite (singular covariance)");
      check(rc, "solveSpd");
      double[] out = new double[n * m];
      bp.get(out);
      return out;
    }
  }

  @Override
  public double logDetSpd(double[] a, int n) {
    if (n < 1) return Backend.super.logDetSpd(a, n);
    shape(a, n, n, "logDetSpd");
    if (!useNative(a)) return Backend.super.logDetSpd(a, n);
    try (DoublePointer ap = new DoublePointer(a); DoublePointer out = new DoublePointer(1)) {
      int rc = NativeCpu.needle_cpu_logdet_spd(ap, n, out, threads);
      if (rc == ENOTPD) throw new NeedleException(NeedleException.Code.BAD_INPUT, "matrix is not positive definite");
      check(rc, "logDetSpd");
      return out.get();
    }
  }

  private static void check(int rc, String what) {
    if (rc != 0) throw new NeedleException(NeedleException.Code.NATIVE_ERROR, "cpu " + what + " kernel failed with code " + rc);
  }

  @Override
  public void close() {
    if (labels != null) labels.close();
    if (wbuf != null) wbuf.close();
    if (gbuf != null) gbuf.close();
    labels = null;
    labelsKey = null;
    wbuf = gbuf = null;
  }
}
