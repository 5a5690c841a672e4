// Atomic writes: write_file_atomically (the property suite's failing cases). write_all_or_nothing
// is tested with `golden regen` in golden/tests/regen_verify_test.cpp.
#include "attncheck/formats/atomic_write.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace attncheck::formats {
namespace {

TEST(WriteFileAtomically, ReplacesTheFileAndCreatesTheDirectory) {
  const auto dir = std::filesystem::temp_directory_path() / ("attncheck-write-" + std::to_string(::getpid()));
  const std::string path = (dir / "sub" / "case.json").string();
  write_file_atomically(path, "{\"a\": 1}\n");
  write_file_atomically(path, "{\"a\": 2}\n");  // replaces
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"a\": 2}\n");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "sub")) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);  // no temporary left behind
  std::filesystem::remove_all(dir);
  EXPECT_THROW(write_file_atomically("/proc/attncheck-no/x.json", "x"), std::runtime_error);
}

}  // namespace
}  // namespace attncheck::formats
