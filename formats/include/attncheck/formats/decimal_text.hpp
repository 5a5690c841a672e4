// Binary floats as decimal text and back: the shortest decimal that reads back as the same
// value, so a file never depends on how a library prints a float.
#pragma once

#include <optional>
#include <string>

namespace attncheck::formats {

// Shortest decimal that reads back as x (at most 9 significant digits): "0.1", "-0", "nan",
// "inf", "-inf".
std::string float_to_decimal(float x);

// Shortest round-trip text of a double: "0.1", "-0", "1e-300", "inf", "-inf", "nan".
std::string f64_text(double x);

// Reads a canonical f64 text (exactly what f64_text writes for some double, "nan" excepted):
// std::nullopt for anything else, so a hand-edited "0.10" or "1E0" is caught.
std::optional<double> parse_f64_text(const std::string& text);

}  // namespace attncheck::formats
