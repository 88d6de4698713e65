// Internal: the exact float64 refinement of float32 k-NN candidates, shared by the CPU and CUDA paths.
#ifndef NEEDLE_REFINE_H
#define NEEDLE_REFINE_H
#include <cstdint>

namespace needle {

struct Refine {
  const float* query;      // nq x d, host
  int64_t nq;
  const float* base;       // nb x d, host
  int64_t nb;
  int32_t d;
  bool self;               // query == base, row i excluded from its own list
  const int32_t* cand;     // nq x m candidate indices by (approximate distance, index); -1 = empty
  const float* cand_dist;  // nq x m their float32 GEMM-form distances
  int32_t m, k;
  const float* qn;         // nq squared norms of the query rows (as used for cand_dist)
  double bn_max;           // the largest squared norm of a base row
  int32_t* idx;            // out: nq x k
  float* dist;             // out: nq x k exact squared distances
  const double* err = nullptr;  // optional: per query row, a bound on |cand_dist - exact| for every base row (replaces
                                // the float32 bound from qn and bn_max; the bfloat16 pass sets it)
};

// Whether row i's candidate list may miss a true k-nearest (its last candidate lies inside the error window), so
// that refine decides the row by an exact scan of every base row.
bool needs_scan(const Refine& r, int64_t i);

// Exact k-NN from the candidates (see knn.cpp); threads <= 0 means all cores.
int refine(const Refine& r, int threads);

}  // namespace needle
#endif
