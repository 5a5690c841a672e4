#include "attncheck/oracle/exact_decimal.hpp"

#include <mpfr.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "binary_format.hpp"

namespace attncheck::oracle {

Rational parse_decimal_exact(const std::string& text) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("not a finite decimal number: '" + text + "'" + why);
  };
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) negative = text[pos++] == '-';
  std::string digits;
  long fraction_digits = 0;
  bool seen_point = false, seen_digit = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
      seen_digit = true;
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!seen_digit) fail("");
  long exponent = 0;
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    bool exponent_negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) exponent_negative = text[pos++] == '-';
    if (pos >= text.size()) fail("");
    for (; pos < text.size(); ++pos) {
      if (!std::isdigit(static_cast<unsigned char>(text[pos]))) fail("");
      exponent = exponent * 10 + (text[pos] - '0');
      if (exponent > 4000) fail(" (exponent beyond +-4000)");
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (pos != text.size()) fail("");
  const long power = exponent - fraction_digits;  // value = digits * 10^power
  using Integer = boost::multiprecision::mpz_int;
  // Leading zeros would make the string constructor read octal.
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  const Integer significand(digits);
  const Integer ten_power = boost::multiprecision::pow(Integer(10), static_cast<unsigned>(power < 0 ? -power : power));
  Rational value = power < 0 ? Rational(significand, ten_power) : Rational(significand * ten_power);
  return negative ? Rational(-value) : value;
}

namespace {

// One rounding of the exact rational x to format f. MPFR's mpfr_set_q rounds a rational
// correctly at any precision, so the only work is choosing that precision: the format's own in
// the normal range, fewer bits below it (a subnormal keeps precision - (min_exponent - e)
// bits), which is exactly the IEEE result without a second rounding. Rounding a value already
// rounded to 128 bits instead (what parse_decimal() gives) lands on a tie for a decimal within
// 2^-129 of one, and ties-to-even then picks the wrong neighbour.
double round_rational(const Rational& x, const BinaryFormat& f) {
  mpq_srcptr q = x.backend().data();
  const int sign = mpq_sgn(q);
  if (sign == 0) return 0.0;
  // The binade: rounding toward zero never carries into the next power of two, so the
  // exponent of a 2-bit truncation is floor(log2 |x|) + 1.
  mpfr_t probe;
  mpfr_init2(probe, 2);
  mpfr_set_q(probe, q, MPFR_RNDZ);
  const long exponent = static_cast<long>(mpfr_get_exp(probe)) - 1;  // |x| in [2^e, 2^(e+1))
  mpfr_clear(probe);
  double magnitude;
  if (exponent > f.max_exponent) {
    magnitude = INFINITY;
  } else {
    long bits = f.precision;
    if (exponent < f.min_exponent) bits -= f.min_exponent - exponent;
    const long min_subnormal_exponent = f.min_exponent - (f.precision - 1);
    if (bits <= 0) {
      // |x| < 2^(e+1) <= the smallest subnormal. With bits == 0, |x| lies in
      // [min_sub/2, min_sub): exactly half ties to even (zero), more rounds up; with
      // bits < 0 it is below half, so zero.
      magnitude = 0;
      if (bits == 0) {
        using Integer = boost::multiprecision::mpz_int;
        const Rational half_min(Integer(1), boost::multiprecision::pow(Integer(2), static_cast<unsigned>(
                                                                               1 - min_subnormal_exponent)));
        if (abs(x) > half_min) magnitude = std::ldexp(1.0, static_cast<int>(min_subnormal_exponent));
      }
    } else {
      mpfr_t rounded;
      mpfr_init2(rounded, bits);
      mpfr_set_q(rounded, q, MPFR_RNDN);
      mpfr_abs(rounded, rounded, MPFR_RNDN);
      // Rounding up can carry into the next binade; past the largest finite value it is infinity.
      magnitude = mpfr_get_exp(rounded) - 1 > f.max_exponent ? INFINITY : mpfr_get_d(rounded, MPFR_RNDN);
      mpfr_clear(rounded);
    }
  }
  return sign < 0 ? -magnitude : magnitude;
}

double round_decimal(const std::string& text, const BinaryFormat& f) {
  const double value = round_rational(parse_decimal_exact(text), f);
  // The rational 0 has no sign; the decimal "-0" (or "-0.0e5") is IEEE -0.
  if (value == 0 && !text.empty() && text[0] == '-') return -0.0;
  return value;
}

}  // namespace

double decimal_to_f64(const std::string& text) { return round_decimal(text, kBinary64); }

float decimal_to_f32(const std::string& text) { return static_cast<float>(round_decimal(text, kBinary32)); }

float decimal_to_dtype(const std::string& text, DType dtype) {
  switch (dtype) {
    case DType::f32: return decimal_to_f32(text);
    case DType::f16: return static_cast<float>(round_decimal(text, kBinary16));
    case DType::bf16: return static_cast<float>(round_decimal(text, kBFloat16));
  }
  return decimal_to_f32(text);
}

}  // namespace attncheck::oracle
