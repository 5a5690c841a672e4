#include "attncheck/formats/json_input.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <functional>
#include <sstream>

namespace attncheck::formats {
namespace {

// A DOM builder that stores each floating-point number as its source text, so no decimal
// passes through a binary double before the oracle reads it, and refuses a member given twice
// in one object (a plain DOM keeps the last and silently drops the first).
class DecimalPreservingParser : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  using Base = nlohmann::detail::json_sax_dom_parser<Json>;
  DecimalPreservingParser(Json& result, std::string source) : Base(result, true), source_(std::move(source)) {}
  bool number_float(Json::number_float_t /*value*/, const Json::string_t& text) {
    Json::string_t copy = text;
    return Base::string(copy);
  }
  bool start_object(std::size_t elements) {
    keys_.emplace_back();
    return Base::start_object(elements);
  }
  bool end_object() {
    keys_.pop_back();
    return Base::end_object();
  }
  bool key(Json::string_t& name) {
    if (!keys_.back().insert(name).second) throw InputError(source_, name, "given twice in one object");
    return Base::key(name);
  }

 private:
  std::string source_;
  std::vector<std::set<std::string>> keys_;  // the members seen in each open object
};

// Tensors have at most 4 axes; deeper nesting is an error, never a deep recursion.
constexpr int kMaxNesting = 8;

void collect(const JsonReader& r, std::vector<std::string>& out, int64_t limit, int depth) {
  if (r.is_array()) {
    if (depth > kMaxNesting) r.fail("arrays nested more than 8 deep");
    for (size_t i = 0; i < r.size(); ++i) {
      collect(r.at(i), out, limit, depth + 1);
      if (static_cast<int64_t>(out.size()) > limit) return;
    }
  } else {
    out.push_back(r.decimal());
  }
}

std::string shape_text(const std::vector<size_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The shape of nested arrays ({} for a number). A tensor's nesting must be rectangular: an entry
// whose shape differs from the first one's is an error naming it, since flattening
// [[1, 2, 3], [4]] would read the same numbers as [[1, 2], [3, 4]] and hide the mistake.
std::vector<size_t> rectangular_shape(const JsonReader& r, int depth) {
  if (!r.is_array()) return {};
  if (depth > kMaxNesting) r.fail("arrays nested more than 8 deep");
  std::vector<size_t> first;
  for (size_t i = 0; i < r.size(); ++i) {
    const std::vector<size_t> shape = rectangular_shape(r.at(i), depth + 1);
    if (i == 0) {
      first = shape;
    } else if (shape != first) {
      r.at(i).fail("ragged nested arrays: shape " + shape_text(shape) + ", where the first entry's is " +
                   shape_text(first));
    }
  }
  first.insert(first.begin(), r.size());
  return first;
}

}  // namespace

InputError::InputError(std::string file, std::string field, std::string message)
    : std::runtime_error(file + ": " + (field.empty() ? std::string() : "field '" + field + "': ") + message),
      file_(std::move(file)),
      field_(std::move(field)),
      message_(std::move(message)) {}

Json parse_json_text(const std::string& text, const std::string& source) {
  Json result;
  DecimalPreservingParser parser(result, source);
  try {
    Json::sax_parse(text, &parser);
  } catch (const Json::exception& e) {
    throw InputError(source, "", std::string("invalid JSON: ") + e.what());
  }
  return result;
}

Json read_json_file(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) throw InputError(path, "", "is a directory, not a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "", "cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path, "", "cannot read file");
  return parse_json_text(text.str(), path);
}

bool JsonReader::has(const std::string& key) const {
  return value_->is_object() && value_->contains(key);
}

void JsonReader::check_members(const std::vector<std::string>& known, const std::vector<std::string>& also) const {
  if (!value_->is_object()) fail("expected an object");
  for (const auto& [key, unused] : value_->items()) {
    if (std::find(known.begin(), known.end(), key) == known.end() &&
        std::find(also.begin(), also.end(), key) == also.end()) {
      at(key).fail("unknown member");
    }
  }
}

JsonReader JsonReader::at(const std::string& key) const {
  if (!value_->is_object()) fail("expected an object");
  const std::string child = path_.empty() ? key : path_ + "." + key;
  auto it = value_->find(key);
  if (it == value_->end()) throw InputError(source_, child, "missing");
  return JsonReader(*it, source_, child);
}

JsonReader JsonReader::at(size_t index) const {
  if (!value_->is_array()) fail("expected an array");
  if (index >= value_->size()) fail("has no element " + std::to_string(index));
  return JsonReader((*value_)[index], source_, path_ + "[" + std::to_string(index) + "]");
}

size_t JsonReader::size() const {
  if (!value_->is_array()) fail("expected an array");
  return value_->size();
}

int64_t JsonReader::integer(int64_t min, int64_t max) const {
  if (!value_->is_number_integer()) fail("expected an integer");
  int64_t v;
  if (value_->is_number_unsigned()) {
    const uint64_t u = value_->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) fail("integer out of range");
    v = static_cast<int64_t>(u);
  } else {
    v = value_->get<int64_t>();
  }
  if (v < min || v > max) {
    fail("must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + std::to_string(v));
  }
  return v;
}

bool JsonReader::boolean() const {
  if (!value_->is_boolean()) fail("expected true or false");
  return value_->get<bool>();
}

std::string JsonReader::string() const {
  if (!value_->is_string()) fail("expected a string");
  return value_->get<std::string>();
}

std::string JsonReader::decimal() const {
  if (value_->is_number_integer()) return value_->dump();
  if (value_->is_string()) {
    const std::string text = value_->get<std::string>();
    if (text.empty()) fail("expected a number, got an empty string");
    return text;
  }
  fail("expected a number");
}

std::vector<std::string> JsonReader::decimals(int64_t expected) const {
  std::vector<std::string> out;
  if (!value_->is_array()) fail("expected an array of " + std::to_string(expected) + " numbers");
  rectangular_shape(*this, 0);
  collect(*this, out, expected, 0);
  if (static_cast<int64_t>(out.size()) != expected) {
    fail("expected " + std::to_string(expected) + " numbers for the shape, found " +
         (static_cast<int64_t>(out.size()) > expected ? "more" : std::to_string(out.size())));
  }
  return out;
}

std::vector<int64_t> JsonReader::integers(int64_t expected, int64_t min, int64_t max) const {
  std::vector<int64_t> out;
  // Flatten nested arrays depth-first, in order.
  std::function<void(const JsonReader&, int)> walk = [&](const JsonReader& r, int depth) {
    if (static_cast<int64_t>(out.size()) > expected) return;
    if (r.is_array()) {
      if (depth > kMaxNesting) r.fail("arrays nested more than 8 deep");
      for (size_t i = 0; i < r.size(); ++i) walk(r.at(i), depth + 1);
    } else {
      out.push_back(r.integer(min, max));
    }
  };
  if (!value_->is_array()) fail("expected an array of " + std::to_string(expected) + " integers");
  rectangular_shape(*this, 0);
  walk(*this, 0);
  if (static_cast<int64_t>(out.size()) != expected) {
    fail("expected " + std::to_string(expected) + " integers for the shape, found " +
         (static_cast<int64_t>(out.size()) > expected ? "more" : std::to_string(out.size())));
  }
  return out;
}

void JsonReader::fail(const std::string& message) const { throw InputError(source_, path_, message); }

}  // namespace attncheck::formats
