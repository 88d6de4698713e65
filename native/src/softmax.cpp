// Softmax cross-entropy loss and gradient of a linear classifier: the inner step of the linear probe.
// Few classes (< 16): one pass over x, rows four at a time so each class's weight row is loaded once per
// four rows (dot4) and each gradient row updated once per four rows (axpy4); threads own private gradients.
// Many classes: two packed GEMMs on the 6 x 16 micro-kernel, logits = X W^T and grad = G^T X.
#include <algorithm>
#include <cmath>
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
  float mx = lr[0];
  for (int j = 1; j < c; ++j) mx = std::max(mx, lr[j]);
  double z = 0;
  for (int j = 0; j < c; ++j) z += std::exp((double)(lr[j] - mx));
  double loss = wr * (std::log(z) - (double)(lr[yi] - mx));
  for (int j = 0; j < c; ++j) lr[j] = wr * ((float)(std::exp((double)(lr[j] - mx)) / z) - (j == yi ? 1.f : 0.f));
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

extern "C" int needle_cpu_softmax_grad(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c,
                                       const float* w, float* grad, double* loss, int32_t threads) {
  if (!x || !y || !w || !grad || !loss || n <= 0 || d <= 0 || c <= 1) return NEEDLE_EINVAL;
  for (int32_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= c) return NEEDLE_EINVAL;
  const Simd& s = simd();
  const int64_t stride = (int64_t)d + 1;
  const int64_t blocks = (n + 3) / 4;
  // below ~2M multiply-adds a second thread costs more than it saves
  const int nt = (int64_t)n * d * c < (1 << 21) ? 1 : (int)std::min<int64_t>(resolve_threads(threads), blocks);
  if (c >= NR) return softmax_gemm(x, n, d, y, rw, c, w, grad, loss, nt);
  std::vector<std::vector<float>> g(nt);
  std::vector<double> part(nt, 0.0);
  fork_join(nt, [&](int t) {
    std::vector<float>& gt = g[t];
    gt.assign((size_t)c * stride, 0.f);
    std::vector<float> logits((size_t)4 * c), coef((size_t)4 * c);
    const int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
    double acc = 0;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i0 = b * 4;
      const int rows = (int)std::min<int64_t>(4, n - i0);
      const float* xr[4];
      for (int r = 0; r < 4; ++r) xr[r] = x + (i0 + std::min(r, rows - 1)) * d;  // pad by repeating; coef = 0
      float out[4];
      for (int j = 0; j < c; ++j) {
        const float* wj = w + j * stride;
        s.dot4(wj, xr, d, out);
        for (int r = 0; r < 4; ++r) logits[r * c + j] = out[r] + wj[d];
      }
      for (int r = 0; r < 4; ++r) {
        float* lr = &logits[r * c];
        float* cr = &coef[r * c];
        if (r >= rows) {
          for (int j = 0; j < c; ++j) cr[j] = 0.f;
          continue;
        }
        float mx = lr[0];
        for (int j = 1; j < c; ++j) mx = std::max(mx, lr[j]);
        double z = 0;
        for (int j = 0; j < c; ++j) z += std::exp((double)(lr[j] - mx));
        const int yi = y[i0 + r];
        const float wr = rw ? rw[i0 + r] : 1.f;
        if (wr == 0.f) {
          for (int j = 0; j < c; ++j) cr[j] = 0.f;
          continue;
        }
        acc += wr * (std::log(z) - (double)(lr[yi] - mx));
        for (int j = 0; j < c; ++j) cr[j] = wr * ((float)(std::exp((double)(lr[j] - mx)) / z) - (j == yi ? 1.f : 0.f));
      }
      for (int j = 0; j < c; ++j) {
        const float gj[4] = {coef[j], coef[c + j], coef[2 * c + j], coef[3 * c + j]};
        float* gw = gt.data() + j * stride;
        s.axpy4(gj, xr, gw, d);
        gw[d] += gj[0] + gj[1] + gj[2] + gj[3];
      }
    }
    part[t] = acc;
  });
  double total = 0;
  for (int t = 0; t < nt; ++t) total += part[t];
  for (int64_t q = 0; q < (int64_t)c * stride; ++q) {
    float v = 0;
    for (int t = 0; t < nt; ++t) v += g[t][q];
    grad[q] = v;
  }
  *loss = total;
  return NEEDLE_OK;
}
