// The template every mutant is cut from: a plain online-softmax attention kernel with one
// deliberately planted bug, chosen at compile time. With Bug::none it is a correct kernel
// (the meta-tests check that every law accepts it), so a law that rejects a mutant rejects
// the bug, not the template.
//
// Algorithm (Bug::none): for each query row, walk its visible key range in blocks of k_block
// keys (KernelOptions::k_block, default kBlock: 16, 128 or 256 in the built-in mutants; one
// block when kBlock is 0), keeping the
// running max m, the running sum l of exp(s - m) and the running output acc; when a block
// raises the max, l and acc are rescaled by exp(m_old - m_new). Invariant: after each block,
// l = sum exp(s_j - m) and acc = sum exp(s_j - m) v_j over the keys seen so far. At the end
// O = acc / l and LSE = m + log l; a row with no visible key gets O = +0 and LSE = -inf.
// Decode runs the same row loop over a KV cache laid out [batch, kv_heads, capacity, dim].
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <limits>
#include <vector>

#include "attncheck/element.hpp"
#include "attncheck/half.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck::mutants {

enum class Bug {
  none,
  future_token_leak,            // causal range ends one key late: query sees the next token
  top_left_causal,              // causal aligned top-left (j <= i), not bottom-right
  padded_key_counted,           // the first padded key (j = valid_keys[b]) stays visible
  masked_nan_times_zero,        // masked keys get weight 0 but still enter acc += 0 * v
  missing_scale,                // the default scale is left out (scale 1)
  custom_scale_ignored,         // always 1/sqrt(head_dim), whatever spec.scale says
  inverted_scale,               // divides by the scale instead of multiplying
  unrescaled_running_sum,       // l is not rescaled when the max grows (acc is)
  tile_edge_drops_last_key,     // the last key of every full block but the final one is skipped
  gqa_wrong_kv_head,            // kv head h % kv_heads instead of h / group
  f16_scores,                   // scores accumulated and kept in binary16: large logits overflow
  row_sum_off,                  // the row sum is off by a relative 2^-20
  threads_change_bits,          // keys split across `threads` partial states, merged at the end
  decode_reads_past_cache_end,  // decode reads one cache slot past kv_len
  alibi_slope_of_head_zero,     // every head uses head 0's ALiBi slope
  padding_uses_first_batch,     // every batch entry uses valid_keys[0]
  mask_row_of_first_query,      // every query reads the mask row of query 0
  no_max_shift,                 // exp(s) instead of exp(s - max): overflows for large scores
  pv_accumulated_in_storage,    // acc rounded to the storage dtype after every key
  row_sum_bias,                 // the row sum is off by a relative 2^-22 (4 units of f32 roundoff)
  exp_ulp_worse,                // the weights' exp is off by up to 16 f32 ULPs (declared: 1)
  lse_without_shift,            // LSE = log(sum exp(s)): overflows past scores of ~88.7; O is right
  computes_in_f64,              // scores, exp, sums and division in double, rounded once: not f32 arithmetic
  exp_ulp_worse_but_exact_at_zero,  // as exp_ulp_worse, except exp(0) = 1 exactly, as real fast exps give
};

namespace detail {

// Where a (batch, kv head, key)'s vectors start: the forward layout or a cache's.
struct KeyValueLayout {
  const void* k;
  const void* v;
  int64_t stride_keys;  // kv_len for forward, capacity for decode
};

// Running state of one row over a set of keys.
struct RowState {
  float max = -std::numeric_limits<float>::infinity();
  float sum = 0;
  std::vector<float> acc;
};

template <Bug bug>
KeyRange row_range(const AttentionSpec& spec, const VisibilityInputs& vis, int64_t b, int64_t i) {
  const AttentionShape& s = spec.shape;
  if constexpr (bug == Bug::padding_uses_first_batch) b = 0;
  KeyRange range = visible_key_range(spec, vis, b, i);
  const int64_t position = query_position(s, i);
  if constexpr (bug == Bug::future_token_leak) {
    if (spec.causal && range.end == position + 1) range.end = std::min(range.end + 1, s.kv_len);
  }
  if constexpr (bug == Bug::top_left_causal) {
    if (spec.causal) {
      AttentionSpec unmasked = spec;
      unmasked.causal = false;
      range = visible_key_range(unmasked, vis, b, i);
      range.end = std::min(range.end, i + 1);
      if (range.end < range.begin) range.end = range.begin;
    }
  }
  if constexpr (bug == Bug::padded_key_counted) {
    if (spec.has_valid_keys && range.end == vis.valid_keys[b]) range.end = std::min(range.end + 1, s.kv_len);
  }
  return range;
}

template <Bug bug>
float effective_scale_of(const AttentionSpec& spec) {
  const double d = static_cast<double>(spec.shape.head_dim);
  if constexpr (bug == Bug::missing_scale) return spec.scale ? static_cast<float>(*spec.scale) : 1.0f;
  if constexpr (bug == Bug::custom_scale_ignored) return static_cast<float>(1.0 / std::sqrt(d));
  if constexpr (bug == Bug::inverted_scale) return static_cast<float>(1.0 / effective_scale(spec));
  return static_cast<float>(effective_scale(spec));
}

// exp(x) for the weights. exp_ulp_worse multiplies it by 1 + k 2^-23 with k in [-16, 16]
// drawn from x's bits: an error that varies from key to key (a constant factor would cancel in
// O = sum p v / sum p), as a cheap polynomial with too few terms makes.
template <Bug bug>
float weight_exp(float x) {
  const float y = std::exp(x);
  if constexpr (bug == Bug::exp_ulp_worse_but_exact_at_zero) {
    if (x == 0) return 1.0f;  // the row max's weight is exact: one-key rows show nothing
  }
  if constexpr (bug == Bug::exp_ulp_worse || bug == Bug::exp_ulp_worse_but_exact_at_zero) {
    uint32_t h = std::bit_cast<uint32_t>(x) * 0x9E3779B1u;
    h ^= h >> 15;
    const int k = static_cast<int>(h % 33u) - 16;
    return y * (1.0f + static_cast<float>(k) * 0x1p-23f);
  }
  return y;
}

template <typename T, Bug bug>
float score(const float* query, const T* key, int64_t dim, float scale) {
  if constexpr (bug == Bug::f16_scores) {
    float dot = 0;
    for (int64_t d = 0; d < dim; ++d) dot = round_to_f16(dot + round_to_f16(query[d] * load_element(key + d)));
    return round_to_f16(scale * dot);
  } else {
    float dot = 0;
    for (int64_t d = 0; d < dim; ++d) dot += query[d] * load_element(key + d);
    return scale * dot;
  }
}

// Folds keys [begin, end) into the state, block by block.
template <typename T, Bug bug, int kBlock>
void fold_keys(const AttentionSpec& spec, const VisibilityInputs& vis, const KeyValueLayout& kv, int64_t b,
               int64_t h, int64_t i, int64_t begin, int64_t end, int64_t block, const float* query, RowState& st) {
  const AttentionShape& s = spec.shape;
  const int64_t kvh = bug == Bug::gqa_wrong_kv_head ? h % s.kv_heads : kv_head_for(s, h);
  const float scale = effective_scale_of<bug>(spec);
  const float slope =
      spec.has_alibi ? vis.alibi_slopes[bug == Bug::alibi_slope_of_head_zero ? 0 : h] : 0.0f;
  const uint8_t* mask_row = nullptr;
  if (spec.mask != MaskKind::none) {
    mask_row = vis.mask + mask_row_offset(spec, b, h, bug == Bug::mask_row_of_first_query ? 0 : i);
  }
  const T* keys = static_cast<const T*>(kv.k) + (b * s.kv_heads + kvh) * kv.stride_keys * s.head_dim;
  const T* values = static_cast<const T*>(kv.v) + (b * s.kv_heads + kvh) * kv.stride_keys * s.value_dim;
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  std::vector<float> scores;
  for (int64_t j0 = begin; j0 < end; j0 += block) {
    int64_t j1 = std::min(end, j0 + block);
    if constexpr (bug == Bug::tile_edge_drops_last_key) {
      if (kBlock > 0 && j1 - j0 == block && j1 < end) --j1;  // an interior edge loses its last key
    }
    scores.assign(j1 - j0, kMasked);
    float block_max = kMasked;
    for (int64_t j = j0; j < j1; ++j) {
      // j == kv_len only in the decode_reads_past_cache_end mutant: a cache slot the mask has no entry for.
      if (mask_row != nullptr && j < s.kv_len && mask_row[j] == 0) continue;
      float x = score<T, bug>(query, keys + j * s.head_dim, s.head_dim, scale);
      if (spec.has_alibi) x -= slope * static_cast<float>(alibi_distance(s, i, j));
      scores[j - j0] = x;
      block_max = std::max(block_max, x);
    }
    if (block_max == kMasked && bug != Bug::masked_nan_times_zero) continue;  // nothing visible here
    if constexpr (bug == Bug::no_max_shift) {
      for (int64_t j = j0; j < j1; ++j) {
        if (scores[j - j0] == kMasked) continue;
        const float p = std::exp(scores[j - j0]);
        st.sum += p;
        for (int64_t c = 0; c < s.value_dim; ++c) st.acc[c] += p * load_element(values + j * s.value_dim + c);
      }
      st.max = 0;
      continue;
    }
    const float new_max = std::max(st.max, block_max);
    const float rescale = new_max == kMasked ? 1.0f : std::exp(st.max - new_max);  // exp(-inf) = 0 at the start
    if constexpr (bug != Bug::unrescaled_running_sum) st.sum *= rescale;
    for (float& a : st.acc) a *= rescale;
    st.max = new_max;
    for (int64_t j = j0; j < j1; ++j) {
      const bool masked = scores[j - j0] == kMasked;
      if (masked && bug != Bug::masked_nan_times_zero) continue;
      const float p = masked ? 0.0f : weight_exp<bug>(scores[j - j0] - new_max);
      st.sum += p;
      for (int64_t c = 0; c < s.value_dim; ++c) {
        float a = st.acc[c] + p * load_element(values + j * s.value_dim + c);
        if constexpr (bug == Bug::pv_accumulated_in_storage) a = round_through<T>(a);
        st.acc[c] = a;
      }
    }
  }
}

// Merges partial states of disjoint key sets: both rescaled to the larger max.
inline void merge(RowState& into, const RowState& part) {
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  if (part.max == kMasked) return;
  const float m = std::max(into.max, part.max);
  const float a = into.max == kMasked ? 0.0f : std::exp(into.max - m), b = std::exp(part.max - m);
  into.sum = into.sum * a + part.sum * b;
  for (size_t c = 0; c < into.acc.size(); ++c) into.acc[c] = into.acc[c] * a + part.acc[c] * b;
  into.max = m;
}

// computes_in_f64: every row in double (scores, max-shifted exp, sums, the division), O and LSE
// rounded once at the end. More accurate than the f32 arithmetic the kernel declares: its
// outputs are nearly the oracle's, correctly rounded.
template <typename T>
void attend_f64(const AttentionSpec& spec, const void* q_data, const KeyValueLayout& kv, const VisibilityInputs& vis,
                const AttentionOutputs& out) {
  const AttentionShape& s = spec.shape;
  const T* q = static_cast<const T*>(q_data);
  const double scale = effective_scale(spec);
  std::vector<double> scores(s.kv_len), acc(s.value_dim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      const T* keys = static_cast<const T*>(kv.k) + (b * s.kv_heads + kvh) * kv.stride_keys * s.head_dim;
      const T* values = static_cast<const T*>(kv.v) + (b * s.kv_heads + kvh) * kv.stride_keys * s.value_dim;
      for (int64_t i = 0; i < s.q_len; ++i) {
        const KeyRange range = visible_key_range(spec, vis, b, i);
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = range.begin; j < range.end; ++j) {
          if (!key_visible(spec, vis, b, h, i, j)) continue;
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) {
            dot += double(load_element(q + q_offset(s, b, h, i) + d)) * load_element(keys + j * s.head_dim + d);
          }
          double x = scale * dot;
          if (spec.has_alibi) x -= double(vis.alibi_slopes[h]) * double(alibi_distance(s, i, j));
          scores[j] = x;
          mx = std::max(mx, x);
        }
        T* row = static_cast<T*>(out.o) + o_offset(s, b, h, i);
        if (mx == -std::numeric_limits<double>::infinity()) {
          for (int64_t c = 0; c < s.value_dim; ++c) store_element(row + c, 0.0f);
          if (out.lse) out.lse[lse_offset(s, b, h, i)] = -std::numeric_limits<float>::infinity();
          continue;
        }
        double sum = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = range.begin; j < range.end; ++j) {
          if (!key_visible(spec, vis, b, h, i, j)) continue;
          const double p = std::exp(scores[j] - mx);
          sum += p;
          for (int64_t c = 0; c < s.value_dim; ++c) acc[c] += p * double(load_element(values + j * s.value_dim + c));
        }
        for (int64_t c = 0; c < s.value_dim; ++c) store_element(row + c, static_cast<float>(acc[c] / sum));
        if (out.lse) out.lse[lse_offset(s, b, h, i)] = static_cast<float>(mx + std::log(sum));
      }
    }
  }
}

template <typename T, Bug bug, int kBlock>
void attend(const AttentionSpec& spec, const void* q_data, const KeyValueLayout& kv, const VisibilityInputs& vis,
            const AttentionOutputs& out, const KernelOptions& options, bool decode) {
  if constexpr (bug == Bug::computes_in_f64) {
    attend_f64<T>(spec, q_data, kv, vis, out);
    return;
  }
  const AttentionShape& s = spec.shape;
  const T* q = static_cast<const T*>(q_data);
  T* o = static_cast<T*>(out.o);
  const int64_t block = kBlock > 0 ? (options.k_block > 0 ? options.k_block : kBlock) : std::max<int64_t>(s.kv_len, 1) + 1;
  const int parts = bug == Bug::threads_change_bits ? std::max(1, options.threads) : 1;
  std::vector<float> query(s.head_dim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        KeyRange range = row_range<bug>(spec, vis, b, i);
        if (decode && bug == Bug::decode_reads_past_cache_end && range.end == s.kv_len &&
            range.end < kv.stride_keys) {
          ++range.end;  // the slot after the last token, still inside the cache
        }
        for (int64_t d = 0; d < s.head_dim; ++d) query[d] = load_element(q + q_offset(s, b, h, i) + d);
        RowState total;
        total.acc.assign(s.value_dim, 0.0f);
        const int64_t n = range.size();
        for (int part = 0; part < parts; ++part) {
          RowState st;
          st.acc.assign(s.value_dim, 0.0f);
          const int64_t begin = range.begin + n * part / parts, end = range.begin + n * (part + 1) / parts;
          fold_keys<T, bug, kBlock>(spec, vis, kv, b, h, i, begin, end, block, query.data(), st);
          if (parts == 1) {
            total = std::move(st);
          } else {
            merge(total, st);
          }
        }
        T* row = o + o_offset(s, b, h, i);
        if (total.sum == 0 && total.max == -std::numeric_limits<float>::infinity()) {
          for (int64_t c = 0; c < s.value_dim; ++c) store_element(row + c, 0.0f);
          if (out.lse) out.lse[lse_offset(s, b, h, i)] = -std::numeric_limits<float>::infinity();
          continue;
        }
        float sum = total.sum;
        if constexpr (bug == Bug::row_sum_off) sum *= 1.0f + 0x1p-20f;
        if constexpr (bug == Bug::row_sum_bias) sum *= 1.0f + 0x1p-22f;
        for (int64_t c = 0; c < s.value_dim; ++c) store_element(row + c, total.acc[c] / sum);
        if (out.lse) {
          float lse = total.max + std::log(sum);
          if constexpr (bug == Bug::lse_without_shift) lse = std::log(sum * std::exp(total.max));
          out.lse[lse_offset(s, b, h, i)] = lse;
        }
      }
    }
  }
}

}  // namespace detail

template <typename T, Bug bug, int kBlock>
void mutant_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                    const KernelOptions& options) {
  detail::attend<T, bug, kBlock>(spec, in.q, {in.k, in.v, spec.shape.kv_len}, in.visibility, out, options, false);
}

template <typename T, Bug bug, int kBlock>
void mutant_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache, const VisibilityInputs& vis,
                   const AttentionOutputs& out, const KernelOptions& options) {
  detail::attend<T, bug, kBlock>(spec, q, {cache.k, cache.v, cache.capacity}, vis, out, options, true);
}

}  // namespace attncheck::mutants
