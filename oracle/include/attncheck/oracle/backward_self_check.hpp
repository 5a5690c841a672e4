// The oracle checks its own gradients (backward.hpp), in two independent ways:
//
// - backward_self_check(): the rounding error. It recomputes the gradients at twice the
//   precision and requires dQ, dK, dV and D = dO.O to agree within the bound
//   docs/error-model.md ("Backward bounds", "The oracle's own gradient error") derives for
//   precision p, and D to agree with its cross-check sum_j P_j dP_j within the sum of their two
//   bounds. Like self_check() for the forward, claiming more bits than were computed must fail.
// - directional_derivative_check(): the calculus. A central finite difference of the oracle's
//   own forward pass (weighted_output_sum) at high precision along a random direction that moves
//   Q, K and V at once, against <dQ, dirQ> + <dK, dirK> + <dV, dirV>. It shares nothing with the
//   backward chain but the forward, so a wrong derivative (a dropped scale, a wrong sign, a
//   missing D term) shows as a disagreement in the leading digits.
#pragma once

#include <cstdint>
#include <string>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::oracle {

struct BackwardSelfCheck {
  bool passed = false;
  double worst_ratio = 0;          // max |x_p - x_2p| / bound_p over dQ, dK, dV, D and D's cross-check
  double min_guaranteed_bits = 0;  // min over nonzero gradient elements of -log2(bound_p / |x|)
  std::string worst_where;         // "dQ[17]", "dK[3]", "dV[0]", "D[row 4]", "D-cross[row 4]"
};
// The problem must carry d_out.
BackwardSelfCheck backward_self_check(const Problem& problem, unsigned precision_bits = kDefaultPrecisionBits);
// The same with the bound claimed for `claimed_bits` while computing at `precision_bits`.
BackwardSelfCheck backward_self_check(const Problem& problem, unsigned precision_bits, unsigned claimed_bits);

// The finite-difference step and precision of directional_derivative_check: h = 2^-80 at 256
// bits. Truncation error (h^2 / 6) |L'''| ~ 2^-162 |L'''| and rounding error ~ 2^-256 |L| / h
// = 2^-176 |L|, both far below kDirectionalDigits.
inline constexpr unsigned kDirectionalBits = 256;
inline constexpr int kDirectionalStepExponent = -80;
// The agreement a correct gradient reaches, in decimal digits relative to
// sum |grad_e| |dir_e| (the size of the directional derivative before cancellation). Measured
// at 48.5 to 49.6 on the test problems; a wrong gradient scores below 3.
inline constexpr double kDirectionalDigits = 40;

struct DirectionalCheck {
  double finite_difference = 0;  // (L(x + h dir) - L(x - h dir)) / 2h
  double analytic = 0;           // <dQ, dirQ> + <dK, dirK> + <dV, dirV>
  double magnitude = 0;          // sum |grad_e| |dir_e|
  double digits = 0;             // -log10(|finite_difference - analytic| / magnitude); 100 if equal
  bool passed() const { return digits >= kDirectionalDigits; }
};
// Directions are standard normal per element of Q, K and V (SplitMix64 from `seed`); `gradients`
// are those under test (backward() of the problem's d_out, at >= kDirectionalBits for the
// digits to be reachable). Throws std::invalid_argument for a problem without d_out, with a
// non-finite input, or gradients of another shape.
DirectionalCheck directional_derivative_check(const Problem& problem, const Gradients& gradients, uint64_t seed);

}  // namespace attncheck::oracle
