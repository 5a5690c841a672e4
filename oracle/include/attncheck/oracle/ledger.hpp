// The step-by-step ledger of an oracle trace, laid out like a worksheet done by hand:
// Q K^T, scaled, biased and masked, row max, exponentials, row sums, weights, output, LSE.
#pragma once

#include <ostream>
#include <string>

#include "attncheck/oracle/oracle.hpp"

namespace attncheck::oracle {

struct LedgerOptions {
  int digits = 6;          // significant decimal digits
  int64_t max_rows = 32;   // per head; longer tables are cut with a note
  int64_t max_columns = 16;
};

void print_ledger(std::ostream& out, const oracle::OracleResult& result, const std::string& scale_text,
                  const LedgerOptions& options);

}  // namespace attncheck::oracle
