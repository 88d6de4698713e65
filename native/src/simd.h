// Internal: the SIMD tier table. Each tier (scalar, avx2+fma) fills the same table; dispatch.cpp picks one once.
#ifndef NEEDLE_SIMD_H
#define NEEDLE_SIMD_H
#include <cstdint>

namespace needle {

// GEMM micro-kernel shape: C[MR x NR] (+)= A-panel[kc x MR]^T * B-panel[kc x NR].
constexpr int MR = 6;
constexpr int NR = 16;

struct Simd {
  const char* name;
  // a: kc x MR (k-major), b: kc x NR (k-major), c: MR rows of stride ldc. accumulate = 0 overwrites.
  void (*gemm_ukr)(int kc, const float* a, const float* b, float* c, int ldc, int accumulate);
  // exact squared Euclidean distance in float64
  double (*sqdist_f64)(const float* a, const float* b, int d);
  // out[r] = dot(w, x[r]) for r < 4
  void (*dot4)(const float* w, const float* const* x, int d, float* out);
  // dv[c] = max(qi + bn[c] - 2 dot[c], 0) for c < 8; bit c set if dv[c] <= row_worst, bit 8 + c if
  // col_worst (optional) and dv[c] <= col_worst[c]
  unsigned (*screen8)(const float* dot, float qi, const float* bn, float row_worst, const float* col_worst, float* dv);
  // y += sum_r g[r] * x[r] for r < 4
  void (*axpy4)(const float* g, const float* const* x, float* y, int d);
};

const Simd& simd_scalar();
const Simd& simd_avx2();  // only valid when the CPU has AVX2 and FMA
const Simd& simd();       // the best tier for this CPU, chosen once
const char* simd_reason();

}  // namespace needle
#endif
