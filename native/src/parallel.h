// Internal: a minimal fork-join over a persistent pool of std::threads (no OpenMP runtime to ship with the JNI
// library). Each calling thread owns its pool (thread_local), so backends used from different Java threads never
// share or wait on one another's workers, and a kernel called hundreds of times per expert (the linear probe's
// gradient) starts no thread after its first call.
#ifndef NEEDLE_PARALLEL_H
#define NEEDLE_PARALLEL_H
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "needle/needle.h"

namespace needle {

inline int resolve_threads(int requested) {
  int hw = (int)std::thread::hardware_concurrency();
  if (hw <= 0) hw = 1;
  return requested <= 0 ? hw : std::min(requested, hw);
}

// Workers sleep on a condition variable between jobs (no spinning: the machine may be shared).
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Runs job(t) for t in [0, threads) on threads - 1 workers plus the caller; returns when all are done.
  template <class F>
  void run(int threads, F& job) {
    grow(threads - 1);
    {
      std::lock_guard<std::mutex> g(m_);
      call_ = [](void* f, int t) { (*static_cast<F*>(f))(t); };
      fn_ = &job;
      active_ = threads - 1;
      pending_ = threads - 1;
      ++generation_;
    }
    wake_.notify_all();
    job(0);
    std::unique_lock<std::mutex> g(m_);
    done_.wait(g, [&] { return pending_ == 0; });
  }

 private:
  void grow(int n) {
    while ((int)workers_.size() < n) {
      int id = (int)workers_.size() + 1;  // worker i runs job(i)
      workers_.emplace_back([this, id] { loop(id); });
    }
  }

  void loop(int id) {
    uint64_t seen = 0;
    for (;;) {
      void (*call)(void*, int);
      void* fn;
      {
        std::unique_lock<std::mutex> g(m_);
        wake_.wait(g, [&] { return stop_ || (generation_ != seen && id <= active_); });
        if (stop_) return;
        seen = generation_;
        call = call_;
        fn = fn_;
      }
      call(fn, id);
      std::lock_guard<std::mutex> g(m_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  void (*call_)(void*, int) = nullptr;
  void* fn_ = nullptr;
  uint64_t generation_ = 0;
  int active_ = 0, pending_ = 0;
  bool stop_ = false;
};

inline Pool& thread_pool() {
  static thread_local Pool pool;
  return pool;
}

inline bool& in_parallel() {
  static thread_local bool inside = false;
  return inside;
}

// Runs f(t) for t in [0, threads) on the calling thread's pool (threads - 1 workers) plus the caller. Called from
// inside another fork_join's job it runs the f(t) one after another on the calling thread (no nested pools).
template <class F>
void fork_join(int threads, F&& f) {
  if (threads <= 1 || in_parallel()) {
    for (int t = 0; t < std::max(threads, 1); ++t) f(t);
    return;
  }
  // an exception (in practice std::bad_alloc) must not leave a worker's thread function (std::terminate, which takes
  // the JVM down) nor unwind the caller while workers still use its stack: the first one is kept and rethrown on the
  // calling thread once every job has returned
  std::exception_ptr error;
  std::mutex error_lock;
  auto job = [&](int t) {
    in_parallel() = true;
    try {
      f(t);
    } catch (...) {
      std::lock_guard<std::mutex> g(error_lock);
      if (!error) error = std::current_exception();
    }
    in_parallel() = false;
  };
  thread_pool().run(threads, job);
  if (error) std::rethrow_exception(error);
}

// Runs an extern "C" entry point's body: the kernels raise exceptions only when an allocation fails (std::bad_alloc,
// std::length_error from a vector), which becomes NEEDLE_ENOMEM; the C API never throws.
template <class F>
int guarded(F&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return NEEDLE_ENOMEM;
  }
}

// Runs body(i, t) for every i in [0, n), handed out one at a time to `threads` threads (t: the thread's index), so a
// thread slowed down by other processes on a shared machine takes fewer items instead of holding up the rest.
template <class F>
void parallel_for(int threads, int64_t n, F&& body) {
  std::atomic<int64_t> next{0};
  fork_join((int)std::min<int64_t>(threads, std::max<int64_t>(n, 1)), [&](int t) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) body(i, t);
  });
}

}  // namespace needle
#endif
