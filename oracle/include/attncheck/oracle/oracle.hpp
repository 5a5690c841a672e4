// The arbitrary-precision reference: attention as semantics.hpp defines it, computed with
// MPFR at a chosen precision, with every intermediate kept for ledgers and golden traces, or
// only what checking needs (OracleOptions says which rows keep what; memory_estimate.hpp says
// what that costs before it is spent).
//
// Accuracy: each operation rounds once at p bits (MPFR is correctly rounded, exp and log
// included); docs/error-model.md derives the bound self_check() verifies by recomputing at 2p.
// Assumptions: inputs are exact (the stored dtype values, or decimals read at p bits).
// For checking only: about 0.4 s for one head at Lq = Lk = 128, D = 64 (bench/oracle_bench).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attncheck/oracle/exact_decimal.hpp"
#include "attncheck/oracle/real.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::oracle {

// A problem as the oracle sees it: exact input values at the working precision.
// The inputs are either Reals (q, k, v) or, for stored values, the floats themselves
// (q_stored, k_stored, v_stored; q, k and v empty): a float is exact at any precision >= 24,
// and a product of two floats is exact in a double, so both give the same result bit for bit,
// while a float takes 4 bytes where a Real takes about 80 (memory_estimate.hpp).
struct OracleProblem {
  AttentionSpec spec;
  std::vector<Real> q, k, v;
  std::vector<float> q_stored, k_stored, v_stored;
  Real scale;                       // the exact scale (default: 1/sqrt(D) at working precision)
  std::vector<Real> alibi_slopes;   // [q_heads] when spec.has_alibi
  std::vector<int32_t> valid_keys;  // as in Problem
  std::vector<uint8_t> mask;
  // Exact-decimal inputs (worked examples): when set, q . k is computed exactly in rationals
  // and rounded once, so a dot product that is exactly zero shows as zero.
  std::vector<Rational> q_exact, k_exact;

  VisibilityInputs visibility() const {
    return VisibilityInputs{spec.has_valid_keys ? valid_keys.data() : nullptr,
                            spec.mask != MaskKind::none ? mask.data() : nullptr, nullptr};
  }
};

// The exact stored values of a Problem, as Reals (which a caller may overwrite, as the
// exact-decimal reader does). Call inside a PrecisionScope.
OracleProblem from_problem(const Problem& problem);
// The same values kept as floats (q_stored, k_stored, v_stored): what forward() on a Problem
// uses. Call inside a PrecisionScope (the scale and the ALiBi slopes are still Reals).
OracleProblem from_problem_stored(const Problem& problem);

// One query row (b, h, i): the per-row values always, the per-key intermediates when asked.
struct RowTrace {
  int64_t batch = 0, head = 0, query = 0;
  // The per-key vectors (visible ... weights) are empty for a row kept without intermediates
  // (OracleOptions), and hold the first intermediate_columns keys when that is set; else
  // [kv_len] each. Entries of invisible keys are 0 (and -inf in `biased`), never computed.
  std::vector<uint8_t> visible;
  std::vector<Real> raw;         // q . k
  std::vector<Real> scaled;      // scale * (q . k)
  std::vector<Real> biased;      // scaled + ALiBi bias; -inf where invisible
  std::vector<Real> exps;        // exp(biased - row_max)
  std::vector<Real> weights;     // exps / row_sum
  Real row_max;                  // -inf with no visible key
  Real row_sum;                  // 0 with no visible key
  Real lse;                      // row_max + log(row_sum); -inf with no visible key
  std::vector<Real> output;      // [value_dim]
  int64_t visible_count = 0;
  // [value_dim]: sum over visible keys of w_j |v_jc|, with w_j rounded to f64 and the sum in
  // double: the one per-key quantity the error bounds need (row_magnitudes.hpp), so that a
  // row needs no weights to be bounded. Always filled.
  std::vector<double> weighted_values;
  bool has_intermediates() const { return !raw.empty(); }
};

struct OracleOptions {
  unsigned precision_bits = kDefaultPrecisionBits;
  // Keep the per-key vectors (visible, raw ... weights) of every row. Without them a row keeps
  // only its per-row values (row_max, row_sum, lse, output, visible_count, weighted_values):
  // O(value_dim) per row instead of O(kv_len), which is what lets a long problem be checked.
  bool keep_intermediates = true;
  // Rows (flat indices, among those computed) that keep their per-key vectors although
  // keep_intermediates is false: the rows a ledger prints (ledger_rows()).
  std::vector<int64_t> intermediate_rows;
  // Keep the per-key vectors for the first this-many keys only; -1 keeps them all. A ledger
  // prints 16 columns, and a row of 4096 keys would otherwise keep 5 x 4096 Reals to show 16.
  int64_t intermediate_columns = -1;
  // Rows to compute, as flat indices b * q_heads * q_len + h * q_len + i; empty means all.
  // Large shapes sample rows to stay affordable (row_selection.hpp).
  std::vector<int64_t> rows;
  // Called after each row with (rows done, rows to do), for progress.hpp's meter.
  std::function<void(int64_t, int64_t)> on_row;
};

struct OracleResult {
  AttentionSpec spec;
  unsigned precision_bits = 0;  // the precision in force
  std::vector<RowTrace> rows;   // in the order asked (all rows: b, h, i ascending)
};

// Runs the oracle. The problem's Reals must have been made at >= the requested precision
// (from_problem inside a PrecisionScope of it); forward() sets its own scope for the
// intermediates. A row index out of range throws std::out_of_range before any row is computed.
OracleResult forward(const OracleProblem& problem, const OracleOptions& options = {});
// Convenience: from_problem_stored + forward in one scope.
OracleResult forward(const Problem& problem, const OracleOptions& options = {});

// The oracle checks itself: it recomputes at twice the precision and requires every output
// and LSE to agree within the bound docs/error-model.md derives for precision p. Reports the
// worst ratio of observed difference to bound (must be <= 1) and the guaranteed bits.
struct SelfCheck {
  bool passed = false;
  double worst_ratio = 0;        // max |x_p - x_2p| / bound_p over outputs and LSEs
  double min_guaranteed_bits = 0;  // min over outputs of -log2(bound_p / |x|)
  std::string worst_where;       // "O[b,h,i,c]" or "LSE[b,h,i]"
};
SelfCheck self_check(const Problem& problem, unsigned precision_bits = kDefaultPrecisionBits);
// The same, with the bound claimed for `claimed_bits` while computing at `precision_bits`:
// claiming more bits than were used must fail (the test that the self-check can fail).
SelfCheck self_check(const Problem& problem, unsigned precision_bits, unsigned claimed_bits);

// Outputs and LSEs of a result, rounded (flat, in row order).
std::vector<double> outputs_f64(const OracleResult& result);
std::vector<float> outputs_in(const OracleResult& result, DType dtype);
std::vector<double> lse_f64(const OracleResult& result);
std::vector<float> lse_f32(const OracleResult& result);

// Row indices of a flat row number and back.
int64_t flat_row(const AttentionShape& shape, int64_t b, int64_t h, int64_t i);

}  // namespace attncheck::oracle
