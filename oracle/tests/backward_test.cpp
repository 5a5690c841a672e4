// The oracle's gradients (oracle/backward.hpp) against central finite differences of the
// oracle's own forward pass at 256 bits, and the gradient identities the softmax implies.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/random_problem.hpp"

namespace attncheck::oracle {
namespace {

constexpr unsigned kBits = 256;

// Grouped-query (two query heads on one kv head), causal with fewer queries than keys,
// value_dim != head_dim, padding in the second batch entry.
Problem gradient_problem() {
  AttentionSpec spec;
  spec.shape = AttentionShape{2, 2, 1, 3, 5, 3, 2};
  spec.causal = true;
  spec.has_valid_keys = true;
  Problem p = make_random_problem(spec, DType::f32, 11);
  p.valid_keys = {5, 4};
  return p;
}

// dO: multiples of 1/8 in [-1, 1], exact in a double.
std::vector<double> upstream(const AttentionShape& s) {
  std::vector<double> d(static_cast<size_t>(o_elements(s)));
  for (size_t e = 0; e < d.size(); ++e) d[e] = static_cast<double>(static_cast<int>((e * 7 + 3) % 17) - 8) / 8.0;
  return d;
}

// (L(x + h) - L(x - h)) / 2h for one input element, h = 2^-80: the truncation error is
// O(h^2) ~ 2^-160 and the rounding error 2^-256 L / h ~ 2^-176, far below the tolerance.
Real central_difference(OracleProblem p, std::vector<Real> OracleProblem::*tensor, size_t e,
                        const std::vector<double>& d_out) {
  const Real h = ldexp(Real(1), -80);
  (p.*tensor)[e] += h;
  const Real up = weighted_output_sum(p, d_out, kBits);
  (p.*tensor)[e] -= 2 * h;
  const Real down = weighted_output_sum(p, d_out, kBits);
  return (up - down) / (2 * h);
}

TEST(OracleBackward, GradientsMatchCentralDifferencesOfTheForwardPass) {
  const Problem problem = gradient_problem();
  const std::vector<double> d_out = upstream(problem.spec.shape);
  PrecisionScope scope(kBits);
  const OracleProblem p = from_problem(problem);
  const Gradients g = backward(p, d_out, kBits);
  int compared = 0;
  for (auto [tensor, grad] : {std::pair{&OracleProblem::q, &g.dq}, std::pair{&OracleProblem::k, &g.dk},
                              std::pair{&OracleProblem::v, &g.dv}}) {
    for (size_t e = 0; e < grad->size(); e += 2) {
      const Real fd = central_difference(p, tensor, e, d_out);
      const double error = static_cast<double>(abs(fd - (*grad)[e]));
      EXPECT_LE(error, 1e-35 * (1 + std::fabs(static_cast<double>(fd)))) << "element " << e;
      ++compared;
    }
  }
  EXPECT_GT(compared, 20);
  // The comparison can fail: the gradient of another loss (2 dO) is off by the gradient itself.
  std::vector<double> doubled = d_out;
  for (double& x : doubled) x *= 2;
  const Gradients other = backward(p, doubled, kBits);
  EXPECT_GT(static_cast<double>(abs(central_difference(p, &OracleProblem::q, 0, d_out) - other.dq[0])), 1e-10);
}

// Adding one vector to every key of a kv head shifts each score of a row by the same amount,
// which the softmax ignores: the key gradients of a kv head sum to zero. The weights of a row
// sum to one, so the value gradients of a kv head sum to the upstream gradients of the rows
// that see a key.
TEST(OracleBackward, KeyGradientsSumToZeroAndValueGradientsSumToTheUpstreamGradient) {
  const Problem problem = gradient_problem();
  const AttentionShape& s = problem.spec.shape;
  const std::vector<double> d_out = upstream(s);
  const Gradients g = backward(problem, d_out);
  PrecisionScope scope(kDefaultPrecisionBits);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t d = 0; d < s.head_dim; ++d) {
      Real sum = 0;
      for (int64_t j = 0; j < s.kv_len; ++j) sum += g.dk[k_offset(s, b, 0, j) + d];
      EXPECT_LE(static_cast<double>(abs(sum)), 1e-30) << "b=" << b << " d=" << d;
    }
    for (int64_t c = 0; c < s.value_dim; ++c) {
      Real sum = 0, expected = 0;
      for (int64_t j = 0; j < s.kv_len; ++j) sum += g.dv[v_offset(s, b, 0, j) + c];
      for (int64_t h = 0; h < s.q_heads; ++h) {
        for (int64_t i = 0; i < s.q_len; ++i) {
          if (!visible_key_range(problem.spec, problem.visibility(), b, i).empty()) {
            expected += d_out[o_offset(s, b, h, i) + c];
          }
        }
      }
      EXPECT_LE(static_cast<double>(abs(sum - expected)), 1e-30) << "b=" << b << " c=" << c;
    }
  }
}

TEST(OracleBackward, UpstreamGradientOfTheWrongLengthIsRefused) {
  const Problem problem = gradient_problem();
  EXPECT_THROW(backward(problem, std::vector<double>(3, 1.0)), std::invalid_argument);
}

}  // namespace
}  // namespace attncheck::oracle

namespace attncheck::oracle {
namespace {

// The intermediates a ledger prints: D = dO . O agrees with its cross-check sum_j P_j dP_j, and
// the forward they come from is kept.
TEST(OracleBackward, KeptIntermediatesHoldDeltaAndItsCrossCheck) {
  Problem p = gradient_problem();
  add_random_d_out(p, 5);
  BackwardOptions options;
  options.keep_intermediates = true;
  const Gradients g = backward(p, options);
  ASSERT_EQ(static_cast<int64_t>(g.rows.size()), lse_elements(p.spec.shape));
  ASSERT_EQ(g.forward.rows.size(), g.rows.size());
  int64_t compared = 0;
  for (const BackwardRow& row : g.rows) {
    if (row.dp.empty()) continue;
    EXPECT_LT(static_cast<double>(abs(row.delta - row.delta_from_weights)), 1e-30);
    ++compared;
  }
  EXPECT_GT(compared, 0);
  EXPECT_THROW(backward(gradient_problem(), BackwardOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace attncheck::oracle
