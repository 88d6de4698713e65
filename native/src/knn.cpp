// Exact k-nearest neighbours on the CPU.
//
// Both passes first centre the rows on the base's column means (no distance changes; the error bounds, which scale
// with the norms, shrink where the rows share an offset, as ReLU features do: without it such data sent most rows to
// the exact scan). Pass 1 (float32, the hot part): distances ||q||^2 + ||b||^2 - 2 q.b from a packed, blocked GEMM; each
// tile's distances feed a per-row candidate list of m = k + NEEDLE_RERANK_EXTRA entries in the same pass
// (nothing N x N is ever stored). In self mode only tiles on or above the diagonal are computed and each
// off-diagonal tile updates both its rows and its columns, halving the flops.
// Pass 2 (float64, needle::refine): a worst-case bound on the float32 error says which candidates could still
// be true k-nearest; only those are re-ranked with exact distances, and a row whose whole list lies inside
// the bound (many equal distances) is decided by an exact brute-force scan. The result equals exact float64
// k-NN: float32 cancellation in the GEMM form never reorders neighbours, duplicates get distance exactly 0.
// Where the CPU has AVX512-BF16 (and D >= 320), pass 1 runs in bfloat16 instead (pass_bf16: twice the multiply-adds
// per cycle) with its own rigorous per-row error bound; the refinement is the same, so the results are the same.
// Experts whose near neighbours lie too close together for bfloat16 (many rows would need the exact scan) are redone
// in float32.
#include <algorithm>
#include <atomic>
#include <cstdio>
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
constexpr int KP = 128;  // the same for the bfloat16 pass, in feature pairs (an A micro-panel: 16 x 128 x 4 bytes)
constexpr int RERANK_EXTRA_BF16 = 12;  // plus k: candidates kept beyond k in the bfloat16 pass, whose window is wider
constexpr int TB = 48;   // tile edge, a multiple of both tiers' micro-tiles (6 x 16, 16 x 16); small, so padding
                         // and diagonal tiles waste little

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

// Fused selection for one computed tile: distances (qn + bn) - 2 dot are screened eight at a time against the row's
// and (off-diagonal tiles in self mode) the columns' thresholds; only the few that can enter a list are inserted.
void screen_tile(Lists& L, const float* ctile, int64_t i0, int64_t j0, int64_t rows, int64_t cols, const float* qn, const float* bn,
                 bool self, bool both) {
  const Simd& s = simd();
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
        mask = s.screen8(crow + c0, qi, bn + j0 + c0, L.worst[i], both ? L.worst.data() + j0 + c0 : nullptr, dv);
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

// One k-NN problem and the state its candidate pass leaves for the refinement.
struct Job {
  const float* query;
  int64_t nq;
  const float* base;
  int64_t nb;
  int d, k, m;
  bool self;
  int threads;
  std::unique_ptr<Lists> lists;  // merged candidates
  std::vector<float> qn, bn;     // the squared norms the candidate distances were formed with
  std::vector<double> err;       // bfloat16 pass: per query row, the bound on |candidate distance - exact|
};

// The (I, J) tiles to compute: in self mode the upper triangle only.
std::vector<std::pair<int32_t, int32_t>> tile_list(const Job& j) {
  const int64_t qtiles = (j.nq + TB - 1) / TB, btiles = (j.nb + TB - 1) / TB;
  std::vector<std::pair<int32_t, int32_t>> tiles;
  for (int64_t I = 0; I < qtiles; ++I)
    for (int64_t J = j.self ? I : 0; J < btiles; ++J) tiles.emplace_back((int32_t)I, (int32_t)J);
  return tiles;
}

// Runs compute(I, J, ctile) for every tile, handed out dynamically; each thread keeps its own lists, merged at the end.
template <class Compute>
void tile_pass(Job& job, Compute&& compute) {
  const auto tiles = tile_list(job);
  const int nt = (int)std::min<int64_t>(job.threads, (int64_t)tiles.size());
  std::vector<std::unique_ptr<Lists>> lists(nt);
  std::atomic<size_t> next{0};
  fork_join(nt, [&](int t) {
    lists[t] = std::make_unique<Lists>(job.nq, job.m);
    Lists& L = *lists[t];
    alignas(64) static thread_local float ctile[TB * TB];
    for (size_t w; (w = next.fetch_add(1, std::memory_order_relaxed)) < tiles.size();) {
      const int64_t I = tiles[w].first, J = tiles[w].second;
      compute(I, J, ctile);
      const int64_t rows = std::min<int64_t>(TB, job.nq - I * TB), cols = std::min<int64_t>(TB, job.nb - J * TB);
      screen_tile(L, ctile, I * TB, J * TB, rows, cols, job.qn.data(), job.bn.data(), job.self, job.self && I != J);
    }
  });
  // merge the per-thread lists into lists[0]
  Lists& M = *lists[0];
  for (int t = 1; t < nt; ++t)
    for (int64_t i = 0; i < job.nq; ++i)
      for (int c = 0; c < job.m; ++c) {
        int32_t j = lists[t]->idx[i * job.m + c];
        if (j == INT32_MAX) break;
        M.offer(i, lists[t]->dist[i * job.m + c], j);
      }
  job.lists = std::move(lists[0]);
}

// Column means of the base rows (float64 sums, one part per thread): both passes centre the rows on them, which
// changes no distance but shrinks the norms the error bounds scale with (embeddings often share a large offset).
std::vector<float> column_means(const Job& job) {
  const int d = job.d, nt = job.threads;
  std::vector<float> mean(d);
  const int64_t chunks = std::min<int64_t>(nt, std::max<int64_t>(1, job.nb / 64));
  std::vector<std::vector<double>> part(chunks, std::vector<double>(d, 0.0));
  parallel_for(nt, chunks, [&](int64_t c, int) {
    double* p = part[c].data();
    for (int64_t r = job.nb * c / chunks; r < job.nb * (c + 1) / chunks; ++r)
      for (int f = 0; f < d; ++f) p[f] += job.base[r * d + f];
  });
  for (int f = 0; f < d; ++f) {
    double sum = 0;
    for (auto& p : part) sum += p[f];
    mean[f] = (float)(sum / job.nb);
  }
  return mean;
}

// The passes' packed panels and centred copies (about 3 N D floats), grown as needed and kept per thread so that
// experts scored one after another reuse them. Batch calls run whole experts on pool workers, so each worker would
// keep its own copy for as long as the calling Java thread lives: needle_cpu_knn_batch releases the workers' copies
// when it returns (found by review: +143 MiB resident after one batch at N = 12000, D = 512, 2 threads).
struct KnnScratch {
  Scratch abuf, bbuf, cq, cb;
  std::vector<uint32_t> a16, b16;
  void release() {
    abuf = Scratch();
    bbuf = Scratch();
    cq = Scratch();
    cb = Scratch();
    std::vector<uint32_t>().swap(a16);
    std::vector<uint32_t>().swap(b16);
  }
};

inline KnnScratch& knn_scratch() {
  static thread_local KnnScratch s;
  return s;
}

// Pass 1 in float32: rows centred on the base's column means (c = fl(x - mean)), norms, packing, the blocked GEMM
// fused with selection. job.err bounds each candidate distance against the exact one: the GEMM form on the centred
// rows errs by at most (gamma_d + 8u)(|c_q|^2 + |c_b|^2) (sequential FMA dot over d terms, norms rounded from float64,
// two float additions) and centring by at most 4u(|c_q|^2 + |c_b|^2) (1 + small) (see pass_bf16); base norms by their
// largest. Where centred norms would overflow, the rows are used as they are, with the first bound alone.
int pass_f32(Job& job) {
  const Simd& s = simd();
  const int d = job.d;
  const int64_t qtiles = (job.nq + TB - 1) / TB, btiles = (job.nb + TB - 1) / TB;
  KnnScratch& S = knn_scratch();
  Scratch &abuf = S.abuf, &bbuf = S.bbuf, &cq = S.cq, &cb = S.cb;
  float* apack = abuf.get((size_t)(qtiles * TB) * d);
  float* bpack = bbuf.get((size_t)(btiles * TB) * d);
  if (!apack || !bpack) return NEEDLE_ENOMEM;
  job.qn.assign(job.nq, 0.f);
  job.bn.assign(job.nb, 0.f);
  job.err.clear();
  const int nt = job.threads;
  // the centred copies the pass reads (the refinement reads the rows as given)
  const std::vector<float> mean = column_means(job);
  float* qc = cq.get((size_t)job.nq * d);
  float* bc = job.self ? qc : cb.get((size_t)job.nb * d);
  if (!qc || !bc) return NEEDLE_ENOMEM;
  parallel_for(nt, qtiles + (job.self ? 0 : btiles), [&](int64_t w, int) {
    const bool q = w < qtiles;
    const int64_t r0 = (q ? w : w - qtiles) * TB, r1 = std::min<int64_t>(r0 + TB, q ? job.nq : job.nb);
    const float* x = q ? job.query : job.base;
    float* c = q ? qc : bc;
    for (int64_t r = r0; r < r1; ++r)
      for (int f = 0; f < d; ++f) c[r * d + f] = x[r * d + f] - mean[f];
  });
  parallel_for(nt, qtiles + btiles, [&](int64_t w, int) {
    if (w < qtiles) {
      const int64_t I = w, rows = std::min<int64_t>(TB, job.nq - I * TB);
      row_norms(qc + I * TB * d, rows, d, job.qn.data() + I * TB);
      pack(qc + I * TB * d, rows, d, d, MR, TB, apack + I * TB * d);
    } else {
      const int64_t J = w - qtiles, rows = std::min<int64_t>(TB, job.nb - J * TB);
      if (!job.self) row_norms(bc + J * TB * d, rows, d, job.bn.data() + J * TB);
      pack(bc + J * TB * d, rows, d, d, NR, TB, bpack + J * TB * d);
    }
  });
  if (job.self) job.bn = job.qn;
  const double bn_max = *std::max_element(job.bn.begin(), job.bn.end());
  bool finite = std::isfinite(bn_max);
  for (int64_t i = 0; finite && i < job.nq; ++i) finite = std::isfinite(job.qn[i]);
  if (finite) {
    const double u = std::ldexp(1.0, -24), gamma = d * u / (1 - d * u), rel = (gamma + 12.1 * u) * (1 + 1e-6);
    job.err.resize(job.nq);
    for (int64_t i = 0; i < job.nq; ++i) job.err[i] = rel * ((double)job.qn[i] + bn_max) + 1e-30;
  } else {  // overflowing centred norms: the rows as they are, bounded as before (no job.err)
    parallel_for(nt, qtiles + btiles, [&](int64_t w, int) {
      if (w < qtiles) {
        const int64_t I = w, rows = std::min<int64_t>(TB, job.nq - I * TB);
        row_norms(job.query + I * TB * d, rows, d, job.qn.data() + I * TB);
        pack(job.query + I * TB * d, rows, d, d, MR, TB, apack + I * TB * d);
      } else {
        const int64_t J = w - qtiles, rows = std::min<int64_t>(TB, job.nb - J * TB);
        if (!job.self) row_norms(job.base + J * TB * d, rows, d, job.bn.data() + J * TB);
        pack(job.base + J * TB * d, rows, d, d, NR, TB, bpack + J * TB * d);
      }
    });
    if (job.self) job.bn = job.qn;
  }
  tile_pass(job, [&](int64_t I, int64_t J, float* ctile) {
    const float* A = apack + I * TB * d;
    const float* B = bpack + J * TB * d;
    for (int p0 = 0; p0 < d; p0 += KC) {
      const int kc = std::min(KC, d - p0);
      for (int jp = 0; jp < TB; jp += NR) {
        const float* bp = B + (int64_t)jp * d + (int64_t)p0 * NR;
        for (int ip = 0; ip < TB; ip += MR) s.gemm_ukr(kc, A + (int64_t)ip * d + (int64_t)p0 * MR, bp, ctile + ip * TB + jp, TB, p0 > 0);
      }
    }
  });
  return NEEDLE_OK;
}

// Pass 1 in bfloat16 (see simd_bf16.cpp): rows centred on the base's column means (distances do not change), rounded
// to bfloat16, the products summed in float32. Sets job.err, a rigorous per-row bound on the error of every
// candidate distance against the exact one, from these facts (u = 2^-24, c = fl(x - mean), e = c - bf16(c) exact):
//   centring:  | ||c_q - c_b||^2 - ||q - b||^2 | <= 4u (|c_q|^2 + |c_b|^2) (1 + small)   (|fl(x - m) - (x - m)| <= u |c|)
//   rounding:  |c_q.c_b - bf(c_q).bf(c_b)| <= |bf(c_q)| |e_b| + |e_q| |c_b|
//   summing:   float32 sums of exact products over D terms (and the re-added chunks): gamma_D |bf(c_q)| |bf(c_b)|, plus
//              D 2^-126 per flushed subnormal sum
//   the form:  max(fl(fl(qn + bn) - 2 dot), 0), qn = float(|c_q|^2): about 2u (qn + bn + 2 |dot|) + u (qn + bn)
// Bounds over all base rows use their maxima. Returns 1 (not an error code) if the data's scale rules this pass out.
int pass_bf16(Job& job, const Bf16& bf) {
  const int d = job.d, pairs = (d + 1) / 2;
  const int64_t qtiles = (job.nq + TB - 1) / TB, btiles = (job.nb + TB - 1) / TB;
  std::vector<uint32_t> &abuf = knn_scratch().a16, &bbuf = knn_scratch().b16;
  abuf.resize((size_t)(qtiles * TB) * pairs + 16);
  bbuf.resize(job.self ? 0 : (size_t)(btiles * TB) * pairs + 16);
  // 64-byte aligned views (the micro-kernel loads B with aligned loads)
  auto align = [](std::vector<uint32_t>& v) { return (uint32_t*)(((uintptr_t)v.data() + 63) & ~(uintptr_t)63); };
  uint32_t *apack = align(abuf), *bpack = align(bbuf);
  const int nt = job.threads;
  const std::vector<float> mean = column_means(job);
  std::vector<double> qc2(job.nq), qr2(job.nq), bc2, br2;
  if (!job.self) {
    bc2.resize(job.nb);
    br2.resize(job.nb);
  }
  // in self mode one packing serves both sides (query and base panels have the same shape)
  const int64_t packs = job.self ? qtiles : qtiles + btiles;
  parallel_for(nt, packs, [&](int64_t w, int) {
    if (w < qtiles) {
      const int64_t I = w, rows = std::min<int64_t>(TB, job.nq - I * TB);
      bf.pack(job.query + I * TB * d, rows, d, mean.data(), TB, apack + I * TB * pairs, qc2.data() + I * TB, qr2.data() + I * TB);
    } else {
      const int64_t J = w - qtiles, rows = std::min<int64_t>(TB, job.nb - J * TB);
      bf.pack(job.base + J * TB * d, rows, d, mean.data(), TB, bpack + J * TB * pairs, bc2.data() + J * TB, br2.data() + J * TB);
    }
  });
  if (job.self) bpack = apack;
  const std::vector<double>& c2b = job.self ? qc2 : bc2;
  const std::vector<double>& r2b = job.self ? qr2 : br2;
  const double u = std::ldexp(1.0, -24), eta = u + d * std::ldexp(1.0, -50);
  const double terms = d + d / 64.0 + 16, gamma = terms * u / (1 - terms * u), flush = 3 * terms * std::ldexp(1.0, -125);
  double ncb = 0, rb = 0;
  for (int64_t j = 0; j < job.nb; ++j) {
    ncb = std::max(ncb, c2b[j]);
    rb = std::max(rb, std::sqrt(r2b[j]) * (1 + eta));
  }
  const double cb = std::sqrt(ncb) * (1 + eta), tb = cb + rb;
  if (!(ncb < 1e30) || !(tb < 1e15)) return 1;  // float32 norms would overflow: the float32 pass bounds these itself
  job.qn.resize(job.nq);
  job.bn.resize(job.nb);
  job.err.resize(job.nq);
  for (int64_t i = 0; i < job.nq; ++i) {
    const double ci = std::sqrt(qc2[i]) * (1 + eta), ri = std::sqrt(qr2[i]) * (1 + eta), ti = ci + ri;
    job.qn[i] = (float)qc2[i];
    const double e = (6.1 * u + eta) * (qc2[i] + ncb) + 2 * (ti * rb + ri * cb) + (2 * gamma + 2.1 * u) * ti * tb + flush;
    job.err[i] = e * (1 + 1e-6) + 1e-30;
  }
  for (int64_t j = 0; j < job.nb; ++j) job.bn[j] = (float)c2b[j];
  tile_pass(job, [&](int64_t I, int64_t J, float* ctile) {
    const uint32_t* A = apack + I * TB * pairs;
    const uint32_t* B = bpack + J * TB * pairs;
    for (int p0 = 0; p0 < pairs; p0 += KP) {
      const int kp = std::min(KP, pairs - p0);
      for (int jp = 0; jp < TB; jp += bf.tile) {
        const uint32_t* bp = B + (int64_t)jp * pairs + (int64_t)p0 * bf.tile;
        for (int ip = 0; ip < TB; ip += bf.tile) bf.ukr(kp, A + (int64_t)ip * pairs + (int64_t)p0 * bf.tile, bp, ctile + ip * TB + jp, TB, p0 > 0);
      }
    }
  });
  return NEEDLE_OK;
}

Refine refinement(const Job& job, int32_t* idx, float* dist) {
  Refine r{job.query, job.nq, job.base, job.nb, job.d, job.self, job.lists->idx.data(), job.lists->dist.data(), job.m, job.k,
           job.qn.data(), (double)*std::max_element(job.bn.begin(), job.bn.end()), idx, dist};
  if (!job.err.empty()) r.err = job.err.data();
  return r;
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

// Half the width of the window around row i's k-th candidate distance in which a row may still be a true k-nearest.
inline double bound(const Refine& r, int64_t i) {
  if (r.err) return r.err[i];
  // Worst-case float32 error of ||q||^2 + ||b||^2 - 2 q.b as computed (sequential FMA dot over d terms,
  // norms rounded from float64, two float additions): |err| <= (gamma_d + 8u) (||q||^2 + ||b||^2).
  const double u = std::ldexp(1.0, -24), gamma = r.d * u / (1 - r.d * u), rel = gamma + 8 * u;
  return rel * ((double)r.qn[i] + r.bn_max);
}

inline bool valid(int32_t j) { return j >= 0 && j != INT32_MAX; }

int refine_rows(const Refine& r, int64_t r0, int64_t r1) {
  const Simd& s = simd();
  const int m = r.m, k = r.k, d = r.d;
  Best best(k);
  for (int64_t i = r0; i < r1; ++i) {
    const float* q = r.query + i * d;
    const int32_t* ci = r.cand + i * m;
    const float* cd = r.cand_dist + i * m;
    if (!valid(ci[k - 1])) return NEEDLE_EINVAL;
    // a row can be a true k-nearest only if its approximate distance is within 2 error bounds of the k-th
    const double window = (double)cd[k - 1] + 2 * bound(r, i) + 1e-30;
    best.reset();
    if (needle::needs_scan(r, i)) {
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

bool needle::needs_scan(const Refine& r, int64_t i) {
  const int64_t avail = r.self ? r.nb - 1 : r.nb;
  const float* cd = r.cand_dist + i * r.m;
  return r.m < avail && (double)cd[r.m - 1] <= (double)cd[r.k - 1] + 2 * bound(r, i) + 1e-30;
}

int needle::refine(const Refine& r, int threads) {
  if (!r.query || !r.base || !r.cand || !r.cand_dist || !r.qn || !r.idx || !r.dist || r.nq < 0 || r.d <= 0 || r.m <= 0 ||
      r.k <= 0 || r.k > r.m)
    return NEEDLE_EINVAL;
  // rows in blocks of 16, handed out dynamically (a brute-force row costs a thousand ordinary ones)
  const int64_t blocks = (r.nq + 15) / 16;
  std::vector<int> rc(std::max(1, resolve_threads(threads)), NEEDLE_OK);
  parallel_for((int)std::min<int64_t>(resolve_threads(threads), std::max<int64_t>(1, r.nq / 64)), blocks, [&](int64_t b, int t) {
    int v = refine_rows(r, b * 16, std::min<int64_t>(r.nq, b * 16 + 16));
    if (v != NEEDLE_OK) rc[t] = v;
  });
  for (int v : rc)
    if (v != NEEDLE_OK) return v;
  return NEEDLE_OK;
}

namespace {

// Flags of needle_cpu_knn_ex / _batch (needle.h).
constexpr int FLAG_F32 = 1, FLAG_BF16 = 2;

int knn(const float* query, int64_t nq, const float* base, int64_t nb, int32_t d, int32_t k, int32_t self, int32_t threads,
        int32_t flags, int32_t* idx, float* dist) {
  if (!query || !base || !idx || !dist || nq <= 0 || nb <= 0 || d <= 0 || k <= 0) return NEEDLE_EINVAL;
  if (self && (nq != nb || query != base)) return NEEDLE_EINVAL;
  const int64_t avail = self ? nb - 1 : nb;
  if (k > avail || nq > INT32_MAX || nb > INT32_MAX) return NEEDLE_EINVAL;
  const Bf16* bf = (flags & FLAG_F32) ? nullptr : simd_bf16();
  // bfloat16 pays off from about 300 features (measured: equal at 256, 1.4x faster at 512, 1.7x at 2048); its wider
  // error window keeps more candidates per row
  const bool use_bf16 = bf && ((flags & FLAG_BF16) || d >= 320);
  Job job{query, nq, base, nb, d, k, 0, self != 0, resolve_threads(threads), nullptr, {}, {}, {}};
  job.m = (int)std::min<int64_t>(k + (use_bf16 ? RERANK_EXTRA_BF16 + k : NEEDLE_RERANK_EXTRA), avail);
  int rc = 1;
  if (use_bf16) {
    rc = pass_bf16(job, *bf);
    if (rc == NEEDLE_OK && !(flags & FLAG_BF16)) {
      // data whose near neighbours lie closer together than bfloat16 can tell apart would send many rows to the
      // exact scan: redo those experts in float32 instead
      Refine r = refinement(job, idx, dist);
      int64_t scans = 0;
      for (int64_t i = 0; i < nq; ++i) scans += needs_scan(r, i);
      if (scans > nq / 256 + 2) rc = 1;
    }
    if (rc == 1) job.m = (int)std::min<int64_t>(k + NEEDLE_RERANK_EXTRA, avail);
  }
  if (rc == 1) rc = pass_f32(job);
  if (rc != NEEDLE_OK) return rc;
  return refine(refinement(job, idx, dist), job.threads);
}

}  // namespace

extern "C" int needle_cpu_knn(const float* query, int64_t nq, const float* base, int64_t nb, int32_t d, int32_t k,
                              int32_t self, int32_t threads, int32_t* idx, float* dist) {
  return guarded([&] { return knn(query, nq, base, nb, d, k, self, threads, 0, idx, dist); });
}

extern "C" int needle_cpu_knn_ex(const float* query, int64_t nq, const float* base, int64_t nb, int32_t d, int32_t k,
                                 int32_t self, int32_t threads, int32_t flags, int32_t* idx, float* dist) {
  return guarded([&] { return knn(query, nq, base, nb, d, k, self, threads, flags, idx, dist); });
}

// 2 GiB: the most scratch batch mode may hold at once over its threads.
constexpr double kBatchScratchBudget = 2.0 * 1024 * 1024 * 1024;

namespace {
int knn_batch(int32_t e, const float* const* x, int64_t n, const int32_t* d, int32_t k, int32_t threads, int32_t flags,
              int32_t* idx, float* dist);
}  // namespace

extern "C" int needle_cpu_knn_batch(int32_t e, const float* const* x, int64_t n, const int32_t* d, int32_t k, int32_t threads,
                                    int32_t flags, int32_t* idx, float* dist) {
  if (e <= 0 || !x || !d || !idx || !dist || n <= 0) return NEEDLE_EINVAL;
  return guarded([&] { return knn_batch(e, x, n, d, k, threads, flags, idx, dist); });
}

namespace {
int knn_batch(int32_t e, const float* const* x, int64_t n, const int32_t* d, int32_t k, int32_t threads, int32_t flags,
              int32_t* idx, float* dist) {
  const int nt = resolve_threads(threads);
  std::vector<int> rc(e, NEEDLE_OK);
  // one expert per thread holds nt experts' scratch at once: above a budget, experts go one at a time, each threaded
  int dmax = 0;
  for (int t = 0; t < e; ++t) dmax = std::max(dmax, d[t]);
  const double perExpert = 4.0 * (3.0 * (double)(n + 64) * dmax + 2.0 * (double)(n + 64) * ((dmax + 1) / 2));
  if (nt <= 1 || e == 1 || perExpert * nt > kBatchScratchBudget) {
    for (int t = 0; t < e; ++t) rc[t] = knn(x[t], n, x[t], n, d[t], k, 1, nt, flags, idx + (int64_t)t * n * k, dist + (int64_t)t * n * k);
  } else {
    // one expert per thread, handed out dynamically: no barrier inside an expert, no thread idles while others pack
    parallel_for(nt, e, [&](int64_t t, int) {
      rc[t] = knn(x[t], n, x[t], n, d[t], k, 1, 1, flags, idx + t * n * k, dist + t * n * k);
    });
    // the workers' scratch goes (job t runs on worker t; the caller, t = 0, keeps its own as the one-expert path does)
    fork_join(std::min(nt, e), [](int t) {
      if (t != 0) knn_scratch().release();
    });
  }
  for (int v : rc)
    if (v != NEEDLE_OK) return v;
  return NEEDLE_OK;
}
}  // namespace

extern "C" const char* needle_cpu_knn_tier(void) { return simd_bf16() ? "bfloat16 (AVX512-BF16)" : "float32"; }
