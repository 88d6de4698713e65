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
  // dv[c] = max(qi + bn[c] - 2 dot[c], 0) for c < 8; bit c set if dv[c] <= row_worst, bit 8 + c if
  // col_worst (optional) and dv[c] <= col_worst[c]
  unsigned (*screen8)(const float* dot, float qi, const float* bn, float row_worst, const float* col_worst, float* dv);
  // z (rows x c) = x (rows x d, row stride d) times w^T (w: c x d, row stride ldw): a linear model's logits, no bias
  void (*logits)(const float* x, int rows, int d, const float* w, int64_t ldw, int c, float* z);
  // acc (c x d) += g^T x for g (rows x c) and x (rows x d, row stride d): a linear model's gradient
  void (*grad_acc)(const float* g, int rows, int c, const float* x, int d, float* acc);
};

// The bfloat16 tier of the k-NN candidate pass (see simd_bf16.cpp), where the CPU has AVX512-BF16.
struct Bf16 {
  const char* name;
  int tile;  // micro-tile edge: tile query rows x tile base rows; panels of both sides hold `tile` rows
  // packs rows of x minus mean as bfloat16 pairs into panels of `tile` rows; c2/r2 (optional): per row, the sum
  // of squares of the centred float32 values and of their bfloat16 rounding errors, in float64
  void (*pack)(const float* x, int64_t rows, int d, const float* mean, int64_t padded_rows, uint32_t* out, double* c2, double* r2);
  // c[tile x tile] (+)= a-panel[kp pairs x tile]^T b-panel[kp pairs x tile] in float32 (exact products)
  void (*ukr)(int kp, const uint32_t* a, const uint32_t* b, float* c, int ldc, int accumulate);
};

const Simd& simd_scalar();
const Bf16& simd_bf16_avx512();  // only valid when the CPU has AVX512F/BW/VL and AVX512-BF16
const Bf16* simd_bf16();         // the bfloat16 tier for this CPU, or null
const Simd& simd_avx2();  // only valid when the CPU has AVX2 and FMA
const Simd& simd_avx512();  // only valid when the CPU has AVX-512 F/BW/VL/DQ (and AVX2, FMA)
const Simd& simd();       // the best tier for this CPU, chosen once
const char* simd_reason();

}  // namespace needle
#endif
