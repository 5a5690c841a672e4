// Which rows to check: the oracle costs about 80 ms per row at Lk = 4096, D = 128, so a long
// problem is checked on a sample of its rows (`attncheck trace --rows`). Rows are flat indices
// b * q_heads * q_len + h * q_len + i (oracle::flat_row).
//
//   "0,5,100-120"   those rows: numbers and inclusive ranges, comma-separated
//   "sample:64"     64 rows chosen deterministically: the first and last row, the first and
//                   last query of every head, the query tile edges 63, 64, 127, 128 of every
//                   head (where tiled kernels change tile), then rows drawn at random, one per
//                   equal stretch of the rest, from seed 0
//   "sample:64:7"   the same from seed 7
//
// A sample of at least the problem's row count is every row. Nothing else is accepted, and
// nothing that selects no row: an empty list or entry, a reversed range, a count of 0, a row
// past the last, all are errors.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "attncheck/semantics.hpp"

namespace attncheck::oracle {

struct RowSpec {
  std::vector<std::pair<int64_t, int64_t>> ranges;  // inclusive; empty for a sample
  int64_t sample = 0;                               // rows to sample; 0 for a list
  uint64_t seed = 0;
};

// Throws RowSpecError naming the entry at fault ("'5-x': 'x' is not a row number").
class RowSpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

RowSpec parse_row_spec(const std::string& text);

// The rows of `shape` that `spec` selects, ascending and distinct. Throws RowSpecError when a
// listed row is past the last ("row 5000 is past the last row, 4095 (B=1 x H=1 x Lq=4096)").
std::vector<int64_t> select_rows(const RowSpec& spec, const AttentionShape& shape);

// `count` rows of `shape`, chosen as "sample:count:seed" says; ascending, distinct.
std::vector<int64_t> sample_rows(const AttentionShape& shape, int64_t count, uint64_t seed);

}  // namespace attncheck::oracle
