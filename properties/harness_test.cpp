// The suite's own machinery: the variance interval against exact rational arithmetic, the
// value generators' promises (deterministic, representable, the kind they claim).
#include <gtest/gtest.h>

#include <cmath>

#include "attncheck/storage.hpp"
#include "failing_case.hpp"
#include "value_kinds.hpp"
#include "variance_interval.hpp"

namespace attncheck::properties {
namespace {

// Reference values from Python's fractions.Fraction over the same moment formulas
// (docs/properties.md shows the script's method): n = 2^16, delta = 1e-10.
TEST(VarianceInterval, MatchesExactRationalMoments) {
  EXPECT_NEAR(variance_interval(1, 65536, 1e-10).half_width, 0.1630696869714725, 1e-9);
  EXPECT_NEAR(variance_interval(2, 65536, 1e-10).half_width, 0.12878583352063236, 1e-9);
  EXPECT_NEAR(variance_interval(16, 65536, 1e-10).half_width, 0.08867700960610785, 1e-9);
  EXPECT_NEAR(variance_interval(64, 65536, 1e-10).half_width, 0.08325256911348491, 1e-9);
  EXPECT_EQ(variance_interval(64, 65536, 1e-10).moment, 12);
}

TEST(VarianceInterval, NarrowsWithMoreSamplesAndWidensWithSmallerDelta) {
  EXPECT_LT(variance_interval(8, 1 << 18, 1e-10).half_width, variance_interval(8, 1 << 16, 1e-10).half_width);
  EXPECT_GT(variance_interval(8, 1 << 16, 1e-12).half_width, variance_interval(8, 1 << 16, 1e-10).half_width);
  EXPECT_THROW(variance_interval(0, 10, 0.1), std::invalid_argument);
}

AttentionSpec small_spec() {
  AttentionSpec spec;
  spec.shape = AttentionShape{2, 4, 2, 5, 9, 8, 6};
  spec.has_valid_keys = true;
  spec.mask = MaskKind::per_head;
  spec.has_alibi = true;
  return spec;
}

TEST(ValueKinds, SameSeedSameProblemAndEveryValueRepresentable) {
  for (DType dtype : kAllDTypes) {
    for (ValueKind kind : kAllValueKinds) {
      const Problem a = make_problem(small_spec(), dtype, kind, 42);
      const Problem b = make_problem(small_spec(), dtype, kind, 42);
      EXPECT_NO_THROW(validate(a)) << value_kind_name(kind);
      EXPECT_EQ(a.q, b.q);
      EXPECT_EQ(a.k, b.k);
      EXPECT_EQ(a.v, b.v);
      EXPECT_EQ(a.mask, b.mask);
      EXPECT_EQ(a.valid_keys, b.valid_keys);
      EXPECT_EQ(a.alibi_slopes, b.alibi_slopes);
      for (float x : a.q) EXPECT_TRUE(std::isfinite(x));
      for (float x : a.k) EXPECT_TRUE(std::isfinite(x));
    }
  }
}

double max_abs_score(const Problem& p) {
  const AttentionShape& s = p.spec.shape;
  double worst = 0;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.q_heads; ++h)
      for (int64_t i = 0; i < s.q_len; ++i)
        for (int64_t j = 0; j < s.kv_len; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d)
            dot += double(p.q[q_offset(s, b, h, i) + d]) * p.k[k_offset(s, b, kv_head_for(s, h), j) + d];
          worst = std::max(worst, std::fabs(effective_scale(p.spec) * dot));
        }
  return worst;
}

TEST(ValueKinds, LargeLogitsStraddleHalfOverflowAndStayBelowF32Overflow) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const double f16 = max_abs_score(make_problem(small_spec(), DType::f16, ValueKind::large_logits, seed));
    EXPECT_GT(f16, std::exp2(13.0));
    EXPECT_LT(f16, std::exp2(18.0));
    const double f32 = max_abs_score(make_problem(small_spec(), DType::f32, ValueKind::large_logits, seed));
    EXPECT_GT(f32, std::exp2(99.0));
    EXPECT_LT(f32, std::exp2(126.0));
  }
}

TEST(ValueKinds, SubnormalsAreSubnormalInTheirDtype) {
  for (DType dtype : kAllDTypes) {
    const Problem p = make_problem(small_spec(), dtype, ValueKind::subnormals, 7);
    int subnormal = 0;
    for (float x : p.v) subnormal += x != 0 && std::fabs(x) < min_normal(dtype);
    EXPECT_GT(subnormal, static_cast<int>(p.v.size()) / 4) << dtype_name(dtype);
  }
}

TEST(ValueKinds, TiesGiveEveryHeadAtMostTwoDistinctKeys) {
  const Problem p = make_problem(small_spec(), DType::f32, ValueKind::ties, 3);
  const AttentionShape& s = p.spec.shape;
  for (int64_t bh = 0; bh < s.batch * s.kv_heads; ++bh) {
    std::set<std::vector<float>> keys;
    for (int64_t j = 0; j < s.kv_len; ++j) {
      const float* k = &p.k[(bh * s.kv_len + j) * s.head_dim];
      keys.insert(std::vector<float>(k, k + s.head_dim));
    }
    EXPECT_LE(keys.size(), 2u);
  }
}

}  // namespace
}  // namespace attncheck::properties
