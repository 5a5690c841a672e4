// Extra resident memory of the tiled forward (tiled_f32, B = 1, Hq = Hkv = 8, D = 128,
// non-causal, all threads) at L = 2048 and L = 16384. Checks no reference. Each length runs
// in a fresh child process, so no scratch or thread survives from an earlier call: the inputs
// and outputs are allocated and touched, the peak RSS (VmHWM) is reset through
// /proc/self/clear_refs, the kernel runs once, and extra = VmHWM - VmRSS before the call: the
// kernel's own scratch, its worker threads' stacks and allocator slack. The growth from
// L = 2048 to 16384 is compared with one head's L x L f32 score matrix at L = 16384 (1 GiB),
// which a kernel that materialised the scores would need (x8 for all heads at once).
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"

namespace {

using namespace attncheck;

// A field of /proc/self/status in bytes ("VmHWM", "VmRSS").
double status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024.0;
  }
  throw std::runtime_error("/proc/self/status has no " + field);
}

void reset_peak() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  if (!clear) throw std::runtime_error("cannot reset VmHWM through /proc/self/clear_refs");
}

// Extra peak RSS of one tiled_f32 call at length L, in this process.
double measure_extra_bytes(int64_t length) {
  const int64_t heads = 8, dim = 128;
  AttentionSpec spec;
  spec.shape = AttentionShape{1, heads, heads, length, length, dim, dim};
  const size_t n = static_cast<size_t>(heads * length * dim);
  std::vector<float> q(n), k(n), v(n), o(n), lse(static_cast<size_t>(heads * length));
  SplitMix64 rng(1);
  for (size_t i = 0; i < n; ++i) {
    q[i] = static_cast<float>(rng.uniform(-1, 1));
    k[i] = static_cast<float>(rng.uniform(-1, 1));
    v[i] = static_cast<float>(rng.uniform(-1, 1));
    o[i] = 0.0f;
  }
  reset_peak();
  const double before = status_bytes("VmRSS");
  find_kernel("tiled_f32")->forward(spec, {q.data(), k.data(), v.data(), {}}, {o.data(), lse.data()}, {});
  return status_bytes("VmHWM") - before;
}

// The same in a child process (this process never starts the kernels' worker threads, so
// fork() is safe).
double extra_bytes(int64_t length) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    double extra = -1;
    try {
      extra = measure_extra_bytes(length);
    } catch (...) {
    }
    const ssize_t written = write(fds[1], &extra, sizeof extra);
    _exit(written == sizeof extra ? 0 : 1);
  }
  close(fds[1]);
  double extra = -1;
  const ssize_t got = read(fds[0], &extra, sizeof extra);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (got != sizeof extra || extra < 0) throw std::runtime_error("the measuring child failed");
  return extra;
}

void BM_TiledForwardPeakMemory(benchmark::State& state) {
  double small = 0, large = 0;
  for (auto _ : state) {
    small = extra_bytes(2048);
    large = extra_bytes(16384);
  }
  const double score_matrix = 16384.0 * 16384.0 * sizeof(float);
  state.counters["extra_MiB_L2048"] = small / (1 << 20);
  state.counters["extra_MiB_L16384"] = large / (1 << 20);
  state.counters["growth_MiB"] = (large - small) / (1 << 20);
  state.counters["growth_over_L2_scores"] = (large - small) / score_matrix;
}
BENCHMARK(BM_TiledForwardPeakMemory)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
