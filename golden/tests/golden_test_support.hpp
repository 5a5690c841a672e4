// Shared by the golden tests: the source tree's golden/ directory and scratch copies of it.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "attncheck/formats/json_input.hpp"
#include "attncheck/golden/trace.hpp"

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

// The canonical trace of that name among specs (std::runtime_error when there is none).
const TraceSpec& spec_named(const std::vector<TraceSpec>& specs, const std::string& name);

// The canonical trace `name`, generated, edited by `edit`, must fail to read with an InputError
// naming `field` in traces/NAME.json (a gtest failure otherwise).
void expect_trace_error(const std::string& name, const std::function<void(formats::Json&)>& edit,
                        const std::string& field);

}  // namespace attncheck::golden::testing
