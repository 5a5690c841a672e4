#include "golden_test_support.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "attncheck/golden/canonical.hpp"

namespace attncheck::golden::testing {

namespace fs = std::filesystem;

fs::path golden_source_dir() { return fs::path(ATTNCHECK_GOLDEN_SOURCE_DIR); }

ScratchDir::ScratchDir() {
  std::string pattern = (fs::temp_directory_path() / "attncheck-golden-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void copy_golden_tree(const fs::path& dir) {
  for (const char* sub : {"traces", "published"}) {
    fs::create_directories(dir / sub);
    fs::copy(golden_source_dir() / sub, dir / sub, fs::copy_options::recursive);
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

const TraceSpec& spec_named(const std::vector<TraceSpec>& specs, const std::string& name) {
  for (const TraceSpec& s : specs) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no trace " + name);
}

void expect_trace_error(const std::string& name, const std::function<void(formats::Json&)>& edit,
                        const std::string& field) {
  const auto specs = canonical_traces();
  const std::string path = "traces/" + name + ".json";
  formats::Json json = formats::parse_json_text(generate_trace(spec_named(specs, name)).text, path);
  edit(json);
  try {
    read_trace(json, path);
    ADD_FAILURE() << "accepted an edited " << name << ", expected an error at " << field;
  } catch (const formats::InputError& e) {
    EXPECT_EQ(e.file(), path) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

}  // namespace attncheck::golden::testing
