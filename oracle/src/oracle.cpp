#include "attncheck/oracle/oracle.hpp"

#include <mpfr.h>

#include <cmath>
#include <limits>

namespace attncheck::oracle {
namespace {

// In-place MPFR calls on Boost-owned storage: the inner loops below reuse a few
// preallocated Reals and never allocate per operation.
mpfr_ptr raw(Real& x) { return x.backend().data(); }
mpfr_srcptr raw(const Real& x) { return x.backend().data(); }

void set_minus_infinity(Real& x) { mpfr_set_inf(raw(x), -1); }

// Scratch for one row, reused across rows.
struct RowWorkspace {
  Real product, bias;
};

void compute_row(const OracleProblem& p, int64_t b, int64_t h, int64_t i, bool keep,
                 RowWorkspace& work, RowTrace& row) {
  const AttentionShape& s = p.spec.shape;
  const VisibilityInputs vis = p.visibility();
  const int64_t kvh = kv_head_for(s, h);
  row.batch = b;
  row.head = h;
  row.query = i;
  row.visible.assign(s.kv_len, 0);
  // Per-key vectors: always sized for the weights (the bounds need them), optionally the rest.
  row.exps.assign(s.kv_len, Real(0));
  row.weights.assign(s.kv_len, Real(0));
  if (keep) {
    row.raw.assign(s.kv_len, Real(0));
    row.scaled.assign(s.kv_len, Real(0));
    row.biased.assign(s.kv_len, Real(0));
  }
  std::vector<Real>& biased = keep ? row.biased : row.exps;  // exps doubles as score storage
  row.output.assign(s.value_dim, Real(0));
  row.visible_count = 0;
  set_minus_infinity(row.row_max);
  mpfr_set_zero(raw(row.row_sum), 1);

  const Real* query = &p.q[q_offset(s, b, h, i)];
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!key_visible(p.spec, vis, b, h, i, j)) {
      if (keep) set_minus_infinity(row.biased[j]);
      continue;
    }
    row.visible[j] = 1;
    ++row.visible_count;
    const Real* key = &p.k[k_offset(s, b, kvh, j)];
    Real& score = biased[j];
    if (!p.q_exact.empty()) {
      // Exact mode is for small worked examples; rationals allocate, which is fine there.
      const int64_t q_base = q_offset(s, b, h, i), k_base = k_offset(s, b, kvh, j);
      Rational dot = 0;
      for (int64_t d = 0; d < s.head_dim; ++d) dot += p.q_exact[q_base + d] * p.k_exact[k_base + d];
      mpfr_set_q(raw(score), dot.backend().data(), MPFR_RNDN);
    } else {
      mpfr_set_zero(raw(score), 1);
      for (int64_t d = 0; d < s.head_dim; ++d) {
        mpfr_mul(raw(work.product), raw(query[d]), raw(key[d]), MPFR_RNDN);
        mpfr_add(raw(score), raw(score), raw(work.product), MPFR_RNDN);
      }
    }
    if (keep) mpfr_set(raw(row.raw[j]), raw(score), MPFR_RNDN);
    mpfr_mul(raw(score), raw(score), raw(p.scale), MPFR_RNDN);
    if (keep) mpfr_set(raw(row.scaled[j]), raw(score), MPFR_RNDN);
    if (p.spec.has_alibi) {
      mpfr_mul_si(raw(work.bias), raw(p.alibi_slopes[h]), static_cast<long>(alibi_distance(s, i, j)),
                  MPFR_RNDN);
      mpfr_sub(raw(score), raw(score), raw(work.bias), MPFR_RNDN);
    }
    if (mpfr_greater_p(raw(score), raw(row.row_max))) mpfr_set(raw(row.row_max), raw(score), MPFR_RNDN);
  }

  if (row.visible_count == 0) {  // no visible key: zeros and LSE = -inf, by definition
    set_minus_infinity(row.lse);
    return;
  }
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!row.visible[j]) continue;
    // exps[j] may alias biased[j] (keep == false): the subtraction reads it first.
    mpfr_sub(raw(row.exps[j]), raw(biased[j]), raw(row.row_max), MPFR_RNDN);
    mpfr_exp(raw(row.exps[j]), raw(row.exps[j]), MPFR_RNDN);
    mpfr_add(raw(row.row_sum), raw(row.row_sum), raw(row.exps[j]), MPFR_RNDN);
  }
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!row.visible[j]) continue;
    mpfr_div(raw(row.weights[j]), raw(row.exps[j]), raw(row.row_sum), MPFR_RNDN);
    const Real* value = &p.v[v_offset(s, b, kvh, j)];
    for (int64_t c = 0; c < s.value_dim; ++c) {
      mpfr_mul(raw(work.product), raw(row.weights[j]), raw(value[c]), MPFR_RNDN);
      mpfr_add(raw(row.output[c]), raw(row.output[c]), raw(work.product), MPFR_RNDN);
    }
  }
  mpfr_log(raw(row.lse), raw(row.row_sum), MPFR_RNDN);
  mpfr_add(raw(row.lse), raw(row.lse), raw(row.row_max), MPFR_RNDN);
  if (!keep) {
    // Without intermediates, exps held the scores until overwritten; keep only weights.
    row.exps.clear();
  }
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

OracleProblem from_problem(const Problem& problem) {
  validate(problem);
  OracleProblem p;
  p.spec = problem.spec;
  p.q = to_reals(problem.q);
  p.k = to_reals(problem.k);
  p.v = to_reals(problem.v);
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
  if ((!problem.q_exact.empty() && !sizes_match(problem.q_exact.size(), q_elements(problem.spec.shape))) ||
      (!problem.q_exact.empty() && !sizes_match(problem.k_exact.size(), k_elements(problem.spec.shape))) ||
      !sizes_match(problem.q.size(), q_elements(problem.spec.shape)) ||
      !sizes_match(problem.k.size(), k_elements(problem.spec.shape)) ||
      !sizes_match(problem.v.size(), v_elements(problem.spec.shape))) {
    throw SpecError("q/k/v", "tensor sizes do not match the shape");
  }
  PrecisionScope scope(options.precision_bits);
  const AttentionShape& s = problem.spec.shape;
  OracleResult result;
  result.spec = problem.spec;
  result.precision_bits = scope.effective_bits();
  std::vector<int64_t> rows = options.rows;
  if (rows.empty()) {
    rows.resize(lse_elements(s));
    for (int64_t r = 0; r < lse_elements(s); ++r) rows[r] = r;
  }
  RowWorkspace work;
  result.rows.resize(rows.size());
  for (size_t n = 0; n < rows.size(); ++n) {
    const int64_t r = rows[n];
    if (r < 0 || r >= lse_elements(s)) throw std::out_of_range("oracle: row index out of range");
    const int64_t i = r % s.q_len;
    const int64_t h = (r / s.q_len) % s.q_heads;
    const int64_t b = r / (s.q_len * s.q_heads);
    compute_row(problem, b, h, i, options.keep_intermediates, work, result.rows[n]);
  }
  return result;
}

OracleResult forward(const Problem& problem, const OracleOptions& options) {
  PrecisionScope scope(options.precision_bits);
  return forward(from_problem(problem), options);
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
