// AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16; only called after a runtime
// CPU check): the linear model's logits and gradient (AVX-512F: 32 registers hold larger register tiles than AVX2's 16),
// and the bfloat16 tier of the k-NN candidate pass (AVX512-BF16).
//
// The k-NN tier: Rows are centred, rounded to bfloat16 and packed two features per 32-bit lane;
// vdpbf16ps then multiplies pairs exactly and sums them in float32, twice the multiply-adds per cycle of float32
// FMA on CPUs that have it (AMD Zen 4, Intel Cooper Lake / Sapphire Rapids). knn.cpp bounds the error this
// introduces and the exact float64 refinement removes it, so results equal the float32 path's.
#include <immintrin.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <vector>

#include "simd.h"

namespace needle {
namespace {

// bfloat16 of v (round to nearest even), with bfloat16 subnormals set to +0 so that vdpbf16ps's treatment of
// subnormal inputs (as zero) changes nothing; the residual of each row is computed from the values packed.
inline __m512i to_bf16(__m512 lo, __m512 hi) {
  __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // lanes 0-15 from lo, 16-31 from hi
  __mmask32 sub = _mm512_cmpeq_epi16_mask(_mm512_and_si512(v, _mm512_set1_epi16(0x7F80)), _mm512_setzero_si512());
  return _mm512_mask_mov_epi16(v, sub, _mm512_setzero_si512());
}

inline double hsum(__m512d v) { return _mm512_reduce_add_pd(v); }

// Transposes a 16 x 16 block of 32-bit values (rows `in`, `in + ld`, ...) into o[0..15] (o[j] = column j).
inline void transpose16(const uint32_t* in, int64_t ld, __m512i* o) {
  __m512i r[16], t[16], u[16], v[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(in + i * ld);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 16; i += 8)
    for (int j = 0; j < 4; ++j) {
      v[i + j] = _mm512_shuffle_i32x4(u[i + j], u[i + j + 4], 0x88);
      v[i + j + 4] = _mm512_shuffle_i32x4(u[i + j], u[i + j + 4], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    o[j] = _mm512_shuffle_i32x4(v[j], v[j + 8], 0x88);
    o[j + 8] = _mm512_shuffle_i32x4(v[j], v[j + 8], 0xdd);
  }
}

// Packs rows [0, rows) of x (row stride d), minus mean, as bfloat16 pairs into panels of 16 rows: panel p holds rows
// [16p, 16p + 16), pair-major: out[(p*pairs + k)*16 + w] = (x[r][2k], x[r][2k+1]) - mean. Rows from `rows` to
// `padded_rows` are zero. c2[r] = sum of the centred float32 values squared, r2[r] = sum of (centred - bfloat16)
// squared, both in float64 (either may be null). Each row is converted into a row-major buffer; a panel is then
// written from there 16 x 16 blocks at a time, transposed in registers.
void pack(const float* x, int64_t rows, int d, const float* mean, int64_t padded_rows, uint32_t* out, double* c2, double* r2) {
  const int pairs = (d + 1) / 2, stride = (pairs + 15) / 16 * 16;
  static thread_local std::vector<uint32_t> tmp;
  tmp.resize((size_t)16 * stride);
  for (int64_t r0 = 0; r0 < padded_rows; r0 += 16) {
    uint32_t* panel = out + (r0 / 16) * (int64_t)pairs * 16;
    const int live = (int)std::max<int64_t>(0, std::min<int64_t>(16, rows - r0));
    for (int w = 0; w < 16; ++w) {
      uint32_t* row = tmp.data() + (size_t)w * stride;
      if (w >= live) {
        std::memset(row, 0, sizeof(uint32_t) * stride);
        continue;
      }
      const int64_t r = r0 + w;
      const float* xr = x + r * (int64_t)d;
      __m512d sc0 = _mm512_setzero_pd(), sc1 = sc0, sr0 = sc0, sr1 = sc0;
      for (int p0 = 0; p0 < d; p0 += 32) {
        const int n = d - p0 < 32 ? d - p0 : 32;
        const __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
        const __mmask16 m1 = n <= 16 ? 0 : n >= 32 ? 0xFFFF : (__mmask16)((1u << (n - 16)) - 1);
        const __m512 c0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m0, xr + p0), _mm512_maskz_loadu_ps(m0, mean + p0));
        const __m512 c1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m1, xr + p0 + 16), _mm512_maskz_loadu_ps(m1, mean + p0 + 16));
        const __m512i b = to_bf16(c0, c1);
        // back to float32: even features are the low halves of the pairs, odd ones the high halves
        const __m512 t0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(b)), 16));
        const __m512 t1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(b, 1)), 16));
        const __m512 e0 = _mm512_sub_ps(c0, t0), e1 = _mm512_sub_ps(c1, t1);  // exact: t is c with its low bits rounded off
        auto acc = [](__m512d s, __m512 v, int half) {
          __m256 h = half ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v);
          __m512d dv = _mm512_cvtps_pd(h);
          return _mm512_fmadd_pd(dv, dv, s);
        };
        sc0 = acc(acc(sc0, c0, 0), c0, 1);
        sc1 = acc(acc(sc1, c1, 0), c1, 1);
        sr0 = acc(acc(sr0, e0, 0), e0, 1);
        sr1 = acc(acc(sr1, e1, 0), e1, 1);
        _mm512_storeu_si512(row + p0 / 2, b);  // p0 / 2 + 16 <= stride
      }
      if (c2) c2[r] = hsum(_mm512_add_pd(sc0, sc1));
      if (r2) r2[r] = hsum(_mm512_add_pd(sr0, sr1));
    }
    __m512i o[16];
    for (int k0 = 0; k0 < pairs; k0 += 16) {
      transpose16(tmp.data() + k0, stride, o);
      const int n = std::min(16, pairs - k0);
      for (int j = 0; j < n; ++j) _mm512_store_si512(panel + (int64_t)(k0 + j) * 16, o[j]);
    }
  }
}

// C[16 x 16] (+)= A-panel[kp pairs x 16]^T B-panel[kp pairs x 16]: 16 zmm accumulators, B one zmm per pair,
// A broadcast 32 bits (one row's pair) at a time.
void ukr(int kp, const uint32_t* a, const uint32_t* b, float* c, int ldc, int accumulate) {
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  __m512 c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
#define NEEDLE_BF16_ROW(r, acc) acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_set1_epi32((int)a[r]), bv)
  for (int p = 0; p < kp; ++p) {
    const __m512bh bv = (__m512bh)_mm512_load_si512(b);
    NEEDLE_BF16_ROW(0, c0); NEEDLE_BF16_ROW(1, c1); NEEDLE_BF16_ROW(2, c2); NEEDLE_BF16_ROW(3, c3);
    NEEDLE_BF16_ROW(4, c4); NEEDLE_BF16_ROW(5, c5); NEEDLE_BF16_ROW(6, c6); NEEDLE_BF16_ROW(7, c7);
    NEEDLE_BF16_ROW(8, c8); NEEDLE_BF16_ROW(9, c9); NEEDLE_BF16_ROW(10, c10); NEEDLE_BF16_ROW(11, c11);
    NEEDLE_BF16_ROW(12, c12); NEEDLE_BF16_ROW(13, c13); NEEDLE_BF16_ROW(14, c14); NEEDLE_BF16_ROW(15, c15);
    a += 16;
    b += 16;
  }
#undef NEEDLE_BF16_ROW
  __m512 acc[16] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15};
  for (int r = 0; r < 16; ++r) {
    float* cr = c + (int64_t)r * ldc;
    _mm512_storeu_ps(cr, accumulate ? _mm512_add_ps(acc[r], _mm512_loadu_ps(cr)) : acc[r]);
  }
}

// ---- linear model kernels (AVX-512F) ----

// Logits of four rows against G <= 6 classes: 4 x G accumulators, the four row vectors and one weight vector at a time
// in registers (29 of 32); each loaded vector feeds four or more FMAs. Features past d are masked off.
#define NEEDLE_REP6(M) M(0) M(1) M(2) M(3) M(4) M(5)
#define NEEDLE_REP12(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)

template <int G>
void logits_4xg(const float* const* xr, int d, const float* const* wj, float* const* zr) {
  // named accumulators, not an array: GCC keeps these in registers (an array it also stores on every iteration)
  __m512 a0_0, a0_1, a0_2, a0_3, a0_4, a0_5, a1_0, a1_1, a1_2, a1_3, a1_4, a1_5;
  __m512 a2_0, a2_1, a2_2, a2_3, a2_4, a2_5, a3_0, a3_1, a3_2, a3_3, a3_4, a3_5;
#define NEEDLE_ZERO(j) if constexpr (G > j) a0_##j = a1_##j = a2_##j = a3_##j = _mm512_setzero_ps();
  NEEDLE_REP6(NEEDLE_ZERO)
#undef NEEDLE_ZERO
  const float *x0p = xr[0], *x1p = xr[1], *x2p = xr[2], *x3p = xr[3];
  for (int p = 0; p < d; p += 16) {
    const __mmask16 m = d - p >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - p)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m, x0p + p), x1 = _mm512_maskz_loadu_ps(m, x1p + p);
    const __m512 x2 = _mm512_maskz_loadu_ps(m, x2p + p), x3 = _mm512_maskz_loadu_ps(m, x3p + p);
#define NEEDLE_FMA(j)                                      \
  if constexpr (G > j) {                                   \
    const __m512 wv = _mm512_maskz_loadu_ps(m, wj[j] + p); \
    a0_##j = _mm512_fmadd_ps(x0, wv, a0_##j);              \
    a1_##j = _mm512_fmadd_ps(x1, wv, a1_##j);              \
    a2_##j = _mm512_fmadd_ps(x2, wv, a2_##j);              \
    a3_##j = _mm512_fmadd_ps(x3, wv, a3_##j);              \
  }
    NEEDLE_REP6(NEEDLE_FMA)
#undef NEEDLE_FMA
  }
#define NEEDLE_OUT(j)                              \
  if constexpr (G > j) {                           \
    zr[0][j] += _mm512_reduce_add_ps(a0_##j);      \
    zr[1][j] += _mm512_reduce_add_ps(a1_##j);      \
    zr[2][j] += _mm512_reduce_add_ps(a2_##j);      \
    zr[3][j] += _mm512_reduce_add_ps(a3_##j);      \
  }
  NEEDLE_REP6(NEEDLE_OUT)
#undef NEEDLE_OUT
}

// z = x w^T in chunks of 1024 features (six classes' weights: 24 KB, in L1 while every four rows of the block pass
// them); partial dots are added into z. Rows past the end repeat the last row (results dropped).
void logits(const float* x, int rows, int d, const float* w, int64_t ldw, int c, float* z) {
  constexpr int KC = 1024;
  for (int64_t q = 0; q < (int64_t)rows * c; ++q) z[q] = 0.f;
  float spare[3][6] = {};
  for (int k0 = 0; k0 < d; k0 += KC) {
    const int kc = d - k0 < KC ? d - k0 : KC;
    for (int j0 = 0; j0 < c; j0 += 6) {
      const int g = c - j0 < 6 ? c - j0 : 6;
      const float* wj[6];
      for (int j = 0; j < g; ++j) wj[j] = w + (j0 + j) * ldw + k0;
      for (int i = 0; i < rows; i += 4) {
        const float* xr[4];
        float* zr[4];
        for (int r = 0; r < 4; ++r) {
          const bool live = i + r < rows;
          xr[r] = x + (int64_t)(live ? i + r : i) * d + k0;
          zr[r] = live ? z + (int64_t)(i + r) * c + j0 : spare[r - 1];
        }
        switch (g) {
          case 1: logits_4xg<1>(xr, kc, wj, zr); break;
          case 2: logits_4xg<2>(xr, kc, wj, zr); break;
          case 3: logits_4xg<3>(xr, kc, wj, zr); break;
          case 4: logits_4xg<4>(xr, kc, wj, zr); break;
          case 5: logits_4xg<5>(xr, kc, wj, zr); break;
          default: logits_4xg<6>(xr, kc, wj, zr); break;
        }
      }
    }
  }
}

// acc[j][f0, f0 + 32) += sum_i g[i][j0 + j] x[i][f0, f0 + 32) for G <= 12 classes: 2G accumulators held over all rows
// (each row's 32 features, two cache lines, read once per group). Features past d are masked off.
template <int G>
void grad_32xg(const float* g, int rows, int c, int j0, const float* x, int d, int f0, float* acc) {
  const int n = d - f0;
  const __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
  const __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
  __m512 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11;
#define NEEDLE_LOAD(j)                                                        \
  if constexpr (G > j) {                                                      \
    a##j = _mm512_maskz_loadu_ps(m0, acc + (int64_t)(j0 + j) * d + f0);       \
    b##j = _mm512_maskz_loadu_ps(m1, acc + (int64_t)(j0 + j) * d + f0 + 16);  \
  }
  NEEDLE_REP12(NEEDLE_LOAD)
#undef NEEDLE_LOAD
  for (int i = 0; i < rows; ++i) {
    const __m512 xu = _mm512_maskz_loadu_ps(m0, x + (int64_t)i * d + f0), xv = _mm512_maskz_loadu_ps(m1, x + (int64_t)i * d + f0 + 16);
    const float* gi = g + (int64_t)i * c + j0;
#define NEEDLE_FMA(j)                                \
  if constexpr (G > j) {                             \
    const __m512 gb = _mm512_set1_ps(gi[j]);         \
    a##j = _mm512_fmadd_ps(gb, xu, a##j);            \
    b##j = _mm512_fmadd_ps(gb, xv, b##j);            \
  }
    NEEDLE_REP12(NEEDLE_FMA)
#undef NEEDLE_FMA
  }
#define NEEDLE_STORE(j)                                                       \
  if constexpr (G > j) {                                                      \
    _mm512_mask_storeu_ps(acc + (int64_t)(j0 + j) * d + f0, m0, a##j);        \
    _mm512_mask_storeu_ps(acc + (int64_t)(j0 + j) * d + f0 + 16, m1, b##j);   \
  }
  NEEDLE_REP12(NEEDLE_STORE)
#undef NEEDLE_STORE
}

void grad_acc(const float* g, int rows, int c, const float* x, int d, float* acc) {
  for (int j0 = 0; j0 < c; j0 += 12) {
    const int gcount = c - j0 < 12 ? c - j0 : 12;
    for (int f0 = 0; f0 < d; f0 += 32) {
      switch (gcount) {
        case 1: grad_32xg<1>(g, rows, c, j0, x, d, f0, acc); break;
        case 2: grad_32xg<2>(g, rows, c, j0, x, d, f0, acc); break;
        case 3: grad_32xg<3>(g, rows, c, j0, x, d, f0, acc); break;
        case 4: grad_32xg<4>(g, rows, c, j0, x, d, f0, acc); break;
        case 5: grad_32xg<5>(g, rows, c, j0, x, d, f0, acc); break;
        case 6: grad_32xg<6>(g, rows, c, j0, x, d, f0, acc); break;
        case 7: grad_32xg<7>(g, rows, c, j0, x, d, f0, acc); break;
        case 8: grad_32xg<8>(g, rows, c, j0, x, d, f0, acc); break;
        case 9: grad_32xg<9>(g, rows, c, j0, x, d, f0, acc); break;
        case 10: grad_32xg<10>(g, rows, c, j0, x, d, f0, acc); break;
        case 11: grad_32xg<11>(g, rows, c, j0, x, d, f0, acc); break;
        default: grad_32xg<12>(g, rows, c, j0, x, d, f0, acc); break;
      }
    }
  }
}

}  // namespace

const Simd& simd_avx512() {
  // the AVX2 tier's kernels, with the linear model's two replaced
  static const Simd s = [] {
    Simd t = simd_avx2();
    t.name = "avx512";
    t.logits = logits;
    t.grad_acc = grad_acc;
    return t;
  }();
  return s;
}

const Bf16& simd_bf16_avx512() {
  static const Bf16 s{"avx512-bf16", 16, pack, ukr};
  return s;
}

}  // namespace needle
