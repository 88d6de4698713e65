// Chooses the SIMD tier once per process and remembers why (Lucene-style tiered fallback).
#include "simd.h"

namespace needle {
namespace {
struct Choice {
  const Simd* simd;
  const char* reason;
};
bool has_avx512() {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(NEEDLE_NO_AVX512)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

Choice choose() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#ifndef NEEDLE_NO_AVX512
  if (has_avx512()) return {&simd_avx512(), "avx512: CPU supports AVX-512 (F, BW, VL, DQ), AVX2 and FMA"};
#endif
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
const char* simd_reason() { return choice().reason; }

const Bf16* simd_bf16() {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(NEEDLE_NO_AVX512)
  static const Bf16* b = has_avx512() && __builtin_cpu_supports("avx512bf16") ? &simd_bf16_avx512() : nullptr;
  return b;
#else
  return nullptr;
#endif
}

}  // namespace needle

extern "C" const char* needle_cpu_isa(void) { return needle::simd_reason(); }
