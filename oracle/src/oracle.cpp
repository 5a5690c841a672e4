#include "attncheck/oracle/oracle.hpp"

#include <mpfr.h>

#include <cmath>
#include <limits>
#include <sstream>

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
    mpfr_set_zero(raw(score), 1);
    for (int64_t d = 0; d < s.head_dim; ++d) {
      mpfr_mul(raw(work.product), raw(query[d]), raw(key[d]), MPFR_RNDN);
      mpfr_add(raw(score), raw(score), raw(work.product), MPFR_RNDN);
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
  if (!sizes_match(problem.q.size(), q_elements(problem.spec.shape)) ||
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

// --- Self-check -------------------------------------------------------------------------
//
// Bound at unit roundoff e = 2^-p for one row (docs/error-model.md, "The oracle's own error"):
//   D_s = gamma(D+3) * max_j scale*sum_d|q_d k_jd| + 2e*max_j|bias_j| + e*max_j|s_j|
//   rel_w = 2*(2*D_s + e*max_j|s_j - m| + e) + gamma(n-1) + e
//   |dO_c| <= (rel_w + gamma(n)) * sum_j w_j |v_jc|
//   |dLSE| <= D_s + 2*D_s + e*max_j|s_j - m| + e + gamma(n-1) + e*|log S| + e*|LSE|
// with n visible keys and gamma(n) = n e / (1 - n e); all times 1.01 for second-order terms.

namespace {

double gamma_n(double n, double e) { return n * e / (1 - n * e); }

struct RowBound {
  std::vector<double> output;  // per value column
  double lse = 0;
};

RowBound oracle_row_bound(const Problem& problem, const RowTrace& row, double e) {
  const AttentionShape& s = problem.spec.shape;
  const int64_t kvh = kv_head_for(s, row.head);
  const double scale = effective_scale(problem.spec);
  double max_products = 0, max_bias = 0;
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!row.visible[j]) continue;
    double products = 0;
    for (int64_t d = 0; d < s.head_dim; ++d) {
      products += std::fabs(double(problem.q[q_offset(s, row.batch, row.head, row.query) + d]) *
                            double(problem.k[k_offset(s, row.batch, kvh, j) + d]));
    }
    max_products = std::max(max_products, scale * products);
    if (problem.spec.has_alibi) {
      max_bias = std::max(max_bias, std::fabs(double(problem.alibi_slopes[row.head]) *
                                              double(alibi_distance(s, row.query, j))));
    }
  }
  // |s_j| <= scale*sum|q k| + |bias|, and |s_j - m| <= |s_j| + |m|.
  const double max_score = max_products + max_bias;
  const double max_shift = std::fabs(round_to_f64(row.row_max)) + max_score;
  const double n = static_cast<double>(row.visible_count);
  const double score_error = gamma_n(s.head_dim + 3, e) * max_products + 2 * e * max_bias + e * max_score;
  const double weight_error = 2 * (2 * score_error + e * max_shift + e) + gamma_n(n - 1, e) + e;
  RowBound bound;
  bound.output.assign(s.value_dim, 0.0);
  for (int64_t c = 0; c < s.value_dim; ++c) {
    double weighted = 0;
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!row.visible[j]) continue;
      weighted += round_to_f64(row.weights[j]) *
                  std::fabs(double(problem.v[v_offset(s, row.batch, kvh, j) + c]));
    }
    bound.output[c] = 1.01 * (weight_error + gamma_n(n, e)) * weighted;
  }
  const double log_sum = std::log(std::max(round_to_f64(row.row_sum), 1.0));
  bound.lse = 1.01 * (3 * score_error + e * max_shift + e + gamma_n(n - 1, e) + e * log_sum +
                      e * std::fabs(round_to_f64(row.lse)));
  return bound;
}

}  // namespace

SelfCheck self_check(const Problem& problem, unsigned precision_bits) {
  return self_check(problem, precision_bits, precision_bits);
}

SelfCheck self_check(const Problem& problem, unsigned precision_bits, unsigned claimed_bits) {
  OracleOptions low{.precision_bits = precision_bits, .keep_intermediates = false, .rows = {}};
  OracleOptions high{.precision_bits = 2 * precision_bits, .keep_intermediates = false, .rows = {}};
  const OracleResult at_p = forward(problem, low);
  const OracleResult at_2p = forward(problem, high);
  PrecisionScope scope(2 * precision_bits);
  // The claimed precision's unit roundoff; Boost gives a few bits more than asked, which
  // only makes the bound safer.
  const double e = std::ldexp(1.0, -static_cast<int>(claimed_bits));
  SelfCheck check;
  check.min_guaranteed_bits = std::numeric_limits<double>::infinity();
  const AttentionShape& s = problem.spec.shape;
  for (size_t r = 0; r < at_p.rows.size(); ++r) {
    const RowTrace& a = at_p.rows[r];
    const RowTrace& b = at_2p.rows[r];
    if (a.visible_count == 0) continue;  // exact zeros and -inf by definition
    const RowBound bound = oracle_row_bound(problem, b, e);
    auto consider = [&](const Real& x, const Real& y, double limit, const std::string& where) {
      Real diff = x - y;
      const double observed = std::fabs(round_to_f64(diff));
      const double ratio = limit > 0 ? observed / limit : (observed > 0 ? INFINITY : 0.0);
      if (ratio > check.worst_ratio || check.worst_where.empty()) {
        check.worst_ratio = std::max(check.worst_ratio, ratio);
        check.worst_where = where;
      }
      const double magnitude = std::fabs(round_to_f64(y));
      if (magnitude > 0 && limit > 0) {
        check.min_guaranteed_bits = std::min(check.min_guaranteed_bits, -std::log2(limit / magnitude));
      }
    };
    std::ostringstream row_name;
    row_name << a.batch << "," << a.head << "," << a.query;
    for (int64_t c = 0; c < s.value_dim; ++c) {
      consider(a.output[c], b.output[c], bound.output[c],
               "O[" + row_name.str() + "," + std::to_string(c) + "]");
    }
    consider(a.lse, b.lse, bound.lse, "LSE[" + row_name.str() + "]");
  }
  check.passed = check.worst_ratio <= 1.0;
  return check;
}

}  // namespace attncheck::oracle
