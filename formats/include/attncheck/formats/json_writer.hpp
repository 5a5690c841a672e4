// Deterministic JSON text for golden files, laid out so that a diff reads line by line.
//
// Keys keep their insertion order (ordered_json). Objects put one member on a line. An array
// goes on one line when every element is a scalar or a short array of scalars (a golden value
// is a pair [f64, decimal]) and the line fits in 100 columns; otherwise one element per line.
// Numbers are integers or strings: a golden file never writes a binary float, so nothing
// depends on how a library prints one. The same document always gives the same bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace attncheck::formats {

using OrderedJson = nlohmann::ordered_json;

// The text of doc, ending in a newline. Throws std::invalid_argument for a floating-point
// number (golden files write decimals as strings) or nesting deeper than 16 levels.
std::string json_text(const OrderedJson& doc);

}  // namespace attncheck::formats
