// Softmax cross-entropy loss and gradient of a linear classifier: the inner step of the linear probe.
// One pass over x: rows are taken four at a time so each class's weight row is loaded once per four rows
// (dot4), and the gradient row is updated once per four rows (axpy4). Threads split the rows and own
// private gradient buffers, summed at the end.
#include <cmath>
#include <memory>
#include <vector>

#include "needle/needle.h"
#include "parallel.h"
#include "simd.h"

using namespace needle;

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
