/*
 * Needle native kernels: the C ABI shared by the CPU library (native/) and the CUDA library (cuda/).
 *
 * Conventions, for every function here:
 *  - matrices are row-major float32; an "expert" is an n x d matrix of embeddings of the task's n examples;
 *  - distances are squared Euclidean; neighbour lists are ordered by (distance, index) ascending, so ties go to
 *    the lowest index;
 *  - "self" mode means query == base and row i never lists itself (excluded by index, not by distance);
 *  - functions return 0 (NEEDLE_OK) or one of the NEEDLE_E* codes; they never print and never abort.
 */
#ifndef NEEDLE_H
#define NEEDLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEEDLE_OK 0
#define NEEDLE_EINVAL 1   /* an argument is out of range */
#define NEEDLE_ENOMEM 2   /* host or device allocation failed */
#define NEEDLE_ECUDA 3    /* a CUDA runtime call failed */
#define NEEDLE_ENODEV 4   /* no usable CUDA device */
#define NEEDLE_ENOTPD 5   /* a matrix that must be symmetric positive definite is not (Cholesky failed) */
#define NEEDLE_ENOCONV 6  /* an iterative LAPACK solver did not converge */
#define NEEDLE_ENOLAPACK 7 /* built without BLAS/LAPACK (NEEDLE_NO_LAPACK): the float64 functions are absent */

/* Extra float32 candidates kept per row for the exact (float64) refinement: the fast GEMM-form distance
 * ||q||^2 + ||b||^2 - 2 q.b loses digits; candidates within its worst-case error bound are re-ranked exactly,
 * and a row with more than k + this many such candidates is decided by an exact scan. */
#define NEEDLE_RERANK_EXTRA 4

/* ---- CPU (native/) ---- */

/* Which SIMD tier the CPU kernels run on this machine ("avx2+fma" or "scalar"), and why. */
const char* needle_cpu_isa(void);

/* k nearest base rows of every query row, exact: float32 blocked GEMM candidates, then float64 refinement.
 * idx and dist are nq x k; dist holds exact squared distances (as float). In self mode nq == nb and
 * query == base. k must be <= nb (nb - 1 in self mode). threads <= 0 means all cores. */
int needle_cpu_knn(const float* query, int64_t nq, const float* base, int64_t nb, int32_t d, int32_t k,
                   int32_t self, int32_t threads, int32_t* idx, float* dist);

/* needle_cpu_knn with flags: NEEDLE_KNN_F32 keeps the candidate pass in float32 even where the bfloat16 one is
 * available; NEEDLE_KNN_BF16 uses bfloat16 wherever the CPU has it, at any d and without redoing in float32 an expert
 * whose rows need exact scans (for tests of that path). 0: the default choice. Results are identical either way. */
#define NEEDLE_KNN_F32 1
#define NEEDLE_KNN_BF16 2
int needle_cpu_knn_ex(const float* query, int64_t nq, const float* base, int64_t nb, int32_t d, int32_t k, int32_t self,
                      int32_t threads, int32_t flags, int32_t* idx, float* dist);

/* Leave-one-out k-NN (self mode) of e experts of n rows each: x[t] is expert t's n x d[t] matrix. idx and dist are
 * e x n x k. With several threads each expert runs on one thread (handed out as threads free up). */
int needle_cpu_knn_batch(int32_t e, const float* const* x, int64_t n, const int32_t* d, int32_t k, int32_t threads,
                         int32_t flags, int32_t* idx, float* dist);

/* Which pass the k-NN candidates run in by default ("bfloat16 (AVX512-BF16)" or "float32"). */
const char* needle_cpu_knn_tier(void);

/* Softmax cross-entropy of a linear model and its gradient.
 * x: n x d, y: n labels in [0, c), w: c x (d + 1) (row j = class j's weights, last entry its bias).
 * rw: optional per-row weights (NULL = all 1; 0 drops a row, e.g. outside an SGD minibatch).
 * loss = sum_i rw_i * -log softmax(x_i W^T + b)[y_i]; grad (c x (d + 1)) = d loss / d w. No regulariser here. */
int needle_cpu_softmax_grad(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c,
                            const float* w, float* grad, double* loss, int32_t threads);

/* needle_cpu_softmax_grad for e experts sharing labels (and row weights): x[t] is expert t's n x d[t] matrix; w and
 * grad hold the experts' c x (d[t] + 1) matrices one after another; loss receives e values. Rows are taken in blocks
 * (logits, coefficients and gradient of a block while it is in cache). With several threads, experts run one per
 * thread when there are at least as many experts as threads; a lone expert's rows are split into fixed ranges, so the
 * result depends only on the thread count. */
int needle_cpu_softmax_grad_batch(int32_t e, const float* const* x, int32_t n, const int32_t* d, const int32_t* y,
                                  const float* rw, int32_t c, const float* w, float* grad, double* loss, int32_t threads);

/* ---- CPU float64 dense linear algebra (native/src/linalg.cpp), on the system's BLAS/LAPACK ----
 * Matrices here are row-major float64. Where the library was built without BLAS/LAPACK every function below
 * returns NEEDLE_ENOLAPACK and the caller computes another way. threads <= 0 means all cores; it sets
 * OpenBLAS's thread count (process-wide) when the BLAS is OpenBLAS, and is ignored otherwise. */

/* 1 if built with BLAS/LAPACK, else 0. */
int needle_cpu_has_lapack(void);
/* Which BLAS/LAPACK the float64 functions run on (e.g. OpenBLAS's configuration), or why there is none. */
const char* needle_cpu_lapack(void);

/* The Gram matrix of x (rows x cols): X^T X (cols x cols) when by_columns, else X X^T (rows x rows); exactly
 * symmetric (one triangle by dsyrk, mirrored). */
int needle_cpu_gram(const double* x, int64_t rows, int64_t cols, int32_t by_columns, double* out, int32_t threads);

/* A matrix product, row-major: c (n x m) = a b with a (n x k), or a^T b with a (k x n) when trans_a; by dgemm. */
int needle_cpu_gemm(const double* a, const double* b, int64_t n, int64_t k, int64_t m, int32_t trans_a, double* c, int32_t threads);

/* Symmetric eigendecomposition of a (n x n, overwritten) by dsyevd: values_desc (n) largest first; vectors
 * (n x n) with column k the unit eigenvector of values_desc[k]. NEEDLE_ENOCONV if dsyevd does not converge. */
int needle_cpu_eigh(double* a, int64_t n, double* values_desc, double* vectors, int32_t threads);

/* Solves A X = B for a symmetric positive definite a (n x n, lower triangle read, not modified) and
 * b (n x m, overwritten by X). NEEDLE_ENOTPD if the Cholesky factorisation fails. */
int needle_cpu_solve_spd(const double* a, int64_t n, double* b, int64_t m, int32_t threads);

/* log det A of a symmetric positive definite a (n x n, lower triangle read, not modified) into logdet.
 * NEEDLE_ENOTPD if the Cholesky factorisation fails. */
int needle_cpu_logdet_spd(const double* a, int64_t n, double* logdet, int32_t threads);

/* ---- CUDA (cuda/) ---- */

/* Number of usable devices; on failure returns NEEDLE_ENODEV/NEEDLE_ECUDA and writes the reason to err. */
int needle_cuda_devices(int32_t* count, char* err, int32_t errlen);
/* Name, memory and compute capability of device 0. */
int needle_cuda_describe(char* out, int32_t outlen);

/* Device buffers. */
void* needle_cuda_alloc(int64_t bytes);
int needle_cuda_free(void* p);
int needle_cuda_upload(void* dst, const void* src, int64_t bytes);
int needle_cuda_download(void* dst, const void* src, int64_t bytes);

/* Batched exact k-NN for e experts of equal shape, one launch: dq[t] / db[t] are expert t's query and base
 * matrices on the device, hq[t] / hb[t] the same matrices in host memory (for the float64 refinement, which
 * runs on the host, the same code as the CPU path's). Writes idx and dist, e x nq x k, as needle_cpu_knn does. */
int needle_cuda_knn(const float* const* dq, const float* const* hq, int64_t nq, const float* const* db,
                    const float* const* hb, int64_t nb, int32_t d, int32_t e, int32_t k, int32_t self,
                    int32_t* idx, float* dist);

/* Batched softmax loss and gradient for e experts sharing labels: x[t] (device) n x d, y (device) n,
 * rw (device, optional) n row weights, w (host) e x c x (d + 1). Writes grad (host) e x c x (d + 1) and loss (host) e. */
int needle_cuda_softmax_grad(const float* const* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c, int32_t e,
                             const float* w, float* grad, double* loss);

/* Last CUDA error text of this thread (empty if none). */
const char* needle_cuda_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
