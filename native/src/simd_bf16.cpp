// AVX512-BF16 tier of the k-NN candidate pass (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512bf16; only
// called after a runtime CPU check). Rows are centred, rounded to bfloat16 and packed two features per 32-bit lane;
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

}  // namespace

const Bf16& simd_bf16_avx512() {
  static const Bf16 s{"avx512-bf16", 16, pack, ukr};
  return s;
}

}  // namespace needle
