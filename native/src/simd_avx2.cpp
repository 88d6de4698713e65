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

// Logits of two rows against G classes at once: 2 x G accumulators, so each loaded feature vector of a row or a class
// feeds several FMAs (the loop is bound by FMAs, not loads). Rows or classes past the end repeat the last one.
#define NEEDLE_REP4(M) M(0) M(1) M(2) M(3)
#define NEEDLE_REP6(M) M(0) M(1) M(2) M(3) M(4) M(5)

// Logits of three rows against G <= 4 classes: 3 x G accumulators, the three row vectors and one weight vector at a
// time in registers (16 of 16): each loaded weight vector feeds three FMAs, each row vector G, so the loop is bound by
// FMAs, not loads. (The empty asm keeps GCC from folding the weight load into each FMA, which would load it thrice.)
template <int G>
void logits_3xg(const float* x0, const float* x1, const float* x2, int d, const float* const* wj, float* z0, float* z1, float* z2) {
  // named accumulators (not an array): GCC keeps these in registers
  __m256 a0_0, a0_1, a0_2, a0_3, a1_0, a1_1, a1_2, a1_3, a2_0, a2_1, a2_2, a2_3;
#define NEEDLE_ZERO(j) if constexpr (G > j) a0_##j = a1_##j = a2_##j = _mm256_setzero_ps();
  NEEDLE_REP4(NEEDLE_ZERO)
#undef NEEDLE_ZERO
  int p = 0;
  for (; p + 8 <= d; p += 8) {
    const __m256 u = _mm256_loadu_ps(x0 + p), v = _mm256_loadu_ps(x1 + p), t = _mm256_loadu_ps(x2 + p);
#define NEEDLE_FMA(j)                                  \
  if constexpr (G > j) {                               \
    __m256 wv = _mm256_loadu_ps(wj[j] + p);            \
    __asm__("" : "+x"(wv));                            \
    a0_##j = _mm256_fmadd_ps(u, wv, a0_##j);           \
    a1_##j = _mm256_fmadd_ps(v, wv, a1_##j);           \
    a2_##j = _mm256_fmadd_ps(t, wv, a2_##j);           \
  }
    NEEDLE_REP4(NEEDLE_FMA)
#undef NEEDLE_FMA
  }
#define NEEDLE_OUT(j)                                  \
  if constexpr (G > j) {                               \
    float s0 = hsum(a0_##j), s1 = hsum(a1_##j), s2 = hsum(a2_##j); \
    for (int q = p; q < d; ++q) {                      \
      s0 += x0[q] * wj[j][q];                          \
      s1 += x1[q] * wj[j][q];                          \
      s2 += x2[q] * wj[j][q];                          \
    }                                                  \
    z0[j] += s0;                                       \
    z1[j] += s1;                                       \
    z2[j] += s2;                                       \
  }
  NEEDLE_REP4(NEEDLE_OUT)
#undef NEEDLE_OUT
}

// z = x w^T in chunks of 512 features: a chunk of four classes' weights (8 KB) stays in L1 while every three rows of
// the block pass it; partial dots are added into z. Rows past the end repeat the last row (results dropped).
void logits(const float* x, int rows, int d, const float* w, int64_t ldw, int c, float* z) {
  constexpr int KC = 512;
  for (int64_t q = 0; q < (int64_t)rows * c; ++q) z[q] = 0.f;
  float spare[2][4] = {};
  for (int k0 = 0; k0 < d; k0 += KC) {
    const int kc = d - k0 < KC ? d - k0 : KC;
    for (int j0 = 0; j0 < c; j0 += 4) {
      const int g = c - j0 < 4 ? c - j0 : 4;
      const float* wj[4];
      for (int j = 0; j < g; ++j) wj[j] = w + (j0 + j) * ldw + k0;
      for (int i = 0; i < rows; i += 3) {
        const float* x0 = x + (int64_t)i * d + k0;
        const float* x1 = i + 1 < rows ? x0 + d : x0;
        const float* x2 = i + 2 < rows ? x0 + 2 * (int64_t)d : x0;
        float* z0 = z + (int64_t)i * c + j0;
        float* z1 = i + 1 < rows ? z0 + c : spare[0];
        float* z2 = i + 2 < rows ? z0 + 2 * c : spare[1];
        switch (g) {
          case 1: logits_3xg<1>(x0, x1, x2, kc, wj, z0, z1, z2); break;
          case 2: logits_3xg<2>(x0, x1, x2, kc, wj, z0, z1, z2); break;
          case 3: logits_3xg<3>(x0, x1, x2, kc, wj, z0, z1, z2); break;
          default: logits_3xg<4>(x0, x1, x2, kc, wj, z0, z1, z2); break;
        }
      }
    }
  }
}

template <int G>
void grad_16xg(const float* g, int rows, int c, int j0, const float* x, int d, int f0, float* acc) {
  __m256 a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5;
#define NEEDLE_LOAD(j)                                                 \
  if constexpr (G > j) {                                               \
    a##j = _mm256_loadu_ps(acc + (int64_t)(j0 + j) * d + f0);          \
    b##j = _mm256_loadu_ps(acc + (int64_t)(j0 + j) * d + f0 + 8);      \
  }
  NEEDLE_REP6(NEEDLE_LOAD)
#undef NEEDLE_LOAD
  for (int i = 0; i < rows; ++i) {
    const __m256 xu = _mm256_loadu_ps(x + (int64_t)i * d + f0), xv = _mm256_loadu_ps(x + (int64_t)i * d + f0 + 8);
    const float* gi = g + (int64_t)i * c + j0;
#define NEEDLE_FMA(j)                                                  \
  if constexpr (G > j) {                                               \
    const __m256 gb = _mm256_broadcast_ss(gi + j);                     \
    a##j = _mm256_fmadd_ps(gb, xu, a##j);                              \
    b##j = _mm256_fmadd_ps(gb, xv, b##j);                              \
  }
    NEEDLE_REP6(NEEDLE_FMA)
#undef NEEDLE_FMA
  }
#define NEEDLE_STORE(j)                                                \
  if constexpr (G > j) {                                               \
    _mm256_storeu_ps(acc + (int64_t)(j0 + j) * d + f0, a##j);          \
    _mm256_storeu_ps(acc + (int64_t)(j0 + j) * d + f0 + 8, b##j);      \
  }
  NEEDLE_REP6(NEEDLE_STORE)
#undef NEEDLE_STORE
}

void grad_acc(const float* g, int rows, int c, const float* x, int d, float* acc) {
  const int d16 = d & ~15;
  for (int j0 = 0; j0 < c; j0 += 6) {
    const int gcount = c - j0 < 6 ? c - j0 : 6;
    for (int f0 = 0; f0 < d16; f0 += 16) {
      switch (gcount) {
        case 1: grad_16xg<1>(g, rows, c, j0, x, d, f0, acc); break;
        case 2: grad_16xg<2>(g, rows, c, j0, x, d, f0, acc); break;
        case 3: grad_16xg<3>(g, rows, c, j0, x, d, f0, acc); break;
        case 4: grad_16xg<4>(g, rows, c, j0, x, d, f0, acc); break;
        case 5: grad_16xg<5>(g, rows, c, j0, x, d, f0, acc); break;
        default: grad_16xg<6>(g, rows, c, j0, x, d, f0, acc); break;
      }
    }
  }
  for (int f = d16; f < d; ++f)
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < c; ++j) acc[(int64_t)j * d + f] += g[(int64_t)i * c + j] * x[(int64_t)i * d + f];
}

}  // namespace

const Simd& simd_avx2() {
  static const Simd s{"avx2+fma", gemm_ukr, sqdist_f64, screen8, logits, grad_acc};
  return s;
}

}  // namespace needle
