package io.needle.engine;

import io.needle.NeedleException;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * C++ kernels through JavaCPP: a packed, blocked float32 GEMM (AVX2/FMA where the CPU has it) fused with
 * candidate selection, then an exact float64 re-rank; the softmax gradient in one pass over the data.
 * Tensors live in native memory so repeated gradient evaluations copy nothing.
 */
public final class CpuBackend implements Backend {
  private final int threads;
  private int[] labelsKey;
  private IntPointer labels;

  /**
   * @param threads threads per kernel call; 0 or less means all cores
   * @throws NeedleException BACKEND_UNAVAILABLE if the native library is absent or does not load
   */
  public CpuBackend(int threads) {
    NativeLoader.Status s = status();
    if (!s.loaded()) throw new NeedleException(NeedleException.Code.BACKEND_UNAVAILABLE, "cpu backend: " + s.reason());
    this.threads = threads;
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
    return "C++ kernels, " + NativeCpu.needle_cpu_isa().getString() + ", "
        + (threads > 0 ? threads : Runtime.getRuntime().availableProcessors()) + " threads";
  }

  static final class NativeTensor extends Shaped {
    final FloatPointer data;

    NativeTensor(float[] values, int rows, int cols) {
      super(rows, cols);
      this.data = new FloatPointer(values);
    }

    @Override public void close() { data.close(); }
  }

  @Override
  public Tensor put(float[] data, int rows, int cols) {
    Checks.put(data, rows, cols);
    return new NativeTensor(data, rows, cols);
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
      check(NativeCpu.needle_cpu_knn(q.data, n, b.data, b.rows, q.cols, k, self ? 1 : 0, threads, idx, dist), "knn");
      int[] index = new int[n * k];
      float[] distance = new float[n * k];
      idx.get(index);
      dist.get(distance);
      return new Neighbors(n, k, index, distance);
    }
  }

  @Override
  public double softmaxGrad(Tensor x, int[] y, float[] rowWeight, int classes, float[] w, float[] grad) {
    Checks.softmax(x, y, rowWeight, classes, w, grad);
    NativeTensor t = nat(x);
    if (labelsKey != y) {  // labels are the same array across an optimisation: copy them once
      if (labels != null) labels.close();
      labels = new IntPointer(y);
      labelsKey = y;
    }
    try (FloatPointer wp = new FloatPointer(w); FloatPointer gp = new FloatPointer(grad.length);
        DoublePointer loss = new DoublePointer(1);
        FloatPointer rw = rowWeight == null ? null : new FloatPointer(rowWeight)) {
      check(NativeCpu.needle_cpu_softmax_grad(t.data, t.rows, t.cols, labels, rw, classes, wp, gp, loss, threads), "softmax");
      gp.get(grad);
      return loss.get();
    }
  }

  private static void check(int rc, String what) {
    if (rc != 0) throw new NeedleException(NeedleException.Code.NATIVE_ERROR, "cpu " + what + " kernel failed with code " + rc);
  }

  @Override
  public void close() {
    if (labels != null) labels.close();
    labels = null;
    labelsKey = null;
  }
}
