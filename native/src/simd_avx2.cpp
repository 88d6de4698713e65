// AVX2 + FMA tier (compiled with -mavx2 -mfma; only called after a runtime CPU check).
#include <immintrin.h>

#include "simd.h"

namespace needle {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 6 x 16 register tile: 12 accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm registers.
void gemm_ukr(int kc, const float* a, const float* b, float* c, int ldc, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    a += MR;
    b += NR;
  }
  __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(cr));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, acc[r][0]);
    _mm256_storeu_ps(cr + 8, acc[r][1]);
  }
}

double sqdist_f64(const float* a, const float* b, int d) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  int p = 0;
  for (; p + 8 <= d; p += 8) {
    const __m256 t = _mm256_loadu_ps(a + p);
    __m256d a0 = _mm256_cvtps_pd(_mm256_castps256_ps128(t)), a1 = _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1));
    __m256 u = _mm256_loadu_ps(b + p);
    __m256d d0 = _mm256_sub_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(u)));
    __m256d d1 = _mm256_sub_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1)));
    s0 = _mm256_fmadd_pd(d0, d0, s0);
    s1 = _mm256_fmadd_pd(d1, d1, s1);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; p < d; ++p) {
    double t = (double)a[p] - (double)b[p];
    s += t * t;
  }
  return s;
}

void dot4(const float* w, const float* const* x, int d, float* out) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  int p = 0;
  for (; p + 8 <= d; p += 8) {
    const __m256 v = _mm256_loadu_ps(w + p);
    s0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x0 + p), s0);
    s1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x1 + p), s1);
    s2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x2 + p), s2);
    s3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x3 + p), s3);
  }
  float r0 = hsum(s0), r1 = hsum(s1), r2 = hsum(s2), r3 = hsum(s3);
  for (; p < d; ++p) {
    r0 += w[p] * x0[p]; r1 += w[p] * x1[p]; r2 += w[p] * x2[p]; r3 += w[p] * x3[p];
  }
  out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}

unsigned screen8(const float* dot, float qi, const float* bn, float row_worst, const float* col_worst, float* dv) {
  // same operation order as the scalar form: (qi + bn) - 2 dot, so both tiers give identical bits
  __m256 v = _mm256_sub_ps(_mm256_add_ps(_mm256_set1_ps(qi), _mm256_loadu_ps(bn)),
                           _mm256_mul_ps(_mm256_set1_ps(2.f), _mm256_loadu_ps(dot)));
  v = _mm256_max_ps(v, _mm256_setzero_ps());
  _mm256_store_ps(dv, v);
  unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(row_worst), _CMP_LE_OQ));
  if (col_worst) mask |= (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_loadu_ps(col_worst), _CMP_LE_OQ)) << 8;
  return mask;
}

void axpy4(const float* g, const float* const* x, float* y, int d) {
  const __m256 g0 = _mm256_set1_ps(g[0]), g1 = _mm256_set1_ps(g[1]), g2 = _mm256_set1_ps(g[2]), g3 = _mm256_set1_ps(g[3]);
  const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  int p = 0;
  for (; p + 8 <= d; p += 8) {
    __m256 v = _mm256_loadu_ps(y + p);
    v = _mm256_fmadd_ps(g0, _mm256_loadu_ps(x0 + p), v);
    v = _mm256_fmadd_ps(g1, _mm256_loadu_ps(x1 + p), v);
    v = _mm256_fmadd_ps(g2, _mm256_loadu_ps(x2 + p), v);
    v = _mm256_fmadd_ps(g3, _mm256_loadu_ps(x3 + p), v);
    _mm256_storeu_ps(y + p, v);
  }
  for (; p < d; ++p) y[p] += g[0] * x0[p] + g[1] * x1[p] + g[2] * x2[p] + g[3] * x3[p];
}

}  // namespace

const Simd& simd_avx2() {
  static const Simd s{"avx2+fma", gemm_ukr, sqdist_f64, dot4, screen8, axpy4};
  return s;
}

}  // namespace needle
