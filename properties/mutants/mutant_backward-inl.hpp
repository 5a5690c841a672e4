// The template every backward mutant is cut from: the dense backward of semantics.hpp
// ("Backward") walking each row's visible keys in blocks of k_block keys (KernelOptions::k_block,
// default kBlock), with one deliberately planted bug chosen at compile time. With
// BackwardBug::none it is a correct backward (the meta-tests check that every law naming one of
// its mutants accepts it), so a law that rejects a mutant rejects the bug, not the template.
//
// Algorithm (BackwardBug::none): per query row (b, h, i) that sees a key, D = dO . O (f32, from
// the O handed in), then per visible key j, in blocks: P = exp(scale q.k_j + bias - LSE),
// dP = dO . v_j, dS = P (dP - D); dQ += dS k_j, dK_j += scale dS q, dV_j += P dO, all in f32,
// rows in order, so the block size and the thread count change no bit. dQ is scaled once at the
// end; dK and dV are rounded to the storage dtype once, after every row.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "attncheck/element.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck::mutants {

enum class BackwardBug {
  none,
  missing_scale_in_dk,        // dK_j += dS q: the scale is left out of the key gradient
  gqa_dk_first_head_only,     // dK of a kv head takes only the first query head of its group
  delta_from_previous_row,    // D_i = dO_i . O_{i-1} (0 for the first row of a head)
  masked_key_gets_gradient,   // mask-hidden keys inside the row's range get P = exp(s - LSE) too
  lse_off,                    // P recomputed from LSE + 2^-10 instead of the LSE handed in
  dv_wrong_key,               // dV_j is written to key kv_len - 1 - j (a transposed index)
  tile_edge_drops_key,        // the last key of every full block but the final one is skipped
  threads_change_bits,        // rows split across `threads` partial dK/dV sums, added at the end
  dv_accumulated_in_storage,  // dV rounded to the storage dtype after every row's contribution
};

template <typename T, BackwardBug bug, int kBlock>
void mutant_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                     const KernelOptions& options) {
  const AttentionShape& s = spec.shape;
  const T* q = static_cast<const T*>(in.q);
  const T* k = static_cast<const T*>(in.k);
  const T* v = static_cast<const T*>(in.v);
  const T* o = static_cast<const T*>(in.o);
  const T* d_out = static_cast<const T*>(in.d_out);
  const float scale = static_cast<float>(effective_scale(spec));
  const float dk_scale = bug == BackwardBug::missing_scale_in_dk ? 1.0f : scale;
  const VisibilityInputs& vis = in.visibility;
  const int64_t block = options.k_block > 0 ? options.k_block : (kBlock > 0 ? kBlock : s.kv_len);
  const int parts = bug == BackwardBug::threads_change_bits ? std::max(1, options.threads) : 1;
  const int64_t group = s.q_heads / s.kv_heads;

  // One dK and dV accumulator per part (rows i % parts); one part unless the bug splits them.
  std::vector<std::vector<float>> dk(parts, std::vector<float>(static_cast<size_t>(k_elements(s)), 0.0f));
  std::vector<std::vector<float>> dv(parts, std::vector<float>(static_cast<size_t>(v_elements(s)), 0.0f));
  std::vector<float> query(s.head_dim), grad_out(s.value_dim), dq(s.head_dim);
  std::vector<uint8_t> visible(s.kv_len), counted(s.kv_len);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      const bool feeds_dk = bug != BackwardBug::gqa_dk_first_head_only || h % group == 0;
      const float slope = spec.has_alibi ? vis.alibi_slopes[h] : 0.0f;
      for (int64_t i = 0; i < s.q_len; ++i) {
        const int part = static_cast<int>(i % parts);
        const KeyRange range = visible_key_range(spec, vis, b, i);
        const uint8_t* mask_row = spec.mask != MaskKind::none ? vis.mask + mask_row_offset(spec, b, h, i) : nullptr;
        std::fill(dq.begin(), dq.end(), 0.0f);
        bool any_visible = false;
        for (int64_t j = range.begin; j < range.end; ++j) {
          visible[j] = mask_row == nullptr || mask_row[j] != 0;
          counted[j] = visible[j] || bug == BackwardBug::masked_key_gets_gradient;
          any_visible = any_visible || visible[j];
        }
        T* dq_out = static_cast<T*>(out.dq) + q_offset(s, b, h, i);
        if (!any_visible) {
          for (int64_t d = 0; d < s.head_dim; ++d) store_element(dq_out + d, 0.0f);
          continue;
        }
        for (int64_t d = 0; d < s.head_dim; ++d) query[d] = load_element(q + q_offset(s, b, h, i) + d);
        float delta = 0.0f;
        for (int64_t c = 0; c < s.value_dim; ++c) {
          grad_out[c] = load_element(d_out + o_offset(s, b, h, i) + c);
          if constexpr (bug == BackwardBug::delta_from_previous_row) {
            if (i > 0) delta += grad_out[c] * load_element(o + o_offset(s, b, h, i - 1) + c);
          } else {
            delta += grad_out[c] * load_element(o + o_offset(s, b, h, i) + c);
          }
        }
        float lse = in.lse[lse_offset(s, b, h, i)];
        if constexpr (bug == BackwardBug::lse_off) lse += 0x1p-10f;
        for (int64_t start = range.begin; start < range.end; start += block) {
          const int64_t stop = std::min(range.end, start + block);
          for (int64_t j = start; j < stop; ++j) {
            if (!counted[j]) continue;
            if (bug == BackwardBug::tile_edge_drops_key && j == stop - 1 && stop < range.end) continue;
            const T* key = k + k_offset(s, b, kvh, j);
            const T* value = v + v_offset(s, b, kvh, j);
            float dot = 0.0f;
            for (int64_t d = 0; d < s.head_dim; ++d) dot += query[d] * load_element(key + d);
            float score = scale * dot;
            if (spec.has_alibi) score += -slope * static_cast<float>(alibi_distance(s, i, j));
            const float p = std::exp(score - lse);
            const int64_t dv_key = bug == BackwardBug::dv_wrong_key ? s.kv_len - 1 - j : j;
            float* dv_row = dv[part].data() + v_offset(s, b, kvh, dv_key);
            float dp = 0.0f;
            for (int64_t c = 0; c < s.value_dim; ++c) {
              dp += grad_out[c] * load_element(value + c);
              dv_row[c] += p * grad_out[c];
              if constexpr (bug == BackwardBug::dv_accumulated_in_storage) dv_row[c] = round_through<T>(dv_row[c]);
            }
            const float ds = p * (dp - delta);
            const float scaled_ds = dk_scale * ds;
            float* dk_row = dk[part].data() + k_offset(s, b, kvh, j);
            for (int64_t d = 0; d < s.head_dim; ++d) {
              dq[d] += ds * load_element(key + d);
              if (feeds_dk) dk_row[d] += scaled_ds * query[d];
            }
          }
        }
        for (int64_t d = 0; d < s.head_dim; ++d) store_element(dq_out + d, scale * dq[d]);
      }
    }
  }
  for (int p = 1; p < parts; ++p) {
    for (size_t e = 0; e < dk[0].size(); ++e) dk[0][e] += dk[p][e];
    for (size_t e = 0; e < dv[0].size(); ++e) dv[0][e] += dv[p][e];
  }
  T* dk_out = static_cast<T*>(out.dk);
  T* dv_out = static_cast<T*>(out.dv);
  for (size_t e = 0; e < dk[0].size(); ++e) store_element(dk_out + e, dk[0][e]);
  for (size_t e = 0; e < dv[0].size(); ++e) store_element(dv_out + e, dv[0][e]);
}

}  // namespace attncheck::mutants
