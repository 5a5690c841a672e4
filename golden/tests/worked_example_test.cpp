// The built-in worked example (`attncheck trace` with no file, and the first trace).
#include <gtest/gtest.h>

#include "attncheck/golden/canonical.hpp"

namespace attncheck::golden {
namespace {

using formats::ProblemFile;
using formats::run_oracle;

TEST(WorkedExample, IsTheSeed001CausalProblemInExactDecimals) {
  const ProblemFile f = worked_example();
  EXPECT_TRUE(f.exact_decimal_inputs);
  EXPECT_TRUE(f.problem.spec.causal);
  EXPECT_EQ(f.problem.spec.shape.q_len, 4);
  EXPECT_EQ(f.q_text[0], "0.25");
  const oracle::OracleResult r = run_oracle(f);
  // Row 0 sees only itself: its output is V[0] = X[0] exactly.
  EXPECT_EQ(oracle::round_to_f64(r.rows[0].output[0]), 0.5);
  EXPECT_EQ(oracle::round_to_f64(r.rows[0].output[2]), -0.2);
  // Exact decimals give exact dot products: Q[1].K[0] = 0.25 X[1].X[0] is exactly zero, and
  // Q[0].K[0] = 0.0975 rounds to the double nearest 0.0975.
  EXPECT_EQ(oracle::round_to_f64(r.rows[1].raw[0]), 0.0);
  EXPECT_EQ(oracle::round_to_f64(r.rows[0].raw[0]), 0.0975);
}

}  // namespace
}  // namespace attncheck::golden
