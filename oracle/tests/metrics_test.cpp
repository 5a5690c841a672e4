// Error metrics on hand-checked values.
#include "attncheck/oracle/metrics.hpp"
#include "attncheck/oracle/error_bound.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace attncheck::oracle {
namespace {

TEST(UlpDistance, CountsRepresentableValuesBetween) {
  EXPECT_EQ(ulp_distance(1.0f, std::nextafter(1.0f, 2.0f), DType::f32), 1);
  EXPECT_EQ(ulp_distance(1.0f, 1.0f + 3 * 0x1p-23f, DType::f32), 3);
  EXPECT_EQ(ulp_distance(-0.0f, 0.0f, DType::f32), 0);
  // Across zero: the smallest subnormals either side are 2 apart.
  EXPECT_EQ(ulp_distance(-0x1p-149f, 0x1p-149f, DType::f32), 2);
  EXPECT_EQ(ulp_distance(1.0f, 1.0f + 0x1p-10f, DType::f16), 1);
  EXPECT_EQ(ulp_distance(1.0f, 1.0f + 0x1p-7f * 5, DType::bf16), 5);
  // f16 ulp doubles across a binade: 2.0 is 1024 steps of 2^-10 above 1.0.
  EXPECT_EQ(ulp_distance(1.0f, 2.0f, DType::f16), 1024);
  EXPECT_TRUE(std::isinf(ulp_distance(NAN, 1.0f, DType::f32)));
  EXPECT_EQ(ulp_distance(-INFINITY, -INFINITY, DType::f32), 0);
  EXPECT_TRUE(std::isinf(ulp_distance(-INFINITY, 0.0f, DType::f32)));
}

TEST(Compare, ComputesEveryMeasureOnAHandCheckedExample) {
  // exact [1, -2, 0.5, 0]; actual off by 2 ulps in the first, exact elsewhere but the third
  // off by 0.5 * 2^-23 (one ulp at 0.5 is 2^-24... so 2 ulps there).
  const std::vector<double> exact = {1.0, -2.0, 0.5, 0.0};
  const std::vector<float> rounded = {1.0f, -2.0f, 0.5f, 0.0f};
  const std::vector<float> actual = {1.0f + 2 * 0x1p-23f, -2.0f, 0.5f + 0x1p-23f, 0.0f};
  const ErrorMetrics m = compare(actual, exact, rounded, DType::f32);
  EXPECT_EQ(m.max_ulp, 2);
  EXPECT_EQ(m.mean_ulp, 1.0);  // (2 + 0 + 2 + 0) / 4
  EXPECT_EQ(m.worst_index, 0);
  EXPECT_EQ(m.bits, std::log2(3.0));
  EXPECT_EQ(m.max_abs, 0x1p-22);
  EXPECT_EQ(m.max_rel, 0x1p-22);  // 2^-22 / 1 and 2^-23 / 0.5 tie
  const double sum_sq_error = 0x1p-44 + 0x1p-46;
  const double sum_sq_exact = 1 + 4 + 0.25;
  EXPECT_DOUBLE_EQ(m.nmse, sum_sq_error / sum_sq_exact);
  EXPECT_DOUBLE_EQ(m.normwise_rel, std::sqrt(sum_sq_error / sum_sq_exact));
  EXPECT_EQ(m.nonfinite_mismatches, 0);
}

TEST(Compare, RelativeErrorUsesTheFloorNearZero) {
  const std::vector<double> exact = {1e-30};
  const std::vector<float> rounded = {1e-30f};
  const std::vector<float> actual = {2e-30f};
  EXPECT_NEAR(compare(actual, exact, rounded, DType::f32).max_rel, 1.0, 1e-6);  // above the f32 floor
  const ErrorMetrics floored = compare(actual, exact, rounded, DType::f32, 1e-20);
  EXPECT_NEAR(floored.max_rel, 1e-30 / 1e-20, 1e-16);
  // f16's floor is its smallest normal, 2^-14.
  const std::vector<double> small = {0.0};
  const std::vector<float> small_rounded = {0.0f};
  const std::vector<float> small_actual = {0x1p-24f};
  EXPECT_EQ(compare(small_actual, small, small_rounded, DType::f16).max_rel, 0x1p-10);
}

TEST(Compare, NanOrALoneInfinityMakesEveryMeasureInfinite) {
  const std::vector<double> exact = {1.0, -INFINITY};
  const std::vector<float> rounded = {1.0f, -INFINITY};
  const ErrorMetrics ok = compare(std::vector<float>{1.0f, -INFINITY}, exact, rounded, DType::f32);
  EXPECT_EQ(ok.max_ulp, 0);
  EXPECT_EQ(ok.nonfinite_mismatches, 0);
  const ErrorMetrics bad = compare(std::vector<float>{NAN, -INFINITY}, exact, rounded, DType::f32);
  EXPECT_EQ(bad.nonfinite_mismatches, 1);
  EXPECT_TRUE(std::isinf(bad.max_ulp));
  EXPECT_TRUE(std::isinf(bad.nmse));
  EXPECT_EQ(bad.worst_index, 0);
  const ErrorMetrics lone = compare(std::vector<float>{1.0f, 0.0f}, exact, rounded, DType::f32);
  EXPECT_EQ(lone.nonfinite_mismatches, 1);
  EXPECT_EQ(lone.worst_index, 1);
}

// The outputs a non-finite input reaches are left out (docs/semantics.md, "Non-finite
// inputs") and counted; every other element is judged as before, NaN included.
TEST(Compare, UnjudgedElementsAreLeftOutAndCounted) {
  const std::vector<double> exact = {NAN, 2.0, 3.0};
  const std::vector<float> rounded = {NAN, 2.0f, 3.0f};
  const std::vector<uint8_t> unjudged = {1, 0, 0};
  const ErrorMetrics left_out = compare(std::vector<float>{0.0f, 2.0f, 3.0f}, exact, rounded, DType::f32, -1, unjudged);
  EXPECT_EQ(left_out.unjudged, 1);
  EXPECT_EQ(left_out.nonfinite_mismatches, 0);
  EXPECT_EQ(left_out.max_ulp, 0);
  EXPECT_NE(format_metrics(left_out).find("unjudged=1 (read a non-finite input)"), std::string::npos);
  const ErrorMetrics leaked = compare(std::vector<float>{0.0f, NAN, 3.0f}, exact, rounded, DType::f32, -1, unjudged);
  EXPECT_EQ(leaked.nonfinite_mismatches, 1);
  EXPECT_EQ(leaked.worst_index, 1);
  // Without the mask, NaN against NaN is a mismatch like any NaN.
  EXPECT_EQ(compare(std::vector<float>{NAN, 2.0f, 3.0f}, exact, rounded, DType::f32).nonfinite_mismatches, 1);

  const std::vector<double> bound = {NAN, 1e-6, 1e-6};
  EXPECT_TRUE(check_bound(std::vector<float>{5.0f, 2.0f, 3.0f}, exact, bound, unjudged).passed());
  EXPECT_EQ(check_bound(std::vector<float>{5.0f, 2.0f, 3.0f}, exact, bound, unjudged).unjudged, 1);
  EXPECT_EQ(check_bound(std::vector<float>{5.0f, 2.5f, 3.0f}, exact, bound, unjudged).outside, 1);
  EXPECT_EQ(check_bound(std::vector<float>{NAN, 2.0f, 3.0f}, exact, bound).outside, 1);
}

TEST(Format, PrintsEveryMeasure) {
  ErrorMetrics m;
  m.max_ulp = 3;
  m.bits = 2;
  const std::string text = format_metrics(m);
  EXPECT_NE(text.find("max_ulp=3"), std::string::npos);
  EXPECT_NE(text.find("bits=2.00"), std::string::npos);
  EXPECT_NE(text.find("nmse="), std::string::npos);
}

}  // namespace
}  // namespace attncheck::oracle
