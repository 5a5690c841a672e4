#include "attncheck/simd_dispatch.hpp"

#include <stdexcept>

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace attncheck {

std::vector<SimdTarget> runnable_simd_targets() {
  std::vector<SimdTarget> targets;
  // SupportedAndGeneratedTargets() lists HWY_TARGETS (what this build compiles, the same set
  // for every kernel translation unit) intersected with what the CPU supports, best first.
  for (int64_t bits : hwy::SupportedAndGeneratedTargets()) {
    targets.push_back({bits, hwy::TargetName(bits)});
  }
  return targets;
}

ScopedSimdTarget::ScopedSimdTarget(const SimdTarget& target) {
  if ((hwy::SupportedTargets() & target.bits) == 0) {
    throw std::invalid_argument("SIMD target " + target.name + " is not runnable here");
  }
  // Also resets the cached dispatch choice, so the next dispatched call re-chooses.
  hwy::SetSupportedTargetsForTest(target.bits);
}

ScopedSimdTarget::~ScopedSimdTarget() { hwy::SetSupportedTargetsForTest(0); }

}  // namespace attncheck
