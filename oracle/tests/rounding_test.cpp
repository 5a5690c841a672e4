// The oracle's conversions: decimal parsing at full precision, and correct rounding to every
// format, at ties, subnormals and overflow.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attncheck/oracle/exact_decimal.hpp"
#include "attncheck/oracle/real.hpp"

namespace attncheck::oracle {
namespace {

TEST(Precision, ScopeSetsAtLeastTheBitsAskedAndRestores) {
  const unsigned before = Real::default_precision();
  {
    PrecisionScope scope(200);
    EXPECT_GE(scope.effective_bits(), 200u);
    Real x(1);
    EXPECT_GE(precision_bits(x), 200);
  }
  EXPECT_EQ(Real::default_precision(), before);
}

TEST(ParseDecimal, ReadsTheDecimalNotItsDoubleApproximation) {
  PrecisionScope scope(128);
  const Real tenth = parse_decimal("0.1");
  // 0.1 as a double differs from 1/10 by about 5.5e-18; at 128 bits the error is < 3e-39.
  const Real from_double(0.1);
  const Real diff = abs(tenth - from_double);
  EXPECT_GT(round_to_f64(diff), 5e-18);
  const Real exact_error = abs(tenth * 10 - 1);
  EXPECT_LT(round_to_f64(exact_error), 1e-37);
  EXPECT_THROW(parse_decimal("0.1x"), std::invalid_argument);
  EXPECT_THROW(parse_decimal(""), std::invalid_argument);
  EXPECT_THROW(parse_decimal("inf"), std::invalid_argument);
}

TEST(RoundTo, F64AndF32RoundToNearestEven) {
  PrecisionScope scope(128);
  const Real one_plus_half_ulp = Real(1) + pow(Real(2), -53);
  EXPECT_EQ(round_to_f64(one_plus_half_ulp), 1.0);  // tie to even
  const Real just_above = one_plus_half_ulp + pow(Real(2), -100);
  EXPECT_EQ(round_to_f64(just_above), 1.0 + 0x1p-52);
  EXPECT_EQ(round_to_f32(Real(1) + pow(Real(2), -24)), 1.0f);
  EXPECT_EQ(round_to_f32(Real(1) + pow(Real(2), -24) + pow(Real(2), -90)), 1.0f + 0x1p-23f);
  // A third is rounded once to f32, not through double.
  EXPECT_EQ(round_to_f32(Real(1) / 3), 1.0f / 3.0f);
}

TEST(RoundTo, SubnormalsOverflowAndSignsAreRight) {
  PrecisionScope scope(128);
  EXPECT_EQ(round_to_f32(pow(Real(2), -149)), std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(round_to_f32(pow(Real(2), -150)), 0.0f);  // half the smallest subnormal: to even
  EXPECT_EQ(round_to_f32(pow(Real(2), -150) * Real(1.0001)), std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(round_to_f32(Real(3) * pow(Real(2), -150)), 2 * std::numeric_limits<float>::denorm_min());
  EXPECT_TRUE(std::isinf(round_to_f32(pow(Real(2), 128))));
  EXPECT_EQ(round_to_f32(Real(std::numeric_limits<float>::max())), std::numeric_limits<float>::max());
  EXPECT_TRUE(std::signbit(round_to_f32(-pow(Real(2), -200))));
  EXPECT_EQ(round_to_f64(pow(Real(2), -1074)), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(round_to_f64(pow(Real(2), -1075)), 0.0);
  EXPECT_TRUE(std::isinf(round_to_f64(pow(Real(2), 1024))));
  EXPECT_EQ(round_to_f16(Real(65519)), 65504.0f);
  EXPECT_TRUE(std::isinf(round_to_f16(Real(65520))));
  EXPECT_EQ(round_to_f16(pow(Real(2), -24)), 0x1p-24f);
  EXPECT_EQ(round_to_bf16(Real(1) + pow(Real(2), -8)), 1.0f);
  EXPECT_EQ(round_to_bf16(Real(1) + pow(Real(2), -8) + pow(Real(2), -60)), 1.0f + 0x1p-7f);
}

TEST(ToDecimal, PrintsTheRequestedSignificantDigits) {
  PrecisionScope scope(128);
  EXPECT_EQ(to_decimal(Real(1) / 3, 5), "0.33333");
  EXPECT_EQ(to_decimal(parse_decimal("-0.049"), 3), "-0.049");
  const Real minus_infinity = -std::numeric_limits<Real>::infinity();
  EXPECT_EQ(to_decimal(minus_infinity, 4), "-inf");
}

}  // namespace
}  // namespace attncheck::oracle

namespace attncheck::oracle {
namespace {

TEST(ParseDecimalExact, ReadsDecimalsAsExactRationals) {
  EXPECT_EQ(parse_decimal_exact("-0.05"), Rational(-1, 20));
  EXPECT_EQ(parse_decimal_exact("12"), Rational(12));
  EXPECT_EQ(parse_decimal_exact("1.5e-3"), Rational(3, 2000));
  EXPECT_EQ(parse_decimal_exact(".5"), Rational(1, 2));
  EXPECT_EQ(parse_decimal_exact("2.50E+2"), Rational(250));
  EXPECT_EQ(parse_decimal_exact("0.025"), Rational(1, 40));  // leading zeros are not octal
  EXPECT_EQ(parse_decimal_exact("-000"), Rational(0));
  // The seed-001 dot product X[1].X[0] is exactly zero.
  const Rational dot = parse_decimal_exact("-0.1") * parse_decimal_exact("0.5") +
                       parse_decimal_exact("0.4") * parse_decimal_exact("0.3") +
                       parse_decimal_exact("0.2") * parse_decimal_exact("-0.2") +
                       parse_decimal_exact("-0.3") * parse_decimal_exact("0.1");
  EXPECT_EQ(dot, 0);
  for (const char* bad : {"", "-", ".", "1e", "1e+", "inf", "nan", "0x10", "1.2.3", "1e5000", "3 "}) {
    EXPECT_THROW(parse_decimal_exact(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace attncheck::oracle
