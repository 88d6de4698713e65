// Softmax cross-entropy loss and gradient of a linear classifier: the inner step of the linear probe.
// Few classes (< 16): rows in blocks (fused_grad below), register-blocked logits and gradient kernels, threads own
// private gradients over fixed row ranges. Many classes: two packed GEMMs on the 6 x 16 micro-kernel,
// logits = X W^T and grad = G^T X.
#include <algorithm>
#include <cmath>
#include <cstring>
#include "gemm.h"
#include <memory>
#include <vector>

#include "needle/needle.h"
#include "parallel.h"
#include "simd.h"

using namespace needle;

namespace {

constexpr int KC = 256;

// Turns row i's logits into the coefficients p - onehot(y) (scaled by the row weight); returns its loss.
double softmax_row(float* lr, int c, int yi, float wr) {
  if (wr == 0.f) {
    for (int j = 0; j < c; ++j) lr[j] = 0.f;
    return 0;
  }
  static thread_local std::vector<double> ex;
  if ((int)ex.size() < c) ex.resize(c);
  float mx = lr[0];
  for (int j = 1; j < c; ++j) mx = std::max(mx, lr[j]);
  double z = 0;
  for (int j = 0; j < c; ++j) z += ex[j] = std::exp((double)(lr[j] - mx));
  double loss = wr * (std::log(z) - (double)(lr[yi] - mx));
  for (int j = 0; j < c; ++j) lr[j] = wr * ((float)(ex[j] / z) - (j == yi ? 1.f : 0.f));
  return loss;
}

int softmax_gemm(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c, const float* w,
                 float* grad, double* loss, int nt) {
  const Simd& s = simd();
  const int64_t stride = (int64_t)d + 1;
  const int64_t np = (n + MR - 1) / MR * MR;         // rows padded to whole A panels
  const int64_t cp = (c + NR - 1) / NR * NR;         // classes padded to whole B panels
  const int64_t cq = (c + MR - 1) / MR * MR;         // classes padded to whole A panels
  const int64_t dp = ((int64_t)d + NR - 1) / NR * NR;  // features padded to whole B panels
  static thread_local Scratch sxa, swb, slog, sga, sxb, sgt;
  float *xa = sxa.get((size_t)np * d), *wb = swb.get((size_t)cp * d), *logits = slog.get((size_t)np * cp);
  float *ga = sga.get((size_t)cq * np), *xb = sxb.get((size_t)dp * np), *gt = sgt.get((size_t)cq * dp);
  if (!xa || !wb || !logits || !ga || !xb || !gt) return NEEDLE_ENOMEM;
  std::vector<double> part(nt, 0.0);
  // 1. logits = X W^T (+ b), then softmax coefficients, rows split over threads by A panel
  pack(w, c, d, stride, NR, cp, wb);
  const int64_t apanels = np / MR;
  fork_join(nt, [&](int t) {
    const int64_t p0 = apanels * t / nt, p1 = apanels * (t + 1) / nt;
    pack(x + p0 * MR * d, std::max<int64_t>(0, std::min<int64_t>((p1 - p0) * MR, n - p0 * MR)), d, d, MR, (p1 - p0) * MR,
         xa + p0 * MR * d);
    for (int64_t ap = p0; ap < p1; ++ap) {
      float* lt = logits + ap * MR * cp;
      for (int k0 = 0; k0 < d; k0 += KC) {
        const int kc = std::min(KC, d - k0);
        for (int64_t bp = 0; bp < cp; bp += NR)
          s.gemm_ukr(kc, xa + ap * MR * d + (int64_t)k0 * MR, wb + bp * d + (int64_t)k0 * NR, lt + bp, (int)cp, k0 > 0);
      }
      for (int r = 0; r < MR; ++r) {
        const int64_t i = ap * MR + r;
        float* lr = lt + r * cp;
        if (i >= n) {
          for (int64_t j = 0; j < cp; ++j) lr[j] = 0.f;
          continue;
        }
        for (int j = 0; j < c; ++j) lr[j] += w[j * stride + d];
        part[t] += softmax_row(lr, c, y[i], rw ? rw[i] : 1.f);
        for (int64_t j = c; j < cp; ++j) lr[j] = 0.f;
      }
    }
  });
  // 2. grad = G^T X: A panels of G^T (6 classes, k-major over rows), B panels of X's columns (16 features)
  for (int64_t j0 = 0; j0 < cq; j0 += MR)
    for (int64_t i = 0; i < np; ++i)
      for (int r = 0; r < MR; ++r) ga[j0 * np + i * MR + r] = j0 + r < c ? logits[i * cp + j0 + r] : 0.f;
  const int64_t bpanels = dp / NR;
  fork_join(nt, [&](int t) {
    const int64_t q0 = bpanels * t / nt, q1 = bpanels * (t + 1) / nt;
    for (int64_t bp = q0; bp < q1; ++bp) {
      float* panel = xb + bp * NR * np;
      const int64_t f0 = bp * NR;
      const int live = (int)std::min<int64_t>(NR, d - f0);
      for (int64_t i = 0; i < np; ++i)
        for (int wdx = 0; wdx < NR; ++wdx) panel[i * NR + wdx] = (i < n && wdx < live) ? x[i * d + f0 + wdx] : 0.f;
      for (int64_t k0 = 0; k0 < np; k0 += KC) {
        const int kc = (int)std::min<int64_t>(KC, np - k0);
        for (int64_t j0 = 0; j0 < cq; j0 += MR)
          s.gemm_ukr(kc, ga + j0 * np + k0 * MR, panel + k0 * NR, gt + j0 * dp + f0, (int)dp, k0 > 0);
      }
    }
  });
  for (int j = 0; j < c; ++j) {
    std::copy(gt + j * dp, gt + j * dp + d, grad + j * stride);
    float b = 0;
    for (int64_t i = 0; i < n; ++i) b += logits[i * cp + j];
    grad[j * stride + d] = b;
  }
  double total = 0;
  for (double v : part) total += v;
  *loss = total;
  return NEEDLE_OK;
}

}  // namespace



// ---- the row-block path: logits, coefficients and gradient of RB rows at a time ----
//
// Each block's rows (RB x d floats) are read from memory once, for the logits, and again from cache for the gradient;
// the gradient accumulates in a c x d buffer that stays in cache. The register-blocked kernels (simd logits /
// grad_acc) keep the FMA units busy without packing anything, so nothing is copied per evaluation.

namespace {

constexpr int RB = 32;

// Loss and gradient of one expert over rows [b0 * RB, b1 * RB) into acc (c x d), bias (c) and the returned loss.
// e^x for x <= 0 in float32 (Cephes' expf polynomial, about 2 ulp; x below -87 gives e^-87): written without
// branches so that a loop over it vectorizes. The row's largest logit has been subtracted, so every value is <= 0 and
// the row's sum is >= 1: what the clamp changes is below 1e-37 of that sum.
inline float exp_neg(float x) {
  x = x < -87.f ? -87.f : x;
  float k = x * 1.44269504088896341f;
  k = (k + 12582912.f) - 12582912.f;  // rounded to the nearest integer (1.5 * 2^23 trick; no fast-math here)
  float r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.f;
  const int32_t bits = ((int32_t)k + 127) << 23;  // 2^k, k in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Turns a block's logits (rows x c, bias included) into the coefficients p - onehot(y), scaled by the row weights, in
// place; returns the block's loss. The exponentials of the whole block are taken in one vectorized loop.
double softmax_block(float* z, int rows, int c, const int32_t* y, const float* rw, int64_t i0) {
  static thread_local std::vector<float> ly;
  ly.resize(rows);
  for (int r = 0; r < rows; ++r) {
    float* lr = z + (int64_t)r * c;
    float mx = lr[0];
    for (int j = 1; j < c; ++j) mx = std::max(mx, lr[j]);
    for (int j = 0; j < c; ++j) lr[j] -= mx;
    ly[r] = lr[y[i0 + r]];
  }
  const int64_t n = (int64_t)rows * c;
  for (int64_t q = 0; q < n; ++q) z[q] = exp_neg(z[q]);
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    float* lr = z + (int64_t)r * c;
    const float wr = rw ? rw[i0 + r] : 1.f;
    if (wr == 0.f) {
      for (int j = 0; j < c; ++j) lr[j] = 0.f;
      continue;
    }
    double sum = 0;
    for (int j = 0; j < c; ++j) sum += lr[j];
    loss += wr * (std::log(sum) - (double)ly[r]);
    const float inv = (float)(1 / sum);
    const int yi = y[i0 + r];
    for (int j = 0; j < c; ++j) lr[j] = wr * (lr[j] * inv - (j == yi ? 1.f : 0.f));
  }
  return loss;
}

double fused_rows(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c, const float* w, int64_t b0,
                  int64_t b1, float* acc, double* bias) {
  const Simd& s = simd();
  const int64_t stride = (int64_t)d + 1;
  static thread_local std::vector<float> zbuf;
  zbuf.resize((size_t)RB * c);
  float* z = zbuf.data();
  double loss = 0;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t i0 = b * RB;
    const int rows = (int)std::min<int64_t>(RB, n - i0);
    const float* xb = x + i0 * d;
    s.logits(xb, rows, d, w, stride, c, z);
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < c; ++j) z[(int64_t)r * c + j] += w[j * stride + d];
    loss += softmax_block(z, rows, c, y, rw, i0);
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < c; ++j) bias[j] += z[(int64_t)r * c + j];
    s.grad_acc(z, rows, c, xb, d, acc);
  }
  return loss;
}

// One expert on nt threads, rows split into contiguous block ranges (fixed per thread count: the sums do not depend on
// scheduling, so a fit is reproducible).
int fused_grad(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c, const float* w, float* grad,
               double* loss, int nt) {
  const int64_t stride = (int64_t)d + 1, blocks = (n + RB - 1) / RB;
  nt = (int)std::max<int64_t>(1, std::min<int64_t>(nt, blocks));
  std::vector<std::vector<float>> acc((size_t)nt);
  std::vector<std::vector<double>> bias((size_t)nt);
  std::vector<double> part((size_t)nt, 0.0);
  fork_join(nt, [&](int t) {
    acc[t].assign((size_t)c * d, 0.f);
    bias[t].assign((size_t)c, 0.0);
    part[t] = fused_rows(x, n, d, y, rw, c, w, blocks * t / nt, blocks * (t + 1) / nt, acc[t].data(), bias[t].data());
  });
  double total = 0;
  for (int t = 0; t < nt; ++t) total += part[t];
  for (int j = 0; j < c; ++j) {
    float* gj = grad + j * stride;
    std::copy(acc[0].begin() + (int64_t)j * d, acc[0].begin() + (int64_t)(j + 1) * d, gj);
    for (int t = 1; t < nt; ++t)
      for (int p = 0; p < d; ++p) gj[p] += acc[t][(int64_t)j * d + p];
    double b = 0;
    for (int t = 0; t < nt; ++t) b += bias[t][j];
    gj[d] = (float)b;
  }
  *loss = total;
  return NEEDLE_OK;
}

// Few classes: the row-block path; 16 or more: two packed GEMMs on the 6 x 16 micro-kernel.
int one_grad(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c, const float* w, float* grad,
             double* loss, int nt) {
  return c >= NR ? softmax_gemm(x, n, d, y, rw, c, w, grad, loss, nt) : fused_grad(x, n, d, y, rw, c, w, grad, loss, nt);
}

}  // namespace

extern "C" int needle_cpu_softmax_grad_batch(int32_t e, const float* const* x, int32_t n, const int32_t* d, const int32_t* y,
                                             const float* rw, int32_t c, const float* w, float* grad, double* loss, int32_t threads) {
  if (e <= 0 || !x || !d || !y || !w || !grad || !loss || n <= 0 || c <= 1) return NEEDLE_EINVAL;
  std::vector<int64_t> off((size_t)e + 1, 0);
  int64_t work = 0;
  for (int t = 0; t < e; ++t) {
    if (!x[t] || d[t] <= 0) return NEEDLE_EINVAL;
    off[t + 1] = off[t] + (int64_t)c * (d[t] + 1);
    work = std::max<int64_t>(work, (int64_t)n * d[t] * c);
  }
  for (int32_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= c) return NEEDLE_EINVAL;
  // below ~1M multiply-adds an expert, a second thread on it costs more than it saves
  const int nt = resolve_threads(threads);
  return guarded([&] {
    std::vector<int> rc((size_t)e, NEEDLE_OK);
    if (e >= nt || work < (1 << 20)) {
      parallel_for(std::min(nt, e), e, [&](int64_t t, int) { rc[t] = one_grad(x[t], n, d[t], y, rw, c, w + off[t], grad + off[t], loss + t, 1); });
    } else {
      for (int t = 0; t < e; ++t) rc[t] = one_grad(x[t], n, d[t], y, rw, c, w + off[t], grad + off[t], loss + t, nt);
    }
    for (int v : rc)
      if (v != NEEDLE_OK) return v;
    return (int)NEEDLE_OK;
  });
}

extern "C" int needle_cpu_softmax_grad(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c,
                                       const float* w, float* grad, double* loss, int32_t threads) {
  if (!x || !y || !w || !grad || !loss || n <= 0 || d <= 0 || c <= 1) return NEEDLE_EINVAL;
  for (int32_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= c) return NEEDLE_EINVAL;
  // below ~2M multiply-adds a second thread costs more than it saves
  const int nt = (int64_t)n * d * c < (1 << 21) ? 1 : resolve_threads(threads);
  return guarded([&] { return one_grad(x, n, d, y, rw, c, w, grad, loss, nt); });
}
