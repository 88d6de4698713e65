// C++ self-test of the kernels against brute force, and of CUDA against the CPU when built with CUDA.
// Runs where Java cannot (the device machine); CI runs the same checks through the Java parity tests.
// Prints one line per case and a closing "N passed, N failed".
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "needle/needle.h"
#include "simd.h"  // native/src: each SIMD tier's table, to test the tiers this CPU does not pick
#include "parallel.h"  // native/src: the fork-join pool
#include <new>

static int passed = 0, failed = 0;
static void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  (ok ? passed : failed)++;
}

static std::vector<float> randn(int64_t n, int d, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd;
  std::vector<float> x((size_t)n * d);
  for (auto& v : x) v = nd(g);
  return x;
}

// brute force by (distance, index), float64
static void brute(const float* q, int64_t nq, const float* b, int64_t nb, int d, int k, bool self, std::vector<int>& idx) {
  idx.assign((size_t)nq * k, -1);
  std::vector<std::pair<double, int>> all;
  for (int64_t i = 0; i < nq; ++i) {
    all.clear();
    for (int64_t j = 0; j < nb; ++j) {
      if (self && i == j) continue;
      double s = 0;
      for (int p = 0; p < d; ++p) { double t = (double)q[i * d + p] - b[j * d + p]; s += t * t; }
      all.emplace_back(s, (int)j);
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int c = 0; c < k; ++c) idx[i * k + c] = all[c].second;
  }
}

// float64 linear algebra (BLAS/LAPACK) against naive loops: Gram both ways, eigh by reconstruction, SPD solve, log det
static void linalg() {
  if (!needle_cpu_has_lapack()) {
    std::printf("SKIP linalg: %s\n", needle_cpu_lapack());
    return;
  }
  std::printf("# lapack: %s\n", needle_cpu_lapack());
  for (int rows : {1, 7, 120}) {
    const int cols = 53;
    auto xf = randn(rows, cols, 5 + rows);
    std::vector<double> x(xf.begin(), xf.end());
    bool ok = true;
    for (int by_cols : {0, 1}) {
      const int n = by_cols ? cols : rows;
      std::vector<double> g((size_t)n * n, -1.0);
      int rc = needle_cpu_gram(x.data(), rows, cols, by_cols, g.data(), 0);
      ok &= rc == 0;
      for (int a = 0; a < n && ok; ++a)
        for (int b = 0; b < n; ++b) {
          double s = 0;
          for (int t = 0; t < (by_cols ? rows : cols); ++t)
            s += by_cols ? x[(size_t)t * cols + a] * x[(size_t)t * cols + b] : x[(size_t)a * cols + t] * x[(size_t)b * cols + t];
          ok &= std::fabs(s - g[(size_t)a * n + b]) <= 1e-12 * (1 + std::fabs(s)) && g[(size_t)a * n + b] == g[(size_t)b * n + a];
        }
    }
    char what[80];
    std::snprintf(what, sizeof what, "cpu gram %dx%d both orientations", rows, cols);
    check(ok, what);
  }
  for (int n : {1, 5, 64}) {
    // A = B B^T + n I: symmetric positive definite
    auto bf = randn(n, n, 17 + n);
    std::vector<double> a((size_t)n * n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        double s = i == j ? n : 0;
        for (int t = 0; t < n; ++t) s += (double)bf[i * n + t] * bf[j * n + t];
        a[(size_t)i * n + j] = s;
      }
    std::vector<double> work = a, val(n), vec((size_t)n * n);
    int rc = needle_cpu_eigh(work.data(), n, val.data(), vec.data(), 0);
    double err = 0, scale = std::fabs(val[0]);
    bool desc = true;
    for (int k = 1; k < n; ++k) desc &= val[k] <= val[k - 1];
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        double r = 0, o = 0;
        for (int k = 0; k < n; ++k) {
          r += vec[(size_t)i * n + k] * val[k] * vec[(size_t)j * n + k];
          o += vec[(size_t)k * n + i] * vec[(size_t)k * n + j];
        }
        err = std::max({err, std::fabs(r - a[(size_t)i * n + j]) / scale, std::fabs(o - (i == j))});
      }
    char what[80];
    std::snprintf(what, sizeof what, "cpu eigh n=%d (descending, V diag V^T = A, V^T V = I)", n);
    check(rc == 0 && desc && err < 1e-10, what);
    // solve with 3 right-hand sides and log det, against the residual and the eigenvalues
    const int m = 3;
    auto rf = randn(n, m, 23 + n);
    std::vector<double> b(rf.begin(), rf.end()), xs = b;
    rc = needle_cpu_solve_spd(a.data(), n, xs.data(), m, 0);
    double res = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < m; ++j) {
        double s = 0;
        for (int t = 0; t < n; ++t) s += a[(size_t)i * n + t] * xs[(size_t)t * m + j];
        res = std::max(res, std::fabs(s - b[(size_t)i * m + j]));
      }
    std::snprintf(what, sizeof what, "cpu solve_spd n=%d m=%d", n, m);
    check(rc == 0 && res < 1e-9, what);
    double ld = 0, want = 0;
    for (double v : val) want += std::log(v);
    rc = needle_cpu_logdet_spd(a.data(), n, &ld, 0);
    std::snprintf(what, sizeof what, "cpu logdet_spd n=%d", n);
    check(rc == 0 && std::fabs(ld - want) < 1e-9 * (1 + std::fabs(want)), what);
  }
  std::vector<double> indefinite = {1, 2, 2, 1}, rhs = {1, 1};
  double ld = 0;
  check(needle_cpu_solve_spd(indefinite.data(), 2, rhs.data(), 1, 0) == NEEDLE_ENOTPD &&
            needle_cpu_logdet_spd(indefinite.data(), 2, &ld, 0) == NEEDLE_ENOTPD,
        "cpu solve_spd and logdet_spd reject an indefinite matrix (NEEDLE_ENOTPD)");
}

// Both candidate passes (float32; bfloat16 where the CPU has it, forced even where it would scan many rows) and the
// batched entry point against brute force, on data made to trip them: ties, duplicates, a large common offset,
// tight clusters, tiny (subnormal-range) and huge values, odd widths.
static void knn_modes() {
  std::printf("# cpu knn tier: %s\n", needle_cpu_knn_tier());
  struct Data { const char* name; int64_t n; int d, k; };
  const Data shapes[] = {{"gauss", 300, 257, 1}, {"gauss", 211, 129, 3}, {"ties", 250, 130, 2}, {"dups", 240, 200, 1},
                         {"offset", 200, 300, 1}, {"clusters", 180, 160, 3}, {"tiny", 150, 140, 1}, {"huge", 150, 140, 1},
                         {"gauss", 97, 1, 1}, {"gauss", 100, 3, 5}, {"ties", 64, 2, 3}};
  std::vector<std::vector<float>> batch;
  std::vector<int32_t> dims;
  for (const Data& s : shapes) {
    auto x = randn(s.n, s.d, 31 + s.d);
    std::mt19937 g(5);
    for (int64_t i = 0; i < s.n; ++i)
      for (int p = 0; p < s.d; ++p) {
        float& v = x[i * s.d + p];
        if (!std::strcmp(s.name, "ties")) v = std::round(v * 2);
        if (!std::strcmp(s.name, "offset")) v += 1000.f;
        if (!std::strcmp(s.name, "clusters")) v = (float)(i % 4) * 10 + 1e-3f * v;
        if (!std::strcmp(s.name, "tiny")) v *= 1e-39f;
        if (!std::strcmp(s.name, "huge")) v *= 1e18f;
      }
    if (!std::strcmp(s.name, "dups"))
      for (int64_t i = 0; i + 1 < s.n; i += 3) std::copy(x.begin() + i * s.d, x.begin() + (i + 1) * s.d, x.begin() + (i + 1) * s.d);
    std::vector<int> want, got((size_t)s.n * s.k);
    std::vector<float> dist((size_t)s.n * s.k);
    brute(x.data(), s.n, x.data(), s.n, s.d, s.k, true, want);
    for (int flags : {0, NEEDLE_KNN_F32, NEEDLE_KNN_BF16}) {
      int rc = needle_cpu_knn_ex(x.data(), s.n, x.data(), s.n, s.d, s.k, 1, 0, flags, got.data(), dist.data());
      char what[160];
      std::snprintf(what, sizeof what, "cpu knn %s n=%lld d=%d k=%d flags=%d", s.name, (long long)s.n, s.d, s.k, flags);
      check(rc == 0 && got == want, what);
    }
    if (s.k == 1 && s.n >= 150) {  // the batch takes the first 150 rows of each
      batch.push_back(x);
      dims.push_back(s.d);
    }
  }
  // the batch: experts of one row count (the shared labels), any widths
  const int64_t n = 150;
  std::vector<const float*> ptrs;
  for (auto& x : batch) ptrs.push_back(x.data());
  std::vector<int> idx((size_t)ptrs.size() * n);
  std::vector<float> dist(idx.size());
  for (int threads : {1, 2, 3}) {
    int rc = needle_cpu_knn_batch((int)ptrs.size(), ptrs.data(), n, dims.data(), 1, threads, 0, idx.data(), dist.data());
    bool ok = rc == 0;
    for (size_t t = 0; t < ptrs.size() && ok; ++t) {
      std::vector<int> want;
      brute(ptrs[t], n, ptrs[t], n, dims[t], 1, true, want);
      ok = std::equal(want.begin(), want.end(), idx.begin() + t * n);
    }
    char what[80];
    std::snprintf(what, sizeof what, "cpu knn batch of %zu experts, %d threads", ptrs.size(), threads);
    check(ok, what);
  }
}

// float64 naive softmax loss and gradient (optional row weights)
static double softmax_ref(const std::vector<float>& x, int n, int d, const std::vector<int32_t>& y, const float* rw, int c,
                          const float* w, std::vector<double>& g) {
  g.assign((size_t)c * (d + 1), 0.0);
  double loss = 0;
  for (int i = 0; i < n; ++i) {
    const double wr = rw ? rw[i] : 1;
    if (wr == 0) continue;
    std::vector<double> z(c);
    double mx = -1e300, s = 0;
    for (int j = 0; j < c; ++j) {
      z[j] = w[j * (d + 1) + d];
      for (int p = 0; p < d; ++p) z[j] += (double)w[j * (d + 1) + p] * x[(size_t)i * d + p];
      mx = std::max(mx, z[j]);
    }
    for (int j = 0; j < c; ++j) s += std::exp(z[j] - mx);
    loss += wr * (std::log(s) + mx - z[y[i]]);
    for (int j = 0; j < c; ++j) {
      double gj = wr * (std::exp(z[j] - mx) / s - (j == y[i]));
      for (int p = 0; p < d; ++p) g[j * (d + 1) + p] += gj * x[(size_t)i * d + p];
      g[j * (d + 1) + d] += gj;
    }
  }
  return loss;
}

// The batched, row-block gradient: experts of several widths (tile edges: 1, 15, 16, 17, 300) in one call, with and
// without row weights, 1 to 3 threads, few and many classes.
static void softmax_planned() {
  for (int c : {2, 10, 23}) {
    const int n = 203;
    const int dims[] = {1, 15, 16, 17, 300};
    const int e = 5;
    std::vector<std::vector<float>> xs;
    std::vector<const float*> plans;
    std::vector<float> w;
    for (int t = 0; t < e; ++t) {
      xs.push_back(randn(n, dims[t], 40 + t));
      plans.push_back(xs[t].data());
      auto wt = randn(c, dims[t] + 1, 50 + t);
      w.insert(w.end(), wt.begin(), wt.end());
    }
    std::vector<int32_t> y(n);
    std::vector<float> rw(n);
    for (int i = 0; i < n; ++i) {
      y[i] = (i * 7 + 3) % c;
      rw[i] = i % 4 == 0 ? 0.f : 1.f;
    }
    for (const float* weights : {(const float*)nullptr, (const float*)rw.data()})
      for (int threads : {1, 2, 3}) {
        std::vector<float> g(w.size());
        std::vector<double> loss(e);
        int rc = needle_cpu_softmax_grad_batch(e, plans.data(), n, dims, y.data(), weights, c, w.data(), g.data(), loss.data(), threads);
        bool ok = rc == 0;
        size_t off = 0;
        for (int t = 0; t < e && ok; ++t) {
          std::vector<double> gref;
          double lref = softmax_ref(xs[t], n, dims[t], y, weights, c, w.data() + off, gref);
          ok = std::fabs(loss[t] - lref) < 1e-4 * (1 + lref);
          for (size_t q = 0; q < gref.size() && ok; ++q) ok = std::fabs(g[off + q] - gref[q]) < 1e-4 * (1 + std::fabs(gref[q]));
          off += gref.size();
        }
        char what[120];
        std::snprintf(what, sizeof what, "cpu softmax batch of %d experts, %d classes, %s, %d threads", e, c,
                      weights ? "row weights" : "no weights", threads);
        check(ok, what);
      }
    {  // one expert alone, split over threads within it
      std::vector<float> g((size_t)c * (dims[e - 1] + 1));
      double loss = 0;
      const float* wl = w.data() + (w.size() - g.size());
      int rc = needle_cpu_softmax_grad_batch(1, &plans[e - 1], n, &dims[e - 1], y.data(), nullptr, c, wl, g.data(), &loss, 2);
      std::vector<double> gref;
      double lref = softmax_ref(xs[e - 1], n, dims[e - 1], y, nullptr, c, wl, gref);
      bool ok = rc == 0 && std::fabs(loss - lref) < 1e-4 * (1 + lref);
      for (size_t q = 0; q < gref.size() && ok; ++q) ok = std::fabs(g[q] - gref[q]) < 1e-4 * (1 + std::fabs(gref[q]));
      char what[80];
      std::snprintf(what, sizeof what, "cpu softmax batch, one expert on 2 threads, %d classes", c);
      check(ok, what);
    }
  }
}

// Every SIMD tier this CPU can run: the linear model's logits and gradient kernels against float64 loops, on shapes
// straddling their register tiles (rows by 3 and 4, classes by 4, 6 and 12, features by 8, 16 and 32).
static void linear_kernels() {
  std::vector<std::pair<const char*, const needle::Simd*>> tiers = {{"scalar", &needle::simd_scalar()}};
  if (std::strncmp(needle_cpu_isa(), "scalar", 6) != 0) tiers.push_back({"avx2", &needle::simd_avx2()});
#ifndef NEEDLE_NO_AVX512
  if (std::strncmp(needle_cpu_isa(), "avx512", 6) == 0) tiers.push_back({"avx512", &needle::simd_avx512()});
#endif
  for (auto& tier : tiers) {
    bool ok = true;
    for (int rows : {1, 3, 4, 5, 32})
      for (int d : {1, 7, 16, 17, 33, 1030})
        for (int c : {2, 5, 7, 10, 13, 25}) {
          auto x = randn(rows, d, 60 + d), w = randn(c, d + 1, 61 + c), g = randn(rows, c, 62);
          std::vector<float> z((size_t)rows * c), acc((size_t)c * d, 0.25f);
          tier.second->logits(x.data(), rows, d, w.data(), d + 1, c, z.data());
          tier.second->grad_acc(g.data(), rows, c, x.data(), d, acc.data());
          for (int i = 0; i < rows; ++i)
            for (int j = 0; j < c; ++j) {
              double s = 0, a = 0;
              for (int p = 0; p < d; ++p) {
                s += (double)x[(size_t)i * d + p] * w[(size_t)j * (d + 1) + p];
                a += std::fabs((double)x[(size_t)i * d + p] * w[(size_t)j * (d + 1) + p]);
              }
              ok &= std::fabs(z[(size_t)i * c + j] - s) <= 1e-5 * (1 + a);
            }
          for (int j = 0; j < c; ++j)
            for (int p = 0; p < d; ++p) {
              double s = 0.25, a = 0.25;
              for (int i = 0; i < rows; ++i) {
                s += (double)g[(size_t)i * c + j] * x[(size_t)i * d + p];
                a += std::fabs((double)g[(size_t)i * c + j] * x[(size_t)i * d + p]);
              }
              ok &= std::fabs(acc[(size_t)j * d + p] - s) <= 1e-5 * (1 + a);
            }
        }
    char what[80];
    std::snprintf(what, sizeof what, "cpu %s linear-model kernels (logits, gradient)", tier.first);
    check(ok, what);
  }
}

// An exception in a pool job (a failed allocation) comes back to the caller once every job has returned, instead of
// std::terminate on a worker; guarded() turns it into NEEDLE_ENOMEM; the pool still works afterwards. Then the batch
// k-NN twice in a row (its workers' scratch is released after each batch) gives the single-expert answers.
static void pool_errors() {
  using namespace needle;
  std::atomic<int> ran{0};
  int rc = guarded([&] {
    fork_join(2, [&](int t) {
      ran.fetch_add(1);
      if (t == 1) throw std::bad_alloc();
    });
    return (int)NEEDLE_OK;
  });
  check(rc == NEEDLE_ENOMEM && ran.load() == 2, "pool: a worker's bad_alloc returns NEEDLE_ENOMEM after every job ran");
  std::atomic<int> again{0};
  fork_join(2, [&](int) { again.fetch_add(1); });
  check(again.load() == 2, "pool: usable after a job threw");
  const int n = 300, e = 3, k = 2;
  const int ds[e] = {64, 129, 7};
  std::vector<std::vector<float>> xs;
  for (int t = 0; t < e; ++t) xs.push_back(randn(n, ds[t], 40 + t));
  const float* xp[e] = {xs[0].data(), xs[1].data(), xs[2].data()};
  for (int round = 0; round < 2; ++round) {
    std::vector<int> idx((size_t)e * n * k);
    std::vector<float> dist((size_t)e * n * k);
    bool ok = needle_cpu_knn_batch(e, xp, n, ds, k, 2, 0, idx.data(), dist.data()) == NEEDLE_OK;
    for (int t = 0; t < e && ok; ++t) {
      std::vector<int> want;
      brute(xp[t], n, xp[t], n, ds[t], k, true, want);
      ok = std::equal(want.begin(), want.end(), idx.begin() + (int64_t)t * n * k);
    }
    check(ok, round == 0 ? "cpu knn batch of 3 widths, 2 threads" : "cpu knn batch again after its scratch was released");
  }
}

int main() {
  std::printf("# cpu isa: %s\n", needle_cpu_isa());
  struct Case { int64_t nq, nb; int d, k; bool self; };
  const Case cases[] = {{2, 2, 1, 1, true}, {97, 97, 3, 1, true}, {300, 300, 64, 1, true}, {301, 301, 257, 3, true},
                        {1000, 1000, 128, 1, true}, {203, 811, 100, 5, false}, {5, 7, 2049, 2, false}};
  for (const Case& c : cases) {
    auto b = randn(c.nb, c.d, 7 + c.d);
    auto q = c.self ? b : randn(c.nq, c.d, 11 + c.d);
    const float* qp = c.self ? b.data() : q.data();
    std::vector<int> want, got((size_t)c.nq * c.k);
    std::vector<float> dist((size_t)c.nq * c.k);
    brute(qp, c.nq, b.data(), c.nb, c.d, c.k, c.self, want);
    char what[160];
    int rc = needle_cpu_knn(qp, c.nq, b.data(), c.nb, c.d, c.k, c.self, 0, got.data(), dist.data());
    std::snprintf(what, sizeof what, "cpu knn nq=%lld nb=%lld d=%d k=%d self=%d", (long long)c.nq, (long long)c.nb, c.d, c.k, c.self);
    check(rc == 0 && got == want, what);
#ifdef NEEDLE_WITH_CUDA
    int32_t devs = 0;
    char err[256];
    if (needle_cuda_devices(&devs, err, sizeof err) != 0) {
      std::printf("SKIP cuda: %s\n", err);
      continue;
    }
    const int e = 3;  // the same expert three times in one launch
    float* dq = (float*)needle_cuda_alloc(sizeof(float) * c.nq * c.d);
    float* db = (float*)needle_cuda_alloc(sizeof(float) * c.nb * c.d);
    needle_cuda_upload(dq, qp, sizeof(float) * c.nq * c.d);
    needle_cuda_upload(db, b.data(), sizeof(float) * c.nb * c.d);
    const float* dqs[e] = {c.self ? db : dq, c.self ? db : dq, c.self ? db : dq};
    const float* dbs[e] = {db, db, db};
    const float* hqs[e] = {qp, qp, qp};
    const float* hbs[e] = {b.data(), b.data(), b.data()};
    std::vector<int> gidx((size_t)e * c.nq * c.k);
    std::vector<float> gdist((size_t)e * c.nq * c.k);
    rc = needle_cuda_knn(dqs, hqs, c.nq, dbs, hbs, c.nb, c.d, e, c.k, c.self, gidx.data(), gdist.data());
    bool same = rc == 0;
    for (int t = 0; t < e && same; ++t) same = std::equal(want.begin(), want.end(), gidx.begin() + (size_t)t * c.nq * c.k);
    std::snprintf(what, sizeof what, "cuda knn nq=%lld nb=%lld d=%d k=%d self=%d (x%d experts) %s", (long long)c.nq,
                  (long long)c.nb, c.d, c.k, c.self, e, rc ? needle_cuda_last_error() : "");
    check(same, what);
    needle_cuda_free(dq);
    needle_cuda_free(db);
#endif
  }
  knn_modes();
  linear_kernels();
  pool_errors();
  // softmax gradient against a float64 naive computation: few classes (dot4 path) and many (GEMM path)
  for (int c : {7, 23}) {
    const int n = 203, d = 37;
    auto x = randn(n, d, 3);
    auto w = randn(c, d + 1, 4);
    std::vector<int32_t> y(n);
    for (int i = 0; i < n; ++i) y[i] = (i * 5 + 1) % c;
    std::vector<double> gref((size_t)c * (d + 1), 0.0);
    double lref = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<double> z(c);
      double mx = -1e300, s = 0;
      for (int j = 0; j < c; ++j) {
        z[j] = w[j * (d + 1) + d];
        for (int p = 0; p < d; ++p) z[j] += (double)w[j * (d + 1) + p] * x[i * d + p];
        mx = std::max(mx, z[j]);
      }
      for (int j = 0; j < c; ++j) s += std::exp(z[j] - mx);
      lref += std::log(s) + mx - z[y[i]];
      for (int j = 0; j < c; ++j) {
        double g = std::exp(z[j] - mx) / s - (j == y[i]);
        for (int p = 0; p < d; ++p) gref[j * (d + 1) + p] += g * x[i * d + p];
        gref[j * (d + 1) + d] += g;
      }
    }
    std::vector<float> g((size_t)c * (d + 1));
    double loss = 0;
    int rc = needle_cpu_softmax_grad(x.data(), n, d, y.data(), nullptr, c, w.data(), g.data(), &loss, 0);
    double err = 0;
    for (size_t t = 0; t < g.size(); ++t) err = std::max(err, std::fabs(g[t] - gref[t]) / (1 + std::fabs(gref[t])));
    char what[80];
    std::snprintf(what, sizeof what, "cpu softmax loss and gradient, %d classes", c);
    check(rc == 0 && std::fabs(loss - lref) < 1e-4 * (1 + lref) && err < 1e-4, what);
  }
  softmax_planned();
  linalg();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
