// How a trace pins a value: the shortest text of the correctly rounded f64, and a long decimal
// that rounds to the same f64.
#include "attncheck/golden/pinned.hpp"

#include <gtest/gtest.h>

#include <mpfr.h>

#include <cmath>

namespace attncheck::golden {

using formats::parse_f64_text;

namespace {

using oracle::Real;

TEST(PinnedValue, ExactValuesAreWrittenExactly) {
  oracle::PrecisionScope scope(128);
  EXPECT_EQ(pin_value(Real(0.0625)), (PinnedValue{"0.0625", "0.0625"}));
  EXPECT_EQ(pin_value(Real(-3)), (PinnedValue{"-3", "-3"}));
  Real minus_inf;
  mpfr_set_inf(minus_inf.backend().data(), -1);
  EXPECT_EQ(pin_value(minus_inf), (PinnedValue{"-inf", "-inf"}));
}

TEST(PinnedValue, TheF64IsTheCorrectlyRoundedOneAndTheDecimalPinsIt) {
  oracle::PrecisionScope scope(256);
  const Real third = Real(1) / 3;
  const PinnedValue v = pin_value(third);
  EXPECT_EQ(v.f64, "0.3333333333333333");  // RN(1/3) in binary64
  EXPECT_EQ(v.decimal, "0.3333333333333333333333333");
  EXPECT_EQ(oracle::round_to_f64(oracle::parse_decimal(v.decimal)), 1.0 / 3.0);
}

TEST(PinnedValue, AResidualBelowTheF64RangeIsAnExactZero) {
  oracle::PrecisionScope scope(2048);
  // What 0.1 - 0.1 leaves when each 0.1 came from a different rounding: far below 2^-1075.
  const Real residual = ldexp(Real(-1), -1500);
  EXPECT_EQ(pin_value(residual), (PinnedValue{"0", "0"}));
  const Real minus_zero = -Real(0);
  EXPECT_EQ(pin_value(minus_zero).f64, "-0");  // an exact signed zero keeps its sign
}

TEST(F64Text, ReadsOnlyTheCanonicalSpelling) {
  EXPECT_EQ(parse_f64_text("0.1"), 0.1);
  EXPECT_EQ(parse_f64_text("-inf"), -INFINITY);
  EXPECT_EQ(parse_f64_text("1e-300"), 1e-300);
  for (const char* bad : {"0.10", "1E0", "+1", " 1", "1 ", "nan", "", "0x1p-3", "1e400", "0.1000000000000000055511151"}) {
    EXPECT_FALSE(parse_f64_text(bad)) << bad;
  }
}

}  // namespace
}  // namespace attncheck::golden
