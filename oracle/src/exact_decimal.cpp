#include "attncheck/oracle/exact_decimal.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace attncheck::oracle {

Rational parse_decimal_exact(const std::string& text) {
  const auto fail = [&] { throw std::invalid_argument("not a finite decimal number: '" + text + "'"); };
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
  if (!seen_digit) fail();
  long exponent = 0;
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    bool exponent_negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) exponent_negative = text[pos++] == '-';
    if (pos >= text.size()) fail();
    for (; pos < text.size(); ++pos) {
      if (!std::isdigit(static_cast<unsigned char>(text[pos]))) fail();
      exponent = exponent * 10 + (text[pos] - '0');
      if (exponent > 4000) fail();
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (pos != text.size()) fail();
  const long power = exponent - fraction_digits;  // value = digits * 10^power
  using Integer = boost::multiprecision::mpz_int;
  // Leading zeros would make the string constructor read octal.
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  const Integer significand(digits);
  const Integer ten_power = boost::multiprecision::pow(Integer(10), static_cast<unsigned>(power < 0 ? -power : power));
  Rational value = power < 0 ? Rational(significand, ten_power) : Rational(significand * ten_power);
  return negative ? Rational(-value) : value;
}

}  // namespace attncheck::oracle
