// A-priori per-element error bounds for a kernel's O and LSE, derived from its dtype's unit
// roundoff, its ErrorTraits and the problem's data (docs/error-model.md, "Kernel bounds",
// gives the derivation; it follows Higham's gamma_n analysis of dot products and sums).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::oracle {

struct ErrorBound {
  std::vector<double> output;  // per element of O, in the order of result.rows
  std::vector<double> lse;     // per row
};

// result must hold the rows to bound (any subset, in any order), computed from problem.
ErrorBound a_priori_bound(const Problem& problem, const OracleResult& result,
                          const ErrorTraits& traits, DType dtype);

// How a set of values sits against per-element bounds.
struct BoundCheck {
  int64_t outside = 0;       // elements with |actual - exact| > bound (NaN counts)
  double worst_ratio = 0;    // max |actual - exact| / bound
  int64_t worst_index = -1;
  double worst_actual = 0, worst_exact = 0, worst_bound = 0;
  bool passed() const { return outside == 0; }
};
BoundCheck check_bound(std::span<const float> actual, std::span<const double> exact,
                       std::span<const double> bound);

std::string format_bound_check(const BoundCheck& check);

}  // namespace attncheck::oracle
