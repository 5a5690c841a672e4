// The value distributions the laws draw inputs from. Each fills a whole problem (tensors and
// visibility inputs) from one 64-bit seed, so a case is identified by (spec, kind, seed) and
// replays on every platform (SplitMix64, no std:: distributions). Every q, k, v value is
// exactly representable in the problem's dtype.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

#include "attncheck/problem.hpp"

namespace attncheck::properties {

enum class ValueKind : uint8_t {
  normal,        // N(0, 1)
  uniform,       // U(-1, 1)
  // Scores whose largest magnitude lies near the overflow of the storage type: 2^14..2^17
  // for f16 (straddling its max 65504, so scores computed in f16 overflow), 2^100..2^120 for
  // f32 and bf16 (with sum_d |q_d k_d| < 2^126, so no order of f32 summation overflows).
  large_logits,
  ties,          // every key of a head is one of two rows: scores tie exactly, maxima included
  subnormals,    // half the q, k, v values are subnormal in the dtype, the rest N(0, 1)
  outliers,      // one key per query row is aligned with it so its score dominates by ~30
  // Each query row is scaled so its largest score lies in [80, 100], straddling 88.72 where
  // exp overflows f32 (and the row sum of exp(s) overflows a little earlier): a kernel that
  // skips the max shift anywhere (weights, row sum, LSE) overflows, one that shifts does not.
  // Only q changes; k and v stay N(0, 1).
  near_exp_overflow,
};

inline constexpr ValueKind kAllValueKinds[] = {ValueKind::normal,       ValueKind::uniform,
                                               ValueKind::large_logits, ValueKind::ties,
                                               ValueKind::subnormals,   ValueKind::outliers,
                                               ValueKind::near_exp_overflow};

std::string_view value_kind_name(ValueKind kind);
// rapidcheck prints counterexamples with showValue (found by argument-dependent lookup).
void showValue(ValueKind kind, std::ostream& os);

// A problem with the spec's shape and features; valid lengths (0 and kv_len included), mask
// density and ALiBi slopes also come from the seed.
Problem make_problem(const AttentionSpec& spec, DType dtype, ValueKind kind, uint64_t seed);

}  // namespace attncheck::properties
