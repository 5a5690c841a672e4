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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attncheck/element.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/kernel_math.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck::kernels {

// s_ij = scale * (q . k_j) - slope * |p(i) - j|, in f32, d ascending: the one score of the dense
// forward and backward.
template <typename T>
inline float dense_score(const AttentionSpec& spec, const float* query, const T* key, float scale, float slope,
                         int64_t i, int64_t j) {
  float dot = 0.0f;
  for (int64_t d = 0; d < spec.shape.head_dim; ++d) dot += query[d] * load_element(key + d);
  float score = scale * dot;
  if (spec.has_alibi) score += -slope * static_cast<float>(alibi_distance(spec.shape, i, j));
  return score;
}

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
          const float score = dense_score(spec, query.data(), k + k_offset(s, b, kvh, j), scale, slope, i, j);
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

// Dense reference backward (semantics.hpp, "Backward"), shared by the three dtypes.
//
// Algorithm: for each query row, recompute p_j = exp(s_j - LSE) with libm's expf over the
// visible keys (s_j as the forward computes it), dP_j = dO . v_j, D = dO . O from the O handed
// in, dS_j = p_j (dP_j - D); dQ = scale * sum_j dS_j k_j is stored once the row is done; dK and dV
// accumulate in f32 buffers of the kv heads (every query head of a group adds into the same
// rows) and are stored after the last row. Memory: one score row plus f32 dK and dV.
// Accumulation in f32, sequential, in (head, row, key) order. Invariant: only visible keys
// are read, so a NaN in an invisible K/V slot, or in dO of a row that sees no key, reaches no
// gradient; those rows store dQ = 0 and invisible keys dK = dV = 0.
template <typename T>
void dense_backward(const AttentionSpec& spec, const BackwardInputs& inputs, const BackwardOutputs& outputs,
                    const KernelOptions& /*options*/) {
  const AttentionShape& s = spec.shape;
  const T* q = static_cast<const T*>(inputs.q);
  const T* k = static_cast<const T*>(inputs.k);
  const T* v = static_cast<const T*>(inputs.v);
  const T* o = static_cast<const T*>(inputs.o);
  const T* d_out = static_cast<const T*>(inputs.d_out);
  const float scale = static_cast<float>(effective_scale(spec));
  const VisibilityInputs& vis = inputs.visibility;

  std::vector<float> dk(static_cast<size_t>(k_elements(s)), 0.0f), dv(static_cast<size_t>(v_elements(s)), 0.0f);
  std::vector<float> query(s.head_dim), grad_out(s.value_dim), dq(s.head_dim);
  std::vector<uint8_t> visible(s.kv_len);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      const float slope = spec.has_alibi ? vis.alibi_slopes[h] : 0.0f;
      for (int64_t i = 0; i < s.q_len; ++i) {
        const KeyRange range = visible_key_range(spec, vis, b, i);
        const uint8_t* mask_row =
            spec.mask != MaskKind::none ? vis.mask + mask_row_offset(spec, b, h, i) : nullptr;
        std::fill(dq.begin(), dq.end(), 0.0f);
        bool any_visible = false;
        for (int64_t j = range.begin; j < range.end; ++j) {
          visible[j] = mask_row == nullptr || mask_row[j] != 0;
          any_visible = any_visible || visible[j];
        }
        T* dq_out = static_cast<T*>(outputs.dq) + q_offset(s, b, h, i);
        if (!any_visible) {  // O = 0 by definition: no gradient flows through this row
          for (int64_t d = 0; d < s.head_dim; ++d) store_element(dq_out + d, 0.0f);
          continue;
        }
        for (int64_t d = 0; d < s.head_dim; ++d) query[d] = load_element(q + q_offset(s, b, h, i) + d);
        float delta = 0.0f;  // D = dO . O
        for (int64_t c = 0; c < s.value_dim; ++c) {
          grad_out[c] = load_element(d_out + o_offset(s, b, h, i) + c);
          delta += grad_out[c] * load_element(o + o_offset(s, b, h, i) + c);
        }
        const float lse = inputs.lse[lse_offset(s, b, h, i)];
        for (int64_t j = range.begin; j < range.end; ++j) {
          if (!visible[j]) continue;
          const T* key = k + k_offset(s, b, kvh, j);
          const T* value = v + v_offset(s, b, kvh, j);
          // The forward's score, bit for bit, so P = exp(s - LSE) meets the forward's LSE.
          const float p = std::exp(dense_score(spec, query.data(), key, scale, slope, i, j) - lse);
          float dp = 0.0f;
          float* dv_row = dv.data() + v_offset(s, b, kvh, j);
          for (int64_t c = 0; c < s.value_dim; ++c) {
            dp += grad_out[c] * load_element(value + c);
            dv_row[c] += p * grad_out[c];
          }
          const float ds = p * (dp - delta);
          const float scaled_ds = scale * ds;
          float* dk_row = dk.data() + k_offset(s, b, kvh, j);
          for (int64_t d = 0; d < s.head_dim; ++d) {
            dq[d] += ds * load_element(key + d);
            dk_row[d] += scaled_ds * query[d];
          }
        }
        for (int64_t d = 0; d < s.head_dim; ++d) store_element(dq_out + d, scale * dq[d]);
      }
    }
  }
  T* dk_out = static_cast<T*>(outputs.dk);
  T* dv_out = static_cast<T*>(outputs.dv);
  for (size_t e = 0; e < dk.size(); ++e) store_element(dk_out + e, dk[e]);
  for (size_t e = 0; e < dv.size(); ++e) store_element(dv_out + e, dv[e]);
}

inline KernelInfo dense_kernel_info(const char* name, DType dtype, ForwardFn forward, BackwardFn backward) {
  KernelInfo k;
  k.name = name;
  k.dtype = dtype;
  k.capabilities = kAllForwardFeatures;
  // glibc's expf is correctly rounded in nearly all cases; its documented bound is < 1 ULP.
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = false};
  k.algorithm = "dense: one score row at a time, max-shifted softmax, libm expf, f32 accumulation";
  k.forward = forward;
  k.backward = backward;
  k.exp = &libm_exp;
  return k;
}

}  // namespace attncheck::kernels
