#include "attncheck/formats/json_writer.hpp"

#include <stdexcept>

namespace attncheck::formats {
namespace {

constexpr size_t kLineWidth = 100;
constexpr int kMaxDepth = 16;

std::string scalar_text(const OrderedJson& value) {
  switch (value.type()) {
    case OrderedJson::value_t::null: return "null";
    case OrderedJson::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case OrderedJson::value_t::number_integer: return std::to_string(value.get<int64_t>());
    case OrderedJson::value_t::number_unsigned: return std::to_string(value.get<uint64_t>());
    case OrderedJson::value_t::string: return value.dump();  // nlohmann escapes exactly per RFC 8259
    case OrderedJson::value_t::number_float:
      throw std::invalid_argument("golden JSON writes decimals as strings, never binary floats");
    default: throw std::invalid_argument("golden JSON: not a scalar");
  }
}

bool is_scalar(const OrderedJson& value) { return !value.is_array() && !value.is_object(); }

// An array of scalars, or of arrays of scalars: a candidate for one line.
bool is_flat(const OrderedJson& array) {
  for (const auto& element : array) {
    if (element.is_object()) return false;
    if (element.is_array()) {
      for (const auto& inner : element) {
        if (!is_scalar(inner)) return false;
      }
    }
  }
  return true;
}

std::string one_line(const OrderedJson& value) {
  if (is_scalar(value)) return scalar_text(value);
  std::string out = "[";
  bool first = true;
  for (const auto& element : value) {
    if (!first) out += ", ";
    first = false;
    out += one_line(element);
  }
  return out + "]";
}

void write(const OrderedJson& value, int depth, size_t column, std::string& out) {
  if (depth > kMaxDepth) throw std::invalid_argument("golden JSON: nested too deep");
  const std::string indent(2 * static_cast<size_t>(depth), ' ');
  const std::string inner(2 * static_cast<size_t>(depth + 1), ' ');
  if (value.is_object()) {
    if (value.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t n = 0;
    for (auto it = value.begin(); it != value.end(); ++it, ++n) {
      const std::string key = OrderedJson(it.key()).dump() + ": ";
      out += inner + key;
      write(it.value(), depth + 1, inner.size() + key.size(), out);
      out += n + 1 < value.size() ? ",\n" : "\n";
    }
    out += indent + "}";
  } else if (value.is_array()) {
    if (is_flat(value)) {
      const std::string line = one_line(value);
      if (column + line.size() + 1 <= kLineWidth || value.empty()) {
        out += line;
        return;
      }
    }
    out += "[\n";
    for (size_t n = 0; n < value.size(); ++n) {
      out += inner;
      write(value[n], depth + 1, inner.size(), out);
      out += n + 1 < value.size() ? ",\n" : "\n";
    }
    out += indent + "]";
  } else {
    out += scalar_text(value);
  }
}

}  // namespace

std::string json_text(const OrderedJson& doc) {
  std::string out;
  write(doc, 0, 0, out);
  out += "\n";
  return out;
}

}  // namespace attncheck::formats
