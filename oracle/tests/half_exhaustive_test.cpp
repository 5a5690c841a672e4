// f16 and bf16, all 65,536 bit patterns each: decoding is exact, encoding round-trips, and
// rounding from float agrees with MPFR's correctly rounded conversion at every pattern, at
// the midpoints to its neighbours and one float ulp either side of them.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "attncheck/half.hpp"
#include "attncheck/oracle/real.hpp"

namespace attncheck {
namespace {

using oracle::Real;

template <typename Half>
Half from_bits(uint16_t bits) {
  return Half{bits};
}

float16 encode(float x, float16) { return f16_from_float(x); }
bfloat16 encode(float x, bfloat16) { return bf16_from_float(x); }
float reference_round(const Real& x, float16) { return oracle::round_to_f16(x); }
float reference_round(const Real& x, bfloat16) { return oracle::round_to_bf16(x); }

// Value of a half bit pattern from its fields, independently of to_float().
template <typename Half>
double reference_value(uint16_t bits) {
  constexpr int exponent_bits = std::is_same_v<Half, float16> ? 5 : 8;
  constexpr int fraction_bits = 15 - exponent_bits;
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const int field = (bits >> fraction_bits) & ((1 << exponent_bits) - 1);
  const int fraction = bits & ((1 << fraction_bits) - 1);
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  if (field == (1 << exponent_bits) - 1) {
    return fraction ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  }
  if (field == 0) return sign * std::ldexp(fraction, 1 - bias - fraction_bits);
  return sign * std::ldexp(fraction + (1 << fraction_bits), field - bias - fraction_bits);
}

template <typename Half>
void check_all_patterns() {
  oracle::PrecisionScope scope(64);
  int64_t checked = 0;
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const Half h = from_bits<Half>(static_cast<uint16_t>(bits));
    const float value = to_float(h);
    const double expected = reference_value<Half>(static_cast<uint16_t>(bits));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(value)) << bits;
      const Half back = encode(value, Half{});
      ASSERT_TRUE(std::isnan(to_float(back))) << "NaN must stay NaN: " << bits;
      ASSERT_EQ(std::signbit(to_float(back)), std::signbit(value)) << bits;
      continue;
    }
    ASSERT_EQ(static_cast<double>(value), expected) << "decode " << bits;
    ASSERT_EQ(encode(value, Half{}).bits, bits) << "round trip " << bits;
    // Neighbourhood of this value: the midpoint to the next pattern up in magnitude, and the
    // floats just below and above that midpoint; MPFR rounds each exactly once.
    if (std::isinf(value)) continue;
    const uint16_t next_bits = static_cast<uint16_t>(bits + 1);
    const double next = reference_value<Half>(next_bits);
    double upper = std::isnan(next) ? INFINITY : next;
    if (std::isinf(upper)) {
      // Beyond the largest finite value: the midpoint to the would-be next binade value.
      upper = std::fabs(value) * 2 - std::fabs(reference_value<Half>(static_cast<uint16_t>(bits - 1)));
      upper = std::copysign(upper, value);
    }
    const double midpoint = (static_cast<double>(value) + upper) / 2;
    const float mid = static_cast<float>(midpoint);
    if (static_cast<double>(mid) != midpoint) continue;  // not representable: nothing to test
    for (float probe : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, mid * 2)}) {
      const Real exact(probe);
      const float want = reference_round(exact, Half{});
      const float got = to_float(encode(probe, Half{}));
      ASSERT_TRUE(got == want || (std::isnan(got) && std::isnan(want)))
          << "pattern " << bits << " probe " << probe << " got " << got << " want " << want;
      ++checked;
    }
  }
  EXPECT_GT(checked, 3 * 60000);
}

TEST(Float16, EveryPatternDecodesExactlyRoundTripsAndRoundsLikeMpfr) { check_all_patterns<float16>(); }
TEST(BFloat16, EveryPatternDecodesExactlyRoundTripsAndRoundsLikeMpfr) { check_all_patterns<bfloat16>(); }

TEST(Float16, OverflowUnderflowAndTiesAreRight) {
  EXPECT_EQ(to_float(f16_from_float(65504.0f)), 65504.0f);
  EXPECT_EQ(to_float(f16_from_float(65519.99f)), 65504.0f);
  EXPECT_TRUE(std::isinf(to_float(f16_from_float(65520.0f))));  // max + half ulp: ties away to inf
  EXPECT_EQ(f16_from_float(0x1p-25f).bits, 0x0000);               // half of min subnormal: to even
  EXPECT_EQ(f16_from_float(0x1.000002p-25f).bits, 0x0001);
  EXPECT_EQ(f16_from_float(0x1.8p-24f).bits, 0x0002);              // 1.5 ulp: tie to even (2)
  EXPECT_EQ(f16_from_float(-0.0f).bits, 0x8000);
  EXPECT_EQ(f16_from_double(1.0 + 0x1p-11 + 0x1p-40).bits, 0x3C01);  // no double rounding
}

TEST(BFloat16, RoundsToNearestEvenNotByTruncation) {
  EXPECT_EQ(bf16_from_float(1.0f + 0x1p-8f).bits, 0x3F80);   // tie: to even (1.0)
  EXPECT_EQ(bf16_from_float(1.0f + 0x1.8p-8f).bits, 0x3F81);  // above the tie
  EXPECT_EQ(bf16_from_float(1.0f + 0x1p-7f + 0x1p-8f).bits, 0x3F82);  // tie: to even (up)
  EXPECT_TRUE(std::isinf(to_float(bf16_from_float(std::numeric_limits<float>::max()))));
  EXPECT_EQ(to_float(bf16_from_float(0x1p-133f)), 0x1p-133f);  // smallest bf16 subnormal
}

}  // namespace
}  // namespace attncheck
