// Proof that the laws can fail: every law rejects at least one deliberately broken kernel
// (properties/mutants/), and accepts the same template without the bug, so the rejection is
// the bug's doing. Test names read "LawRejectsMutant.<Family>/<Law>/<mutant>" and
// "LawAcceptsControl.<Family>/<Law>/<control>". A test also checks that every law has a
// mutant, and that a failing case's file replays through the CLI's reader.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <unistd.h>

#include "attncheck/formats/problem_file.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"
#include "attncheck/oracle/gradient_check.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "failing_case.hpp"
#include "law_tools.hpp"
#include "laws.hpp"
#include "mutants/mutants.hpp"
#include "regression_replay.hpp"

namespace attncheck::properties {
namespace {

// A mutant gets more cases than the default run, so a rare trigger still shows; the search
// stops at the first failure.
int rejection_cases(const Law& law) { return std::max(law.cases * 5, 200); }

std::string slashed(const Law& law) { return law.family + "/" + law.name; }

class RejectsMutant : public testing::Test {
 public:
  RejectsMutant(const Law& law, const mutants::Mutant& mutant) : law_(law), mutant_(mutant) {}
  void TestBody() override {
    const LawOutcome outcome = check_law(law_, mutant_.kernel, rejection_cases(law_));
    std::printf("%s %s %s (%s), seed %llu\n", law_.id().c_str(), outcome.passed ? "ACCEPTED" : "rejects",
                mutant_.kernel.name.c_str(), mutant_.bug.c_str(), static_cast<unsigned long long>(outcome.seed));
    if (!outcome.passed) {
      // The first lines of rapidcheck's report: how many cases, how many shrinks.
      std::printf("  %s\n", outcome.report.substr(0, outcome.report.find('\n')).c_str());
      if (outcome.witness) std::printf("  minimal case: %s\n", outcome.witness->detail.substr(0, 300).c_str());
    }
    EXPECT_FALSE(outcome.passed) << law_.id() << " did not reject " << mutant_.kernel.name << " ("
                                 << mutant_.bug << ") in " << outcome.cases << " cases";
  }

 private:
  const Law& law_;
  const mutants::Mutant& mutant_;
};

class AcceptsControl : public testing::Test {
 public:
  AcceptsControl(const Law& law, const KernelInfo& control) : law_(law), control_(control) {}
  void TestBody() override {
    const LawOutcome outcome = check_law(law_, control_);
    if (!outcome.summary.empty()) std::printf("  %s\n", outcome.summary.c_str());
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    EXPECT_TRUE(outcome.passed) << report_failure(law_, control_, outcome, this_program("properties_meta_tests"),
                                                  std::string(test->test_suite_name()) + "." + test->name());
  }

 private:
  const Law& law_;
  const KernelInfo& control_;
};

TEST(MetaTest, EveryLawRejectsSomeMutant) {
  std::set<std::string> proven;
  for (const mutants::Mutant& m : mutants::all_mutants()) proven.insert(m.rejected_by.begin(), m.rejected_by.end());
  for (const Law& law : all_laws()) EXPECT_TRUE(proven.count(law.id())) << law.id() << " has no mutant";
  for (const std::string& id : proven) EXPECT_NO_THROW(find_law(id)) << "mutant names an unknown law " << id;
}

TEST(MetaTest, EveryMutantIsRejectedBySomeLaw) {
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    EXPECT_FALSE(m.rejected_by.empty()) << m.kernel.name << " (" << m.bug << ") names no law that rejects it";
  }
}

TEST(MetaTest, MutantsStayOutOfTheRegistry) {
  for (const mutants::Mutant& m : mutants::all_mutants()) EXPECT_EQ(find_kernel(m.kernel.name), nullptr);
  for (const KernelInfo& k : mutants::all_controls()) EXPECT_EQ(find_kernel(k.name), nullptr);
}

// A failing case's file is a problem file: the CLI's reader gives back the same problem, and
// on it the mutant's output breaks its a-priori bound while the dense kernel's does not.
TEST(MetaTest, FailingCaseFileReplaysThroughTheCliReader) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("attncheck-meta-" + std::to_string(::getpid()))).string();
  ASSERT_EQ(::setenv("ATTNCHECK_FAILURES", dir.c_str(), 1), 0);
  const Law& law = find_law("MaskLeakage.ChangingInvisibleKeysLeavesOutputBitIdentical");
  const mutants::Mutant* mutant = nullptr;
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    if (m.kernel.name == "masked_nan_times_zero_f32") mutant = &m;
  }
  ASSERT_NE(mutant, nullptr);
  const LawOutcome outcome = check_law(law, mutant->kernel, rejection_cases(law));
  ASSERT_FALSE(outcome.passed);
  ASSERT_TRUE(outcome.witness.has_value());
  const std::string report =
      report_failure(law, mutant->kernel, outcome, this_program("properties_meta_tests"),
                     "LawRejectsMutant." + slashed(law) + "/" + mutant->kernel.name);
  std::printf("%s", report.c_str());
  EXPECT_NE(report.find("RC_PARAMS='"), std::string::npos);  // shell-quoted (verdict_test.cpp)
  EXPECT_NE(report.find("oracle O = "), std::string::npos);
  EXPECT_NE(report.find("kernel O = "), std::string::npos);
  EXPECT_NE(report.find(" trace "), std::string::npos);
  const std::string path = dir + "/" + law.id() + "." + mutant->kernel.name + ".json";
  const formats::ProblemFile file = formats::read_problem_file(path);
  const Problem& written = outcome.witness->problem;
  EXPECT_EQ(file.problem.spec, written.spec);
  ASSERT_EQ(file.problem.k.size(), written.k.size());
  for (size_t i = 0; i < written.k.size(); ++i) ASSERT_TRUE(same_bits(file.problem.k[i], written.k[i])) << i;
  for (size_t i = 0; i < written.v.size(); ++i) ASSERT_TRUE(same_bits(file.problem.v[i], written.v[i])) << i;
  for (size_t i = 0; i < written.q.size(); ++i) ASSERT_TRUE(same_bits(file.problem.q[i], written.q[i])) << i;
  EXPECT_EQ(file.problem.valid_keys, written.valid_keys);
  EXPECT_EQ(file.problem.mask, written.mask);
  const oracle::OracleResult exact = oracle_rows(file.problem);
  EXPECT_FALSE(oracle::check_kernel(mutant->kernel, file.problem, exact, run_kernel(mutant->kernel, file.problem))
                   .passed());
  const KernelInfo& dense = *dense_kernel(DType::f32);
  EXPECT_TRUE(oracle::check_kernel(dense, file.problem, exact, run_kernel(dense, file.problem)).passed());
  std::filesystem::remove_all(dir);
  ::unsetenv("ATTNCHECK_FAILURES");
}

// A gradient law's failing case is a problem file too, carrying the upstream gradient ("do"):
// the CLI's reader gives back the same problem with the same dO bits, the printed trace command
// is `trace --backward FILE`, and on the file the mutant's gradients break their a-priori bound
// while the dense backward's do not.
TEST(MetaTest, BackwardFailingCaseFileCarriesTheUpstreamGradient) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("attncheck-meta-bwd-" + std::to_string(::getpid()))).string();
  ASSERT_EQ(::setenv("ATTNCHECK_FAILURES", dir.c_str(), 1), 0);
  const Law& law = find_law("GradientMasking.KeysNoQuerySeesGetExactlyZeroGradient");
  const mutants::Mutant* mutant = nullptr;
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    if (m.kernel.name == "bwd_dv_wrong_key_f32") mutant = &m;
  }
  ASSERT_NE(mutant, nullptr);
  const LawOutcome outcome = check_law(law, mutant->kernel, rejection_cases(law));
  ASSERT_FALSE(outcome.passed);
  ASSERT_TRUE(outcome.witness.has_value());
  ASSERT_TRUE(outcome.witness->backward);
  const FailureReport report =
      write_failure_report(law, mutant->kernel, outcome, this_program("properties_meta_tests"),
                           "LawRejectsMutant." + slashed(law) + "/" + mutant->kernel.name);
  std::printf("%s", report.text.c_str());
  EXPECT_NE(report.trace_command.find(" trace --backward "), std::string::npos) << report.trace_command;
  EXPECT_NE(report.text.find("oracle dQ = "), std::string::npos);
  EXPECT_NE(report.text.find("kernel dQ = "), std::string::npos);
  const formats::ProblemFile file = formats::read_problem_file(report.file);
  const Problem& written = outcome.witness->problem;
  ASSERT_TRUE(written.has_d_out());
  ASSERT_EQ(file.problem.d_out.size(), written.d_out.size());
  for (size_t i = 0; i < written.d_out.size(); ++i) ASSERT_TRUE(same_bits(file.problem.d_out[i], written.d_out[i])) << i;
  EXPECT_EQ(file.problem.spec, written.spec);
  const oracle::Gradients exact =
      oracle::backward(file.problem, oracle::BackwardOptions{.keep_intermediates = true});
  EXPECT_FALSE(oracle::run_and_check_backward(mutant->kernel, file.problem, exact, oracle::ForwardSource::oracle).passed());
  EXPECT_TRUE(oracle::run_and_check_backward(*dense_kernel(DType::f32), file.problem, exact, oracle::ForwardSource::oracle)
                  .passed());
  std::filesystem::remove_all(dir);
  ::unsetenv("ATTNCHECK_FAILURES");
}

const mutants::Mutant& mutant_named(const std::string& name) {
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    if (m.kernel.name == name) return m;
  }
  throw std::invalid_argument("no mutant " + name);
}

// The regression replay can fail too: each of these files breaks the bound of the mutant
// named with it, while the bug-free template passes every file.
TEST(MetaTest, RegressionReplayRejectsMutantsAndAcceptsControls) {
  const std::pair<const char*, const char*> expected[] = {
      {"padded_key_counted_f32", "causal_more_queries_than_keys_nan_padding.json"},
      {"top_left_causal_f32", "causal_more_queries_than_keys_nan_padding.json"},
      {"f16_scores_f16", "f16_logits_beyond_half_max.json"},
      {"unrescaled_running_sum_f32", "f32_dominant_key_after_two_tiles.json"},
      {"unrescaled_running_sum_k128_f32", "f32_large_logits_tile_edges.json"},
      {"tile_edge_drops_last_key_k128_f32", "f32_large_logits_tile_edges.json"},
      {"lse_without_shift_k128_f32", "f32_large_logits_tile_edges.json"},
      {"no_max_shift_f32", "f32_large_logits_tile_edges.json"},
  };
  for (const auto& [name, file] : expected) {
    bool rejected = false;
    for (const Replay& r : replay_regressions(mutant_named(name).kernel)) {
      if (std::filesystem::path(r.file).filename() == file && !r.check.passed()) rejected = true;
    }
    EXPECT_TRUE(rejected) << file << " does not reject " << name;
  }
  for (const KernelInfo& control : mutants::all_controls()) {
    for (const Replay& r : replay_regressions(control)) {
      EXPECT_TRUE(r.check.passed()) << control.name << " on " << r.file << ": " << oracle::format_kernel_check(r.check);
    }
  }
}

void register_meta_tests() {
  std::set<std::pair<std::string, std::string>> controls;
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    for (const std::string& id : m.rejected_by) {
      const Law& law = find_law(id);
      const std::string name = slashed(law) + "/" + m.kernel.name;
      testing::RegisterTest("LawRejectsMutant", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [&law, &m]() -> testing::Test* { return new RejectsMutant(law, m); });
      controls.insert({id, m.control});
    }
  }
  for (const auto& [id, name] : controls) {
    const Law& law = find_law(id);
    const KernelInfo& kernel = mutants::control(name);
    const std::string test = slashed(law) + "/" + name;
    testing::RegisterTest("LawAcceptsControl", test.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                          [&law, &kernel]() -> testing::Test* { return new AcceptsControl(law, kernel); });
  }
}

// Registered before main() runs (gtest_main provides main), so discovery lists them.
const bool registered = (register_meta_tests(), true);

}  // namespace
}  // namespace attncheck::properties
