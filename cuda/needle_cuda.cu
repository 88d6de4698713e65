// Needle CUDA kernels (no cuBLAS): batched exact-candidate k-NN and batched softmax gradients.
//
// k-NN: one launch covers a batch of experts (blockIdx.z) of equal shape. Each block owns 64 query rows,
// walks every base row in tiles of 64, computes the 64 x 64 dot tile in shared memory (FP32, register
// blocked 4 x 4 per thread) and folds the distances ||q||^2 + ||b||^2 - 2 q.b straight into per-row
// candidate lists: no N x N matrix is ever stored, so any N fits. The float64 re-rank of the candidates
// runs on the host (needle::refine), the same code the CPU path uses.
#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#include "needle/needle.h"
#include "refine.h"  // native/src: the host refinement shared with the CPU path

namespace {

thread_local char g_err[512] = "";

int fail(cudaError_t e, const char* what) {
  std::snprintf(g_err, sizeof g_err, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
  return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ? NEEDLE_ENODEV : NEEDLE_ECUDA;
}
#define CK(call, what)                         \
  do {                                         \
    cudaError_t e_ = (call);                   \
    if (e_ != cudaSuccess) return fail(e_, what); \
  } while (0)

constexpr int TQ = 64;   // query rows per block
constexpr int TBR = 64;  // base rows per tile
constexpr int BK = 16;   // depth of one shared-memory stage
constexpr int MAXM = 16; // largest candidate list

__global__ void norms_kernel(const float* const* xs, int64_t rows, int d, float* out) {
  int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* p = xs[blockIdx.y] + r * d;
  out += blockIdx.y * rows;
  double s = 0;
  for (int k = 0; k < d; ++k) s += (double)p[k] * p[k];
  out[r] = (float)s;
}

__device__ inline bool better(float d, int j, float bd, int bj) { return d < bd || (d == bd && j < bj); }

__global__ void __launch_bounds__(256) knn_kernel(const float* const* __restrict__ qs, int64_t nq,
                                                  const float* const* __restrict__ bs, int64_t nb, int d,
                                                  const float* __restrict__ qn, const float* __restrict__ bn, int m,
                                                  int self, int* __restrict__ cand, float* __restrict__ cand_dist) {
  __shared__ float As[BK][TQ + 4];
  __shared__ float Bs[BK][TBR + 4];
  __shared__ float Ds[TQ][TBR + 1];
  const int e = blockIdx.z;
  const float* __restrict__ q = qs[e];
  const float* __restrict__ b = bs[e];
  qn += (int64_t)e * nq;
  bn += (int64_t)e * nb;
  cand += (int64_t)e * nq * m;
  cand_dist += (int64_t)e * nq * m;
  const int64_t i0 = (int64_t)blockIdx.x * TQ;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;

  float best_d[MAXM];
  int best_j[MAXM];
  for (int s = 0; s < MAXM; ++s) { best_d[s] = FLT_MAX; best_j[s] = INT_MAX; }

  for (int64_t j0 = 0; j0 < nb; j0 += TBR) {
    float acc[4][4] = {};
    for (int k0 = 0; k0 < d; k0 += BK) {
      // stage BK columns of 64 query rows and 64 base rows (zero past the edges)
      for (int t = tid; t < BK * TQ; t += blockDim.x) {
        int r = t / BK, k = t % BK;
        int64_t qi = i0 + r, bj = j0 + r;
        As[k][r] = (qi < nq && k0 + k < d) ? q[qi * d + k0 + k] : 0.f;
        Bs[k][r] = (bj < nb && k0 + k < d) ? b[bj * d + k0 + k] : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        float a[4], bb[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) { a[u] = As[k][ty * 4 + u]; bb[u] = Bs[k][tx * 4 + u]; }
#pragma unroll
        for (int u = 0; u < 4; ++u)
#pragma unroll
          for (int v = 0; v < 4; ++v) acc[u][v] = fmaf(a[u], bb[v], acc[u][v]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int u = 0; u < 4; ++u)
#pragma unroll
      for (int v = 0; v < 4; ++v) Ds[ty * 4 + u][tx * 4 + v] = acc[u][v];
    __syncthreads();
    // fused masked selection: thread r < 64 folds its row of the tile into its candidate list
    if (tid < TQ && i0 + tid < nq) {
      const int64_t i = i0 + tid;
      const float qi = qn[i];
      for (int c = 0; c < TBR && j0 + c < nb; ++c) {
        const int64_t j = j0 + c;
        if (self && j == i) continue;
        float dv = fmaxf(qi + bn[j] - 2.f * Ds[tid][c], 0.f);
        if (!better(dv, (int)j, best_d[m - 1], best_j[m - 1])) continue;
        int s = m - 1;
        while (s > 0 && better(dv, (int)j, best_d[s - 1], best_j[s - 1])) {
          best_d[s] = best_d[s - 1];
          best_j[s] = best_j[s - 1];
          --s;
        }
        best_d[s] = dv;
        best_j[s] = (int)j;
      }
    }
    __syncthreads();
  }
  if (tid < TQ && i0 + tid < nq)
    for (int s = 0; s < m; ++s) {
      cand[(i0 + tid) * m + s] = best_j[s] == INT_MAX ? -1 : best_j[s];
      cand_dist[(i0 + tid) * m + s] = best_d[s];
    }
}

// One warp per (expert, row): logits, softmax, loss and the coefficients p - onehot(y).
__global__ void softmax_kernel(const float* const* __restrict__ xs, int n, int d, const int* __restrict__ y,
                               const float* __restrict__ rw, int c,
                               const float* __restrict__ w, float* __restrict__ coef, double* __restrict__ rowloss) {
  const int e = blockIdx.y;
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (warp >= n) return;
  const float* xr = xs[e] + (int64_t)warp * d;
  const float* we = w + (int64_t)e * c * (d + 1);
  float* cr = coef + ((int64_t)e * n + warp) * c;
  float mx = -FLT_MAX;
  for (int j = 0; j < c; ++j) {
    const float* wj = we + (int64_t)j * (d + 1);
    float s = 0;
    for (int k = lane; k < d; k += 32) s = fmaf(xr[k], wj[k], s);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    s += wj[d];
    if (lane == 0) cr[j] = s;
    mx = fmaxf(mx, s);
  }
  __syncwarp();
  if (lane == 0) {
    double z = 0;
    for (int j = 0; j < c; ++j) z += exp((double)(cr[j] - mx));
    const int yi = y[warp];
    const float wr = rw ? rw[warp] : 1.f;
    rowloss[(int64_t)e * n + warp] = wr == 0.f ? 0.0 : wr * (log(z) - (double)(cr[yi] - mx));
    for (int j = 0; j < c; ++j) cr[j] = wr * ((float)(exp((double)(cr[j] - mx)) / z) - (j == yi ? 1.f : 0.f));
  }
}

// grad[e][j][k] = sum_i coef[e][i][j] * x[e][i][k] (k == d: the bias, x = 1). Threads run along k (coalesced).
__global__ void grad_kernel(const float* const* __restrict__ xs, int n, int d, int c, const float* __restrict__ coef,
                            float* __restrict__ grad) {
  const int e = blockIdx.z, j = blockIdx.y;
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k > d) return;
  const float* xe = xs[e];
  const float* ce = coef + (int64_t)e * n * c;
  float s = 0;
  for (int i = 0; i < n; ++i) s = fmaf(ce[(int64_t)i * c + j], k < d ? xe[(int64_t)i * d + k] : 1.f, s);
  grad[((int64_t)e * c + j) * (d + 1) + k] = s;
}

}  // namespace

extern "C" {

const char* needle_cuda_last_error(void) { return g_err; }

int needle_cuda_devices(int32_t* count, char* err, int32_t errlen) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    int rc = fail(e, "cudaGetDeviceCount");
    if (err && errlen > 0) std::snprintf(err, errlen, "%s", g_err);
    *count = 0;
    return rc;
  }
  *count = n;
  if (n == 0) {
    if (err && errlen > 0) std::snprintf(err, errlen, "no CUDA device");
    return NEEDLE_ENODEV;
  }
  return NEEDLE_OK;
}

int needle_cuda_describe(char* out, int32_t outlen) {
  cudaDeviceProp p;
  CK(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  std::snprintf(out, outlen, "%s, %.1f GiB, compute capability %d.%d, %d SMs", p.name,
                p.totalGlobalMem / 1073741824.0, p.major, p.minor, p.multiProcessorCount);
  return NEEDLE_OK;
}

void* needle_cuda_alloc(int64_t bytes) {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, (size_t)bytes);
  if (e != cudaSuccess) {
    fail(e, "cudaMalloc");
    return nullptr;
  }
  return p;
}

int needle_cuda_free(void* p) {
  CK(cudaFree(p), "cudaFree");
  return NEEDLE_OK;
}

int needle_cuda_upload(void* dst, const void* src, int64_t bytes) {
  CK(cudaMemcpy(dst, src, (size_t)bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  return NEEDLE_OK;
}

int needle_cuda_download(void* dst, const void* src, int64_t bytes) {
  CK(cudaMemcpy(dst, src, (size_t)bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
  return NEEDLE_OK;
}

int needle_cuda_knn(const float* const* dq, const float* const* hq, int64_t nq, const float* const* db,
                    const float* const* hb, int64_t nb, int32_t d, int32_t e, int32_t k, int32_t self, int32_t* idx,
                    float* dist) {
  if (!dq || !hq || !db || !hb || !idx || !dist || nq <= 0 || nb <= 0 || d <= 0 || e <= 0 || k <= 0) return NEEDLE_EINVAL;
  const int64_t avail = self ? nb - 1 : nb;
  if (k > avail || k + NEEDLE_RERANK_EXTRA > MAXM || nq > INT_MAX || nb > INT_MAX) return NEEDLE_EINVAL;
  const int m = (int)(k + NEEDLE_RERANK_EXTRA < avail ? k + NEEDLE_RERANK_EXTRA : avail);
  float *qn = nullptr, *bn = nullptr, *dd = nullptr;
  const float** dptr = nullptr;
  int* dc = nullptr;
  const size_t cands = (size_t)e * nq * m;
  std::vector<int32_t> cand(cands);
  std::vector<float> cand_dist(cands), hqn((size_t)e * nq), hbn((size_t)e * nb);
  std::vector<const float*> ptrs(2 * (size_t)e);
  for (int t = 0; t < e; ++t) { ptrs[t] = dq[t]; ptrs[e + t] = db[t]; }
  int rc = NEEDLE_OK;
  cudaError_t err;
  if ((err = cudaMalloc(&qn, sizeof(float) * e * nq)) != cudaSuccess ||
      (err = cudaMalloc(&bn, sizeof(float) * e * nb)) != cudaSuccess ||
      (err = cudaMalloc(&dptr, sizeof(float*) * 2 * e)) != cudaSuccess ||
      (err = cudaMalloc(&dc, sizeof(int) * cands)) != cudaSuccess ||
      (err = cudaMalloc(&dd, sizeof(float) * cands)) != cudaSuccess) {
    rc = fail(err, "cudaMalloc (knn scratch)");
  } else if ((err = cudaMemcpy(dptr, ptrs.data(), sizeof(float*) * 2 * e, cudaMemcpyHostToDevice)) != cudaSuccess) {
    rc = fail(err, "cudaMemcpy H2D (pointers)");
  } else {
    norms_kernel<<<dim3((unsigned)((nq + 255) / 256), (unsigned)e), 256>>>(dptr, nq, d, qn);
    norms_kernel<<<dim3((unsigned)((nb + 255) / 256), (unsigned)e), 256>>>(dptr + e, nb, d, bn);
    dim3 grid((unsigned)((nq + TQ - 1) / TQ), 1, (unsigned)e);
    knn_kernel<<<grid, 256>>>(dptr, nq, dptr + e, nb, d, qn, bn, m, self, dc, dd);
    if ((err = cudaGetLastError()) != cudaSuccess) rc = fail(err, "knn_kernel launch");
    else if ((err = cudaMemcpy(cand.data(), dc, sizeof(int) * cands, cudaMemcpyDeviceToHost)) != cudaSuccess ||
             (err = cudaMemcpy(cand_dist.data(), dd, sizeof(float) * cands, cudaMemcpyDeviceToHost)) != cudaSuccess ||
             (err = cudaMemcpy(hqn.data(), qn, sizeof(float) * e * nq, cudaMemcpyDeviceToHost)) != cudaSuccess ||
             (err = cudaMemcpy(hbn.data(), bn, sizeof(float) * e * nb, cudaMemcpyDeviceToHost)) != cudaSuccess)
      rc = fail(err, "knn_kernel / cudaMemcpy D2H");
  }
  cudaFree(qn);
  cudaFree(bn);
  cudaFree(dptr);
  cudaFree(dc);
  cudaFree(dd);
  for (int t = 0; t < e && rc == NEEDLE_OK; ++t) {
    const float* bnt = hbn.data() + (size_t)t * nb;
    needle::Refine r{hq[t], nq, hb[t], nb, d, self != 0, cand.data() + (size_t)t * nq * m,
                     cand_dist.data() + (size_t)t * nq * m, m, k, hqn.data() + (size_t)t * nq,
                     (double)*std::max_element(bnt, bnt + nb), idx + (size_t)t * nq * k, dist + (size_t)t * nq * k};
    rc = needle::refine(r, 0);
  }
  return rc;
}

int needle_cuda_softmax_grad(const float* const* x, int32_t n, int32_t d, const int32_t* y, const float* rw, int32_t c, int32_t e,
                             const float* w, float* grad, double* loss) {
  if (!x || !y || !w || !grad || !loss || n <= 0 || d <= 0 || c <= 1 || e <= 0) return NEEDLE_EINVAL;
  const size_t wsize = (size_t)e * c * (d + 1);
  float *dw = nullptr, *dcoef = nullptr, *dg = nullptr;
  const float** dx = nullptr;
  double* dl = nullptr;
  int rc = NEEDLE_OK;
  cudaError_t err;
  std::vector<double> rowloss((size_t)e * n);
  if ((err = cudaMalloc(&dw, sizeof(float) * wsize)) != cudaSuccess ||
      (err = cudaMalloc(&dg, sizeof(float) * wsize)) != cudaSuccess ||
      (err = cudaMalloc(&dcoef, sizeof(float) * e * n * c)) != cudaSuccess ||
      (err = cudaMalloc(&dx, sizeof(float*) * e)) != cudaSuccess ||
      (err = cudaMalloc(&dl, sizeof(double) * e * n)) != cudaSuccess) {
    rc = fail(err, "cudaMalloc (softmax scratch)");
  } else if ((err = cudaMemcpy(dw, w, sizeof(float) * wsize, cudaMemcpyHostToDevice)) != cudaSuccess ||
             (err = cudaMemcpy(dx, x, sizeof(float*) * e, cudaMemcpyHostToDevice)) != cudaSuccess) {
    rc = fail(err, "cudaMemcpy H2D (weights)");
  } else {
    dim3 g1((unsigned)((n * 32 + 255) / 256), (unsigned)e);
    softmax_kernel<<<g1, 256>>>(dx, n, d, y, rw, c, dw, dcoef, dl);
    dim3 g2((unsigned)((d + 1 + 127) / 128), (unsigned)c, (unsigned)e);
    grad_kernel<<<g2, 128>>>(dx, n, d, c, dcoef, dg);
    if ((err = cudaGetLastError()) != cudaSuccess) rc = fail(err, "softmax kernels launch");
    else if ((err = cudaMemcpy(grad, dg, sizeof(float) * wsize, cudaMemcpyDeviceToHost)) != cudaSuccess ||
             (err = cudaMemcpy(rowloss.data(), dl, sizeof(double) * e * n, cudaMemcpyDeviceToHost)) != cudaSuccess)
      rc = fail(err, "softmax kernels / cudaMemcpy D2H");
    else
      for (int t = 0; t < e; ++t) {
        double s = 0;
        for (int i = 0; i < n; ++i) s += rowloss[(size_t)t * n + i];
        loss[t] = s;
      }
  }
  cudaFree(dw);
  cudaFree(dg);
  cudaFree(dcoef);
  cudaFree(dx);
  cudaFree(dl);
  return rc;
}

}  // extern "C"
