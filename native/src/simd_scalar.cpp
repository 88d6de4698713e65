// Portable tier: plain loops, the fallback for CPUs without AVX2/FMA.
#include "simd.h"

namespace needle {
namespace {

void gemm_ukr(int kc, const float* a, const float* b, float* c, int ldc, int accumulate) {
  float acc[MR][NR] = {};
  for (int p = 0; p < kc; ++p)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] += a[p * MR + r] * b[p * NR + j];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

double sqdist_f64(const float* a, const float* b, int d) {
  double s = 0;
  for (int p = 0; p < d; ++p) {
    double t = (double)a[p] - (double)b[p];
    s += t * t;
  }
  return s;
}

unsigned screen8(const float* dot, float qi, const float* bn, float row_worst, const float* col_worst, float* dv) {
  unsigned mask = 0;
  for (int c = 0; c < 8; ++c) {
    float v = qi + bn[c] - 2.f * dot[c];
    dv[c] = v < 0.f ? 0.f : v;
    if (dv[c] <= row_worst) mask |= 1u << c;
    if (col_worst && dv[c] <= col_worst[c]) mask |= 1u << (8 + c);
  }
  return mask;
}

void logits(const float* x, int rows, int d, const float* w, int64_t ldw, int c, float* z) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < c; ++j) {
      float s = 0;
      for (int p = 0; p < d; ++p) s += x[(int64_t)i * d + p] * w[j * ldw + p];
      z[i * c + j] = s;
    }
}

void grad_acc(const float* g, int rows, int c, const float* x, int d, float* acc) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < c; ++j) {
      const float gj = g[i * c + j];
      for (int p = 0; p < d; ++p) acc[(int64_t)j * d + p] += gj * x[(int64_t)i * d + p];
    }
}

}  // namespace

const Simd& simd_scalar() {
  static const Simd s{"scalar", gemm_ukr, sqdist_f64, screen8, logits, grad_acc};
  return s;
}

}  // namespace needle
