#include "attncheck/golden/expression.hpp"

#include <mpfr.h>

#include <cctype>
#include <functional>

namespace attncheck::golden {

using oracle::Real;

struct ExpressionNode {
  enum class Kind { number, name, negate, binary, call, index, list };
  Kind kind;
  std::string text;  // number literal, name, or function name
  char op = 0;       // binary: + - * / ^
  size_t column = 0;
  std::vector<std::unique_ptr<ExpressionNode>> children;
};

namespace {

using Node = ExpressionNode;
using NodePtr = std::unique_ptr<Node>;

constexpr int kMaxDepth = 64;

[[noreturn]] void fail_at(size_t column, const std::string& message) {
  throw ExpressionError("at column " + std::to_string(column + 1) + ": " + message);
}

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  NodePtr parse() {
    NodePtr root = sum(0);
    skip_space();
    if (pos_ != s_.size()) fail_at(pos_, "unexpected '" + std::string(1, s_[pos_]) + "'");
    return root;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) {
      fail_at(pos_, pos_ < s_.size() ? "expected '" + std::string(1, c) + "', found '" + s_[pos_] + "'"
                                     : "expected '" + std::string(1, c) + "' before the end");
    }
  }
  NodePtr make(Node::Kind kind, size_t column) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->column = column;
    return node;
  }
  void check_depth(int depth) {
    if (depth > kMaxDepth) fail_at(pos_, "nested more than 64 deep");
  }

  NodePtr sum(int depth) {
    check_depth(depth);
    NodePtr left = product(depth + 1);
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) return left;
      NodePtr node = make(Node::Kind::binary, pos_);
      node->op = s_[pos_++];
      node->children.push_back(std::move(left));
      node->children.push_back(product(depth + 1));
      left = std::move(node);
    }
  }
  NodePtr product(int depth) {
    check_depth(depth);
    NodePtr left = unary(depth + 1);
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || (s_[pos_] != '*' && s_[pos_] != '/')) return left;
      NodePtr node = make(Node::Kind::binary, pos_);
      node->op = s_[pos_++];
      node->children.push_back(std::move(left));
      node->children.push_back(unary(depth + 1));
      left = std::move(node);
    }
  }
  NodePtr unary(int depth) {
    check_depth(depth);
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '-') {
      NodePtr node = make(Node::Kind::negate, pos_++);
      node->children.push_back(unary(depth + 1));
      return node;
    }
    NodePtr base = postfix(depth + 1);
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '^') {
      NodePtr node = make(Node::Kind::binary, pos_);
      node->op = s_[pos_++];
      node->children.push_back(std::move(base));
      node->children.push_back(unary(depth + 1));
      return node;
    }
    return base;
  }
  NodePtr postfix(int depth) {
    check_depth(depth);
    NodePtr node = primary(depth + 1);
    while (accept('[')) {
      NodePtr index = make(Node::Kind::index, pos_ - 1);
      index->children.push_back(std::move(node));
      index->children.push_back(sum(depth + 1));
      expect(']');
      node = std::move(index);
    }
    return node;
  }
  NodePtr primary(int depth) {
    check_depth(depth);
    skip_space();
    if (pos_ >= s_.size()) fail_at(pos_, "expected a value before the end");
    const size_t start = pos_;
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      NodePtr inner = sum(depth + 1);
      expect(')');
      return inner;
    }
    if (c == '[') {
      ++pos_;
      NodePtr list = make(Node::Kind::list, start);
      if (!accept(']')) {
        do {
          list->children.push_back(sum(depth + 1));
        } while (accept(','));
        expect(']');
      }
      return list;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number(start);
    if (is_name_start(c)) {
      while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
      const std::string name = s_.substr(start, pos_ - start);
      if (accept('(')) {
        NodePtr call = make(Node::Kind::call, start);
        call->text = name;
        do {
          call->children.push_back(sum(depth + 1));
        } while (accept(','));
        expect(')');
        return call;
      }
      NodePtr node = make(Node::Kind::name, start);
      node->text = name;
      return node;
    }
    fail_at(start, "unexpected '" + std::string(1, c) + "'");
  }
  // digits [. digits] [e [+-] digits]; the text goes to MPFR as is.
  NodePtr number(size_t start) {
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      return pos_ - from;
    };
    size_t count = digits();
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      count += digits();
    }
    if (count == 0) fail_at(start, "a number needs digits");
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0 || pos_ - start > 64) fail_at(start, "malformed exponent");
    }
    NodePtr node = make(Node::Kind::number, start);
    node->text = s_.substr(start, pos_ - start);
    return node;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// ---- evaluation ----

const Value& scalar_or_fail(const Value& v, size_t column, const char* what) {
  if (v.is_array) fail_at(column, std::string(what) + " needs a number, got an array");
  return v;
}

// Applies f elementwise, broadcasting a scalar over an array.
Value zip(const Value& a, const Value& b, size_t column, const std::function<Real(const Real&, const Real&)>& f) {
  if (!a.is_array && !b.is_array) return Value::of(f(a.scalar, b.scalar));
  if (a.is_array && b.is_array && a.items.size() != b.items.size()) {
    fail_at(column, "arrays of lengths " + std::to_string(a.items.size()) + " and " +
                        std::to_string(b.items.size()) + " do not match");
  }
  const size_t n = a.is_array ? a.items.size() : b.items.size();
  std::vector<Value> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(zip(a.is_array ? a.items[i] : a, b.is_array ? b.items[i] : b, column, f));
  }
  return Value::array(std::move(out));
}

Value map(const Value& a, const std::function<Real(const Real&)>& f) {
  if (!a.is_array) return Value::of(f(a.scalar));
  std::vector<Value> out;
  out.reserve(a.items.size());
  for (const Value& item : a.items) out.push_back(map(item, f));
  return Value::array(std::move(out));
}

// The elements of a one-dimensional array.
std::vector<Real> vector_of(const Value& v, size_t column, const std::string& function) {
  if (!v.is_array) fail_at(column, function + " needs an array");
  std::vector<Real> out;
  for (const Value& item : v.items) {
    if (item.is_array) fail_at(column, function + " needs a one-dimensional array");
    out.push_back(item.scalar);
  }
  return out;
}

void for_each_scalar(const Value& v, const std::function<void(const Real&)>& f) {
  if (!v.is_array) {
    f(v.scalar);
    return;
  }
  for (const Value& item : v.items) for_each_scalar(item, f);
}

Real dot(const std::vector<Real>& a, const std::vector<Real>& b, size_t column) {
  if (a.size() != b.size()) {
    fail_at(column, "dot of lengths " + std::to_string(a.size()) + " and " + std::to_string(b.size()));
  }
  Real sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

Value evaluate_node(const Node& node, const Environment& env);

Value call(const Node& node, const Environment& env) {
  std::vector<Value> args;
  for (const auto& child : node.children) args.push_back(evaluate_node(*child, env));
  const std::string& f = node.text;
  const size_t col = node.column;
  auto want = [&](size_t n) {
    if (args.size() != n) fail_at(col, f + " takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s"));
  };
  if (f == "sqrt" || f == "exp" || f == "log" || f == "abs" || f == "floor") {
    want(1);
    return map(args[0], [&](const Real& x) -> Real {
      if (f == "sqrt") return sqrt(x);
      if (f == "exp") return exp(x);
      if (f == "log") return log(x);
      if (f == "abs") return abs(x);
      return floor(x);
    });
  }
  if (f == "dot" || f == "cosine") {
    want(2);
    const auto a = vector_of(args[0], col, f), b = vector_of(args[1], col, f);
    const Real ab = dot(a, b, col);
    if (f == "dot") return Value::of(ab);
    return Value::of(ab / (sqrt(dot(a, a, col)) * sqrt(dot(b, b, col))));
  }
  if (f == "norm") {
    want(1);
    const auto a = vector_of(args[0], col, f);
    return Value::of(sqrt(dot(a, a, col)));
  }
  if (f == "sum") {
    want(1);
    Real total = 0;
    for (const Real& x : vector_of(args[0], col, f)) total += x;
    return Value::of(total);
  }
  if (f == "entropy") {
    want(1);
    Real total = 0;
    for (const Real& p : vector_of(args[0], col, f)) {
      if (p < 0) fail_at(col, "entropy of a negative probability");
      if (p > 0) total -= p * log(p);
    }
    return Value::of(total);
  }
  if (f == "maxabs") {
    want(1);
    Real best = 0;
    for_each_scalar(args[0], [&](const Real& x) {
      if (abs(x) > best || isnan(x)) best = abs(x);
    });
    return Value::of(best);
  }
  if (f == "max" || f == "min") {
    if (args.empty()) fail_at(col, f + " needs arguments");
    std::vector<Real> xs;
    if (args.size() == 1) {
      xs = vector_of(args[0], col, f);
    } else {
      for (const Value& a : args) xs.push_back(scalar_or_fail(a, col, f.c_str()).scalar);
    }
    if (xs.empty()) fail_at(col, f + " of an empty array");
    Real best = xs[0];
    for (const Real& x : xs) {
      if (f == "max" ? x > best : x < best) best = x;
    }
    return Value::of(best);
  }
  fail_at(col, "unknown function '" + f + "'");
}

Value evaluate_node(const Node& node, const Environment& env) {
  switch (node.kind) {
    case Node::Kind::number:
      try {
        return Value::of(oracle::parse_decimal(node.text));
      } catch (const std::invalid_argument&) {
        fail_at(node.column, "'" + node.text + "' is not a finite decimal");
      }
    case Node::Kind::name: {
      if (node.text == "inf") {
        Real x;
        mpfr_set_inf(x.backend().data(), 1);
        return Value::of(x);
      }
      const auto it = env.find(node.text);
      if (it == env.end()) fail_at(node.column, "unknown name '" + node.text + "'");
      return it->second;
    }
    case Node::Kind::negate:
      return map(evaluate_node(*node.children[0], env), [](const Real& x) -> Real { return -x; });
    case Node::Kind::binary: {
      const Value a = evaluate_node(*node.children[0], env);
      const Value b = evaluate_node(*node.children[1], env);
      switch (node.op) {
        case '+': return zip(a, b, node.column, [](const Real& x, const Real& y) -> Real { return x + y; });
        case '-': return zip(a, b, node.column, [](const Real& x, const Real& y) -> Real { return x - y; });
        case '*': return zip(a, b, node.column, [](const Real& x, const Real& y) -> Real { return x * y; });
        case '/': return zip(a, b, node.column, [](const Real& x, const Real& y) -> Real { return x / y; });
        default: return zip(a, b, node.column, [](const Real& x, const Real& y) -> Real { return pow(x, y); });
      }
    }
    case Node::Kind::call: return call(node, env);
    case Node::Kind::index: {
      const Value base = evaluate_node(*node.children[0], env);
      const Value index = evaluate_node(*node.children[1], env);
      if (!base.is_array) fail_at(node.column, "indexing a number");
      if (index.is_array) fail_at(node.column, "an index must be a number");
      const Real& i = index.scalar;
      if (isnan(i) || i < 0 || i >= static_cast<long>(base.items.size()) || floor(i) != i) {
        fail_at(node.column, "index " + oracle::to_decimal(i, 6) + " outside [0, " +
                                 std::to_string(base.items.size()) + ")");
      }
      return base.items[static_cast<size_t>(i.convert_to<long>())];
    }
    case Node::Kind::list: {
      std::vector<Value> items;
      for (const auto& child : node.children) items.push_back(evaluate_node(*child, env));
      return Value::array(std::move(items));
    }
  }
  fail_at(node.column, "bad expression");
}

}  // namespace

Expression::Expression(std::string text) : text_(std::move(text)) {
  if (text_.size() > 4096) throw ExpressionError("longer than 4096 characters");
  root_ = Parser(text_).parse();
}
Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

Value Expression::evaluate(const Environment& env) const { return evaluate_node(*root_, env); }

Real Expression::evaluate_scalar(const Environment& env) const {
  Value v = evaluate(env);
  if (v.is_array) throw ExpressionError("the result is an array, a number is needed");
  return v.scalar;
}

}  // namespace attncheck::golden
