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

/* Softmax cross-entropy of a linear model and its gradient.
 * x: n x d, y: n labels in [0, c), w: c x (d + 1) (row j = class j's weights, last entry its bias).
 * rw: optional per-row weights (NULL = all 1; 0 drops a row, e.g. outside an SGD minibatch).
 * loss = sum_i rw_i * -log softmax(x_i W^T + b)[y_i]; grad (c x (d + 1)) = d loss / d w. No regulariser here. */
int needle_cpu_softmax_grad(const float* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c,
                            const float* w, float* grad, double* loss, int32_t threads);

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
