// The oracle's number type: Boost.Multiprecision over MPFR at a precision chosen at run time,
// with correctly rounded conversions to f64, f32, f16 and bf16.
//
// For checking only: a 131-bit dot product costs some hundreds of times a float one.
#pragma once

#include <boost/multiprecision/mpfr.hpp>
#include <string>

#include "attncheck/dtype.hpp"

namespace attncheck::oracle {

using Real = boost::multiprecision::mpfr_float;

// Default working precision, in bits (docs/error-model.md, "The oracle's precision", says
// why). Boost sets precision in decimal digits; the precision in force is a few bits more.
inline constexpr unsigned kDefaultPrecisionBits = 128;

// Sets Boost's default precision (which every Real created afterwards takes) for a scope, and
// restores the previous one on exit. Boost's default is process-wide: do not run oracles of
// different precisions on several threads at once.
class PrecisionScope {
 public:
  explicit PrecisionScope(unsigned bits);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;
  // Bits of precision new Reals get inside this scope (>= the bits asked for).
  unsigned effective_bits() const { return effective_bits_; }

 private:
  unsigned saved_digits10_;
  unsigned effective_bits_;
};

// Exact decimal-to-binary at the current precision, correctly rounded (MPFR). Throws
// std::invalid_argument when text is not a finite decimal number.
Real parse_decimal(const std::string& text);

// Correct rounding (to nearest, ties to even) of x to each format, with subnormals, overflow
// to infinity, signed zeros and NaN handled as IEEE 754 says. The results are exact values of
// the format returned in a wider type.
double round_to_f64(const Real& x);
float round_to_f32(const Real& x);
float round_to_f16(const Real& x);
float round_to_bf16(const Real& x);
float round_to_dtype(const Real& x, DType dtype);

// x with `digits` significant decimal digits (scientific when needed), for ledgers and files.
std::string to_decimal(const Real& x, int digits);

// MPFR's precision of x in bits.
long precision_bits(const Real& x);

}  // namespace attncheck::oracle
