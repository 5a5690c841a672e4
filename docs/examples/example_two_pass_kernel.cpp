// An out-of-tree kernel, as a user would write one, to show how attncheck verifies it:
//
//   cmake -S . -B build -DATTNCHECK_EXTRA_KERNELS="$PWD/docs/examples/example_two_pass_kernel.cpp"
//   cmake --build build && ATTNCHECK_KERNELS=example_two_pass_f32 ctest --test-dir build
//
// Algorithm: two passes per query row over its visible keys: the first finds the max score,
// the second accumulates exp(s - max) and exp(s - max) * v in double, normalising at the end.
// Invariant: the max term is exactly exp(0) = 1, so the sum is in [1, visible keys].
// It uses only public headers and registers itself exactly like a built-in kernel.
#include <cmath>
#include <limits>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/semantics.hpp"

namespace {

using namespace attncheck;

float score(const AttentionSpec& spec, const AttentionInputs& in, int64_t b, int64_t h, int64_t i, int64_t j) {
  const AttentionShape& s = spec.shape;
  const float* q = static_cast<const float*>(in.q) + q_offset(s, b, h, i);
  const float* k = static_cast<const float*>(in.k) + k_offset(s, b, kv_head_for(s, h), j);
  float dot = 0;
  for (int64_t d = 0; d < s.head_dim; ++d) dot += q[d] * k[d];
  float value = static_cast<float>(effective_scale(spec)) * dot;
  if (spec.has_alibi) value -= in.visibility.alibi_slopes[h] * static_cast<float>(alibi_distance(s, i, j));
  return value;
}

void two_pass_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                      const KernelOptions&) {
  const AttentionShape& s = spec.shape;
  std::vector<double> accumulator(s.value_dim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        const KeyRange keys = visible_key_range(spec, in.visibility, b, i);
        float row_max = -std::numeric_limits<float>::infinity();
        for (int64_t j = keys.begin; j < keys.end; ++j) {
          if (key_visible(spec, in.visibility, b, h, i, j)) row_max = std::max(row_max, score(spec, in, b, h, i, j));
        }
        float* o = static_cast<float*>(out.o) + o_offset(s, b, h, i);
        if (row_max == -std::numeric_limits<float>::infinity()) {
          for (int64_t c = 0; c < s.value_dim; ++c) o[c] = 0.0f;
          if (out.lse) out.lse[lse_offset(s, b, h, i)] = row_max;
          continue;
        }
        double sum = 0;
        std::fill(accumulator.begin(), accumulator.end(), 0.0);
        for (int64_t j = keys.begin; j < keys.end; ++j) {
          if (!key_visible(spec, in.visibility, b, h, i, j)) continue;
          const double p = std::exp(static_cast<double>(score(spec, in, b, h, i, j) - row_max));
          sum += p;
          const float* v = static_cast<const float*>(in.v) + v_offset(s, b, kv_head_for(s, h), j);
          for (int64_t c = 0; c < s.value_dim; ++c) accumulator[c] += p * v[c];
        }
        for (int64_t c = 0; c < s.value_dim; ++c) o[c] = static_cast<float>(accumulator[c] / sum);
        if (out.lse) out.lse[lse_offset(s, b, h, i)] = static_cast<float>(row_max + std::log(sum));
      }
    }
  }
}

KernelInfo two_pass_info() {
  KernelInfo k;
  k.name = "example_two_pass_f32";
  k.dtype = DType::f32;
  k.capabilities = kAllForwardFeatures;
  // exp and the sums are in double, below f32's roundoff; 1 f32 ULP covers the f32 argument.
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = false};
  k.algorithm = "example (out of tree): two passes per row, double accumulation";
  k.forward = &two_pass_forward;
  return k;
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(example_two_pass_f32, two_pass_info());
