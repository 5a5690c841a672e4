// Decimal numbers as exact rationals, for worked examples whose inputs are decimals: their
// dot products are then exact (0.39, not 0.39 + 2^-130), and rounded once to the oracle's
// precision. The same exact value is what a decimal in a file is rounded from, once, to the
// dtype a kernel stores (or f64 for a scale, f32 for ALiBi slopes).
#pragma once

#include <boost/multiprecision/gmp.hpp>
#include <string>

#include "attncheck/dtype.hpp"

namespace attncheck::oracle {

using Rational = boost::multiprecision::mpq_rational;

// The exact value of a decimal such as "-0.05", "12", "1.5e-3" or ".5". Throws
// std::invalid_argument for anything else (including "inf" and "nan"), and for exponents
// beyond +-4000, which no worked example needs.
Rational parse_decimal_exact(const std::string& text);

// The decimal `text` rounded once, to nearest with ties to even, from its exact value to
// binary64, binary32 or the storage dtype: subnormals as IEEE 754 has them, a magnitude at or
// past the overflow threshold is +-inf (callers decide whether that is an error), "-0" and a
// negative number that rounds to zero are -0. Never through an intermediate binary value: a
// decimal within 2^-129 of a tie is rounded to the correct neighbour. Throws
// std::invalid_argument like parse_decimal_exact().
double decimal_to_f64(const std::string& text);
float decimal_to_f32(const std::string& text);
float decimal_to_dtype(const std::string& text, DType dtype);

}  // namespace attncheck::oracle
