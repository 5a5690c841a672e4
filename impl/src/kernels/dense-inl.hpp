// Dense reference kernel, shared by dense_f32.cpp, dense_f16.cpp and dense_bf16.cpp.
//
// Algorithm: for each query row, materialise that row's scores over its visible key range,
// take the max m, form p_j = exp(s_j - m) with libm's expf, sum them, accumulate
// O = sum_j p_j v_j, and divide once by the sum; LSE = m + log(sum). Memory: one score row.
// Accumulation in f32, sequential, in key order; inputs of 16-bit types are widened exactly.
// Invariant: every p_j <= 1 with the max term exactly 1, so the sum lies in [1, visible keys]
// and never overflows. This is the "standard attention" of Golden et al. (2024), the
// baseline the optimized kernels are held to (docs/error-model.md).
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "attncheck/element.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/kernel_math.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck::kernels {

template <typename T>
void dense_forward(const AttentionSpec& spec, const AttentionInputs& inputs,
                   const AttentionOutputs& outputs, const KernelOptions& /*options*/) {
  const AttentionShape& s = spec.shape;
  const T* q = static_cast<const T*>(inputs.q);
  const T* k = static_cast<const T*>(inputs.k);
  const T* v = static_cast<const T*>(inputs.v);
  T* o = static_cast<T*>(outputs.o);
  const float scale = static_cast<float>(effective_scale(spec));
  const VisibilityInputs& vis = inputs.visibility;
  constexpr float kMasked = -std::numeric_limits<float>::infinity();

  std::vector<float> scores(s.kv_len);
  std::vector<float> query(s.head_dim);
  std::vector<float> accumulator(s.value_dim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      const float slope = spec.has_alibi ? vis.alibi_slopes[h] : 0.0f;
      for (int64_t i = 0; i < s.q_len; ++i) {
        const KeyRange range = visible_key_range(spec, vis, b, i);
        const uint8_t* mask_row =
            spec.mask != MaskKind::none ? vis.mask + mask_row_offset(spec, b, h, i) : nullptr;
        for (int64_t d = 0; d < s.head_dim; ++d) query[d] = load_element(q + q_offset(s, b, h, i) + d);

        float row_max = kMasked;
        for (int64_t j = range.begin; j < range.end; ++j) {
          if (mask_row != nullptr && mask_row[j] == 0) {
            scores[j] = kMasked;
            continue;
          }
          const T* key = k + k_offset(s, b, kvh, j);
          float dot = 0.0f;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += query[d] * load_element(key + d);
          float score = scale * dot;
          if (spec.has_alibi) score += -slope * static_cast<float>(alibi_distance(s, i, j));
          scores[j] = score;
          if (score > row_max) row_max = score;
        }

        T* out = o + o_offset(s, b, h, i);
        if (row_max == kMasked) {  // no visible key: zeros and LSE = -inf, by definition
          for (int64_t c = 0; c < s.value_dim; ++c) store_element(out + c, 0.0f);
          if (outputs.lse) outputs.lse[lse_offset(s, b, h, i)] = kMasked;
          continue;
        }
        float sum = 0.0f;
        std::fill(accumulator.begin(), accumulator.end(), 0.0f);
        for (int64_t j = range.begin; j < range.end; ++j) {
          if (scores[j] == kMasked) continue;  // skip, so a NaN in a masked V never enters
          const float p = std::exp(scores[j] - row_max);
          sum += p;
          const T* value = v + v_offset(s, b, kvh, j);
          for (int64_t c = 0; c < s.value_dim; ++c) accumulator[c] += p * load_element(value + c);
        }
        for (int64_t c = 0; c < s.value_dim; ++c) store_element(out + c, accumulator[c] / sum);
        if (outputs.lse) outputs.lse[lse_offset(s, b, h, i)] = row_max + std::log(sum);
      }
    }
  }
}

inline KernelInfo dense_kernel_info(const char* name, DType dtype, ForwardFn forward) {
  KernelInfo k;
  k.name = name;
  k.dtype = dtype;
  k.capabilities = kAllForwardFeatures;
  // glibc's expf is correctly rounded in nearly all cases; its documented bound is < 1 ULP.
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = false};
  k.algorithm = "dense: one score row at a time, max-shifted softmax, libm expf, f32 accumulation";
  k.forward = forward;
  k.exp = &libm_exp;
  return k;
}

}  // namespace attncheck::kernels
