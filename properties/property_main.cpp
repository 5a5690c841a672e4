// The property suite's entry point: one GoogleTest test per (law, kernel) for every registered
// kernel that has what the law needs, named "<Family>.<Law>/<kernel>" so a failure names the
// law and the kernel. Kernels outside ATTNCHECK_KERNELS are registered but skipped, so ctest's
// list stays the same while a run checks only the selected kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "attncheck/formats/law_results.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/testing/test_program.hpp"
#include "env_knobs.hpp"
#include "failing_case.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

std::string g_program = "properties_tests";

class LawTest : public ::testing::Test {
 private:
  // ATTNCHECK_RESULTS_DIR: this test's result for `attncheck summary` (formats/law_results.hpp).
  // A result that cannot be written fails the test: a summary missing it would under-report.
  void write_result(const std::string& dir, const LawOutcome& outcome) {
    formats::LawResult r{.law = law_.id(),
                         .kernel = kernel_.name,
                         .passed = outcome.passed,
                         .cases = outcome.checked,
                         .seed = outcome.seed,
                         .summary = outcome.summary,
                         .reach = outcome.reach,
                         .replay = outcome.replay_params,
                         .maxima = outcome.maxima};
    try {
      std::filesystem::create_directories(dir);
      formats::write_law_result(dir, r);
    } catch (const std::exception& e) {
      FAIL() << formats::kResultsDirVariable << "=" << dir << ": cannot write this test's result: " << e.what();
    }
  }

 public:
  LawTest(const Law& law, const KernelInfo& kernel) : law_(law), kernel_(kernel) {}

  void TestBody() override {
    if (!is_selected(kernel_)) GTEST_SKIP() << kernel_.name << " is not selected by ATTNCHECK_KERNELS";
    const LawOutcome outcome = check_law(law_, kernel_);
    // The cases rapidcheck actually ran, and the seed the law actually used: RC_PARAMS="seed=N"
    // with this N draws the same cases again.
    std::printf("%s: %s, %d cases, seed %llu\n", law_.id().c_str(), outcome.passed ? "holds" : "FAILS",
                outcome.checked, static_cast<unsigned long long>(outcome.seed));
    if (!outcome.summary.empty()) std::printf("  %s\n", outcome.summary.c_str());
    if (!outcome.reach.empty()) std::printf("  %s %s\n", kernel_.name.c_str(), outcome.reach.c_str());
    std::fflush(stdout);
    if (const char* dir = std::getenv(formats::kResultsDirVariable); dir != nullptr && *dir != '\0') {
      write_result(dir, outcome);
    }
    if (!outcome.passed) FAIL() << report_failure(law_, kernel_, outcome, g_program);
  }

 private:
  const Law& law_;
  const KernelInfo& kernel_;
};

}  // namespace

void register_regression_tests();  // regression_replay.cpp

}  // namespace attncheck::properties

int main(int argc, char** argv) {
  using namespace attncheck;
  using namespace attncheck::properties;
  if (argc > 0) g_program = argv[0];
  // A knob that does not parse stops the program before any test: running a case count or a
  // seed other than the one asked for would be a verdict about something else.
  if (const std::string errors = knob_errors(); !errors.empty()) {
    std::fprintf(stderr, "%s: refusing to run, an environment value is not usable:\n%s", g_program.c_str(),
                 errors.c_str());
    return 2;
  }
  rc_configuration();  // loads RC_PARAMS now, without rapidcheck's misleading seed line
  return attncheck::test_program::run_test_program(argc, argv, [] {
    for (const Law& law : all_laws()) {
      for (const KernelInfo& kernel : all_kernels()) {
        if (!law.applies(kernel)) continue;
        const std::string name = law.name + "/" + kernel.name;
        ::testing::RegisterTest(law.family.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                                [&law, &kernel]() -> ::testing::Test* { return new LawTest(law, kernel); });
      }
    }
    register_regression_tests();
  });
}
