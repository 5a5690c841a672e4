// The non-finite rule of docs/semantics.md ("Non-finite inputs") from file to verdict: NaN and
// +-inf are read in any slot; the outputs they reach are not judged, because no single answer is
// right there (the built-in kernels return an empty row's 0 and -inf for a row of NaN scores,
// where IEEE arithmetic in the oracle gives NaN); every other output is judged as always, so a
// NaN that leaks where it cannot reach still fails.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "attncheck/formats/problem_file.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"

namespace attncheck::formats {
namespace {

ProblemFile parse(const std::string& text) {
  return read_problem(JsonReader(parse_json_text(text, "t.json"), "t.json"));
}

// Batch 0: q[1] is NaN (row 0 of batch 0 reads it in every score), v[3] is NaN (column 1 of
// every row of batch 0); key 2 is masked, and holds infinities that nothing reads. Batch 1 is
// finite throughout and sees keys 0 and 1.
const char* kProblem = R"({"shape": {"batch": 2, "q_len": 2, "kv_len": 3, "head_dim": 2},
    "mask": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
    "q": [1, "nan", 0.5, 0.25, 1, 2, 3, 4],
    "k": [1, 0, 0, 1, "inf", "-inf", 1, 2, 3, 4, 5, 6],
    "v": [1, 2, 3, "nan", "-inf", "inf", 1, 2, 3, 4, 5, 6]})";

TEST(NonFinite, TheReaderAcceptsNanAndInfinitiesInAnySlot) {
  const ProblemFile f = parse(kProblem);
  EXPECT_TRUE(std::isnan(f.problem.q[1]));
  EXPECT_TRUE(std::isinf(f.problem.k[4]));
  EXPECT_TRUE(std::isnan(f.problem.v[3]));
}

TEST(NonFinite, TheOutputsANonFiniteInputReachesAreExactlyTheUnjudgedOnes) {
  const ProblemFile f = parse(kProblem);
  const oracle::OracleResult exact = oracle::forward(f.problem);
  const oracle::NonFiniteReach reach = oracle::non_finite_reach(f.problem, exact);
  // Rows in order (b, h, i): (0,0,0) reads q[1] everywhere; (0,0,1) only column 1 (v[3]); batch 1
  // reads nothing non-finite.
  EXPECT_EQ(reach.output, (std::vector<uint8_t>{1, 1, 0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(reach.lse, (std::vector<uint8_t>{1, 0, 0, 0}));
  // The oracle computes them by IEEE rules: NaN where NaN arrives.
  EXPECT_TRUE(std::isnan(oracle::outputs_f64(exact)[0]));
  EXPECT_TRUE(std::isnan(oracle::outputs_f64(exact)[3]));
  EXPECT_TRUE(std::isfinite(oracle::outputs_f64(exact)[2]));
  // All finite: nothing is left out.
  EXPECT_TRUE(oracle::non_finite_reach(parse(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1},
      "q": [1], "k": [1], "v": [1]})").problem, exact).output.empty());
}

TEST(NonFinite, ACorrectKernelPassesAndALeakedNanStillFails) {
  const ProblemFile f = parse(kProblem);
  const oracle::OracleResult exact = oracle::forward(f.problem);
  for (const char* name : {"dense_f32", "tiled_f32"}) {
    SCOPED_TRACE(name);
    const KernelInfo* kernel = find_kernel(name);
    ASSERT_NE(kernel, nullptr);
    KernelResult got = run_kernel(*kernel, f.problem);
    const oracle::KernelCheck check = oracle::check_kernel(*kernel, f.problem, exact, got);
    EXPECT_TRUE(check.passed()) << oracle::format_kernel_check(check);
    EXPECT_EQ(check.o_metrics.unjudged, 3);
    // Whatever stands in an unjudged element passes...
    got.o[0] = 12345.0f;
    EXPECT_TRUE(oracle::check_kernel(*kernel, f.problem, exact, got).passed());
    // ...but NaN where no non-finite input reaches fails: column 0 of row (0,0,1), batch 1.
    for (const size_t leak : {size_t{2}, size_t{5}}) {
      KernelResult leaked = got;
      leaked.o[leak] = std::numeric_limits<float>::quiet_NaN();
      EXPECT_FALSE(oracle::check_kernel(*kernel, f.problem, exact, leaked).passed()) << leak;
    }
  }
}

}  // namespace
}  // namespace attncheck::formats
