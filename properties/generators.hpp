// Generators for the laws' cases. Call them inside a rapidcheck property: each draw is
// labelled (.as()) so a counterexample prints as "kv_len = 3", and sizes come from inRange,
// which grows with rapidcheck's size and shrinks toward its minimum, so a failure shrinks to
// the smallest shape, the fewest features and the simplest values that still fail.
//
// Shapes: odd sizes and sizes next to tile and vector widths (1, 7, 8, 9, 15..17, 31..33,
// 63..65, 127..129), q_len != kv_len, q_len = 1, kv_len = 1, batch > 1, grouped-query ratios
// 1..4 including multi-query, head_dim != value_dim. Features: causal, padding (valid length
// 0 included), windows, shared and per-head masks, ALiBi, custom scales.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/problem.hpp"
#include "value_kinds.hpp"

namespace attncheck {
// rapidcheck prints counterexamples with showValue (found by argument-dependent lookup).
void showValue(const AttentionSpec& spec, std::ostream& os);
}  // namespace attncheck

namespace attncheck::properties {

// The optional features of a spec.
struct Features {
  bool causal = false;
  bool padding = false;
  bool window = false;
  bool mask = false;
  bool alibi = false;
  bool grouped_query = false;
  bool value_dim = false;
  bool custom_scale = false;

  // What a kernel's forward entry point declares.
  static Features of(const KernelInfo& kernel);
  // Only features also in `other`.
  Features intersect(const Features& other) const;
  // Any feature that hides keys from queries (causal, padding, window, mask).
  bool any_masking() const { return causal || padding || window || mask; }
};

// Limits on a generated shape. The oracle's cost grows with the work
// batch * q_heads * q_len * kv_len * (head_dim + value_dim).
//
// Two regimes. Most cases are short (lengths up to max_q_len / max_kv_len): cheap, and they
// shrink well. One case in `long_one_in` is long: kv_len = m * base + {-1, 0, +1} (base the
// gcd of the key tiles, m up to max_tiles of the largest tile; m = 1 only as base + 1, so every
// long case crosses a tile edge, and half of them take the largest m), so it lands on and
// next to the edges of every tile (n * tile - 1, n * tile, n * tile + 1). Its q_len is short
// or long alike, its dimensions, batch and heads shrink to max_long_work, and the laws check a
// sample of its rows against the oracle (law_tools.hpp, rows_to_check), so its cost stays
// bounded whatever the lengths.
struct ShapeLimits {
  int64_t max_batch = 3;
  int64_t max_kv_heads = 3;
  int64_t max_group = 4;
  int64_t max_q_len = 40;
  int64_t max_kv_len = 40;
  int64_t max_dim = 48;
  int64_t max_work = 60000;
  // The long regime (0: never).
  int long_one_in = 4;
  int64_t max_tiles = 3;             // of the largest tile
  int64_t max_long_kv_len = 3 * 256 + 1;
  int64_t max_long_q_len = 3 * 256 + 1;
  int64_t max_long_dim = 16;
  int64_t max_long_work = int64_t{1} << 21;  // kernel work, no oracle: rows are sampled
  // The law reads the weights through identity values (value_dim = kv_len): the budget
  // counts kv_len output columns per row.
  bool weights_as_values = false;
  // A decode chunk (flash-decoding kernels split the cache into chunks of 2048 keys): half the
  // long cases put kv_len at chunk + 1 (half of those), chunk or chunk - 1 instead. 0: none.
  int64_t decode_chunk = 0;
};

struct SpecRequest {
  Features allowed;   // may be drawn
  Features required;  // always on (must also be allowed by the kernel)
  ShapeLimits limits;
  std::vector<int64_t> key_tiles = {64, 128, 256};  // the kernel's tile, or the usual ones
};

// The key tiles whose edges the laws cross for a kernel: its declared KernelInfo::key_tile,
// else 64, 128 and 256 (FlashAttention's and PyTorch's CPU path's tiles).
std::vector<int64_t> key_tiles(const KernelInfo& kernel);

// A spec drawn for the request; features not allowed stay off.
AttentionSpec draw_spec(const SpecRequest& request);

// A length in [1, max]: usually uniform, a quarter of the time a tile or vector edge.
int64_t draw_length(const char* label, int64_t max);

// Values for a spec: a kind from `kinds` (the first is what shrinking moves toward) and a
// seed that does not shrink.
// Notes the spec's reach (its kv_len, the tile edges it crosses) in the law run in progress
// (law.hpp, note_reach).
Problem draw_problem(const AttentionSpec& spec, DType dtype,
                     std::initializer_list<ValueKind> kinds = {ValueKind::normal, ValueKind::uniform,
                                                               ValueKind::large_logits, ValueKind::ties,
                                                               ValueKind::subnormals, ValueKind::outliers,
                                                               ValueKind::near_exp_overflow});

// The default request for a kernel: every feature it declares, the default limits.
SpecRequest request_for(const KernelInfo& kernel);

// request_for() with one masking feature forced on (causal, padding, window or mask), drawn
// among those the kernel declares: the masking laws' cases, forward and backward. The kernel
// must declare at least one.
SpecRequest masking_request(const KernelInfo& kernel);

}  // namespace attncheck::properties
