// The oracle's gradients: the exact backward pass of attention as semantics.hpp defines it,
// computed with MPFR, the reference for backward kernels and the gradient identities (issue:
// backward pass). For a loss L with upstream gradient dO = dL/dO, per query row (b, h, i) with
// weights P = softmax(S), S = scale * Q K^T + bias (invisible keys: -inf, weight 0), and
// O = P V, the chain rule gives
//   dV[j]  += P_j dO                      (over the rows that see key j)
//   dP_j    = dO . V[j]
//   D       = dO . O                      (= sum_j P_j dP_j)
//   dS_j    = P_j (dP_j - D)
//   dQ     += scale sum_j dS_j K[j]
//   dK[j]  += scale dS_j Q
// with K[j], V[j] the row's kv head (grouped-query: the sums run over every query head of the
// group). ALiBi's bias depends on neither Q nor K; a row that sees no key has O = 0 by
// definition and passes no gradient. Each operation rounds once at the working precision.
#pragma once

#include <vector>

#include "attncheck/oracle/oracle.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::oracle {

struct Gradients {
  AttentionSpec spec;
  unsigned precision_bits = 0;
  std::vector<Real> dq, dk, dv;  // laid out as q, k, v
};

// dL/dQ, dL/dK, dL/dV of a problem for the upstream gradient `d_out` (laid out as O, exact
// doubles). Throws std::invalid_argument when d_out has the wrong length.
Gradients backward(const Problem& problem, const std::vector<double>& d_out,
                   unsigned precision_bits = kDefaultPrecisionBits);

// The same from an OracleProblem whose Reals (q, k, v) the caller set, inside a PrecisionScope
// of at least precision_bits (a finite-difference check perturbs them below float resolution).
Gradients backward(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits);

// L = sum_e d_out[e] * O[e] at the working precision: the loss whose gradient backward() is.
Real weighted_output_sum(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits);

}  // namespace attncheck::oracle
