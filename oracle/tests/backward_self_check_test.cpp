// The oracle's gradients checked against themselves at twice the precision (backward_self_check)
// and against central finite differences of its own forward pass along random directions that
// move Q, K and V at once (directional_derivative_check), on problems with every feature; and
// both checks shown to fail: a claimed precision above the computed one, a dropped scale, a
// wrong sign.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "attncheck/oracle/backward_self_check.hpp"
#include "attncheck/random_problem.hpp"

namespace attncheck::oracle {
namespace {

struct Case {
  std::string name;
  Problem problem;
};

Case make_case(std::string name, const AttentionSpec& spec, DType dtype, uint64_t seed,
               std::vector<int32_t> valid_keys = {}) {
  Problem p = make_random_problem(spec, dtype, seed);
  if (!valid_keys.empty()) p.valid_keys = std::move(valid_keys);
  add_random_d_out(p, seed + 1);
  return Case{std::move(name), std::move(p)};
}

std::vector<Case> cases() {
  std::vector<Case> out;
  {  // grouped-query, causal Lq < Lk, D != Dv, padding with an empty batch entry
    AttentionSpec spec;
    spec.shape = AttentionShape{2, 4, 2, 3, 6, 5, 3};
    spec.causal = true;
    spec.has_valid_keys = true;
    out.push_back(make_case("gqa_causal_short_q_padding_empty", spec, DType::f32, 11, {6, 0}));
  }
  {  // MQA, causal Lq > Lk (empty rows), window, ALiBi, custom scale
    AttentionSpec spec;
    spec.shape = AttentionShape{1, 2, 1, 6, 4, 4, 6};
    spec.causal = true;
    spec.window_left = 2;
    spec.has_alibi = true;
    spec.scale = 0.7;
    out.push_back(make_case("mqa_causal_long_q_window_alibi_scale", spec, DType::f32, 12));
  }
  {  // per-head mask, padding, bf16 inputs
    AttentionSpec spec;
    spec.shape = AttentionShape{2, 2, 2, 3, 5, 4, 2};
    spec.mask = MaskKind::per_head;
    spec.has_valid_keys = true;
    out.push_back(make_case("per_head_mask_padding_bf16", spec, DType::bf16, 13, {5, 3}));
  }
  {  // shared mask, two-sided window, f16 inputs
    AttentionSpec spec;
    spec.shape = AttentionShape{1, 2, 1, 4, 7, 3, 5};
    spec.mask = MaskKind::shared;
    spec.window_left = 3;
    spec.window_right = 1;
    out.push_back(make_case("shared_mask_window_f16", spec, DType::f16, 14));
  }
  return out;
}

TEST(BackwardSelfCheck, GradientsAgreeWithTwicePrecisionWithinTheDerivedBound) {
  for (const Case& c : cases()) {
    const BackwardSelfCheck check = backward_self_check(c.problem);
    EXPECT_TRUE(check.passed) << c.name << ": worst ratio " << check.worst_ratio << " at " << check.worst_where;
    // At 128 bits the gradients are good far beyond f64 (docs/error-model.md).
    EXPECT_GT(check.min_guaranteed_bits, 100) << c.name;
    std::printf("[ selfcheck] %s: worst ratio %.3g at %s, >= %.1f bits\n", c.name.c_str(), check.worst_ratio,
                check.worst_where.c_str(), check.min_guaranteed_bits);
  }
}

// Computed at 24 bits but claimed at 96: the differences from 48 bits are 2^72 times the bound.
TEST(BackwardSelfCheck, ClaimingMoreBitsThanComputedFails) {
  for (const Case& c : cases()) {
    EXPECT_TRUE(backward_self_check(c.problem, 24).passed) << c.name;
    const BackwardSelfCheck check = backward_self_check(c.problem, 24, 96);
    EXPECT_FALSE(check.passed) << c.name;
    EXPECT_GT(check.worst_ratio, 1e10) << c.name;
  }
}

Gradients gradients_at_directional_precision(const Problem& p) {
  BackwardOptions options;
  options.precision_bits = kDirectionalBits;
  return backward(p, options);
}

TEST(DirectionalDerivative, AgreesWithFiniteDifferencesOfTheForwardAlongRandomDirections) {
  for (const Case& c : cases()) {
    const Gradients g = gradients_at_directional_precision(c.problem);
    for (uint64_t seed : {1u, 2u}) {
      const DirectionalCheck check = directional_derivative_check(c.problem, g, seed);
      EXPECT_TRUE(check.passed()) << c.name << " seed " << seed << ": " << check.digits << " digits, fd "
                                  << check.finite_difference << " analytic " << check.analytic;
      std::printf("[ direction] %s seed %d: %.1f digits (derivative %.6g, size %.3g)\n", c.name.c_str(),
                  static_cast<int>(seed), check.digits, check.analytic, check.magnitude);
    }
  }
}

// The check can fail: gradients whose dQ and dK lack the scale, and gradients whose dS has the
// wrong sign (dQ and dK negated), are off in the leading digits.
TEST(DirectionalDerivative, RejectsADroppedScaleAndAWrongSign) {
  for (const Case& c : cases()) {
    const Gradients g = gradients_at_directional_precision(c.problem);
    PrecisionScope scope(kDirectionalBits);
    Gradients no_scale = g, wrong_sign = g;
    const Real scale = Real(effective_scale(c.problem.spec));
    for (Real& x : no_scale.dq) x /= scale;
    for (Real& x : no_scale.dk) x /= scale;
    for (Real& x : wrong_sign.dq) x = -x;
    for (Real& x : wrong_sign.dk) x = -x;
    const DirectionalCheck a = directional_derivative_check(c.problem, no_scale, 1);
    const DirectionalCheck b = directional_derivative_check(c.problem, wrong_sign, 1);
    EXPECT_FALSE(a.passed()) << c.name;
    EXPECT_FALSE(b.passed()) << c.name;
    EXPECT_LT(a.digits, 3) << c.name;
    EXPECT_LT(b.digits, 3) << c.name;
  }
}

TEST(DirectionalDerivative, RefusesNonFiniteInputs) {
  Case c = cases()[0];
  const Gradients g = gradients_at_directional_precision(c.problem);
  c.problem.k[0] = NAN;
  EXPECT_THROW(directional_derivative_check(c.problem, g, 1), std::invalid_argument);
}

}  // namespace
}  // namespace attncheck::oracle
