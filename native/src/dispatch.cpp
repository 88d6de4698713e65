// Chooses the SIMD tier once per process and remembers why (Lucene-style tiered fallback).
#include "simd.h"

namespace needle {
namespace {
struct Choice {
  const Simd* simd;
  const char* reason;
};
Choice choose() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {&simd_avx2(), "avx2+fma: CPU supports AVX2 and FMA"};
  return {&simd_scalar(), "scalar: CPU lacks AVX2 or FMA"};
#else
  return {&simd_scalar(), "scalar: not an x86-64 CPU"};
#endif
}
const Choice& choice() {
  static const Choice c = choose();
  return c;
}
}  // namespace

const Simd& simd() { return *choice().simd; }

const Bf16* simd_bf16() {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(NEEDLE_NO_AVX512)
  static const Bf16* b = [] {
    __builtin_cpu_init();
    bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
              __builtin_cpu_supports("avx512dq") &&
              __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok ? &simd_bf16_avx512() : nullptr;
  }();
  return b;
#else
  return nullptr;
#endif
}
const char* simd_reason() { return choice().reason; }

}  // namespace needle

extern "C" const char* needle_cpu_isa(void) { return needle::simd_reason(); }
