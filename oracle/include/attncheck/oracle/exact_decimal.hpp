// Decimal numbers as exact rationals, for worked examples whose inputs are decimals: their
// dot products are then exact (0.39, not 0.39 + 2^-130), and rounded once to the oracle's
// precision.
#pragma once

#include <boost/multiprecision/gmp.hpp>
#include <string>

namespace attncheck::oracle {

using Rational = boost::multiprecision::mpq_rational;

// The exact value of a decimal such as "-0.05", "12", "1.5e-3" or ".5". Throws
// std::invalid_argument for anything else (including "inf" and "nan"), and for exponents
// beyond +-4000, which no worked example needs.
Rational parse_decimal_exact(const std::string& text);

}  // namespace attncheck::oracle
