// What the kernel tests run a kernel on: a test's spec with every feature the kernel does not
// declare taken out, so that a kernel with some features (an out-of-tree one, say) is checked on
// as much of each case as it supports instead of failing on the rest, and the test never
// depends on which other kernels are selected.
#pragma once

#include <string>

#include "attncheck/kernel.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck {

// `spec` without the features `kernel` lacks: causal, padding, window, mask, ALiBi and a custom
// scale are dropped, grouped-query heads become one kv head per query head, and value_dim
// becomes head_dim.
inline AttentionSpec within_capabilities(const KernelInfo& kernel, AttentionSpec spec) {
  if (!kernel.has(kCausal)) spec.causal = false;
  if (!kernel.has(kPadding)) spec.has_valid_keys = false;
  if (!kernel.has(kWindow)) spec.window_left = spec.window_right = kUnboundedWindow;
  if (!kernel.has(kBoolMask)) spec.mask = MaskKind::none;
  if (!kernel.has(kAlibi)) spec.has_alibi = false;
  if (!kernel.has(kCustomScale)) spec.scale.reset();
  if (!kernel.has(kGroupedQuery)) spec.shape.kv_heads = spec.shape.q_heads;
  if (!kernel.has(kValueDim)) spec.shape.value_dim = spec.shape.head_dim;
  return spec;
}

}  // namespace attncheck
