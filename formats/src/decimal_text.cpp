#include "attncheck/formats/decimal_text.hpp"

#include <charconv>
#include <cmath>

namespace attncheck::formats {
namespace {

template <typename T>
std::string shortest_text(T x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, x);  // shortest round trip
  return std::string(text, result.ptr);
}

}  // namespace

std::string float_to_decimal(float x) { return shortest_text(x); }

std::string f64_text(double x) { return shortest_text(x); }

std::optional<double> parse_f64_text(const std::string& text) {
  if (text == "inf") return INFINITY;
  if (text == "-inf") return -INFINITY;
  if (text.empty() || text.size() > 32) return std::nullopt;
  double x = 0;
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, x);
  if (result.ec != std::errc() || result.ptr != end || !std::isfinite(x)) return std::nullopt;
  if (f64_text(x) != text) return std::nullopt;  // not the canonical spelling
  return x;
}

}  // namespace attncheck::formats
