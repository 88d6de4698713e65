package io.needle.engine;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of the CPU kernels declared in {@code native/include/needle/needle.h}. Loaded only through
 * {@link NativeLoader}; see that header for the contract of each function.
 */
@Platform(include = "needle/needle.h", library = "jniNativeCpu")
final class NativeCpu {
  private NativeCpu() {}

  static native @Cast("const char*") BytePointer needle_cpu_isa();

  static native int needle_cpu_knn(@Const FloatPointer query, long nq, @Const FloatPointer base, long nb, int d,
      int k, int self, int threads, IntPointer idx, FloatPointer dist);

  static native int needle_cpu_knn_ex(@Const FloatPointer query, long nq, @Const FloatPointer base, long nb, int d,
      int k, int self, int threads, int flags, IntPointer idx, FloatPointer dist);

  static native int needle_cpu_knn_batch(int e, @Cast("const float* const*") PointerPointer<FloatPointer> x, long n, @Const IntPointer d,
      int k, int threads, int flags, IntPointer idx, FloatPointer dist);

  static native @Cast("const char*") BytePointer needle_cpu_knn_tier();

  static native int needle_cpu_softmax_grad_batch(int e, @Cast("const float* const*") PointerPointer<FloatPointer> x, int n,
      @Const IntPointer d, @Const IntPointer y, @Const FloatPointer rw, int c, @Const FloatPointer w, FloatPointer grad, DoublePointer loss,
      int threads);

  static native int needle_cpu_softmax_grad(@Const FloatPointer x, int n, int d, @Const IntPointer y,
      @Const FloatPointer rw, int c, @Const FloatPointer w, FloatPointer grad, DoublePointer loss, int threads);

  static native int needle_cpu_has_lapack();

  static native @Cast("const char*") BytePointer needle_cpu_lapack();

  static native int needle_cpu_gram(@Const DoublePointer x, long rows, long cols, int byColumns, DoublePointer out,
      int threads);

  static native int needle_cpu_gemm(@Const DoublePointer a, @Const DoublePointer b, long n, long k, long m, int transA, DoublePointer c,
      int threads);

  static native int needle_cpu_eigh(DoublePointer a, long n, DoublePointer valuesDesc, DoublePointer vectors, int threads);

  static native int needle_cpu_solve_spd(@Const DoublePointer a, long n, DoublePointer b, long m, int threads);

  static native int needle_cpu_logdet_spd(@Const DoublePointer a, long n, DoublePointer logdet, int threads);
}
