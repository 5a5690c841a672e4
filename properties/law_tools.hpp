// What the laws share: running a kernel through either entry point, the oracle's rows,
// error-to-bound ratios, bitwise comparison, and formatting rows for failure messages.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/problem.hpp"
#include "attncheck/run.hpp"

namespace attncheck::properties {

// The oracle at its default precision, keeping only what the bounds need: every row, or only
// `rows` (flat, in that order) when given.
// `per_key`: also each row's per-key vectors (visible, ..., weights), which the oracle keeps
// only when asked (the laws that read the exact weights ask).
oracle::OracleResult oracle_rows(const Problem& problem, const std::vector<int64_t>& rows = {},
                                 bool per_key = false);

// The rows a law checks against the oracle. Every row while the oracle's work
// rows * kv_len * (head_dim + value_dim) stays within kAllRowsWork (every short case); beyond
// it (the long regime) a sample of at least `min_rows` and at most 8 rows, as many as the
// budget allows: the last query row of the last and of the first (batch, head) (under causal
// masking it sees the most keys, so it crosses the most tile edges), the first query row, and
// rows drawn from the problem's values (so each case samples others). Ascending.
inline constexpr int64_t kAllRowsWork = 60000;
std::vector<int64_t> rows_to_check(const Problem& problem, int64_t min_rows = 2);

// The oracle on some rows of a problem: where a flat row's result is (slot), and its bounds.
struct OracleRows {
  std::vector<int64_t> rows;  // flat rows, ascending
  std::vector<int64_t> slot;  // [rows of the problem]: index into rows / exact.rows, or -1
  oracle::OracleResult exact;
  bool has(int64_t flat) const { return slot[flat] >= 0; }
};
OracleRows oracle_on(const Problem& problem, std::vector<int64_t> rows);
// oracle_on(problem, rows_to_check(problem, min_rows)).
OracleRows oracle_sampled(const Problem& problem, int64_t min_rows = 2);

// The rows `rows` of a kernel's result (O and LSE), in that order, for element-wise comparisons
// with the bounds of an OracleResult of those rows. (check_kernel() takes the whole result and
// picks those rows itself.)
KernelResult select_rows(const KernelResult& result, const AttentionShape& shape, const std::vector<int64_t>& rows);

// The kernel's forward entry point, or its decode entry point (cache capacity 0 means
// kv_len + 7, the tail NaN-filled by run_decode).
KernelResult run_entry(const KernelInfo& kernel, const Problem& problem, bool through_decode,
                       const KernelOptions& options = {}, int64_t capacity = 0);

// Whether the kernel has the entry point and declares every feature the spec uses (decode is
// causal by definition, so it needs no kCausal).
bool supports(const KernelInfo& kernel, const AttentionSpec& spec, bool through_decode = false);

// Weights made visible as outputs: value_dim = kv_len (head_dim too, for a kernel without
// kValueDim), so that with V[b, kvh, j, c] = (j == c) the output row is the row's weights.
AttentionSpec with_weight_outputs(AttentionSpec spec, const KernelInfo& kernel);
void set_identity_values(Problem& problem);

// The keys row `flat` sees (1) or not (0), per semantics.hpp.
std::vector<uint8_t> visible_keys(const Problem& problem, int64_t flat);

// Whether the kernel's O (and LSE, when it declares kLse) in row `flat` of `got` lies within
// its a-priori bound of the oracle on `problem`: what `attncheck trace` of the problem would
// say about that row.
bool row_within_bound(const KernelInfo& kernel, const Problem& problem, const KernelResult& got, int64_t flat);

// The dense reference kernel of a dtype ("dense_f32", ...), or null when not registered.
const KernelInfo* dense_kernel(DType dtype);
bool is_dense_reference(const KernelInfo& kernel);

// |actual - exact| / bound, with 0 for an exact match (equal infinities included) and
// infinity for any non-finite mismatch or any error against a zero bound.
double error_ratio(float actual, double exact, double bound);

// Bit-for-bit equality (+0 and -0 differ; a NaN equals only the same NaN bits).
bool same_bits(float a, float b);

// Flat row index b * q_heads * q_len + h * q_len + i, and back.
int64_t flat_row(const AttentionShape& s, int64_t b, int64_t h, int64_t i);
struct RowIndex {
  int64_t b = 0, h = 0, i = 0;
};
RowIndex row_index(const AttentionShape& s, int64_t flat);
std::string row_name(const AttentionShape& s, int64_t flat);  // "(b=0,h=1,i=2)"

// The value_dim outputs of a flat row.
std::span<const float> output_row(const KernelResult& r, const AttentionShape& s, int64_t flat);

// "[0.25, -1, nan]" with shortest round-trip decimals, at most `limit` values.
std::string format_values(std::span<const float> values, size_t limit = 12);
std::string format_values(std::span<const double> values, size_t limit = 12);

}  // namespace attncheck::properties
