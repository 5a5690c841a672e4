// libFuzzer target for the golden-file readers: arbitrary bytes are read as a trace, as a
// published file (then evaluated) and as a problem file. The only acceptable failure is an
// InputError; any other exception escapes and libFuzzer reports it, as it does a sanitizer
// finding. Build: CXX=clang++ cmake -DATTNCHECK_FUZZ=ON ...; run:
//   golden_reader_fuzzer -max_len=8192 golden/fuzz/corpus
// The corpus (golden/fuzz/corpus/) holds small real files and the inputs that found bugs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "attncheck/golden/problem.hpp"
#include "attncheck/golden/published.hpp"
#include "attncheck/golden/trace.hpp"

using namespace attncheck::golden;
using attncheck::formats::InputError;
using attncheck::formats::Json;
using attncheck::formats::JsonReader;
using attncheck::formats::parse_json_text;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Json json;
  try {
    json = parse_json_text(text, "fuzz.json");
  } catch (const InputError&) {
    return 0;
  }
  // A trace's name must be its file's stem: name the file after it, so the reader gets past.
  std::string stem = "fuzz";
  if (json.is_object() && json.contains("name") && json["name"].is_string()) {
    const std::string name = json["name"].get<std::string>();
    if (!name.empty() && name.size() <= 64 && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos) {
      stem = name;
    }
  }
  try {
    read_trace(json, "traces/" + stem + ".json");
  } catch (const InputError&) {
  }
  try {
    const PublishedFile file = read_published(json, "published/fuzz.json");
    check_published(file);
  } catch (const InputError&) {
  }
  try {
    read_golden_problem(JsonReader(json, "problem.json"));
  } catch (const InputError&) {
  }
  return 0;
}
