#include "attncheck/oracle/error_bound.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "row_magnitudes.hpp"

namespace attncheck::oracle {
namespace {

// Second-order terms (products of two roundoffs) are covered by this factor; every first
// order term is below 2^-7, so their products are below 1% of the sum.
constexpr double kSecondOrder = 1.01;

// 8. Gradual underflow: an f32 product or quotient whose result is subnormal is off by up to
//    half the smallest subnormal, 2^-150, in absolute terms (Higham, sec. 2.1:
//    fl(x op y) = (x op y)(1 + d) + e); an exp of k ULPs by up to k 2^-149. A subnormal stored
//    in f16 or bf16 is off by up to half that type's smallest subnormal.
constexpr double kF32Underflow = 0x1p-150;
double storage_underflow(DType dtype) {
  return dtype == DType::f16 ? 0x1p-25 : dtype == DType::bf16 ? 0x1p-134 : 0.0;
}

// sum_j |v_jc| over the row's visible keys, per value column.
std::vector<double> visible_value_sums(const Problem& problem, const RowTrace& row) {
  const AttentionShape& s = problem.spec.shape;
  std::vector<double> sums(s.value_dim, 0.0);
  const int64_t kvh = kv_head_for(s, row.head);
  const VisibilityInputs visibility = problem.visibility();
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!key_visible(problem.spec, visibility, row.batch, row.head, row.query, j)) continue;
    const float* value = &problem.v[v_offset(s, row.batch, kvh, j)];
    for (int64_t c = 0; c < s.value_dim; ++c) sums[c] += std::fabs(double(value[c]));
  }
  return sums;
}

// 9. A dot product that treats subnormal inputs as zero and flushes subnormal products and
//    sums (vdpbf16ps): a dropped input x_d loses |x_d y_d| < 2^-126 |y_d|, a flushed product
//    or sum less than 2^-126 each (head_dim products, head_dim additions), so the dot is off by
//    at most 2^-126 (sum_d |q_d| + max_j sum_d |k_jd| + 2 D), times the scale.
double flushed_dot_error(const Problem& problem, const RowTrace& row) {
  const AttentionShape& s = problem.spec.shape;
  const int64_t kvh = kv_head_for(s, row.head);
  const float* query = &problem.q[q_offset(s, row.batch, row.head, row.query)];
  double query_sum = 0, key_sum = 0;
  for (int64_t d = 0; d < s.head_dim; ++d) query_sum += std::fabs(double(query[d]));
  const VisibilityInputs visibility = problem.visibility();
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (!key_visible(problem.spec, visibility, row.batch, row.head, row.query, j)) continue;
    const float* key = &problem.k[k_offset(s, row.batch, kvh, j)];
    double sum = 0;
    for (int64_t d = 0; d < s.head_dim; ++d) sum += std::fabs(double(key[d]));
    key_sum = std::max(key_sum, sum);
  }
  return effective_scale(problem.spec) * 0x1p-126 * (query_sum + key_sum + 2.0 * double(s.head_dim));
}

}  // namespace

// Derivation: docs/error-model.md, "Kernel bounds", items 1-9.
ErrorBound a_priori_bound(const Problem& problem, const OracleResult& result,
                          const ErrorTraits& traits, DType dtype) {
  const AttentionShape& s = problem.spec.shape;
  const double u = unit_roundoff(DType::f32);     // arithmetic is f32
  const double u_storage = unit_roundoff(dtype);  // O is stored in dtype
  const double exp_error = 2 * u * traits.exp_max_ulp;  // one f32 ULP is at most 2u relative
  ErrorBound bound;
  for (const RowTrace& row : result.rows) {
    const RowMagnitudes m = row_magnitudes(problem, row);
    if (row.visible_count == 0) {  // exact zeros and -inf are required
      bound.output.insert(bound.output.end(), s.value_dim, 0.0);
      bound.lse.push_back(0.0);
      continue;
    }
    // 1. Scores: dot product gamma(D), the product with the rounded scale 2u, the ALiBi
    //    product and the sum u each.
    double score_error = (gamma_n(s.head_dim, u) + 3 * u) * m.max_products + 3 * u * m.max_bias +
                         (s.head_dim + 3) * kF32Underflow;  // 8.
    if (traits.dot_flushes_subnormals) score_error += kSecondOrder * flushed_dot_error(problem, row);  // 9.
    const double n = m.visible;
    // 2. Each unnormalised weight p_j = exp(s_j - m).
    double weight_error = 2 * score_error + u * m.max_shift + exp_error;
    if (traits.online_softmax) {
      // 3. At most one rescale per visible key, each an exp and a product; the rescale
      //    arguments telescope to at most max_shift.
      weight_error += n * (exp_error + 2 * u) + u * m.max_shift;
    }
    const double sum_error = weight_error + gamma_n(n - 1, u);  // 4.
    double output_relative = weight_error + gamma_n(n, u) + sum_error + u;  // 5.
    if (traits.weights_rounded_to_storage) output_relative += u_storage;
    // 8. Underflow in O: the n exps (times |v_jc|), the n products and the division; online
    //    softmax adds n rescale products and exps (times sum_j |v_jc|, as every p <= 1).
    const std::vector<double> value_sums = visible_value_sums(problem, row);
    for (int64_t c = 0; c < s.value_dim; ++c) {
      double e = kSecondOrder * output_relative * m.weighted_values[c];
      const double exp_underflow = 2 * traits.exp_max_ulp * value_sums[c];
      e += kSecondOrder * kF32Underflow *
           (exp_underflow + n + 1 + (traits.online_softmax ? n * (exp_underflow + 1) : 0.0));
      if (dtype != DType::f32) {
        // 6. The final rounding to storage: half an ulp of the computed value (8. or half the
        //    smallest subnormal).
        e += kSecondOrder * (u_storage * (std::fabs(round_to_f64(row.output[c])) + e) + storage_underflow(dtype));
      }
      bound.output.push_back(e);
    }
    // 7. LSE = m + log(S).
    bound.lse.push_back(kSecondOrder * (score_error + sum_error + 2 * u * std::fabs(m.log_sum) +
                                        u * std::fabs(m.lse) +
                                        kF32Underflow * (2 * traits.exp_max_ulp * n + 2)));  // 8.
  }
  return bound;
}

NonFiniteReach non_finite_reach(const Problem& problem, const OracleResult& result) {
  const auto finite = [](const std::vector<float>& xs) {
    return std::all_of(xs.begin(), xs.end(), [](float x) { return std::isfinite(x); });
  };
  NonFiniteReach reach;
  if (finite(problem.q) && finite(problem.k) && finite(problem.v)) return reach;  // the usual case
  const AttentionSpec& spec = problem.spec;
  const AttentionShape& s = spec.shape;
  const VisibilityInputs visibility = problem.visibility();
  reach.output.assign(result.rows.size() * static_cast<size_t>(s.value_dim), 0);
  reach.lse.assign(result.rows.size(), 0);
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const RowTrace& row = result.rows[r];
    const int64_t kvh = kv_head_for(s, row.head);
    // A query that sees no key reads nothing: its zeros and -inf are judged as always.
    bool scores = false;  // a non-finite value reaches the scores: every output of the row
    bool any_visible = false;
    uint8_t* columns = &reach.output[r * static_cast<size_t>(s.value_dim)];
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!key_visible(spec, visibility, row.batch, row.head, row.query, j)) continue;
      any_visible = true;
      const float* key = &problem.k[k_offset(s, row.batch, kvh, j)];
      for (int64_t d = 0; d < s.head_dim && !scores; ++d) scores = !std::isfinite(key[d]);
      const float* value = &problem.v[v_offset(s, row.batch, kvh, j)];
      for (int64_t c = 0; c < s.value_dim; ++c) columns[c] |= !std::isfinite(value[c]);
    }
    if (!any_visible) {
      std::fill_n(columns, s.value_dim, uint8_t{0});
      continue;
    }
    const float* query = &problem.q[q_offset(s, row.batch, row.head, row.query)];
    for (int64_t d = 0; d < s.head_dim && !scores; ++d) scores = !std::isfinite(query[d]);
    if (scores) {
      std::fill_n(columns, s.value_dim, uint8_t{1});
      reach.lse[r] = 1;
    }
  }
  return reach;
}

BoundCheck check_bound(std::span<const float> actual, std::span<const double> exact,
                       std::span<const double> bound, std::span<const uint8_t> unjudged) {
  if (actual.size() != exact.size() || actual.size() != bound.size() ||
      (!unjudged.empty() && unjudged.size() != actual.size())) {
    throw std::invalid_argument("check_bound: sizes differ");
  }
  BoundCheck check;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!unjudged.empty() && unjudged[i]) {
      ++check.unjudged;
      continue;
    }
    const double a = actual[i], x = exact[i];
    double ratio;
    if (std::isinf(x) && a == x) {
      ratio = 0;
    } else if (!std::isfinite(a) || !std::isfinite(x)) {
      ratio = INFINITY;
    } else {
      const double error = std::fabs(a - x);
      ratio = error == 0 ? 0 : (bound[i] > 0 ? error / bound[i] : INFINITY);
    }
    if (ratio > 1) ++check.outside;
    if (ratio > check.worst_ratio || check.worst_index < 0) {
      check.worst_ratio = ratio;
      check.worst_index = static_cast<int64_t>(i);
      check.worst_actual = a;
      check.worst_exact = x;
      check.worst_bound = bound[i];
    }
  }
  return check;
}

std::string format_bound_check(const BoundCheck& c) {
  char text[256];
  std::snprintf(text, sizeof text,
                "outside=%lld worst_ratio=%.3g at [%lld]: actual=%.9g exact=%.17g bound=%.3g",
                static_cast<long long>(c.outside), c.worst_ratio, static_cast<long long>(c.worst_index),
                c.worst_actual, c.worst_exact, c.worst_bound);
  return text;
}

}  // namespace attncheck::oracle
