// The one definition of what attention means in attncheck. Every kernel, the oracle, the
// properties and the golden files follow this header; docs/semantics.md explains it.
//
//   scores  s[b,h,i,j] = scale * sum_d Q[b,h,i,d] * K[b,kv_head(h),j,d] + bias[h,i,j]
//   weights w[b,h,i,j] = exp(s - LSE[b,h,i]) over the keys j visible to (b,h,i), 0 elsewhere
//   LSE     [b,h,i]    = log sum_{visible j} exp(s[b,h,i,j])          (natural logarithm)
//   output  O[b,h,i,c] = sum_j w[b,h,i,j] * V[b,kv_head(h),j,c]
//
// A query that sees no key has O = 0 and LSE = -inf (never NaN).
//
// Backward. For a loss L with upstream gradient dO = dL/dO (laid out as O), per query row
// (b,h,i) that sees at least one key, with P = w and g = kv_head(h):
//   dP[b,h,i,j] = sum_c dO[b,h,i,c] * V[b,g,j,c]
//   D [b,h,i]   = sum_c dO[b,h,i,c] * O[b,h,i,c]       (= sum_j P[b,h,i,j] dP[b,h,i,j])
//   dS[b,h,i,j] = P[b,h,i,j] * (dP[b,h,i,j] - D[b,h,i])   (0 for an invisible key)
//   dQ[b,h,i,d] = scale * sum_j dS[b,h,i,j] * K[b,g,j,d]
//   dK[b,g,j,d] = scale * sum over the heads h of group g and rows i of dS[b,h,i,j] * Q[b,h,i,d]
//   dV[b,g,j,c] =         sum over the heads h of group g and rows i of P[b,h,i,j] * dO[b,h,i,c]
// A row that sees no key contributes nothing (O = 0 there is a definition, not a function of
// Q, K, V): its dQ is 0 and its dO reaches no gradient. ALiBi slopes, masks and valid lengths
// get no gradient. A key or value no query sees gets exactly 0.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace attncheck {

// Thrown for any inconsistent specification or input; field() names the offending field
// (e.g. "kv_heads", "valid_keys[2]") so the CLI and file readers can point at it.
class SpecError : public std::invalid_argument {
 public:
  SpecError(std::string field, std::string message)
      : std::invalid_argument(field + ": " + message),
        field_(std::move(field)),
        message_(std::move(message)) {}
  const std::string& field() const noexcept { return field_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string field_;
  std::string message_;
};

// Sizes. Layouts are row-major and contiguous:
//   Q [batch, q_heads, q_len, head_dim]    K [batch, kv_heads, kv_len, head_dim]
//   V [batch, kv_heads, kv_len, value_dim] O [batch, q_heads, q_len, value_dim]
//   LSE [batch, q_heads, q_len]
struct AttentionShape {
  int64_t batch = 1;
  int64_t q_heads = 1;
  int64_t kv_heads = 1;
  int64_t q_len = 1;
  int64_t kv_len = 1;
  int64_t head_dim = 1;
  int64_t value_dim = 1;

  friend bool operator==(const AttentionShape&, const AttentionShape&) = default;
};

// Which heads a dense boolean mask covers: [batch, 1, q_len, kv_len] (shared by every
// query head) or [batch, q_heads, q_len, kv_len].
enum class MaskKind : uint8_t { none, shared, per_head };

// Means "no bound" for window_left / window_right.
inline constexpr int64_t kUnboundedWindow = -1;

// Everything about a problem except the tensor values.
struct AttentionSpec {
  AttentionShape shape;
  // Multiplies q.k; std::nullopt means the default 1/sqrt(head_dim) (the exact real number;
  // a kernel's rounding of it is part of that kernel's error).
  std::optional<double> scale;
  // Causal, aligned bottom-right: query i sees key j iff j <= i + kv_len - q_len.
  bool causal = false;
  // Sliding window around the query's position p = i + kv_len - q_len: key j is visible only
  // if p - window_left <= j <= p + window_right. kUnboundedWindow disables a side.
  int64_t window_left = kUnboundedWindow;
  int64_t window_right = kUnboundedWindow;
  // Per-batch valid key lengths (padding): keys j >= valid_keys[b] are invisible.
  bool has_valid_keys = false;
  // Dense boolean mask, uint8, nonzero = visible; combined (AND) with everything above.
  MaskKind mask = MaskKind::none;
  // Additive ALiBi bias: bias[h,i,j] = -alibi_slopes[h] * |p - j|.
  bool has_alibi = false;

  friend bool operator==(const AttentionSpec&, const AttentionSpec&) = default;
};

// The non-tensor inputs a spec may call for, as the kernels see them.
struct VisibilityInputs {
  const int32_t* valid_keys = nullptr;    // [batch], when spec.has_valid_keys
  const uint8_t* mask = nullptr;          // when spec.mask != MaskKind::none
  const float* alibi_slopes = nullptr;    // [q_heads], when spec.has_alibi
};

// Rejects an inconsistent spec (non-positive sizes, q_heads % kv_heads != 0, non-finite or
// non-positive scale, window below -1) with a SpecError naming the field.
void validate(const AttentionSpec& spec);
// Also checks the values a spec refers to: valid_keys in [0, kv_len], present pointers,
// finite slopes.
void validate(const AttentionSpec& spec, const VisibilityInputs& inputs);

// Query heads per kv head (1 for multi-head attention, q_heads for multi-query).
inline int64_t group_size(const AttentionShape& shape) { return shape.q_heads / shape.kv_heads; }
// Grouped-query mapping: query head h reads kv head h / (q_heads / kv_heads).
inline int64_t kv_head_for(const AttentionShape& shape, int64_t q_head) {
  return q_head / group_size(shape);
}
// The scale actually meant: the override, or 1/sqrt(head_dim).
double effective_scale(const AttentionSpec& spec);

// Position of query row i on the key axis (bottom-right alignment): the last query row
// lines up with the last key, so decode (q_len = 1) sees the whole cache.
inline int64_t query_position(const AttentionShape& shape, int64_t i) {
  return i + shape.kv_len - shape.q_len;
}

// Half-open range [begin, end) of keys left visible by causality, the window and the valid
// length. The boolean mask may hide keys inside it; no key outside it is ever visible, so a
// kernel may skip everything outside. begin >= end means no key is visible.
struct KeyRange {
  int64_t begin = 0;
  int64_t end = 0;
  bool empty() const { return begin >= end; }
  int64_t size() const { return empty() ? 0 : end - begin; }
};
KeyRange visible_key_range(const AttentionSpec& spec, const VisibilityInputs& inputs, int64_t batch,
                           int64_t i);

// Offsets into the row-major tensors.
inline int64_t q_offset(const AttentionShape& s, int64_t b, int64_t h, int64_t i) {
  return ((b * s.q_heads + h) * s.q_len + i) * s.head_dim;
}
inline int64_t k_offset(const AttentionShape& s, int64_t b, int64_t kvh, int64_t j) {
  return ((b * s.kv_heads + kvh) * s.kv_len + j) * s.head_dim;
}
inline int64_t v_offset(const AttentionShape& s, int64_t b, int64_t kvh, int64_t j) {
  return ((b * s.kv_heads + kvh) * s.kv_len + j) * s.value_dim;
}
inline int64_t o_offset(const AttentionShape& s, int64_t b, int64_t h, int64_t i) {
  return ((b * s.q_heads + h) * s.q_len + i) * s.value_dim;
}
inline int64_t lse_offset(const AttentionShape& s, int64_t b, int64_t h, int64_t i) {
  return (b * s.q_heads + h) * s.q_len + i;
}
// Offset of mask row (b, h, i); the row has kv_len entries. Call only with a mask.
int64_t mask_row_offset(const AttentionSpec& spec, int64_t b, int64_t h, int64_t i);

// Whole-tensor element counts.
inline int64_t q_elements(const AttentionShape& s) {
  return s.batch * s.q_heads * s.q_len * s.head_dim;
}
inline int64_t k_elements(const AttentionShape& s) {
  return s.batch * s.kv_heads * s.kv_len * s.head_dim;
}
inline int64_t v_elements(const AttentionShape& s) {
  return s.batch * s.kv_heads * s.kv_len * s.value_dim;
}
inline int64_t o_elements(const AttentionShape& s) {
  return s.batch * s.q_heads * s.q_len * s.value_dim;
}
inline int64_t lse_elements(const AttentionShape& s) { return s.batch * s.q_heads * s.q_len; }
int64_t mask_elements(const AttentionSpec& spec);

// Full visibility predicate for one (batch, head, query, key): the key range and the mask.
bool key_visible(const AttentionSpec& spec, const VisibilityInputs& inputs, int64_t b, int64_t h,
                 int64_t i, int64_t j);

// ALiBi distance |p - j| as a non-negative integer; the bias is -slope * distance.
inline int64_t alibi_distance(const AttentionShape& shape, int64_t i, int64_t j) {
  const int64_t d = query_position(shape, i) - j;
  return d < 0 ? -d : d;
}

// A short identity such as "b=1,hq=8,hkv=2,lq=5,lk=9,d=16,dv=8,causal,window=3:0".
std::string describe(const AttentionSpec& spec);

}  // namespace attncheck
