#include "attncheck/golden/published.hpp"

#include <mpfr.h>

#include <cctype>
#include <limits>

#include "attncheck/golden/problem.hpp"

namespace attncheck::golden {

using formats::InputError;
using formats::Json;
using formats::JsonReader;
using formats::ProblemFile;
using formats::oracle_problem;
using formats::read_json_file;
using formats::run_oracle;

using oracle::Real;

namespace {

constexpr const char* kFormat = "attncheck-golden-published";

bool is_identifier(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return name != "inf";
}

// A nested array of decimals written in JSON, as expression text: [[0.50, 0.30], ...].
std::string array_expression(const JsonReader& r, int depth) {
  if (depth > 8) r.fail("arrays nested more than 8 deep");
  if (!r.is_array()) {
    const std::string text = r.decimal();
    if (!implied_decimals(text) || text.find("inf") != std::string::npos) r.fail("'" + text + "' is not a finite decimal");
    return text;
  }
  std::string out = "[";
  for (size_t i = 0; i < r.size(); ++i) {
    if (i > 0) out += ", ";
    out += array_expression(r.at(i), depth + 1);
  }
  return out + "]";
}

// Parses now so that a syntax error names the field that holds it.
void check_syntax(const JsonReader& r, const std::string& text) {
  try {
    Expression parsed(text);
  } catch (const ExpressionError& e) {
    r.fail(std::string("bad expression: ") + e.what());
  }
}

std::string nonempty_string(const JsonReader& r) {
  std::string s = r.string();
  if (s.empty()) r.fail("must not be empty");
  return s;
}

void read_quantity(const JsonReader& r, PublishedQuantity& q) {
  r.check_members({"id", "where", "expr", "published", "derived", "decimals", "tolerance", "relation", "erratum",
                   "note"});
  q.field = r.path();
  q.id = nonempty_string(r.at("id"));
  q.where = nonempty_string(r.at("where"));
  q.expr_text = nonempty_string(r.at("expr"));
  check_syntax(r.at("expr"), q.expr_text);
  const bool published = r.has("published"), derived = r.has("derived");
  if (published == derived) r.fail("needs exactly one of \"published\" and \"derived\"");
  const JsonReader value = r.at(published ? "published" : "derived");
  q.published = value.string();
  q.derived = derived;
  const std::optional<int> implied = implied_decimals(q.published);
  if (!implied) value.fail("'" + q.published + "' is not a decimal number");
  q.decimals = *implied;
  if (r.has("note")) q.note = r.at("note").string();
  if (derived) {
    if (q.published.find("inf") != std::string::npos) value.fail("a derived value must be finite");
    for (const char* key : {"decimals", "tolerance", "relation", "erratum"}) {
      if (r.has(key)) r.at(key).fail("only a published value has this");
    }
    if (q.note.empty()) r.at("note").fail("a derived value needs a note saying why the seed gives no number");
    return;
  }
  if (r.has("relation")) {
    const std::string rel = r.at("relation").string();
    if (rel != ">" && rel != ">=" && rel != "<" && rel != "<=") r.at("relation").fail("must be >, >=, < or <=");
    q.relation = rel;
    if (r.has("tolerance")) r.at("tolerance").fail("a relation has no tolerance");
  } else {
    const int64_t decimals = r.at("decimals").integer(-30, 60);
    if (decimals != q.decimals) {
      r.at("decimals").fail("says " + std::to_string(decimals) + " but '" + q.published + "' has " +
                            std::to_string(q.decimals));
    }
  }
  if (r.has("tolerance")) {
    const JsonReader tol = r.at("tolerance");
    const std::string text = tol.string();
    if (!implied_decimals(text) || text.find("inf") != std::string::npos || text[0] == '-') {
      tol.fail("must be a non-negative decimal");
    }
    q.tolerance = text;
  }
  if (r.has("erratum")) {
    const JsonReader e = r.at("erratum");
    e.check_members({"oracle", "cause"});
    Erratum erratum;
    erratum.oracle = e.at("oracle").string();
    if (!implied_decimals(erratum.oracle)) e.at("oracle").fail("'" + erratum.oracle + "' is not a decimal number");
    erratum.cause = nonempty_string(e.at("cause"));
    q.erratum = erratum;
  }
}

// |x - p| <= half + slack, where half is the half unit of `decimals` or a stated tolerance.
bool within(const Real& x, const std::string& published, const Real& allowed, const Real& slack) {
  const bool pub_inf = published.find("inf") != std::string::npos;
  if (isnan(x)) return false;
  if (pub_inf || isinf(x)) {
    return pub_inf && isinf(x) && ((published[0] == '-') == (x < 0));
  }
  return abs(x - oracle::parse_decimal(published)) <= allowed + slack;
}

Real half_unit(int decimals) { return pow(Real(10), -decimals) / 2; }

Real slack_for(const Real& x, unsigned precision_bits) {
  Real one_or_x = isfinite(x) && abs(x) > 1 ? Real(abs(x)) : Real(1);
  return ldexp(one_or_x, -static_cast<int>(precision_bits / 2));
}

bool matches(const PublishedQuantity& q, const Real& x, unsigned bits) {
  const Real slack = slack_for(x, bits);
  if (q.relation) {
    if (isnan(x)) return false;
    const Real p = oracle::parse_decimal(q.published);
    const std::string& rel = *q.relation;
    if (rel == ">") return x > p + slack;
    if (rel == ">=") return x >= p - slack;
    if (rel == "<") return x < p - slack;
    return x <= p + slack;
  }
  const Real allowed = q.tolerance ? oracle::parse_decimal(*q.tolerance) : half_unit(q.decimals);
  return within(x, q.published, allowed, slack);
}

// N.name[i][j] over the query rows of head 0, batch 0.
Value per_key(const oracle::OracleResult& result, int64_t kv_len,
              const std::function<Real(const oracle::RowTrace&, int64_t)>& f) {
  std::vector<Value> rows;
  for (const oracle::RowTrace& row : result.rows) {
    std::vector<Value> cells;
    for (int64_t j = 0; j < kv_len; ++j) cells.push_back(Value::of(f(row, j)));
    rows.push_back(Value::array(std::move(cells)));
  }
  return Value::array(std::move(rows));
}

Value matrix(const std::vector<Real>& flat, int64_t rows, int64_t columns) {
  std::vector<Value> out;
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<Value> cells;
    for (int64_t c = 0; c < columns; ++c) cells.push_back(Value::of(flat[i * columns + c]));
    out.push_back(Value::array(std::move(cells)));
  }
  return Value::array(std::move(out));
}

void add_attention(Environment& env, const std::string& name, const ProblemFile& file, unsigned bits) {
  const AttentionShape& s = file.problem.spec.shape;
  oracle::OracleOptions options;
  options.precision_bits = bits;
  const oracle::OracleResult result = run_oracle(file, options);
  const oracle::OracleProblem p = oracle_problem(file);
  Real nan;
  mpfr_set_nan(nan.backend().data());
  const std::string n = name + ".";
  env[n + "Q"] = matrix(p.q, s.q_len, s.head_dim);
  env[n + "K"] = matrix(p.k, s.kv_len, s.head_dim);
  env[n + "V"] = matrix(p.v, s.kv_len, s.value_dim);
  env[n + "scale"] = Value::of(p.scale);
  env[n + "raw"] = per_key(result, s.kv_len, [&](const oracle::RowTrace& r, int64_t j) { return r.visible[j] ? r.raw[j] : nan; });
  env[n + "scaled"] =
      per_key(result, s.kv_len, [&](const oracle::RowTrace& r, int64_t j) { return r.visible[j] ? r.scaled[j] : nan; });
  env[n + "biased"] = per_key(result, s.kv_len, [](const oracle::RowTrace& r, int64_t j) { return r.biased[j]; });
  env[n + "shifted"] =
      per_key(result, s.kv_len, [](const oracle::RowTrace& r, int64_t j) -> Real {
        return r.visible[j] ? Real(r.biased[j] - r.row_max) : r.biased[j];  // hidden: -inf
      });
  env[n + "exps"] = per_key(result, s.kv_len, [](const oracle::RowTrace& r, int64_t j) { return r.exps[j]; });
  env[n + "weights"] = per_key(result, s.kv_len, [](const oracle::RowTrace& r, int64_t j) { return r.weights[j]; });
  std::vector<Value> row_max, row_sum, lse, output;
  for (const oracle::RowTrace& r : result.rows) {
    row_max.push_back(Value::of(r.row_max));
    row_sum.push_back(Value::of(r.row_sum));
    lse.push_back(Value::of(r.lse));
    std::vector<Value> o;
    for (const Real& x : r.output) o.push_back(Value::of(x));
    output.push_back(Value::array(std::move(o)));
  }
  env[n + "row_max"] = Value::array(std::move(row_max));
  env[n + "row_sum"] = Value::array(std::move(row_sum));
  env[n + "lse"] = Value::array(std::move(lse));
  env[n + "O"] = Value::array(std::move(output));
}

}  // namespace

std::optional<int> implied_decimals(const std::string& text) {
  if (text == "inf" || text == "-inf") return 0;
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t whole = 0, fraction = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++whole;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++fraction;
  }
  if (whole + fraction == 0 || fraction > 60) return std::nullopt;
  int exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      exponent = exponent * 10 + (text[i++] - '0');
      if (++digits > 2) return std::nullopt;  // |exponent| <= 99
    }
    if (digits == 0) return std::nullopt;
    if (negative) exponent = -exponent;
  }
  if (i != text.size()) return std::nullopt;
  return static_cast<int>(fraction) - exponent;
}

PublishedFile read_published(const Json& json, const std::string& path) {
  const JsonReader r(json, path);
  r.check_members({"format", "version", "title", "source", "inputs", "precision_bits", "values", "attention",
                   "quantities", "notes", "comment"});
  if (r.has("comment")) r.at("comment").string();
  if (r.at("format").string() != kFormat) r.at("format").fail(std::string("must be \"") + kFormat + "\"");
  if (r.at("version").integer(1, 1000) != 1) r.at("version").fail("this reader knows version 1");
  PublishedFile file;
  file.path = path;
  file.title = nonempty_string(r.at("title"));
  file.source = nonempty_string(r.at("source"));
  file.inputs = nonempty_string(r.at("inputs"));
  file.precision_bits = static_cast<unsigned>(r.at("precision_bits").integer(64, 4096));
  if (r.has("values")) {
    const JsonReader values = r.at("values");
    if (!values.json().is_object()) values.fail("expected an object of name: expression");
    for (const auto& [name, unused] : values.json().items()) {
      const JsonReader v = values.at(name);
      if (!is_identifier(name)) v.fail("not a name (letters, digits, _)");
      const std::string text = v.json().is_string() ? v.string() : array_expression(v, 0);
      check_syntax(v, text);
      file.values.emplace_back(name, text);
    }
  }
  if (r.has("attention")) {
    const JsonReader attention = r.at("attention");
    if (!attention.json().is_object()) attention.fail("expected an object of name: problem");
    for (const auto& [name, unused] : attention.json().items()) {
      const JsonReader a = attention.at(name);
      if (!is_identifier(name)) a.fail("not a name (letters, digits, _)");
      ProblemFile problem = read_golden_problem(a);
      const AttentionShape& s = problem.problem.spec.shape;
      if (s.batch != 1 || s.q_heads != 1 || s.kv_heads != 1) {
        a.at("shape").fail("a published example has one batch and one head");
      }
      file.attention.emplace_back(name, std::move(problem));
    }
  }
  const JsonReader quantities = r.at("quantities");
  if (!quantities.is_array() || quantities.size() == 0) quantities.fail("expected a non-empty array");
  file.quantities.resize(quantities.size());
  for (size_t i = 0; i < quantities.size(); ++i) read_quantity(quantities.at(i), file.quantities[i]);
  if (r.has("notes")) {
    const JsonReader notes = r.at("notes");
    for (size_t i = 0; i < notes.size(); ++i) file.notes.push_back(notes.at(i).string());
  }
  return file;
}

PublishedFile read_published_file(const std::string& path) { return read_published(read_json_file(path), path); }

bool is_failure(Verdict verdict) {
  return verdict != Verdict::matches && verdict != Verdict::recorded_erratum;
}

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::matches: return "matches";
    case Verdict::recorded_erratum: return "erratum (recorded)";
    case Verdict::unrecorded_mismatch: return "MISMATCH not recorded as an erratum";
    case Verdict::stale_erratum: return "STALE erratum: the published value now matches";
    case Verdict::wrong_erratum: return "WRONG erratum: its oracle value is not the oracle's";
    case Verdict::wrong_derived: return "WRONG derived value: not the oracle's";
  }
  return "?";
}

int PublishedCheck::failures() const {
  int n = 0;
  for (const QuantityResult& r : results) n += is_failure(r.verdict);
  return n;
}

int PublishedCheck::errata() const {
  int n = 0;
  for (const QuantityResult& r : results) n += r.verdict == Verdict::recorded_erratum;
  return n;
}

Environment published_environment(const PublishedFile& file) {
  Environment env;
  for (const auto& [name, text] : file.values) {
    try {
      env[name] = Expression(text).evaluate(env);
    } catch (const ExpressionError& e) {
      throw InputError(file.path, "values." + name, e.what());
    }
  }
  for (const auto& [name, problem] : file.attention) {
    try {
      add_attention(env, name, problem, file.precision_bits);
    } catch (const SpecError& e) {
      throw InputError(file.path, "attention." + name + "." + e.field(), e.message());
    } catch (const std::invalid_argument& e) {  // a value the oracle cannot read
      throw InputError(file.path, "attention." + name, e.what());
    }
  }
  return env;
}

PublishedCheck check_published(const PublishedFile& file) {
  oracle::PrecisionScope scope(file.precision_bits);
  const Environment env = published_environment(file);
  PublishedCheck check;
  for (const PublishedQuantity& q : file.quantities) {
    Real x;
    try {
      x = Expression(q.expr_text).evaluate_scalar(env);
    } catch (const ExpressionError& e) {
      throw InputError(file.path, q.field + ".expr", e.what());
    }
    QuantityResult result;
    result.quantity = &q;
    // A residual below the comparison's slack is an exact zero computed in binary.
    result.oracle_text = isfinite(x) && abs(x) <= slack_for(x, file.precision_bits) ? "0" : oracle::to_decimal(x, 12);
    const bool ok = matches(q, x, file.precision_bits);
    if (q.derived) {
      result.verdict = ok ? Verdict::matches : Verdict::wrong_derived;
    } else if (!q.erratum) {
      result.verdict = ok ? Verdict::matches : Verdict::unrecorded_mismatch;
    } else if (ok) {
      result.verdict = Verdict::stale_erratum;
    } else {
      const int decimals = *implied_decimals(q.erratum->oracle);
      const bool recorded_right = within(x, q.erratum->oracle, half_unit(decimals), slack_for(x, file.precision_bits));
      result.verdict = recorded_right ? Verdict::recorded_erratum : Verdict::wrong_erratum;
    }
    check.results.push_back(result);
  }
  return check;
}

}  // namespace attncheck::golden
