// Reading attncheck's JSON files (problems, failing cases, golden files) with errors that name the file and
// the field. Numbers with a fraction or exponent are kept as their decimal text, so the
// oracle can read them exactly; integers stay integers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace attncheck::formats {

using Json = nlohmann::json;

// "FILE: field 'q[3]': not a number".
class InputError : public std::runtime_error {
 public:
  InputError(std::string file, std::string field, std::string message);
  const std::string& file() const { return file_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_, field_, message_;
};

// Parses text; a syntax error becomes an InputError naming the byte offset.
Json parse_json_text(const std::string& text, const std::string& source);
// Reads and parses a file; a missing or unreadable file is an InputError too.
Json read_json_file(const std::string& path);

// Typed access with errors naming source and field path.
class JsonReader {
 public:
  JsonReader(const Json& value, std::string source, std::string path = "")
      : value_(&value), source_(std::move(source)), path_(std::move(path)) {}

  bool has(const std::string& key) const;
  // Requires an object whose every member is in `known` or `also`; another member is an
  // InputError naming it ("FILE: field 'casual': unknown member").
  void check_members(const std::vector<std::string>& known, const std::vector<std::string>& also = {}) const;
  JsonReader at(const std::string& key) const;  // required member
  JsonReader at(size_t index) const;
  size_t size() const;                          // array length
  bool is_array() const { return value_->is_array(); }
  bool is_null() const { return value_->is_null(); }

  int64_t integer(int64_t min, int64_t max) const;
  bool boolean() const;
  std::string string() const;
  // A number or a decimal string as decimal text ("0.5", "-3", "inf", "nan").
  std::string decimal() const;
  // Every leaf of a (possibly nested) array of numbers, row-major, as decimal text; `expected`
  // elements are required.
  std::vector<std::string> decimals(int64_t expected) const;
  std::vector<int64_t> integers(int64_t expected, int64_t min, int64_t max) const;

  [[noreturn]] void fail(const std::string& message) const;
  const std::string& path() const { return path_; }
  const std::string& source() const { return source_; }
  // A reader for element `index` of this array by path only (for error messages about a
  // value already flattened out of nested arrays).
  JsonReader element_path(size_t index) const {
    return JsonReader(*value_, source_, path_ + "[" + std::to_string(index) + "]");
  }
  const Json& json() const { return *value_; }

 private:
  const Json* value_;
  std::string source_, path_;
};

}  // namespace attncheck::formats
