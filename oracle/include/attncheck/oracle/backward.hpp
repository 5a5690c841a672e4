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

// One query row's backward intermediates (kept when asked): the per-key vectors hold kv_len
// entries, 0 where the key is invisible. A row that sees no key keeps empty vectors and D = 0.
struct BackwardRow {
  int64_t batch = 0, head = 0, query = 0;
  std::vector<Real> dp;          // dO . V[j]
  std::vector<Real> ds;          // P_j (dP_j - D)
  Real delta;                    // D = dO . O
  Real delta_from_weights;       // sum_j P_j dP_j: equal to D in exact arithmetic, a cross-check
};

struct Gradients {
  AttentionSpec spec;
  unsigned precision_bits = 0;
  std::vector<Real> dq, dk, dv;  // laid out as q, k, v
  // With keep_intermediates: the forward they come from (every row, with its weights) and each
  // row's backward intermediates, in flat row order. Empty otherwise.
  OracleResult forward;
  std::vector<BackwardRow> rows;
};

struct BackwardOptions {
  unsigned precision_bits = kDefaultPrecisionBits;
  bool keep_intermediates = false;
};

// The gradients for the problem's own upstream gradient (problem.d_out, which must be set).
Gradients backward(const Problem& problem, const BackwardOptions& options);

// dL/dQ, dL/dK, dL/dV of a problem for the upstream gradient `d_out` (laid out as O, exact
// doubles). Throws std::invalid_argument when d_out has the wrong length.
Gradients backward(const Problem& problem, const std::vector<double>& d_out,
                   unsigned precision_bits = kDefaultPrecisionBits);

// The same from an OracleProblem whose Reals (q, k, v) the caller set, inside a PrecisionScope
// of at least precision_bits (a finite-difference check perturbs them below float resolution).
Gradients backward(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits);

// The same with d_out as Reals (an exact-decimal dO read at the working precision) and the
// options' intermediates: what a golden trace and `attncheck trace --backward` of an
// exact-decimal problem file use. Call inside a PrecisionScope of at least
// options.precision_bits, with the OracleProblem made in it (formats::oracle_problem).
Gradients backward(const OracleProblem& problem, const std::vector<Real>& d_out, const BackwardOptions& options);

// L = sum_e d_out[e] * O[e] at the working precision: the loss whose gradient backward() is.
Real weighted_output_sum(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits);

// The O and LSE the oracle hands a backward kernel (run_backward): O rounded once to the
// problem's dtype, LSE rounded once to f32 (-inf for a row that sees no key).
struct ForwardValues {
  std::vector<float> o, lse;
};
ForwardValues forward_for_backward(const Problem& problem, unsigned precision_bits = kDefaultPrecisionBits);

}  // namespace attncheck::oracle
