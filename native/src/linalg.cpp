// Float64 dense linear algebra for the estimators (Gram matrices, symmetric eigenproblems, SPD solves and
// log-determinants) on the system's BLAS/LAPACK: dsyrk, dsyevd, dpotrf, dpotrs. Built with NEEDLE_NO_LAPACK
// when CMake found none; every function then returns NEEDLE_ENOLAPACK and the Java side computes instead.
//
// Layout: the C API is row-major, LAPACK is column-major. A row-major matrix is the transpose of the same
// memory read column-major, so a symmetric input is passed as is; uplo 'U' in column-major is the row-major
// lower triangle, the triangle EJML's Cholesky (the Java reference) reads. Outputs are transposed back where
// the layouts differ (eigenvectors, multi-column right-hand sides).
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <new>
#include <string>
#include <vector>

#include "needle/needle.h"
#include "parallel.h"

#ifdef NEEDLE_NO_LAPACK

#ifndef NEEDLE_NO_LAPACK_REASON
#define NEEDLE_NO_LAPACK_REASON "built without BLAS/LAPACK"
#endif

extern "C" int needle_cpu_has_lapack(void) { return 0; }
extern "C" const char* needle_cpu_lapack(void) { return NEEDLE_NO_LAPACK_REASON; }
extern "C" int needle_cpu_gram(const double*, int64_t, int64_t, int32_t, double*, int32_t) { return NEEDLE_ENOLAPACK; }
extern "C" int needle_cpu_gemm(const double*, const double*, int64_t, int64_t, int64_t, int32_t, double*, int32_t) { return NEEDLE_ENOLAPACK; }
extern "C" int needle_cpu_eigh(double*, int64_t, double*, double*, int32_t) { return NEEDLE_ENOLAPACK; }
extern "C" int needle_cpu_solve_spd(const double*, int64_t, double*, int64_t, int32_t) { return NEEDLE_ENOLAPACK; }
extern "C" int needle_cpu_logdet_spd(const double*, int64_t, double*, int32_t) { return NEEDLE_ENOLAPACK; }

#else

#ifndef NEEDLE_LAPACK_NAME
#define NEEDLE_LAPACK_NAME "BLAS/LAPACK"
#endif

// Fortran BLAS/LAPACK (LP64: 32-bit integers). The trailing size_t arguments are gfortran's hidden lengths of
// the character arguments; a library that does not expect them ignores them (the caller pops arguments).
extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c, const int* ldc,
            size_t, size_t);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc, size_t, size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info, size_t, size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, size_t);
// OpenBLAS extras, absent (null) with another BLAS
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
char* openblas_get_config(void) __attribute__((weak));
}

namespace {

void set_threads(int32_t threads) {
  if (!openblas_set_num_threads) return;
  int want = needle::resolve_threads(threads);
  if (!openblas_get_num_threads || openblas_get_num_threads() != want) openblas_set_num_threads(want);
}

bool fits(int64_t v) { return v > 0 && v <= INT_MAX; }

// dst (cols x rows, row-major) = src^T for src (rows x cols, row-major), in cache-sized tiles
void transpose(const double* src, int64_t rows, int64_t cols, double* dst) {
  constexpr int64_t T = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += T)
    for (int64_t j0 = 0; j0 < cols; j0 += T) {
      const int64_t i1 = std::min(rows, i0 + T), j1 = std::min(cols, j0 + T);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
    }
}

// copies the lower triangle of a row-major n x n matrix onto its upper triangle, in tiles
void mirror_lower(double* g, int64_t n) {
  constexpr int64_t T = 32;
  for (int64_t i0 = 0; i0 < n; i0 += T)
    for (int64_t j0 = i0; j0 < n; j0 += T) {
      const int64_t i1 = std::min(n, i0 + T), j1 = std::min(n, j0 + T);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = std::max(j0, i + 1); j < j1; ++j) g[i * n + j] = g[j * n + i];
    }
}

// Cholesky of a copy of a into l (column-major 'U' = row-major lower triangle read); 0, ENOTPD or EINVAL
int cholesky(const double* a, int n, std::vector<double>& l) {
  l.assign(a, a + (size_t)n * n);
  int info = 0;
  dpotrf_("U", &n, l.data(), &n, &info, 1);
  if (info > 0) return NEEDLE_ENOTPD;
  return info < 0 ? NEEDLE_EINVAL : NEEDLE_OK;
}

const std::string& describe() {
  static const std::string s = [] {
    std::string out = NEEDLE_LAPACK_NAME;
    if (openblas_get_config) {
      const char* c = openblas_get_config();
      out = std::string("OpenBLAS (") + (c ? c : "?") + ")";
    }
    return out;
  }();
  return s;
}

}  // namespace

extern "C" int needle_cpu_has_lapack(void) { return 1; }

extern "C" const char* needle_cpu_lapack(void) {
  try {
    return describe().c_str();
  } catch (...) {
    return NEEDLE_LAPACK_NAME;
  }
}

extern "C" int needle_cpu_gram(const double* x, int64_t rows, int64_t cols, int32_t by_columns, double* out,
                               int32_t threads) {
  if (!x || !out || !fits(rows) || !fits(cols)) return NEEDLE_EINVAL;
  set_threads(threads);
  // column-major, x is M = X^T (cols x rows, ld cols): X^T X = M M^T, X X^T = M^T M
  const int n = (int)(by_columns ? cols : rows), k = (int)(by_columns ? rows : cols), lda = (int)cols;
  const double one = 1, zero = 0;
  dsyrk_("U", by_columns ? "N" : "T", &n, &k, &one, x, &lda, &zero, out, &n, 1, 1);
  mirror_lower(out, n);  // column-major upper = row-major lower
  return NEEDLE_OK;
}

extern "C" int needle_cpu_gemm(const double* a, const double* b, int64_t n, int64_t k, int64_t m, int32_t trans_a, double* c,
                               int32_t threads) {
  if (!a || !b || !c || !fits(n) || !fits(k) || !fits(m)) return NEEDLE_EINVAL;
  set_threads(threads);
  // row-major C (n x m) is column-major C^T (m x n): C^T = B^T op(A)^T
  const int M = (int)m, N = (int)n, K = (int)k, ldb = (int)m, lda = (int)(trans_a ? n : k);
  const double one = 1, zero = 0;
  dgemm_("N", trans_a ? "T" : "N", &M, &N, &K, &one, b, &ldb, a, &lda, &zero, c, &M, 1, 1);
  return NEEDLE_OK;
}

extern "C" int needle_cpu_eigh(double* a, int64_t n64, double* values_desc, double* vectors, int32_t threads) {
  if (!a || !values_desc || !vectors || !fits(n64) || n64 > 30000) return NEEDLE_EINVAL;  // 2n^2 workspace fits int
  try {
    set_threads(threads);
    const int n = (int)n64;
    std::vector<double> w(n);
    int info = 0, lwork = -1, liwork = -1, iq = 0;
    double q = 0;
    dsyevd_("V", "U", &n, a, &n, w.data(), &q, &lwork, &iq, &liwork, &info, 1, 1);
    if (info != 0) return NEEDLE_EINVAL;
    lwork = std::max(1, (int)q);
    liwork = std::max(1, iq);
    std::vector<double> work(lwork);
    std::vector<int> iwork(liwork);
    dsyevd_("V", "U", &n, a, &n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
    if (info > 0) return NEEDLE_ENOCONV;
    if (info < 0) return NEEDLE_EINVAL;
    // ascending -> descending; a holds eigenvector j in its j-th column-major column, i.e. row-major row j
    for (int k = 0; k < n; ++k) values_desc[k] = w[n - 1 - k];
    std::vector<double> rev((size_t)n * n);
    for (int k = 0; k < n; ++k) std::copy(a + (size_t)(n - 1 - k) * n, a + (size_t)(n - k) * n, rev.data() + (size_t)k * n);
    transpose(rev.data(), n, n, vectors);  // row k of rev is eigenvector k; it becomes column k
    return NEEDLE_OK;
  } catch (const std::bad_alloc&) {
    return NEEDLE_ENOMEM;
  } catch (...) {
    return NEEDLE_EINVAL;
  }
}

extern "C" int needle_cpu_solve_spd(const double* a, int64_t n64, double* b, int64_t m64, int32_t threads) {
  if (!a || !b || !fits(n64) || !fits(m64) || n64 * m64 > INT_MAX) return NEEDLE_EINVAL;
  try {
    set_threads(threads);
    const int n = (int)n64, m = (int)m64;
    std::vector<double> l;
    if (int rc = cholesky(a, n, l)) return rc;
    int info = 0;
    if (m == 1) {  // a column vector is the same memory in either layout
      dpotrs_("U", &n, &m, l.data(), &n, b, &n, &info, 1);
    } else {
      std::vector<double> bc((size_t)n * m);
      transpose(b, n, m, bc.data());  // row-major n x m -> column-major n x m
      dpotrs_("U", &n, &m, l.data(), &n, bc.data(), &n, &info, 1);
      transpose(bc.data(), m, n, b);
    }
    return info == 0 ? NEEDLE_OK : NEEDLE_EINVAL;
  } catch (const std::bad_alloc&) {
    return NEEDLE_ENOMEM;
  } catch (...) {
    return NEEDLE_EINVAL;
  }
}

extern "C" int needle_cpu_logdet_spd(const double* a, int64_t n64, double* logdet, int32_t threads) {
  if (!a || !logdet || !fits(n64)) return NEEDLE_EINVAL;
  try {
    set_threads(threads);
    const int n = (int)n64;
    std::vector<double> l;
    if (int rc = cholesky(a, n, l)) return rc;
    double s = 0;
    for (int i = 0; i < n; ++i) s += std::log(l[(size_t)i * n + i]);
    *logdet = 2 * s;
    return NEEDLE_OK;
  } catch (const std::bad_alloc&) {
    return NEEDLE_ENOMEM;
  } catch (...) {
    return NEEDLE_EINVAL;
  }
}

#endif
