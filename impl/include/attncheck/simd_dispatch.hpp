// Which SIMD targets the optimized kernels were compiled for, and a test hook that restricts
// run-time dispatch to one of them, so the portable fallbacks (EMU128, SSE4, ...) are checked
// on a machine whose best target is AVX2 or AVX-512.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attncheck {

struct SimdTarget {
  int64_t bits = 0;  // Highway's HWY_* bit
  std::string name;  // "AVX2", "SSE4", "EMU128", ...
};

// The targets compiled into the kernels that this CPU can run, best first.
std::vector<SimdTarget> runnable_simd_targets();

// While alive, every dispatched kernel runs `target` (which must be runnable). For tests:
// not thread-safe, and nothing else may change the dispatch at the same time.
class ScopedSimdTarget {
 public:
  explicit ScopedSimdTarget(const SimdTarget& target);
  ~ScopedSimdTarget();
  ScopedSimdTarget(const ScopedSimdTarget&) = delete;
  ScopedSimdTarget& operator=(const ScopedSimdTarget&) = delete;
};

}  // namespace attncheck
