// The step-by-step ledger of an oracle trace, laid out like a worksheet done by hand:
// Q K^T, scaled, biased and masked, row max, exponentials, row sums, weights, output, LSE.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "attncheck/oracle/oracle.hpp"

namespace attncheck::oracle {

struct LedgerOptions {
  int digits = 6;          // significant decimal digits
  int64_t max_rows = 32;   // per head; longer tables are cut with a note
  int64_t max_columns = 16;
};

// Prints the first max_rows rows of each (batch, head) of `result`, in its order. The per-key
// tables (scores, exponentials, weights) need those rows' intermediates, and their first
// max_columns keys are all it shows; without them it prints the per-row values only.
void print_ledger(std::ostream& out, const oracle::OracleResult& result, const std::string& scale_text,
                  const LedgerOptions& options);

// The rows print_ledger shows of a result computed for `rows` (flat indices, in order; empty
// means all rows): the ones to keep intermediates for (OracleOptions::intermediate_rows, with
// intermediate_columns = max_columns). At most max_rows per (batch, head).
std::vector<int64_t> ledger_rows(const AttentionShape& shape, const std::vector<int64_t>& rows,
                                 const LedgerOptions& options);

}  // namespace attncheck::oracle
