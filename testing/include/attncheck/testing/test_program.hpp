// How every attncheck test program runs: GoogleTest, guarded against the two ways a test
// run can pass without checking anything.
//   - A kernel registration was refused (registry.hpp): the program prints every reason and
//     returns 2 before running a test, instead of aborting during static initialisation or
//     running a suite without the kernel the user meant to check.
//   - The kernel filter (ATTNCHECK_KERNELS) has an entry that selects no kernel, or an empty one:
//     the program says so and returns 2 before running a test.
//   - GoogleTest sharding (GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX) left this program no test:
//     under ctest every test is a process of its own, so sharding inside it gives the test
//     to shard 0 and leaves every other shard empty and green. Such a run returns 1 with the
//     supported way to split the suite (`ctest -I K,,N`, docs/verify-your-kernel.md).
#pragma once

#include <functional>
#include <string>

namespace attncheck::test_program {

// Initialises GoogleTest from argc/argv, calls register_tests (for programs that register
// tests at run time, after the registry was checked), runs every test and returns the exit
// status: RUN_ALL_TESTS()'s, or 2 / 2 / 1 for the cases above.
int run_test_program(int argc, char** argv, const std::function<void()>& register_tests = {});

// The message for a sharded run that selected no test, or "" when the run is not sharded,
// selected a test, or only lists tests. Exposed for the harness's own tests.
std::string empty_shard_message(int tests_to_run, bool listing_only);

}  // namespace attncheck::test_program
