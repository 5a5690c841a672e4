#include "attncheck/testing/test_program.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "attncheck/registry.hpp"

namespace attncheck::test_program {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

}  // namespace

std::string empty_shard_message(int tests_to_run, bool listing_only) {
  const std::string total = env_or("GTEST_TOTAL_SHARDS", "");
  if (listing_only || tests_to_run > 0 || total.empty() || total == "1") return "";
  return "attncheck: GTEST_TOTAL_SHARDS=" + total + " GTEST_SHARD_INDEX=" + env_or("GTEST_SHARD_INDEX", "?") +
         " left this program no test to run, so this shard checked nothing.\n"
         "  Under ctest every test is a process of its own, and GoogleTest's sharding hands it to shard 0\n"
         "  alone. Unset GTEST_TOTAL_SHARDS and GTEST_SHARD_INDEX and split the suite with ctest instead:\n"
         "    ctest --test-dir build --no-tests=error -I K,,N    # shard K of N, K = 1..N\n"
         "  (docs/verify-your-kernel.md, \"Split the suite over machines\").\n";
}

int run_test_program(int argc, char** argv, const std::function<void()>& register_tests) {
  ::testing::InitGoogleTest(&argc, argv);
  if (const std::vector<std::string> errors = registration_errors(); !errors.empty()) {
    std::fprintf(stderr, "attncheck: %zu kernel registration(s) refused, so no test runs:\n", errors.size());
    for (const std::string& e : errors) std::fprintf(stderr, "  %s\n", e.c_str());
    return 2;
  }
  // A kernel filter with an entry that selects nothing (a typo) would fail every test that
  // selects kernels, one by one, and pass the rest: say it once, before any test runs. Test
  // discovery (--gtest_list_tests, at build time) lists tests whatever the filter, and a
  // program without kernels (oracle_tests) has none for the filter to select.
  if (!GTEST_FLAG_GET(list_tests) && !all_kernels().empty()) {
    try {
      (void)selected_kernels();
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "attncheck: the kernel filter is unusable, so no test runs: %s\n", e.what());
      return 2;
    }
  }
  if (register_tests) register_tests();
  const int status = RUN_ALL_TESTS();
  const std::string empty = empty_shard_message(::testing::UnitTest::GetInstance()->test_to_run_count(),
                                                GTEST_FLAG_GET(list_tests));
  if (!empty.empty()) {
    std::fputs(empty.c_str(), stderr);
    return 1;
  }
  return status;
}

}  // namespace attncheck::test_program
