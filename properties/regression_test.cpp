// Every problem file in properties/regressions/ is replayed on every run against every
// selected kernel that stores its dtype and declares its features (regression_replay.hpp):
// each element of O and LSE must lie within the a-priori bound. Files are read when the test
// runs, so a new file joins without rebuilding.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "attncheck/registry.hpp"
#include "regression_replay.hpp"

namespace attncheck::properties {
namespace {

class RegressionTest : public testing::Test {
 public:
  explicit RegressionTest(const KernelInfo& kernel) : kernel_(kernel) {}

  void TestBody() override {
    if (!is_selected(kernel_)) GTEST_SKIP() << kernel_.name << " is not selected by ATTNCHECK_KERNELS";
    ASSERT_FALSE(regression_files().empty()) << "no regression files in " << ATTNCHECK_REGRESSION_DIR;
    const std::vector<Replay> replays = replay_regressions(kernel_);
    for (const Replay& r : replays) {
      const std::string name = std::filesystem::path(r.file).filename().string() + (r.through_decode ? " (decode)" : "");
      std::printf("  %s: %s\n", name.c_str(), r.check.passed() ? "within bound" : "EXCEEDS bound");
      EXPECT_TRUE(r.check.passed()) << name << "\n    " << oracle::format_kernel_check(r.check)
                                    << "\n  replay: attncheck --kernel " << kernel_.name << " trace " << r.file;
    }
    std::printf("%s replayed %zu regression problems from %zu files\n", kernel_.name.c_str(), replays.size(),
                regression_files().size());
  }

 private:
  const KernelInfo& kernel_;
};

}  // namespace

void register_regression_tests() {
  for (const KernelInfo& kernel : all_kernels()) {
    const std::string name = "ReplayedProblemsStayWithinBound/" + kernel.name;
    testing::RegisterTest("Regressions", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                          [&kernel]() -> testing::Test* { return new RegressionTest(kernel); });
  }
}

}  // namespace attncheck::properties
