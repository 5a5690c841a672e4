#include "generators.hpp"

#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace attncheck {

void showValue(const AttentionSpec& spec, std::ostream& os) { os << describe(spec); }

}  // namespace attncheck

namespace attncheck::properties {
namespace {

// Lengths next to common tile and vector widths (8, 16, 32, 64, 128 lanes or rows).
constexpr int64_t kEdgeLengths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129};
constexpr int64_t kEdgeDims[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48};

// A draw weighted toward "off": shrinking turns features off first.
bool draw_flag(const char* label, int weight_on = 1, int weight_off = 2) {
  return *rc::gen::weightedElement<bool>(
              {{static_cast<size_t>(weight_off), false}, {static_cast<size_t>(weight_on), true}})
              .as(label);
}

int64_t draw_in(const char* label, int64_t lo, int64_t hi) {  // [lo, hi]
  if (hi <= lo) return lo;
  return *rc::gen::inRange<int64_t>(lo, hi + 1).as(label);
}

int64_t draw_dim(const char* label, int64_t max) {
  std::vector<int64_t> edges;
  for (int64_t d : kEdgeDims) {
    if (d <= max) edges.push_back(d);
  }
  return *rc::gen::weightedOneOf<int64_t>({{3, rc::gen::inRange<int64_t>(1, max + 1)},
                                           {1, rc::gen::elementOf(edges)}})
              .as(label);
}

int64_t clamp_cap(int64_t budget, int64_t cap) { return std::clamp<int64_t>(budget, 1, cap); }

}  // namespace

Features Features::of(const KernelInfo& k) {
  Features f;
  f.causal = k.has(kCausal);
  f.padding = k.has(kPadding);
  f.window = k.has(kWindow);
  f.mask = k.has(kBoolMask);
  f.alibi = k.has(kAlibi);
  f.grouped_query = k.has(kGroupedQuery);
  f.value_dim = k.has(kValueDim);
  f.custom_scale = k.has(kCustomScale);
  return f;
}

Features Features::intersect(const Features& o) const {
  Features f;
  f.causal = causal && o.causal;
  f.padding = padding && o.padding;
  f.window = window && o.window;
  f.mask = mask && o.mask;
  f.alibi = alibi && o.alibi;
  f.grouped_query = grouped_query && o.grouped_query;
  f.value_dim = value_dim && o.value_dim;
  f.custom_scale = custom_scale && o.custom_scale;
  return f;
}

int64_t draw_length(const char* label, int64_t max) {
  std::vector<int64_t> edges;
  for (int64_t n : kEdgeLengths) {
    if (n <= max) edges.push_back(n);
  }
  return *rc::gen::weightedOneOf<int64_t>({{3, rc::gen::inRange<int64_t>(1, max + 1)},
                                           {1, rc::gen::elementOf(edges)}})
              .as(label);
}

AttentionSpec draw_spec(const SpecRequest& request) {
  const Features& allow = request.allowed;
  const Features& need = request.required;
  const ShapeLimits& lim = request.limits;
  AttentionSpec spec;
  AttentionShape& s = spec.shape;
  // Lengths first: they decide what the rest of the work budget allows.
  s.q_len = draw_length("q_len", lim.max_q_len);
  s.kv_len = draw_length("kv_len", lim.max_kv_len);
  const int64_t rows_by_keys = s.q_len * s.kv_len;
  const int64_t dim_cap = clamp_cap(lim.max_work / (2 * rows_by_keys), lim.max_dim);
  s.head_dim = draw_dim("head_dim", dim_cap);
  s.value_dim = s.head_dim;
  if (need.value_dim || (allow.value_dim && draw_flag("value_dim differs", 3, 2))) {
    const int64_t dv = draw_dim("value_dim", dim_cap);
    s.value_dim = dv;
  }
  const int64_t per_head = rows_by_keys * (s.head_dim + s.value_dim);
  s.batch = draw_in("batch", 1, clamp_cap(lim.max_work / per_head, lim.max_batch));
  const int64_t head_cap = clamp_cap(lim.max_work / (per_head * s.batch), lim.max_kv_heads * lim.max_group);
  s.kv_heads = draw_in("kv_heads", 1, std::min(lim.max_kv_heads, head_cap));
  int64_t group = 1;
  if (need.grouped_query || allow.grouped_query) {
    const int64_t group_cap = std::max<int64_t>(1, std::min(lim.max_group, head_cap / s.kv_heads));
    group = draw_in("group", need.grouped_query ? std::min<int64_t>(2, group_cap) : 1, group_cap);
  }
  s.q_heads = s.kv_heads * group;

  spec.causal = need.causal || (allow.causal && draw_flag("causal"));
  if (need.window || (allow.window && draw_flag("window", 1, 3))) {
    // Each side bounded or not, at least one bounded; widths up to the key length.
    const bool left = draw_flag("window left bounded", 3, 1);
    const bool right = !left || draw_flag("window right bounded", 1, 1);
    if (left) spec.window_left = draw_in("window_left", 0, s.kv_len);
    if (right) spec.window_right = draw_in("window_right", 0, s.kv_len);
  }
  spec.has_valid_keys = need.padding || (allow.padding && draw_flag("padding", 1, 3));
  if (need.mask || (allow.mask && draw_flag("mask", 1, 3))) {
    spec.mask = draw_flag("mask per head") ? MaskKind::per_head : MaskKind::shared;
  }
  spec.has_alibi = need.alibi || (allow.alibi && draw_flag("alibi", 1, 3));
  if (need.custom_scale || (allow.custom_scale && draw_flag("custom scale", 1, 3))) {
    // 2^(n/8) for n in [-32, 8]: from 1/16 to 2, mostly not powers of two.
    spec.scale = std::exp2(static_cast<double>(draw_in("scale eighth-octaves + 32", 0, 40) - 32) / 8.0);
  }
  return spec;
}

Problem draw_problem(const AttentionSpec& spec, DType dtype, std::initializer_list<ValueKind> kinds) {
  const ValueKind kind = *rc::gen::elementOf(std::vector<ValueKind>(kinds)).as("values");
  const uint64_t seed = *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("value seed");
  return make_problem(spec, dtype, kind, seed);
}

SpecRequest request_for(const KernelInfo& kernel) {
  SpecRequest r;
  r.allowed = Features::of(kernel);
  return r;
}

}  // namespace attncheck::properties
