// Kernel timings (not a test): the k-NN candidate passes and the softmax gradient, one thread, CPU time, best of a few
// repetitions, on cpu_peers.py-like data (class centres N(0,1) + 1.5 N(0,1)) and on data made to stress the k-NN bound
// (a large common offset: what centring is for). Built by CMake as needle_bench; run ./needle_bench from the build folder.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

#include "needle/needle.h"

static double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static std::vector<float> data(int n, int d, int classes, float offset, std::vector<int32_t>& y) {
  std::mt19937 g(7);
  std::normal_distribution<float> nd;
  std::vector<std::vector<float>> centres(classes, std::vector<float>(d));
  for (auto& c : centres)
    for (auto& v : c) v = nd(g);
  std::vector<float> x((size_t)n * d);
  y.resize(n);
  for (int i = 0; i < n; ++i) {
    y[i] = i % classes;
    for (int p = 0; p < d; ++p) x[(size_t)i * d + p] = centres[y[i]][p] + 1.5f * nd(g) + offset;
  }
  return x;
}

template <class F>
static double best(int reps, F f) {
  double b = 1e300;
  for (int r = 0; r < reps; ++r) {
    double t = cpu_ms();
    f();
    b = std::min(b, cpu_ms() - t);
  }
  return b;
}

int main() {
  std::printf("# cpu isa: %s; k-NN tier: %s\n", needle_cpu_isa(), needle_cpu_knn_tier());
  std::printf("knn-loo k=1, N=1000, one thread, best of 5 (ms CPU): D, data, float32 pass, bfloat16 pass\n");
  for (int d : {128, 256, 512, 2048})
    for (float offset : {0.f, 100.f}) {
      std::vector<int32_t> y;
      auto x = data(1000, d, 10, offset, y);
      std::vector<int32_t> idx(1000);
      std::vector<float> dist(1000);
      double f32 = best(5, [&] { needle_cpu_knn_ex(x.data(), 1000, x.data(), 1000, d, 1, 1, 1, NEEDLE_KNN_F32, idx.data(), dist.data()); });
      double bf = best(5, [&] { needle_cpu_knn_ex(x.data(), 1000, x.data(), 1000, d, 1, 1, 1, NEEDLE_KNN_BF16, idx.data(), dist.data()); });
      std::printf("  %5d  %-10s %8.2f %8.2f\n", d, offset == 0 ? "gaussian" : "offset 100", f32, bf);
    }
  std::printf("softmax loss and gradient, N=800, C=10, one thread, best of 20 (ms CPU per evaluation): D\n");
  for (int d : {64, 128, 512, 2048}) {
    std::vector<int32_t> y;
    auto x = data(800, d, 10, 0.f, y);
    std::vector<float> w((size_t)10 * (d + 1), 0.01f), g(w.size());
    double loss;
    double t = best(20, [&] { needle_cpu_softmax_grad(x.data(), 800, d, y.data(), nullptr, 10, w.data(), g.data(), &loss, 1); });
    std::printf("  %5d %8.3f\n", d, t);
  }
}
