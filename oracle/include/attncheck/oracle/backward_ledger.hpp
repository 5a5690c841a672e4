// The step-by-step ledger of the oracle's backward pass, laid out like the forward ledger
// (ledger.hpp) and continuing its steps: the upstream gradient dO, the weights P it flows back
// through, dP = dO V^T, D = rowsum(dO * O) beside its cross-check sum_j P_ij dP_ij, dS = P * (dP - D)
// with its row sums (0: softmax's Jacobian annihilates constants), dQ = scale * (dS K); then per
// kv head the key and value gradients dK = scale * (dS^T Q) and dV = P^T dO, summed over the
// query heads of the group. The titles say where the forward's scale (1/sqrt(d_k) by default)
// enters: once in dQ and once in dK, never in dV.
//
// It reads nothing but a Gradients kept with its intermediates (BackwardOptions::
// keep_intermediates, whose `forward` holds the weights and outputs) and the dO it is of, so
// every reader of one may print it (`attncheck trace --backward`). Long problems are cut as the
// forward ledger cuts them: max_rows rows (queries, or keys for dK and dV) per head, max_columns
// columns per table.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/oracle/ledger.hpp"
#include "attncheck/oracle/real.hpp"

namespace attncheck::oracle {

// `gradients` must hold its intermediates (rows and forward); throws std::invalid_argument
// otherwise, or when d_out's length is not O's. `d_out` is the upstream gradient the gradients
// are of, laid out as O (exact: the Reals the oracle used). `scale_text` is the forward
// ledger's ("1/sqrt(4) = 0.5", or the file's scale). Call inside a PrecisionScope of the
// gradients' precision.
void print_backward_ledger(std::ostream& out, const Gradients& gradients, const std::vector<Real>& d_out,
                           const std::string& scale_text, const LedgerOptions& options);

}  // namespace attncheck::oracle
