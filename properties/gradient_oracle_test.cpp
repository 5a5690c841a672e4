// The gradient laws hold for the oracle (issue 18): on random problems with q_len != kv_len,
// head_dim != value_dim, every feature and an upstream gradient, the oracle's gradients (MPFR,
// 128 bits, rounded to double here) satisfy laws 1, 2, 3 and 5 to double rounding (tolerance
// (n + 2) 2^-52 times the sum of the terms' magnitudes: each term's rounding to double and the
// sum's), law 4 exactly (unseen keys and rows that see no key get exact zeros), law 8 exactly
// (scale x c with Q / c multiplies dQ by c and leaves dK, dV alone: power-of-two scaling commutes
// with every rounding), and law 9, the vanishing-gradient trap, with the oracle's own dS.
#include <gtest/gtest.h>

#include <cmath>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/random_problem.hpp"
#include "gradient_tools.hpp"
#include "law_tools.hpp"

namespace attncheck::properties {
namespace {

double tolerance(int64_t n, double magnitude) { return static_cast<double>(n + 2) * 0x1p-52 * magnitude; }

struct Sample {
  Problem problem;
  std::vector<double> dq, dk, dv;
};

Sample oracle_sample(const AttentionSpec& spec, uint64_t seed) {
  Sample s;
  s.problem = make_random_problem(spec, DType::f32, seed);
  add_random_d_out(s.problem, seed + 1);
  const oracle::Gradients g = oracle::backward(s.problem, oracle::BackwardOptions{});
  s.dq = reals_f64(g.dq);
  s.dk = reals_f64(g.dk);
  s.dv = reals_f64(g.dv);
  return s;
}

std::vector<AttentionSpec> specs() {
  std::vector<AttentionSpec> out;
  AttentionSpec a;
  a.shape = AttentionShape{.batch = 2, .q_heads = 4, .kv_heads = 2, .q_len = 5, .kv_len = 9, .head_dim = 6, .value_dim = 3};
  a.causal = true;
  a.has_valid_keys = true;
  out.push_back(a);
  AttentionSpec b = a;
  b.causal = false;
  b.has_valid_keys = false;
  b.mask = MaskKind::per_head;
  b.has_alibi = true;
  b.window_left = 3;
  b.shape.q_len = 11;
  b.shape.kv_len = 4;
  b.scale = 0.3;
  out.push_back(b);
  return out;
}

TEST(GradientLawsOnTheOracle, IdentitiesHoldToDoubleRounding) {
  uint64_t seed = 7;
  for (const AttentionSpec& spec : specs()) {
    const Sample o = oracle_sample(spec, seed++);
    const Problem& p = o.problem;
    const AttentionShape& s = spec.shape;
    const std::vector<uint8_t> empty = empty_rows(p);
    const std::vector<uint8_t> unseen = unseen_keys(p);
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t g = 0; g < s.kv_heads; ++g) {
        for (int64_t d = 0; d < s.head_dim; ++d) {  // law 1
          double sum = 0, mag = 0;
          for (int64_t j = 0; j < s.kv_len; ++j) {
            sum += o.dk[k_offset(s, b, g, j) + d];
            mag += std::fabs(o.dk[k_offset(s, b, g, j) + d]);
          }
          EXPECT_LE(std::fabs(sum), tolerance(s.kv_len, mag)) << "sum_j dK, " << describe(spec);
        }
        for (int64_t c = 0; c < s.value_dim; ++c) {  // law 2
          double sum = 0, mag = 0, up = 0;
          for (int64_t j = 0; j < s.kv_len; ++j) {
            sum += o.dv[v_offset(s, b, g, j) + c];
            mag += std::fabs(o.dv[v_offset(s, b, g, j) + c]);
          }
          for (int64_t h = 0; h < s.q_heads; ++h) {
            for (int64_t i = 0; i < s.q_len; ++i) {
              if (kv_head_for(s, h) != g || empty[flat_row(s, b, h, i)]) continue;
              up += p.d_out[o_offset(s, b, h, i) + c];
              mag += std::fabs(p.d_out[o_offset(s, b, h, i) + c]);
            }
          }
          EXPECT_LE(std::fabs(sum - up), tolerance(s.kv_len + s.q_heads * s.q_len, mag)) << "sum_j dV, " << describe(spec);
        }
        double qside = 0, kside = 0, mag = 0;  // law 3
        for (int64_t h = 0; h < s.q_heads; ++h) {
          if (kv_head_for(s, h) != g) continue;
          for (int64_t e = q_offset(s, b, h, 0); e < q_offset(s, b, h, 0) + s.q_len * s.head_dim; ++e) {
            qside += o.dq[e] * p.q[e];
            mag += std::fabs(o.dq[e] * p.q[e]);
          }
        }
        for (int64_t e = k_offset(s, b, g, 0); e < k_offset(s, b, g, 0) + s.kv_len * s.head_dim; ++e) {
          kside += o.dk[e] * p.k[e];
          mag += std::fabs(o.dk[e] * p.k[e]);
        }
        EXPECT_LE(std::fabs(qside - kside), tolerance(s.q_heads * s.q_len * s.head_dim + s.kv_len * s.head_dim, mag))
            << "<dQ,Q> = <dK,K>, " << describe(spec);
      }
    }
    // Law 4: exact zeros.
    for (size_t key = 0; key < unseen.size(); ++key) {
      if (!unseen[key]) continue;
      for (int64_t d = 0; d < s.head_dim; ++d) EXPECT_EQ(o.dk[key * s.head_dim + d], 0.0);
      for (int64_t c = 0; c < s.value_dim; ++c) EXPECT_EQ(o.dv[key * s.value_dim + c], 0.0);
    }
    for (size_t row = 0; row < empty.size(); ++row) {
      if (!empty[row]) continue;
      for (int64_t d = 0; d < s.head_dim; ++d) EXPECT_EQ(o.dq[row * s.head_dim + d], 0.0);
    }
    // Law 5: linearity, dO3 = 2 dO1 - dO2 (exact in double), elementwise.
    Problem p2 = p, p3 = p;
    add_random_d_out(p2, seed + 100);
    for (size_t e = 0; e < p3.d_out.size(); ++e) p3.d_out[e] = static_cast<float>(2.0 * p.d_out[e] - p2.d_out[e]);
    bool exact_sum = true;
    for (size_t e = 0; e < p3.d_out.size(); ++e) exact_sum = exact_sum && double(p3.d_out[e]) == 2.0 * p.d_out[e] - p2.d_out[e];
    if (exact_sum) {
      const std::vector<double> dq2 = reals_f64(oracle::backward(p2, oracle::BackwardOptions{}).dq);
      const std::vector<double> dq3 = reals_f64(oracle::backward(p3, oracle::BackwardOptions{}).dq);
      for (size_t e = 0; e < dq3.size(); ++e) {
        EXPECT_LE(std::fabs(dq3[e] - (2 * o.dq[e] - dq2[e])), tolerance(3, std::fabs(dq3[e]) + 2 * std::fabs(o.dq[e]) + std::fabs(dq2[e])));
      }
    }
    // Law 8: scale x 2 with Q / 2. The unscaled side states its scale too: the oracle's default
    // 1/sqrt(D) is exact, a spec's scale is a double.
    Problem base = p;
    base.spec.scale = effective_scale(spec);
    const oracle::Gradients g1 = oracle::backward(base, oracle::BackwardOptions{});
    const std::vector<double> dq1 = reals_f64(g1.dq), dk1 = reals_f64(g1.dk), dv1 = reals_f64(g1.dv);
    Problem scaled = base;
    scaled.spec.scale = effective_scale(spec) * 2;
    for (float& x : scaled.q) x /= 2;
    const oracle::Gradients g2 = oracle::backward(scaled, oracle::BackwardOptions{});
    const std::vector<double> dq2 = reals_f64(g2.dq), dk2 = reals_f64(g2.dk), dv2 = reals_f64(g2.dv);
    for (size_t e = 0; e < dq2.size(); ++e) EXPECT_EQ(dq2[e], 2 * dq1[e]) << "dQ " << e;
    for (size_t e = 0; e < dk2.size(); ++e) EXPECT_EQ(dk2[e], dk1[e]) << "dK " << e;
    for (size_t e = 0; e < dv2.size(); ++e) EXPECT_EQ(dv2[e], dv1[e]) << "dV " << e;
  }
}

TEST(GradientLawsOnTheOracle, VanishingGradientTrap) {
  // The oracle at 64 bits: ample for a median of |dS|^2, and half the cost of the default.
  const GradientSource source = [](const Problem& p) {
    const oracle::Gradients g = oracle::backward(p, oracle::BackwardOptions{.precision_bits = 64, .keep_intermediates = true});
    std::vector<double> norms;
    for (const oracle::BackwardRow& row : g.rows) {
      double sum = 0;
      for (const oracle::Real& x : row.ds) sum += oracle::round_to_f64(x) * oracle::round_to_f64(x);
      norms.push_back(sum);
    }
    return norms;
  };
  const VanishingMedians m = vanishing_gradient_medians(source, DType::f32, true, 0x5EED0009ull);
  std::printf("  oracle: %s\n", format_vanishing(m).c_str());
  EXPECT_EQ(judge_vanishing(m), "") << format_vanishing(m);
}

}  // namespace
}  // namespace attncheck::properties
