#include "attncheck/oracle/error_bound.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace attncheck::oracle {
namespace {

double gamma_n(double n, double u) { return n * u / (1 - n * u); }

// Second-order terms (products of two roundoffs) are covered by this factor; every first
// order term is below 2^-7, so their products are below 1% of the sum.
constexpr double kSecondOrder = 1.01;

}  // namespace

ErrorBound a_priori_bound(const Problem& problem, const OracleResult& result,
                          const ErrorTraits& traits, DType dtype) {
  const AttentionShape& s = problem.spec.shape;
  const double u = unit_roundoff(DType::f32);   // arithmetic is f32
  const double u_storage = unit_roundoff(dtype);  // O is stored in dtype
  const double scale = effective_scale(problem.spec);
  const double exp_error = 2 * u * traits.exp_max_ulp;  // one f32 ULP is at most 2u relative
  ErrorBound bound;
  for (const RowTrace& row : result.rows) {
    if (row.weights.size() != static_cast<size_t>(s.kv_len)) {
      throw std::invalid_argument("a_priori_bound: oracle rows lack weights");
    }
    const int64_t kvh = kv_head_for(s, row.head);
    const float* query = &problem.q[q_offset(s, row.batch, row.head, row.query)];
    if (row.visible_count == 0) {  // exact zeros and -inf are required
      bound.output.insert(bound.output.end(), s.value_dim, 0.0);
      bound.lse.push_back(0.0);
      continue;
    }
    // Score error: dot product gamma_D, the product with the (rounded) scale 2u, the ALiBi
    // product and sum u each.
    double score_error = 0, max_score = 0;
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!row.visible[j]) continue;
      const float* key = &problem.k[k_offset(s, row.batch, kvh, j)];
      double products = 0;
      for (int64_t d = 0; d < s.head_dim; ++d) products += std::fabs(double(query[d]) * double(key[d]));
      const double a = scale * products;
      const double b = problem.spec.has_alibi
                           ? std::fabs(double(problem.alibi_slopes[row.head]) *
                                       double(alibi_distance(s, row.query, j)))
                           : 0.0;
      score_error = std::max(score_error, (gamma_n(s.head_dim, u) + 3 * u) * a + 3 * u * b);
      max_score = std::max(max_score, a + b);
    }
    const double row_max = round_to_f64(row.row_max);
    const double max_shift = max_score + std::fabs(row_max);  // >= |s_j - m|
    const double n = static_cast<double>(row.visible_count);
    // Relative error of each unnormalised weight p_j = exp(s_j - m).
    double weight_error = 2 * score_error + u * max_shift + exp_error;
    if (traits.online_softmax) {
      // At most one rescale per visible key, each an exp and a product; the rescale
      // arguments telescope to at most max_shift.
      weight_error += n * (exp_error + 2 * u) + u * max_shift;
    }
    const double sum_error = weight_error + gamma_n(n - 1, u);
    double output_relative = weight_error + gamma_n(n, u) + sum_error + u;
    if (traits.weights_rounded_to_storage) output_relative += u_storage;
    for (int64_t c = 0; c < s.value_dim; ++c) {
      double weighted = 0;
      for (int64_t j = 0; j < s.kv_len; ++j) {
        if (!row.visible[j]) continue;
        weighted += round_to_f64(row.weights[j]) *
                    std::fabs(double(problem.v[v_offset(s, row.batch, kvh, j) + c]));
      }
      double e = kSecondOrder * output_relative * weighted;
      if (dtype != DType::f32) {
        // The final rounding to storage: half an ulp of the computed value.
        e += kSecondOrder * u_storage * (std::fabs(round_to_f64(row.output[c])) + e);
      }
      bound.output.push_back(e);
    }
    const double lse = round_to_f64(row.lse);
    const double log_sum = std::log(round_to_f64(row.row_sum));
    bound.lse.push_back(kSecondOrder * (score_error + sum_error + 2 * u * std::fabs(log_sum) +
                                        u * std::fabs(lse)));
  }
  return bound;
}

BoundCheck check_bound(std::span<const float> actual, std::span<const double> exact,
                       std::span<const double> bound) {
  if (actual.size() != exact.size() || actual.size() != bound.size()) {
    throw std::invalid_argument("check_bound: sizes differ");
  }
  BoundCheck check;
  for (size_t i = 0; i < actual.size(); ++i) {
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
