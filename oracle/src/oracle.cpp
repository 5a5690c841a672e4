#include "attncheck/oracle/oracle.hpp"

#include <mpfr.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace attncheck::oracle {
namespace {

// In-place MPFR calls on Boost-owned storage: the inner loops below reuse a few
// preallocated Reals and never allocate per operation.
mpfr_ptr raw(Real& x) { return x.backend().data(); }
mpfr_srcptr raw(const Real& x) { return x.backend().data(); }

void set_minus_infinity(Real& x) { mpfr_set_inf(raw(x), -1); }

// Scratch for one row, reused across rows: the full-length per-key vectors live here, not in
// the RowTrace, so a row that keeps no intermediates costs O(value_dim) once computed, and the
// Reals keep their limbs from row to row (no allocation per row).
struct RowWorkspace {
  Real product, bias;
  std::vector<uint8_t> visible;
  std::vector<Real> scores;   // biased scores, then exp(score - max) in place
  std::vector<Real> weights;
  explicit RowWorkspace(int64_t kv_len)
      : visible(static_cast<size_t>(kv_len)), scores(static_cast<size_t>(kv_len)), weights(static_cast<size_t>(kv_len)) {}
};

// score = q . k, rounded once per product and once per sum, or exactly with exact decimals.
void dot_product(const OracleProblem& p, int64_t q_base, int64_t k_base, RowWorkspace& work, Real& score) {
  const int64_t dim = p.spec.shape.head_dim;
  if (!p.q_exact.empty()) {
    // Exact mode is for small worked examples; rationals allocate, which is fine there.
    Rational dot = 0;
    for (int64_t d = 0; d < dim; ++d) dot += p.q_exact[q_base + d] * p.k_exact[k_base + d];
    mpfr_set_q(raw(score), dot.backend().data(), MPFR_RNDN);
    return;
  }
  mpfr_set_zero(raw(score), 1);
  if (!p.q_stored.empty()) {
    // A product of two floats is exact in a double (48 significant bits, exponents far inside
    // the double's range), so setting it rounds it once, exactly as mpfr_mul of the same
    // values as Reals does: the two forms give the same bits.
    const float* query = &p.q_stored[q_base];
    const float* key = &p.k_stored[k_base];
    for (int64_t d = 0; d < dim; ++d) {
      mpfr_set_d(raw(work.product), double(query[d]) * double(key[d]), MPFR_RNDN);
      mpfr_add(raw(score), raw(score), raw(work.product), MPFR_RNDN);
    }
    return;
  }
  const Real* query = &p.q[q_base];
  const Real* key = &p.k[k_base];
  for (int64_t d = 0; d < dim; ++d) {
    mpfr_mul(raw(work.product), raw(query[d]), raw(key[d]), MPFR_RNDN);
    mpfr_add(raw(score), raw(score), raw(work.product), MPFR_RNDN);
  }
}

// Computes row (b, h, i) in `work`, and keeps in `row` its per-row values and, when
// keep_columns > 0, the first keep_columns entries of each per-key vector.
void compute_row(const OracleProblem& p, int64_t b, int64_t h, int64_t i, int64_t keep_columns,
                 RowWorkspace& work, RowTrace& row) {
  const AttentionShape& s = p.spec.shape;
  const VisibilityInputs vis = p.visibility();
  const int64_t kvh = kv_head_for(s, h);
  const bool stored = !p.v_stored.empty();
  row.batch = b;
  row.head = h;
  row.query = i;
  const auto kept = static_cast<size_t>(keep_columns);
  if (keep_columns > 0) {
    row.visible.assign(kept, 0);
    row.raw.assign(kept, Real(0));
    row.scaled.assign(kept, Real(0));
    row.biased.assign(kept, Real(0));
    row.exps.assign(kept, Real(0));
    row.weights.assign(kept, Real(0));
  }
  row.output.assign(s.value_dim, Real(0));
  row.weighted_values.assign(s.value_dim, 0.0);
  row.visible_count = 0;
  set_minus_infinity(row.row_max);
  mpfr_set_zero(raw(row.row_sum), 1);

  for (int64_t j = 0; j < s.kv_len; ++j) {
    Real& score = work.scores[j];
    work.visible[j] = key_visible(p.spec, vis, b, h, i, j) ? 1 : 0;
    if (!work.visible[j]) {
      set_minus_infinity(score);
      if (j < keep_columns) set_minus_infinity(row.biased[j]);
      continue;
    }
    ++row.visible_count;
    dot_product(p, q_offset(s, b, h, i), k_offset(s, b, kvh, j), work, score);
    if (j < keep_columns) mpfr_set(raw(row.raw[j]), raw(score), MPFR_RNDN);
    mpfr_mul(raw(score), raw(score), raw(p.scale), MPFR_RNDN);
    if (j < keep_columns) mpfr_set(raw(row.scaled[j]), raw(score), MPFR_RNDN);
    if (p.spec.has_alibi) {
      mpfr_mul_si(raw(work.bias), raw(p.alibi_slopes[h]), static_cast<long>(alibi_distance(s, i, j)),
                  MPFR_RNDN);
      mpfr_sub(raw(score), raw(score), raw(work.bias), MPFR_RNDN);
    }
    if (j < keep_columns) {
      row.visible[j] = 1;
      mpfr_set(raw(row.biased[j]), raw(score), MPFR_RNDN);
    }
    if (mpfr_greater_p(raw(score), raw(row.row_max))) mpfr_set(raw(row.row_max), raw(score), MPFR_RNDN);
  }

  if (row.visible_count == 0) {  // no visible key: zeros and LSE = -inf, by definition
    set_minus_infinity(row.lse);
    return;
  }
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!work.visible[j]) continue;
    Real& e = work.scores[j];  // the score becomes its exponential in place
    mpfr_sub(raw(e), raw(e), raw(row.row_max), MPFR_RNDN);
    mpfr_exp(raw(e), raw(e), MPFR_RNDN);
    mpfr_add(raw(row.row_sum), raw(row.row_sum), raw(e), MPFR_RNDN);
    if (j < keep_columns) mpfr_set(raw(row.exps[j]), raw(e), MPFR_RNDN);
  }
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!work.visible[j]) continue;
    Real& weight = work.weights[j];
    mpfr_div(raw(weight), raw(work.scores[j]), raw(row.row_sum), MPFR_RNDN);
    if (j < keep_columns) mpfr_set(raw(row.weights[j]), raw(weight), MPFR_RNDN);
    const double weight_f64 = round_to_f64(weight);
    const int64_t v_base = v_offset(s, b, kvh, j);
    for (int64_t c = 0; c < s.value_dim; ++c) {
      double magnitude;
      if (stored) {
        const float value = p.v_stored[v_base + c];
        mpfr_mul_d(raw(work.product), raw(weight), double(value), MPFR_RNDN);  // as mpfr_mul: v is exact
        magnitude = std::fabs(double(value));
      } else {
        mpfr_mul(raw(work.product), raw(weight), raw(p.v[v_base + c]), MPFR_RNDN);
        magnitude = std::fabs(round_to_f64(p.v[v_base + c]));
      }
      mpfr_add(raw(row.output[c]), raw(row.output[c]), raw(work.product), MPFR_RNDN);
      row.weighted_values[c] += weight_f64 * magnitude;
    }
  }
  mpfr_log(raw(row.lse), raw(row.row_sum), MPFR_RNDN);
  mpfr_add(raw(row.lse), raw(row.lse), raw(row.row_max), MPFR_RNDN);
}

std::vector<Real> to_reals(const std::vector<float>& values) {
  std::vector<Real> out;
  out.reserve(values.size());
  for (float x : values) out.emplace_back(x);  // exact: a float fits in any p >= 24
  return out;
}

}  // namespace

int64_t flat_row(const AttentionShape& shape, int64_t b, int64_t h, int64_t i) {
  return (b * shape.q_heads + h) * shape.q_len + i;
}

namespace {

// Everything but q, k and v.
OracleProblem without_tensors(const Problem& problem) {
  validate(problem);
  OracleProblem p;
  p.spec = problem.spec;
  if (problem.spec.scale) {
    p.scale = Real(*problem.spec.scale);  // a double is exact at p >= 53
  } else {
    p.scale = Real(1) / sqrt(Real(problem.spec.shape.head_dim));
  }
  if (problem.spec.has_alibi) p.alibi_slopes = to_reals(problem.alibi_slopes);
  p.valid_keys = problem.valid_keys;
  p.mask = problem.mask;
  return p;
}

}  // namespace

OracleProblem from_problem(const Problem& problem) {
  OracleProblem p = without_tensors(problem);
  p.q = to_reals(problem.q);
  p.k = to_reals(problem.k);
  p.v = to_reals(problem.v);
  return p;
}

OracleProblem from_problem_stored(const Problem& problem) {
  OracleProblem p = without_tensors(problem);
  p.q_stored = problem.q;
  p.k_stored = problem.k;
  p.v_stored = problem.v;
  return p;
}

OracleResult forward(const OracleProblem& problem, const OracleOptions& options) {
  // The slopes are Reals here, so they are checked apart from the float visibility inputs.
  AttentionSpec without_alibi = problem.spec;
  without_alibi.has_alibi = false;
  validate(without_alibi, problem.visibility());
  if (problem.spec.has_alibi &&
      static_cast<int64_t>(problem.alibi_slopes.size()) != problem.spec.shape.q_heads) {
    throw SpecError("alibi_slopes", "needs one slope per query head");
  }
  const auto sizes_match = [](size_t actual, int64_t expected) {
    return static_cast<int64_t>(actual) == expected;
  };
  const AttentionShape& s = problem.spec.shape;
  // One form of inputs, whole: Reals, or stored floats (and never exact decimals with them).
  const bool stored = !problem.q_stored.empty() || !problem.k_stored.empty() || !problem.v_stored.empty();
  const bool tensors_match =
      stored ? problem.q.empty() && problem.k.empty() && problem.v.empty() && problem.q_exact.empty() &&
                   sizes_match(problem.q_stored.size(), q_elements(s)) &&
                   sizes_match(problem.k_stored.size(), k_elements(s)) &&
                   sizes_match(problem.v_stored.size(), v_elements(s))
             : sizes_match(problem.q.size(), q_elements(s)) && sizes_match(problem.k.size(), k_elements(s)) &&
                   sizes_match(problem.v.size(), v_elements(s)) &&
                   (problem.q_exact.empty() || (sizes_match(problem.q_exact.size(), q_elements(s)) &&
                                                sizes_match(problem.k_exact.size(), k_elements(s))));
  if (!tensors_match) throw SpecError("q/k/v", "tensor sizes do not match the shape");
  if (options.intermediate_columns == 0 || options.intermediate_columns < -1) {
    throw std::invalid_argument("oracle: intermediate_columns must be -1 (all) or positive");
  }
  PrecisionScope scope(options.precision_bits);
  OracleResult result;
  result.spec = problem.spec;
  result.precision_bits = scope.effective_bits();
  std::vector<int64_t> rows = options.rows;
  if (rows.empty()) {
    rows.resize(lse_elements(s));
    for (int64_t r = 0; r < lse_elements(s); ++r) rows[r] = r;
  }
  // Every index is checked before the first row is computed: a bad one found after minutes of
  // work would waste them.
  for (int64_t r : rows) {
    if (r < 0 || r >= lse_elements(s)) throw std::out_of_range("oracle: row index out of range");
  }
  std::vector<int64_t> detailed = options.intermediate_rows;
  std::sort(detailed.begin(), detailed.end());
  const int64_t columns =
      options.intermediate_columns < 0 ? s.kv_len : std::min(s.kv_len, options.intermediate_columns);
  RowWorkspace work(s.kv_len);
  result.rows.resize(rows.size());
  const auto total = static_cast<int64_t>(rows.size());
  for (int64_t n = 0; n < total; ++n) {
    const int64_t r = rows[n];
    const int64_t i = r % s.q_len;
    const int64_t h = (r / s.q_len) % s.q_heads;
    const int64_t b = r / (s.q_len * s.q_heads);
    const bool keep = options.keep_intermediates || std::binary_search(detailed.begin(), detailed.end(), r);
    compute_row(problem, b, h, i, keep ? columns : 0, work, result.rows[n]);
    if (options.on_row) options.on_row(n + 1, total);
  }
  return result;
}

OracleResult forward(const Problem& problem, const OracleOptions& options) {
  PrecisionScope scope(options.precision_bits);
  return forward(from_problem_stored(problem), options);
}

std::vector<double> outputs_f64(const OracleResult& result) {
  std::vector<double> out;
  for (const RowTrace& row : result.rows) {
    for (const Real& x : row.output) out.push_back(round_to_f64(x));
  }
  return out;
}

std::vector<float> outputs_in(const OracleResult& result, DType dtype) {
  std::vector<float> out;
  for (const RowTrace& row : result.rows) {
    for (const Real& x : row.output) out.push_back(round_to_dtype(x, dtype));
  }
  return out;
}

std::vector<double> lse_f64(const OracleResult& result) {
  std::vector<double> out;
  for (const RowTrace& row : result.rows) out.push_back(round_to_f64(row.lse));
  return out;
}

std::vector<float> lse_f32(const OracleResult& result) {
  std::vector<float> out;
  for (const RowTrace& row : result.rows) out.push_back(round_to_f32(row.lse));
  return out;
}

}  // namespace attncheck::oracle
