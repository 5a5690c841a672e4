// The property suite's entry point: one GoogleTest test per (law, kernel) for every registered
// kernel that has what the law needs, named "<Family>.<Law>/<kernel>" so a failure names the
// law and the kernel. Kernels outside ATTNCHECK_KERNELS are registered but skipped, so ctest's
// list stays the same while a run checks only the selected kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "attncheck/registry.hpp"
#include "failing_case.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

std::string g_program = "properties_tests";

bool selected(const KernelInfo& kernel) {
  const auto chosen = selected_kernels();
  return std::find(chosen.begin(), chosen.end(), &kernel) != chosen.end();
}

class LawTest : public testing::Test {
 public:
  LawTest(const Law& law, const KernelInfo& kernel) : law_(law), kernel_(kernel) {}

  void TestBody() override {
    if (!selected(kernel_)) GTEST_SKIP() << kernel_.name << " is not selected by ATTNCHECK_KERNELS";
    const LawOutcome outcome = check_law(law_, kernel_);
    std::printf("%s: %s, %d cases, seed %llu\n", law_.id().c_str(), outcome.passed ? "holds" : "FAILS",
                outcome.cases, static_cast<unsigned long long>(outcome.seed));
    if (!outcome.summary.empty()) std::printf("  %s\n", outcome.summary.c_str());
    std::fflush(stdout);
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
  testing::InitGoogleTest(&argc, argv);
  if (argc > 0) g_program = argv[0];
  for (const Law& law : all_laws()) {
    for (const KernelInfo& kernel : all_kernels()) {
      if (!law.applies(kernel)) continue;
      const std::string name = law.name + "/" + kernel.name;
      testing::RegisterTest(law.family.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [&law, &kernel]() -> testing::Test* { return new LawTest(law, kernel); });
    }
  }
  register_regression_tests();
  return RUN_ALL_TESTS();
}
