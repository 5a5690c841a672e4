#include "golden_test_support.hpp"

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

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

}  // namespace attncheck::golden::testing
