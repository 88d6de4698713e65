// Exact k-nearest neighbours on the CPU.
//
// Pass 1 (float32, the hot part): distances ||q||^2 + ||b||^2 - 2 q.b from a packed, blocked GEMM; each
// tile's distances feed a per-row candidate list of m = k + NEEDLE_RERANK_EXTRA entries in the same pass
// (nothing N x N is ever stored). In self mode only tiles on or above the diagonal are computed and each
// off-diagonal tile updates both its rows and its columns, halving the flops.
// Pass 2 (float64, needle::refine): a worst-case bound on the float32 error says which candidates could still
// be true k-nearest; only those are re-ranked with exact distances, and a row whose whole list lies inside
// the bound (many equal distances) is decided by an exact brute-force scan. The result equals exact float64
// k-NN: float32 cancellation in the GEMM form never reorders neighbours, duplicates get distance exactly 0.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "needle/needle.h"
#include "gemm.h"
#include "parallel.h"
#include "refine.h"
#include "simd.h"

namespace needle {
namespace {

constexpr int KC = 256;  // depth of one packed panel chunk: an A micro-panel (6 x 256 floats) stays in L1
constexpr int TB = 48;   // tile edge, a multiple of MR and NR; small, so padding and diagonal tiles waste little

// Inserts (v, j) into the sorted lists d/i of length m by (distance, index), dropping the last; returns
// false if it does not belong. Shared by the float32 candidate lists and the float64 refinement.
template <class T>
inline bool insert_sorted(T* d, int32_t* i, int m, T v, int32_t j) {
  int s = m - 1;
  if (v > d[s] || (v == d[s] && j >= i[s])) return false;
  while (s > 0 && (v < d[s - 1] || (v == d[s - 1] && j < i[s - 1]))) {
    d[s] = d[s - 1];
    i[s] = i[s - 1];
    --s;
  }
  d[s] = v;
  i[s] = j;
  return true;
}

// The m best (distance, index) of one row, sorted ascending; empty slots hold (+inf, INT32_MAX).
struct Lists {
  int m;
  std::vector<float> dist;
  std::vector<int32_t> idx;
  std::vector<float> worst;  // dist of each row's last slot: the screening threshold
  Lists(int64_t rows, int m_)
      : m(m_), dist(rows * m_, std::numeric_limits<float>::infinity()), idx(rows * m_, INT32_MAX),
        worst(rows, std::numeric_limits<float>::infinity()) {}
  inline void offer(int64_t row, float d, int32_t j) {
    if (insert_sorted(&dist[row * m], &idx[row * m], m, d, j)) worst[row] = dist[row * m + m - 1];
  }
};

void row_norms(const float* x, int64_t n, int d, float* out) {
  static thread_local std::vector<float> zeros;
  if ((int)zeros.size() < d) zeros.assign(d, 0.f);
  const Simd& s = simd();
  for (int64_t i = 0; i < n; ++i) out[i] = (float)s.sqdist_f64(x + i * d, zeros.data(), d);
}

}  // namespace
}  // namespace needle

using namespace needle;

namespace {

// Keeps the k best (distance, index) pairs seen, in order.
struct Best {
  int k;
  std::vector<double> d;
  std::vector<int32_t> i;
  explicit Best(int k_) : k(k_), d(k_), i(k_) { reset(); }
  void reset() {
    std::fill(d.begin(), d.end(), std::numeric_limits<double>::infinity());
    std::fill(i.begin(), i.end(), INT32_MAX);
  }
  void offer(double v, int32_t j) { insert_sorted(d.data(), i.data(), k, v, j); }
};

int refine_rows(const Refine& r, int64_t r0, int64_t r1) {
  const Simd& s = simd();
  const int m = r.m, k = r.k, d = r.d;
  // Worst-case float32 error of ||q||^2 + ||b||^2 - 2 q.b as computed (sequential FMA dot over d terms,
  // norms rounded from float64, two float additions): |err| <= (gamma_d + 8u) (||q||^2 + ||b||^2).
  const double u = std::ldexp(1.0, -24), gamma = d * u / (1 - d * u), rel = gamma + 8 * u;
  const int64_t avail = r.self ? r.nb - 1 : r.nb;
  Best best(k);
  for (int64_t i = r0; i < r1; ++i) {
    const float* q = r.query + i * d;
    const int32_t* ci = r.cand + i * m;
    const float* cd = r.cand_dist + i * m;
    auto valid = [](int32_t j) { return j >= 0 && j != INT32_MAX; };
    if (!valid(ci[k - 1])) return NEEDLE_EINVAL;
    // a row can be a true k-nearest only if its approximate distance is within 2 error bounds of the k-th
    const double window = (double)cd[k - 1] + 2 * rel * ((double)r.qn[i] + r.bn_max) + 1e-30;
    best.reset();
    if (m < avail && (double)cd[m - 1] <= window) {
      // the window may hold rows beyond the list (many equal distances): decide this row exactly, by brute force
      for (int64_t j = 0; j < r.nb; ++j)
        if (!(r.self && j == i)) best.offer(s.sqdist_f64(q, r.base + j * d, d), (int32_t)j);
    } else {
      for (int c = 0; c < m && valid(ci[c]) && (c < k || (double)cd[c] <= window); ++c)
        best.offer(s.sqdist_f64(q, r.base + (int64_t)ci[c] * d, d), ci[c]);
    }
    for (int c = 0; c < k; ++c) {
      r.idx[i * k + c] = best.i[c];
      r.dist[i * k + c] = (float)best.d[c];
    }
  }
  return NEEDLE_OK;
}

}  // namespace

int needle::refine(const Refine& r, int threads) {
  if (!r.query || !r.base || !r.cand || !r.cand_dist || !r.qn || !r.idx || !r.dist || r.nq < 0 || r.d <= 0 || r.m <= 0 ||
      r.k <= 0 || r.k > r.m)
    return NEEDLE_EINVAL;
  const int nt = (int)std::min<int64_t>(resolve_threads(threads), std::max<int64_t>(1, r.nq / 64));
  std::vector<int> rc(nt, NEEDLE_OK);
  fork_join(nt, [&](int t) { rc[t] = refine_rows(r, r.nq * t / nt, r.nq * (t + 1) / nt); });
  for (int v : rc)
    if (v != NEEDLE_OK) return v;
  return NEEDLE_OK;
}

extern "C" int needle_cpu_knn(const float* query, int64_t nq, const float* base, int64_t nb, int32_t d, int32_t k,
                              int32_t self, int32_t threads, int32_t* idx, float* dist) {
  if (!query || !base || !idx || !dist || nq <= 0 || nb <= 0 || d <= 0 || k <= 0) return NEEDLE_EINVAL;
  if (self && (nq != nb || query != base)) return NEEDLE_EINVAL;
  const int64_t avail = self ? nb - 1 : nb;
  if (k > avail || nq > INT32_MAX || nb > INT32_MAX) return NEEDLE_EINVAL;
  const int m = (int)std::min<int64_t>(k + NEEDLE_RERANK_EXTRA, avail);
  const Simd& s = simd();

  const int64_t qtiles = (nq + TB - 1) / TB, btiles = (nb + TB - 1) / TB;
  static thread_local Scratch abuf, bbuf;
  float* apack = abuf.get((size_t)(qtiles * TB) * d);
  float* bpack = bbuf.get((size_t)(btiles * TB) * d);
  if (!apack || !bpack) return NEEDLE_ENOMEM;
  std::vector<float> qn(nq), bn(nb);

  // the (I, J) tiles to compute: in self mode the upper triangle only
  std::vector<std::pair<int32_t, int32_t>> tiles;
  for (int64_t I = 0; I < qtiles; ++I)
    for (int64_t J = self ? I : 0; J < btiles; ++J) tiles.emplace_back((int32_t)I, (int32_t)J);

  const int nt = (int)std::min<int64_t>(resolve_threads(threads), (int64_t)tiles.size());
  std::vector<std::unique_ptr<Lists>> lists(nt);
  fork_join(nt, [&](int t) {
    // norms and packing in parallel: thread t takes every nt-th tile's rows
    for (int64_t I = t; I < qtiles; I += nt) row_norms(query + I * TB * d, std::min<int64_t>(TB, nq - I * TB), d, qn.data() + I * TB);
    if (!self)
      for (int64_t J = t; J < btiles; J += nt) row_norms(base + J * TB * d, std::min<int64_t>(TB, nb - J * TB), d, bn.data() + J * TB);
    for (int64_t I = t; I < qtiles; I += nt)
      pack(query + I * TB * d, std::min<int64_t>(TB, nq - I * TB), d, d, MR, TB, apack + I * TB * d);
    for (int64_t J = t; J < btiles; J += nt)
      pack(base + J * TB * d, std::min<int64_t>(TB, nb - J * TB), d, d, NR, TB, bpack + J * TB * d);
  });
  if (self) bn = qn;
  fork_join(nt, [&](int t) {
    lists[t] = std::make_unique<Lists>(nq, m);
    Lists& L = *lists[t];
    alignas(64) static thread_local float ctile[TB * TB];
    for (size_t w = t; w < tiles.size(); w += nt) {
      const int64_t I = tiles[w].first, J = tiles[w].second;
      const int64_t i0 = I * TB, j0 = J * TB;
      const float* A = apack + i0 * d;
      const float* B = bpack + j0 * d;
      for (int p0 = 0; p0 < d; p0 += KC) {
        const int kc = std::min(KC, d - p0);
        for (int jp = 0; jp < TB; jp += NR) {
          const float* bp = B + (int64_t)jp * d + (int64_t)p0 * NR;
          for (int ip = 0; ip < TB; ip += MR) {
            const float* ap = A + (int64_t)ip * d + (int64_t)p0 * MR;
            s.gemm_ukr(kc, ap, bp, ctile + ip * TB + jp, TB, p0 > 0);
          }
        }
      }
      const int64_t rows = std::min<int64_t>(TB, nq - i0), cols = std::min<int64_t>(TB, nb - j0);
      const bool both = self && I != J;  // an off-diagonal tile stands for its mirror too
      // fused selection: eight distances at a time are screened against the row's and the columns'
      // thresholds; only the few that can enter a list reach the scalar insertion
      const int64_t cols8 = cols & ~int64_t(7);
      alignas(32) float dv[8];
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        const float qi = qn[i];
        const float* crow = ctile + r * TB;
        for (int64_t c0 = 0; c0 < cols; c0 += 8) {
          unsigned mask;
          int width = 8;
          if (c0 < cols8) {
            mask = s.screen8(crow + c0, qi, bn.data() + j0 + c0, L.worst[i], both ? L.worst.data() + j0 + c0 : nullptr, dv);
          } else {
            width = (int)(cols - c0);
            mask = 0;
            for (int c = 0; c < width; ++c) {
              dv[c] = std::max(qi + bn[j0 + c0 + c] - 2.f * crow[c0 + c], 0.f);
              if (dv[c] <= L.worst[i]) mask |= 1u << c;
              if (both && dv[c] <= L.worst[j0 + c0 + c]) mask |= 1u << (8 + c);
            }
          }
          for (int c = 0; c < width && mask; ++c) {
            if (!(mask & (0x101u << c))) continue;
            const int64_t j = j0 + c0 + c;
            if (self && i == j) continue;
            if (mask & (1u << c)) L.offer(i, dv[c], (int32_t)j);
            if (mask & (1u << (8 + c))) L.offer(j, dv[c], (int32_t)i);
          }
        }
      }
    }
  });
  // merge the per-thread lists into lists[0]
  Lists& M = *lists[0];
  for (int t = 1; t < nt; ++t)
    for (int64_t i = 0; i < nq; ++i)
      for (int c = 0; c < m; ++c) {
        int32_t j = lists[t]->idx[i * m + c];
        if (j == INT32_MAX) break;
        M.offer(i, lists[t]->dist[i * m + c], j);
      }
  Refine r{query, nq, base, nb, d, self != 0, M.idx.data(), M.dist.data(), m, k, qn.data(),
           *std::max_element(bn.begin(), bn.end()), idx, dist};
  return refine(r, threads);
}
