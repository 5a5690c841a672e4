#include "attncheck/oracle/real.hpp"

#include <mpfr.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "binary_format.hpp"

namespace attncheck::oracle {
namespace {

// digits10 such that Boost's conversion (d * 1000 / 301 + 2 bits) yields at least `bits`.
unsigned digits10_for_bits(unsigned bits) {
  unsigned d = 1;
  while (boost::multiprecision::detail::digits10_2_2(d) < bits) ++d;
  return d;
}

// Rounds x to the format in one step and returns the result as a double (every value of
// these formats is a double). Near the subnormal range the precision left is
// precision - (min_exponent - e) bits; MPFR's round-to-nearest is ties-to-even.
double round_to_format(const Real& x, const BinaryFormat& f) {
  mpfr_srcptr src = x.backend().data();
  if (mpfr_nan_p(src)) return std::numeric_limits<double>::quiet_NaN();
  if (mpfr_inf_p(src)) return mpfr_signbit(src) ? -INFINITY : INFINITY;
  if (mpfr_zero_p(src)) return mpfr_signbit(src) ? -0.0 : 0.0;
  const bool negative = mpfr_signbit(src) != 0;
  const long exponent = static_cast<long>(mpfr_get_exp(src)) - 1;  // x = 1.f * 2^exponent
  if (exponent > f.max_exponent) return negative ? -INFINITY : INFINITY;
  long bits = f.precision;
  if (exponent < f.min_exponent) bits -= f.min_exponent - exponent;
  const long min_subnormal_exponent = f.min_exponent - (f.precision - 1);
  double magnitude;
  if (bits <= 0) {
    // |x| < 2^(exponent+1) <= min_subnormal. With bits == 0, |x| lies in [min_sub/2, min_sub):
    // exactly half rounds to even (zero), more rounds up; below half it is zero.
    magnitude = 0;
    if (bits == 0) {
      mpfr_t half_min;
      mpfr_init2(half_min, 2);
      mpfr_set_ui_2exp(half_min, 1, min_subnormal_exponent - 1, MPFR_RNDN);
      if (mpfr_cmpabs(src, half_min) > 0) magnitude = std::ldexp(1.0, static_cast<int>(min_subnormal_exponent));
      mpfr_clear(half_min);
    }
  } else {
    mpfr_t rounded;
    mpfr_init2(rounded, bits);
    mpfr_set(rounded, src, MPFR_RNDN);
    mpfr_abs(rounded, rounded, MPFR_RNDN);
    // Rounding up can carry into the next binade; past the largest finite value it is infinity.
    if (mpfr_get_exp(rounded) - 1 > f.max_exponent) {
      magnitude = INFINITY;
    } else {
      magnitude = mpfr_get_d(rounded, MPFR_RNDN);  // exact: rounded fits in a double
    }
    mpfr_clear(rounded);
  }
  return negative ? -magnitude : magnitude;
}

}  // namespace

PrecisionScope::PrecisionScope(unsigned bits) : saved_digits10_(Real::default_precision()) {
  const unsigned digits10 = digits10_for_bits(bits);
  Real::default_precision(digits10);
  effective_bits_ = static_cast<unsigned>(boost::multiprecision::detail::digits10_2_2(digits10));
}

PrecisionScope::~PrecisionScope() { Real::default_precision(saved_digits10_); }

Real parse_decimal(const std::string& text) {
  Real value;
  if (text.empty() || mpfr_set_str(value.backend().data(), text.c_str(), 10, MPFR_RNDN) != 0) {
    throw std::invalid_argument("not a decimal number: '" + text + "'");
  }
  if (!mpfr_number_p(value.backend().data())) {
    throw std::invalid_argument("not a finite decimal number: '" + text + "'");
  }
  return value;
}

double round_to_f64(const Real& x) { return round_to_format(x, kBinary64); }
float round_to_f32(const Real& x) { return static_cast<float>(round_to_format(x, kBinary32)); }
float round_to_f16(const Real& x) { return static_cast<float>(round_to_format(x, kBinary16)); }
float round_to_bf16(const Real& x) { return static_cast<float>(round_to_format(x, kBFloat16)); }

float round_to_dtype(const Real& x, DType dtype) {
  switch (dtype) {
    case DType::f32: return round_to_f32(x);
    case DType::f16: return round_to_f16(x);
    case DType::bf16: return round_to_bf16(x);
  }
  return round_to_f32(x);
}

std::string to_decimal(const Real& x, int digits) {
  mpfr_srcptr src = x.backend().data();
  if (mpfr_nan_p(src)) return "nan";
  if (mpfr_inf_p(src)) return mpfr_signbit(src) ? "-inf" : "inf";
  char* text = nullptr;
  mpfr_asprintf(&text, "%.*Rg", digits, src);
  std::string out(text);
  mpfr_free_str(text);
  return out;
}

long precision_bits(const Real& x) { return static_cast<long>(mpfr_get_prec(x.backend().data())); }

}  // namespace attncheck::oracle
