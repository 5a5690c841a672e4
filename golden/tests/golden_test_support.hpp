// Shared by the golden tests: the source tree's golden/ directory and scratch copies of it.
#pragma once

#include <filesystem>
#include <string>

namespace attncheck::golden::testing {

std::filesystem::path golden_source_dir();

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Copies golden/traces and golden/published into dir.
void copy_golden_tree(const std::filesystem::path& dir);

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace attncheck::golden::testing
