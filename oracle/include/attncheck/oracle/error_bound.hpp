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
  int64_t unjudged = 0;      // elements left out: they read a non-finite input
  bool passed() const { return outside == 0; }
};
// `unjudged`, when not empty, is as long as `actual`: a nonzero entry leaves the element out.
BoundCheck check_bound(std::span<const float> actual, std::span<const double> exact,
                       std::span<const double> bound, std::span<const uint8_t> unjudged = {});

// The outputs a non-finite input (NaN, +-inf in Q, K or V) reaches, flat in the order of
// `result`'s rows like ErrorBound: every output and the LSE of a row whose query or a visible
// key holds one, and column c of a row where a visible key's value does. No bound holds there
// and no single answer is right (docs/semantics.md, "Non-finite inputs": a row of NaN scores
// looks empty to a kernel that finds empty rows by its running max, inf - inf, 0 * inf), so
// check_kernel() leaves them unjudged and judges every other element. A row that sees no key
// reads nothing. Both vectors are empty when every input is finite.
struct NonFiniteReach {
  std::vector<uint8_t> output, lse;
};
NonFiniteReach non_finite_reach(const Problem& problem, const OracleResult& result);

std::string format_bound_check(const BoundCheck& check);

}  // namespace attncheck::oracle
