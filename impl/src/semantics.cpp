#include "attncheck/semantics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace attncheck {
namespace {

void require_positive(int64_t value, const char* field) {
  if (value <= 0) {
    throw SpecError(field, "must be positive, got " + std::to_string(value));
  }
}

// Sizes beyond this overflow int64 offsets long before memory runs out; reject them early.
constexpr int64_t kMaxElements = int64_t{1} << 40;

void require_element_count(double count, const char* tensor) {
  if (count > static_cast<double>(kMaxElements)) {
    throw SpecError(tensor, "has more than 2^40 elements");
  }
}

}  // namespace

void validate(const AttentionSpec& spec) {
  const AttentionShape& s = spec.shape;
  require_positive(s.batch, "batch");
  require_positive(s.q_heads, "q_heads");
  require_positive(s.kv_heads, "kv_heads");
  require_positive(s.q_len, "q_len");
  require_positive(s.kv_len, "kv_len");
  require_positive(s.head_dim, "head_dim");
  require_positive(s.value_dim, "value_dim");
  if (s.q_heads % s.kv_heads != 0) {
    throw SpecError("kv_heads", "q_heads (" + std::to_string(s.q_heads) +
                                    ") must be a multiple of kv_heads (" +
                                    std::to_string(s.kv_heads) + ")");
  }
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  require_element_count(d(s.batch) * d(s.q_heads) * d(s.q_len) * d(std::max(s.head_dim, s.value_dim)), "q");
  require_element_count(d(s.batch) * d(s.kv_heads) * d(s.kv_len) * d(std::max(s.head_dim, s.value_dim)), "k");
  require_element_count(d(s.batch) * d(s.q_heads) * d(s.q_len) * d(s.kv_len), "mask");
  if (spec.scale) {
    if (!std::isfinite(*spec.scale)) throw SpecError("scale", "must be finite");
    if (*spec.scale <= 0) throw SpecError("scale", "must be positive");
  }
  if (spec.window_left < kUnboundedWindow) {
    throw SpecError("window_left", "must be -1 (unbounded) or >= 0");
  }
  if (spec.window_right < kUnboundedWindow) {
    throw SpecError("window_right", "must be -1 (unbounded) or >= 0");
  }
}

void validate(const AttentionSpec& spec, const VisibilityInputs& inputs) {
  validate(spec);
  if (spec.has_valid_keys) {
    if (inputs.valid_keys == nullptr) throw SpecError("valid_keys", "spec asks for it but it is missing");
    for (int64_t b = 0; b < spec.shape.batch; ++b) {
      const int32_t n = inputs.valid_keys[b];
      if (n < 0 || n > spec.shape.kv_len) {
        throw SpecError("valid_keys[" + std::to_string(b) + "]",
                        "must lie in [0, kv_len=" + std::to_string(spec.shape.kv_len) + "], got " +
                            std::to_string(n));
      }
    }
  }
  if (spec.mask != MaskKind::none && inputs.mask == nullptr) {
    throw SpecError("mask", "spec asks for it but it is missing");
  }
  if (spec.has_alibi) {
    if (inputs.alibi_slopes == nullptr) throw SpecError("alibi_slopes", "spec asks for it but it is missing");
    for (int64_t h = 0; h < spec.shape.q_heads; ++h) {
      if (!std::isfinite(inputs.alibi_slopes[h])) {
        throw SpecError("alibi_slopes[" + std::to_string(h) + "]", "must be finite");
      }
    }
  }
}

double effective_scale(const AttentionSpec& spec) {
  return spec.scale ? *spec.scale : 1.0 / std::sqrt(static_cast<double>(spec.shape.head_dim));
}

KeyRange visible_key_range(const AttentionSpec& spec, const VisibilityInputs& inputs, int64_t batch,
                           int64_t i) {
  const AttentionShape& s = spec.shape;
  const int64_t position = query_position(s, i);
  KeyRange range{0, s.kv_len};
  if (spec.has_valid_keys) range.end = std::min<int64_t>(range.end, inputs.valid_keys[batch]);
  if (spec.causal) range.end = std::min(range.end, position + 1);
  if (spec.window_right != kUnboundedWindow) {
    range.end = std::min(range.end, position + spec.window_right + 1);
  }
  if (spec.window_left != kUnboundedWindow) {
    range.begin = std::max(range.begin, position - spec.window_left);
  }
  if (range.end < range.begin) range.end = range.begin;
  range.begin = std::clamp<int64_t>(range.begin, 0, s.kv_len);
  range.end = std::clamp<int64_t>(range.end, range.begin, s.kv_len);
  return range;
}

int64_t mask_row_offset(const AttentionSpec& spec, int64_t b, int64_t h, int64_t i) {
  const AttentionShape& s = spec.shape;
  const int64_t mask_heads = spec.mask == MaskKind::per_head ? s.q_heads : 1;
  const int64_t mask_head = spec.mask == MaskKind::per_head ? h : 0;
  return ((b * mask_heads + mask_head) * s.q_len + i) * s.kv_len;
}

int64_t mask_elements(const AttentionSpec& spec) {
  const AttentionShape& s = spec.shape;
  switch (spec.mask) {
    case MaskKind::none: return 0;
    case MaskKind::shared: return s.batch * s.q_len * s.kv_len;
    case MaskKind::per_head: return s.batch * s.q_heads * s.q_len * s.kv_len;
  }
  return 0;
}

bool key_visible(const AttentionSpec& spec, const VisibilityInputs& inputs, int64_t b, int64_t h,
                 int64_t i, int64_t j) {
  const KeyRange range = visible_key_range(spec, inputs, b, i);
  if (j < range.begin || j >= range.end) return false;
  if (spec.mask != MaskKind::none) return inputs.mask[mask_row_offset(spec, b, h, i) + j] != 0;
  return true;
}

std::string describe(const AttentionSpec& spec) {
  const AttentionShape& s = spec.shape;
  std::ostringstream out;
  out << "b=" << s.batch << ",hq=" << s.q_heads << ",hkv=" << s.kv_heads << ",lq=" << s.q_len
      << ",lk=" << s.kv_len << ",d=" << s.head_dim << ",dv=" << s.value_dim;
  if (spec.scale) out << ",scale=" << *spec.scale;
  if (spec.causal) out << ",causal";
  if (spec.window_left != kUnboundedWindow || spec.window_right != kUnboundedWindow) {
    out << ",window=" << spec.window_left << ":" << spec.window_right;
  }
  if (spec.has_valid_keys) out << ",padding";
  if (spec.mask == MaskKind::shared) out << ",mask=shared";
  if (spec.mask == MaskKind::per_head) out << ",mask=per_head";
  if (spec.has_alibi) out << ",alibi";
  return out.str();
}

}  // namespace attncheck
