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
struct ShapeLimits {
  int64_t max_batch = 3;
  int64_t max_kv_heads = 3;
  int64_t max_group = 4;
  int64_t max_q_len = 40;
  int64_t max_kv_len = 40;
  int64_t max_dim = 48;
  int64_t max_work = 60000;
};

struct SpecRequest {
  Features allowed;   // may be drawn
  Features required;  // always on (must also be allowed by the kernel)
  ShapeLimits limits;
};

// A spec drawn for the request; features not allowed stay off.
AttentionSpec draw_spec(const SpecRequest& request);

// A length in [1, max]: usually uniform, a quarter of the time a tile or vector edge.
int64_t draw_length(const char* label, int64_t max);

// Values for a spec: a kind from `kinds` (the first is what shrinking moves toward) and a
// seed that does not shrink.
Problem draw_problem(const AttentionSpec& spec, DType dtype,
                     std::initializer_list<ValueKind> kinds = {ValueKind::normal, ValueKind::uniform,
                                                               ValueKind::large_logits, ValueKind::ties,
                                                               ValueKind::subnormals, ValueKind::outliers});

// The default request for a kernel: every feature it declares, the default limits.
SpecRequest request_for(const KernelInfo& kernel);

}  // namespace attncheck::properties
