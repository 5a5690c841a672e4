// The IEEE binary formats the oracle rounds to, described by what a one-step rounding needs:
// real.cpp rounds a Real to them, exact_decimal.cpp an exact rational.
#pragma once

namespace attncheck::oracle {

// `precision` significand bits, normal exponents in [min_exponent, max_exponent] for values
// written 1.f x 2^e.
struct BinaryFormat {
  long precision;
  long min_exponent;
  long max_exponent;
};
inline constexpr BinaryFormat kBinary64{53, -1022, 1023};
inline constexpr BinaryFormat kBinary32{24, -126, 127};
inline constexpr BinaryFormat kBinary16{11, -14, 15};
inline constexpr BinaryFormat kBFloat16{8, -126, 127};

}  // namespace attncheck::oracle
