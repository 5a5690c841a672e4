// The arithmetic of published worked examples, evaluated exactly enough to judge them: a
// small expression language over MPFR Reals, for the numbers a seed states that are not an
// attention output (X X^T, cosine similarities, entropies, a KV-cache byte count, a cost ratio).
//
//   expr    := sum                     sum  := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary)*          unary := '-' unary | power
//   power   := postfix ('^' unary)?    postfix := primary ('[' expr ']')*
//   primary := number | name | name '(' expr (',' expr)* ')' | '(' expr ')' | '[' expr, ... ']'
//
// Numbers are decimal literals ("0.30", "2048", "1e-8"), read from their text at the working
// precision, never through a binary float; "inf" is infinity. Names are [A-Za-z_][A-Za-z0-9_.]*
// (a dot joins an attention problem's name and its quantity: "demo.weights"). Values are
// scalars or nested arrays; + - * / ^ work elementwise, a scalar broadcasting over an array.
// Functions: sqrt exp log abs floor (elementwise), dot(a, b), norm(a), cosine(a, b), sum(a),
// max(a) and min(a) over an array or of several scalars, maxabs(a) (largest |x| anywhere in a),
// entropy(p) = -sum p ln p (0 ln 0 = 0).
//
// Each operation rounds once at the precision in force (MPFR), so a result is within a few
// units of 2^-p of its exact value relative to the operands' size (docs/golden.md).
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "attncheck/oracle/real.hpp"

namespace attncheck::golden {

// A syntax or evaluation error; what() says what and where ("at column 7: ...").
class ExpressionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Value {
  bool is_array = false;
  oracle::Real scalar;
  std::vector<Value> items;

  static Value of(const oracle::Real& x) {
    Value v;
    v.scalar = x;
    return v;
  }
  static Value array(std::vector<Value> items) {
    Value v;
    v.is_array = true;
    v.items = std::move(items);
    return v;
  }
};

using Environment = std::map<std::string, Value>;

struct ExpressionNode;

// A parsed expression; parsing checks the syntax only, names are resolved at evaluation.
class Expression {
 public:
  // Throws ExpressionError for a syntax error, a literal that is not a decimal, or nesting
  // deeper than 64.
  explicit Expression(std::string text);
  ~Expression();
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;

  // Evaluates at the precision in force (call inside a PrecisionScope). Throws ExpressionError
  // for an unknown name or function, a shape mismatch or an index out of range.
  Value evaluate(const Environment& env) const;
  // The same, requiring a scalar result.
  oracle::Real evaluate_scalar(const Environment& env) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::unique_ptr<ExpressionNode> root_;
};

}  // namespace attncheck::golden
