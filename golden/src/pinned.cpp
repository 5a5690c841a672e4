#include "attncheck/golden/pinned.hpp"

#include <cmath>
#include <stdexcept>

#include <mpfr.h>

namespace attncheck::golden {

using formats::f64_text;

PinnedValue pin_value(const oracle::Real& x) {
  const double rounded = oracle::round_to_f64(x);
  PinnedValue out;
  out.f64 = f64_text(rounded);
  if (rounded == 0 && !mpfr_zero_p(x.backend().data())) {
    // Below f64's range: a residual of decimal inputs that cancel exactly, whose sign is an
    // accident of the working precision. The exact value is 0.
    out.f64 = f64_text(0.0);
  }
  if (!std::isfinite(rounded) || rounded == 0) {
    out.decimal = out.f64;
    return out;
  }
  // 25 digits normally pin the f64 as well; a value within 1e-25 of an f64 rounding boundary
  // needs more, up to the 40 that any double never needs more than.
  for (int digits = 25; digits <= 40; ++digits) {
    out.decimal = oracle::to_decimal(x, digits);
    if (oracle::round_to_f64(oracle::parse_decimal(out.decimal)) == rounded) return out;
  }
  // Only a value on an f64 rounding boundary itself gets here; no golden problem has one.
  throw std::runtime_error("cannot pin " + oracle::to_decimal(x, 45) +
                           ": it lies on an f64 rounding boundary");
}

}  // namespace attncheck::golden
