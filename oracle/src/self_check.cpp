// The oracle checks itself: recompute at twice the precision and require agreement within the
// bound derived for precision p (docs/error-model.md, "The oracle's own error"). With unit
// roundoff e = 2^-p, n visible keys and the magnitudes of row_magnitudes.hpp:
//   D_s   = gamma(D+3) max_products + 2e max_bias + e max_score
//   rel_w = 2 (2 D_s + e max_shift + e) + gamma(n-1) + e
//   |dO_c|  <= (rel_w + gamma(n)) sum_j w_j |v_jc|
//   |dLSE|  <= 3 D_s + e max_shift + e + gamma(n-1) + e |log S| + e |LSE|
// all times 1.01 for second-order terms.
#include <cmath>
#include <limits>

#include "attncheck/oracle/oracle.hpp"
#include "row_magnitudes.hpp"

namespace attncheck::oracle {
namespace {

constexpr double kSecondOrder = 1.01;

struct RowBound {
  std::vector<double> output;  // per value column
  double lse = 0;
};

RowBound oracle_row_bound(const Problem& problem, const RowTrace& row, double e) {
  const RowMagnitudes m = row_magnitudes(problem, row);
  const double n = m.visible;
  const double score_error =
      gamma_n(problem.spec.shape.head_dim + 3, e) * m.max_products + 2 * e * m.max_bias + e * m.max_score;
  const double weight_error = 2 * (2 * score_error + e * m.max_shift + e) + gamma_n(n - 1, e) + e;
  RowBound bound;
  for (double weighted : m.weighted_values) {
    bound.output.push_back(kSecondOrder * (weight_error + gamma_n(n, e)) * weighted);
  }
  bound.lse = kSecondOrder * (3 * score_error + e * m.max_shift + e + gamma_n(n - 1, e) +
                              e * std::fabs(m.log_sum) + e * std::fabs(m.lse));
  return bound;
}

}  // namespace

SelfCheck self_check(const Problem& problem, unsigned precision_bits) {
  return self_check(problem, precision_bits, precision_bits);
}

SelfCheck self_check(const Problem& problem, unsigned precision_bits, unsigned claimed_bits) {
  OracleOptions low;
  low.precision_bits = precision_bits;
  low.keep_intermediates = false;  // the bounds need the per-row values only
  OracleOptions high = low;
  high.precision_bits = 2 * precision_bits;
  const OracleResult at_p = forward(problem, low);
  const OracleResult at_2p = forward(problem, high);
  PrecisionScope scope(2 * precision_bits);
  // The claimed precision's unit roundoff; Boost gives a few bits more than asked, which
  // only makes the bound safer.
  const double e = std::ldexp(1.0, -static_cast<int>(claimed_bits));
  SelfCheck check;
  check.min_guaranteed_bits = std::numeric_limits<double>::infinity();
  for (size_t r = 0; r < at_p.rows.size(); ++r) {
    const RowTrace& a = at_p.rows[r];
    const RowTrace& b = at_2p.rows[r];
    if (a.visible_count == 0) continue;  // exact zeros and -inf by definition
    const RowBound bound = oracle_row_bound(problem, b, e);
    const std::string row_name =
        std::to_string(a.batch) + "," + std::to_string(a.head) + "," + std::to_string(a.query);
    auto consider = [&](const Real& x, const Real& y, double limit, const std::string& where) {
      const Real diff = x - y;
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
    for (size_t c = 0; c < bound.output.size(); ++c) {
      consider(a.output[c], b.output[c], bound.output[c], "O[" + row_name + "," + std::to_string(c) + "]");
    }
    consider(a.lse, b.lse, bound.lse, "LSE[" + row_name + "]");
  }
  check.passed = check.worst_ratio <= 1.0;
  return check;
}

}  // namespace attncheck::oracle
