// The published-computation evaluator: exact decimal literals, the functions the seeds need,
// and errors that say where.
#include "attncheck/golden/expression.hpp"

#include <gtest/gtest.h>

namespace attncheck::golden {
namespace {

using oracle::Real;

Real eval(const std::string& text, const Environment& env = {}) {
  return Expression(text).evaluate_scalar(env);
}

std::string eval_error(const std::string& text, const Environment& env = {}) {
  try {
    eval(text, env);
  } catch (const ExpressionError& e) {
    return e.what();
  }
  return "(no error)";
}

class ExpressionTest : public ::testing::Test {
 protected:
  oracle::PrecisionScope scope{256};
};

TEST_F(ExpressionTest, DecimalLiteralsAreReadFromTheirTextNotThroughABinaryFloat) {
  // 0.1 + 0.2 - 0.3 is 5.55e-17 in binary64 and within 2^-250 of zero here.
  EXPECT_LT(abs(eval("0.1 + 0.2 - 0.3")), ldexp(Real(1), -250));
  EXPECT_EQ(eval("2048^2 * 64"), Real(268435456));
  EXPECT_EQ(eval("-2^2"), Real(-4));  // unary minus binds looser than ^
  EXPECT_EQ(eval("2 * (3 + 4) - 10 / 4"), Real(11.5));
  EXPECT_EQ(eval("1e3 + 2.5e-1"), Real(1000.25));
}

TEST_F(ExpressionTest, ArraysIndexAndBroadcast) {
  Environment env;
  env["X"] = Expression("[[0.5, 0.3], [-0.1, 0.4]]").evaluate(env);
  EXPECT_EQ(eval("X[1][1]", env), eval("0.4"));
  EXPECT_EQ(eval("dot(X[0], X[1])", env), eval("-0.05 + 0.12"));
  EXPECT_EQ(eval("maxabs(0.5 * X - [[0.25, 0.15], [-0.05, 0.2]])", env), Real(0));
  EXPECT_EQ(eval("sum([1, 2, 3.5])"), Real(6.5));
  EXPECT_EQ(eval("max(1, 5, 3)"), Real(5));
  EXPECT_EQ(eval("min([4, -2, 7])"), Real(-2));
}

TEST_F(ExpressionTest, FunctionsAreTheMathematicalOnes) {
  EXPECT_EQ(eval("cosine([1, 0], [0, 1])"), Real(0));
  EXPECT_LT(abs(eval("cosine([3, 4], [6, 8])") - 1), ldexp(Real(1), -240));
  EXPECT_LT(abs(eval("entropy([1/3, 1/3, 1/3])") - log(Real(3))), ldexp(Real(1), -240));
  EXPECT_EQ(eval("entropy([1, 0])"), Real(0));  // 0 ln 0 = 0
  EXPECT_EQ(eval("norm([3, 4])"), Real(5));
  EXPECT_EQ(eval("floor(128 / 3)"), Real(42));
  EXPECT_EQ(eval("exp(0) + log(1) + sqrt(4) + abs(-1)"), Real(4));
}

TEST_F(ExpressionTest, ErrorsSayWhatAndWhere) {
  EXPECT_EQ(eval_error("1 +"), "at column 4: expected a value before the end");
  EXPECT_EQ(eval_error("nosuch + 1"), "at column 1: unknown name 'nosuch'");
  EXPECT_EQ(eval_error("[1, 2][2]"), "at column 7: index 2 outside [0, 2)");
  EXPECT_EQ(eval_error("dot([1, 2], [1])"), "at column 1: dot of lengths 2 and 1");
  EXPECT_EQ(eval_error("frob(1)"), "at column 1: unknown function 'frob'");
  EXPECT_EQ(eval_error("[1, 2]"), "the result is an array, a number is needed");
  EXPECT_EQ(eval_error("1 2"), "at column 3: unexpected '2'");
  EXPECT_EQ(eval_error("(1"), "at column 3: expected ')' before the end");
}

TEST_F(ExpressionTest, DeepNestingIsAnErrorNotARecursionCrash) {
  EXPECT_THROW(Expression(std::string(1000, '(') + "1" + std::string(1000, ')')), ExpressionError);
  EXPECT_THROW(Expression(std::string(3000, '-') + "1"), ExpressionError);
  EXPECT_THROW(Expression(std::string(2000, '[')), ExpressionError);
}

}  // namespace
}  // namespace attncheck::golden
