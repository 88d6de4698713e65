// Internal: a minimal fork-join over std::thread (no OpenMP runtime to ship with the JNI library).
#ifndef NEEDLE_PARALLEL_H
#define NEEDLE_PARALLEL_H
#include <algorithm>
#include <thread>
#include <vector>

namespace needle {

inline int resolve_threads(int requested) {
  int hw = (int)std::thread::hardware_concurrency();
  if (hw <= 0) hw = 1;
  return requested <= 0 ? hw : std::min(requested, hw);
}

// Runs f(t) for t in [0, threads) on threads - 1 new threads plus the caller.
template <class F>
void fork_join(int threads, F&& f) {
  std::vector<std::thread> pool;
  pool.reserve(threads > 1 ? threads - 1 : 0);
  for (int t = 1; t < threads; ++t) pool.emplace_back([&f, t] { f(t); });
  f(0);
  for (auto& th : pool) th.join();
}

}  // namespace needle
#endif
