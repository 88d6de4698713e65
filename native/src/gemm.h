// Internal: packing for the 6 x 16 GEMM micro-kernel (simd.h), shared by the k-NN and softmax kernels.
#ifndef NEEDLE_GEMM_H
#define NEEDLE_GEMM_H
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "simd.h"

namespace needle {

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float, AlignedFree>;

inline Buffer aligned_floats(size_t count) {
  size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
  return Buffer(static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64)));
}

// A growing aligned buffer, kept per calling thread (static thread_local) so that kernels called once per
// expert or per optimiser step reuse memory instead of page-faulting fresh allocations.
struct Scratch {
  Buffer buf;
  size_t cap = 0;
  float* get(size_t count) {
    if (count > cap) {
      buf = aligned_floats(count);
      cap = buf ? count : 0;
    }
    return buf.get();
  }
};

// Packs rows of x (n x d, row stride ld) into panels of `width` rows: panel p holds rows [p*width, p*width+width) as
// d x width, k-major; rows past n are zero. Reads `width` rows side by side so the writes are sequential.
inline void pack(const float* x, int64_t n, int d, int64_t ld, int width, int64_t padded_rows, float* out) {
  for (int64_t r0 = 0; r0 < padded_rows; r0 += width) {
    float* panel = out + r0 * d;
    const float* rows[NR];
    int live = (int)std::max<int64_t>(0, std::min<int64_t>(width, n - r0));
    for (int w = 0; w < live; ++w) rows[w] = x + (r0 + w) * ld;
    for (int p = 0; p < d; ++p) {
      float* dst = panel + (int64_t)p * width;
      int w = 0;
      for (; w < live; ++w) dst[w] = rows[w][p];
      for (; w < width; ++w) dst[w] = 0.f;
    }
  }
}

}  // namespace needle
#endif
