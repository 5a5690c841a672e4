#include "generators.hpp"

#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "law.hpp"

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

// A length on or next to a multiple of `base`: m * base + {0, +1, -1}, m in [1, max_m], m = 1
// only as base + 1 (so a tile edge is crossed); half the time m = max_m, so the largest tile's
// edge is crossed in most long cases.
int64_t draw_tile_length(const char* label, int64_t base, int64_t max_m) {
  const int64_t m = *rc::gen::weightedOneOf<int64_t>({{1, rc::gen::inRange<int64_t>(1, max_m + 1)},
                                                      {1, rc::gen::just(max_m)}})
                         .as((std::string(label) + " tile multiple").c_str());
  const int64_t offset = m == 1 ? 1 : *rc::gen::element<int64_t>(0, 1, -1).as((std::string(label) + " offset from the edge").c_str());
  return m * base + offset;
}

// Long lengths (ShapeLimits, the long regime): kv_len across several tile edges, q_len long
// or short within the work budget.
void draw_long_lengths(const SpecRequest& request, AttentionShape& s) {
  const ShapeLimits& lim = request.limits;
  int64_t base = 0, top = 0;
  for (int64_t t : request.key_tiles) {
    base = std::gcd(base, t);
    top = std::max(top, t);
  }
  const int64_t max_m = std::max<int64_t>(1, std::min(lim.max_tiles * top, lim.max_long_kv_len - 1) / base);
  if (lim.decode_chunk > 0 && *rc::gen::arbitrary<bool>().as("kv_len at a decode chunk edge")) {
    // chunk + 1 (crossing it) half the time, else chunk or chunk - 1.
    s.kv_len = lim.decode_chunk +
               *rc::gen::weightedElement<int64_t>({{1, 0}, {2, 1}, {1, -1}}).as("offset from the chunk edge");
  } else {
    s.kv_len = draw_tile_length("kv_len", base, max_m);
  }
  // Each query row costs kv_len * (head_dim + value_dim) >= kv_len * 2, or kv_len * kv_len with
  // identity values.
  const int64_t per_row = s.kv_len * (lim.weights_as_values ? s.kv_len + 1 : 2);
  const int64_t q_cap = std::clamp<int64_t>(lim.max_long_work / per_row, 1, lim.max_long_q_len);
  if (q_cap > base && *rc::gen::weightedElement<bool>({{2, false}, {1, true}}).as("q_len long too")) {
    s.q_len = draw_tile_length("q_len", base, std::max<int64_t>(1, (q_cap - 1) / base));
  } else {
    s.q_len = draw_length("q_len", std::min(lim.max_q_len, q_cap));
  }
}

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
  // Lengths first: they decide what the rest of the work budget allows. The regime is drawn
  // first and shrinks to short.
  const bool long_case =
      lim.long_one_in > 0 && !request.key_tiles.empty() &&
      *rc::gen::weightedElement<bool>({{static_cast<size_t>(lim.long_one_in - 1), false}, {1, true}})
           .as("long lengths (across tile edges)");
  if (long_case) {
    draw_long_lengths(request, s);
  } else {
    s.q_len = draw_length("q_len", lim.max_q_len);
    s.kv_len = draw_length("kv_len", lim.max_kv_len);
  }
  const int64_t work = long_case ? lim.max_long_work : lim.max_work;
  const int64_t rows_by_keys = s.q_len * s.kv_len;
  // With identity values every row has kv_len output columns, whatever value_dim is drawn.
  const int64_t fixed = lim.weights_as_values ? s.kv_len : 0;
  const int64_t dim_cap =
      clamp_cap(work / rows_by_keys / (fixed > 0 ? 1 : 2) - fixed, long_case ? std::min(lim.max_dim, lim.max_long_dim) : lim.max_dim);
  s.head_dim = draw_dim("head_dim", dim_cap);
  s.value_dim = s.head_dim;
  if (need.value_dim || (allow.value_dim && draw_flag("value_dim differs", 3, 2))) {
    const int64_t dv = draw_dim("value_dim", dim_cap);
    s.value_dim = dv;
  }
  const int64_t per_head = rows_by_keys * (s.head_dim + std::max(s.value_dim, fixed));
  s.batch = draw_in("batch", 1, clamp_cap(work / per_head, lim.max_batch));
  const int64_t head_cap = clamp_cap(work / (per_head * s.batch), lim.max_kv_heads * lim.max_group);
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
  note_reach(spec.shape);
  return make_problem(spec, dtype, kind, seed);
}

std::vector<int64_t> key_tiles(const KernelInfo& kernel) {
  if (kernel.key_tile > 0) return {kernel.key_tile};
  return {64, 128, 256};
}

SpecRequest request_for(const KernelInfo& kernel) {
  SpecRequest r;
  r.allowed = Features::of(kernel);
  r.key_tiles = key_tiles(kernel);
  return r;
}

SpecRequest masking_request(const KernelInfo& kernel) {
  SpecRequest request = request_for(kernel);
  std::vector<int> options;
  const Features f = Features::of(kernel);
  if (f.causal) options.push_back(0);
  if (f.padding) options.push_back(1);
  if (f.window) options.push_back(2);
  if (f.mask) options.push_back(3);
  switch (*rc::gen::elementOf(options).as("masking feature forced on (0 causal, 1 padding, 2 window, 3 mask)")) {
    case 0: request.required.causal = true; break;
    case 1: request.required.padding = true; break;
    case 2: request.required.window = true; break;
    default: request.required.mask = true; break;
  }
  return request;
}

}  // namespace attncheck::properties
