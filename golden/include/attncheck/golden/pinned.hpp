// How a golden trace writes one oracle value: a pair of strings
//
//   ["0.30901699437494745", "0.3090169943749474241022934"]
//
// The first is the shortest decimal that reads back as the correctly rounded f64 of the
// oracle's value (what `golden verify` compares, exactly). The second is the value to at least
// 25 significant digits for a reader, with more digits when 25 would round to a different f64.
// Both are stable only if the oracle's working precision is high enough: trace generation
// recomputes at twice the precision and requires the same pair (trace.hpp).
//
// A nonzero value below half the smallest f64 subnormal in magnitude is written ["0", "0"]: it
// arises when decimal inputs cancel exactly (0.10 - 0.10 computed in binary leaves a residual
// that shrinks with the precision, its sign an accident), and the exact value is then +0.
// An exact zero keeps its sign ("-0").
#pragma once

#include <optional>
#include <string>

#include "attncheck/formats/decimal_text.hpp"
#include "attncheck/oracle/real.hpp"

namespace attncheck::golden {

struct PinnedValue {
  std::string f64;
  std::string decimal;
  friend bool operator==(const PinnedValue&, const PinnedValue&) = default;
};

// Call inside a PrecisionScope at least as precise as x.
PinnedValue pin_value(const oracle::Real& x);

}  // namespace attncheck::golden
