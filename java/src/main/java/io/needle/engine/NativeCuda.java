package io.needle.engine;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of the CUDA kernels declared in {@code native/include/needle/needle.h} (built only where
 * nvcc was found). Loaded only through {@link NativeLoader}.
 */
@Platform(include = "needle/needle.h", library = "jniNativeCuda")
final class NativeCuda {
  private NativeCuda() {}

  static native int needle_cuda_devices(IntPointer count, @Cast("char*") BytePointer err, int errlen);

  static native int needle_cuda_describe(@Cast("char*") BytePointer out, int outlen);

  static native @Cast("const char*") BytePointer needle_cuda_last_error();

  static native Pointer needle_cuda_alloc(long bytes);

  static native int needle_cuda_free(Pointer p);

  static native int needle_cuda_upload(Pointer dst, @Const Pointer src, long bytes);

  static native int needle_cuda_knn(@Cast("const float* const*") PointerPointer dq,
      @Cast("const float* const*") PointerPointer hq, long nq, @Cast("const float* const*") PointerPointer db,
      @Cast("const float* const*") PointerPointer hb, long nb, int d, int e, int k, int self, IntPointer idx,
      FloatPointer dist);

  static native int needle_cuda_softmax_grad(@Cast("const float* const*") PointerPointer x, int n, int d,
      @Cast("const int32_t*") Pointer y, @Cast("const float*") Pointer rw, int c, int e, @Const FloatPointer w,
      FloatPointer grad, DoublePointer loss);
}
