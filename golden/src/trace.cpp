#include "attncheck/golden/trace.hpp"

#include <filesystem>
#include <functional>
#include <stdexcept>

#include "attncheck/golden/pinned.hpp"
#include "attncheck/golden/problem.hpp"

namespace attncheck::golden {

using formats::Json;
using formats::JsonReader;
using formats::OrderedJson;
using formats::ProblemFile;
using formats::append_problem_json;
using formats::json_text;
using formats::parse_f64_text;
using formats::read_json_file;
using formats::run_oracle;

using oracle::Real;

namespace {

constexpr const char* kFormat = formats::kGoldenTraceFormat;
constexpr unsigned kFirstPrecision = 128;
constexpr unsigned kMaxPrecision = 8192;

OrderedJson pair_json(const Real& x) {
  const PinnedValue v = pin_value(x);
  return OrderedJson::array({v.f64, v.decimal});
}

OrderedJson forward_json(const ProblemFile& file, unsigned bits) {
  oracle::OracleOptions options;
  options.precision_bits = bits;
  const oracle::OracleResult result = run_oracle(file, options);
  oracle::PrecisionScope scope(bits);
  const int64_t kv_len = file.problem.spec.shape.kv_len;
  OrderedJson rows = OrderedJson::array();
  for (const oracle::RowTrace& r : result.rows) {
    OrderedJson row;
    row["b"] = r.batch;
    row["h"] = r.head;
    row["i"] = r.query;
    OrderedJson visible = OrderedJson::array();
    for (uint8_t v : r.visible) visible.push_back(static_cast<int>(v));
    row["visible"] = visible;
    auto per_key = [&](const char* key, const std::function<OrderedJson(int64_t)>& f) {
      OrderedJson values = OrderedJson::array();
      for (int64_t j = 0; j < kv_len; ++j) values.push_back(f(j));
      row[key] = values;
    };
    per_key("raw", [&](int64_t j) { return r.visible[j] ? pair_json(r.raw[j]) : OrderedJson(); });
    per_key("scaled", [&](int64_t j) { return r.visible[j] ? pair_json(r.scaled[j]) : OrderedJson(); });
    per_key("biased", [&](int64_t j) { return pair_json(r.biased[j]); });
    // A hidden key's shifted score is -inf, also in a row with no visible key (-inf - -inf).
    per_key("shifted", [&](int64_t j) { return r.visible[j] ? pair_json(Real(r.biased[j] - r.row_max)) : pair_json(r.biased[j]); });
    per_key("exps", [&](int64_t j) { return pair_json(r.exps[j]); });
    per_key("weights", [&](int64_t j) { return pair_json(r.weights[j]); });
    row["row_max"] = pair_json(r.row_max);
    row["row_sum"] = pair_json(r.row_sum);
    row["lse"] = pair_json(r.lse);
    OrderedJson output = OrderedJson::array();
    for (const Real& x : r.output) output.push_back(pair_json(x));
    row["output"] = output;
    rows.push_back(row);
  }
  return OrderedJson{{"rows", rows}};
}

// ---- strict reading ----

void reject_unknown_keys(const JsonReader& r, const std::vector<std::string>& known,
                         const std::vector<std::string>& also = {}) {
  if (r.has("backward")) r.at("backward").fail("reserved for gradients of a fixed dO; attncheck has no backward pass yet");
  r.check_members(known, also);
}

// A pinned pair: [canonical f64 text, decimal that rounds to the same f64].
double read_pair(const JsonReader& r) {
  if (!r.is_array() || r.size() != 2) r.fail("expected a pair [f64, decimal]");
  const std::string f64 = r.at(size_t{0}).string();
  const std::string decimal = r.at(size_t{1}).string();
  const std::optional<double> x = parse_f64_text(f64);
  if (!x) r.at(size_t{0}).fail("'" + f64 + "' is not the shortest decimal of a double");
  if (*x == 0 || std::isinf(*x)) {
    if (decimal != f64) r.at(size_t{1}).fail("must repeat '" + f64 + "'");
    return *x;
  }
  if (decimal.size() > 64) r.at(size_t{1}).fail("longer than 64 characters");
  oracle::PrecisionScope scope(256);
  double back = 0;
  try {
    back = oracle::round_to_f64(oracle::parse_decimal(decimal));
  } catch (const std::invalid_argument&) {
    r.at(size_t{1}).fail("'" + decimal + "' is not a decimal number");
  }
  if (back != *x) r.at(size_t{1}).fail("'" + decimal + "' does not round to " + f64);
  return *x;
}

void read_row(const JsonReader& r, const ProblemFile& file, int64_t b, int64_t h, int64_t i) {
  reject_unknown_keys(r, {"b", "h", "i", "visible", "raw", "scaled", "biased", "shifted", "exps", "weights",
                          "row_max", "row_sum", "lse", "output"});
  const Problem& p = file.problem;
  const AttentionShape& s = p.spec.shape;
  if (r.at("b").integer(0, s.batch - 1) != b || r.at("h").integer(0, s.q_heads - 1) != h ||
      r.at("i").integer(0, s.q_len - 1) != i) {
    r.fail("rows must run over (b, h, i) in order; expected (" + std::to_string(b) + ", " + std::to_string(h) +
           ", " + std::to_string(i) + ")");
  }
  const std::vector<int64_t> visible = r.at("visible").integers(s.kv_len, 0, 1);
  int64_t seen = 0;
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if ((visible[j] != 0) != key_visible(p.spec, p.visibility(), b, h, i, j)) {
      r.at("visible").at(static_cast<size_t>(j)).fail("disagrees with the problem's masks");
    }
    seen += visible[j];
  }
  for (const char* key : {"raw", "scaled", "biased", "shifted", "exps", "weights"}) {
    const JsonReader values = r.at(key);
    if (!values.is_array() || static_cast<int64_t>(values.size()) != s.kv_len) {
      values.fail("expected " + std::to_string(s.kv_len) + " entries, one per key");
    }
    const std::string name = key;
    for (int64_t j = 0; j < s.kv_len; ++j) {
      const JsonReader v = values.at(static_cast<size_t>(j));
      if (name == "raw" || name == "scaled") {
        if (v.is_null() != !visible[j]) v.fail(visible[j] ? "missing for a visible key" : "must be null for a hidden key");
        if (!visible[j]) continue;
      }
      const double x = read_pair(v);
      if (!visible[j]) {
        const bool minus_inf = name == "biased" || name == "shifted";
        if (minus_inf ? x != -INFINITY : x != 0) v.fail(std::string("a hidden key's value must be ") + (minus_inf ? "-inf" : "0"));
      }
    }
  }
  const double row_max = read_pair(r.at("row_max"));
  const double row_sum = read_pair(r.at("row_sum"));
  const double lse = read_pair(r.at("lse"));
  if (seen == 0 && (row_max != -INFINITY || row_sum != 0 || lse != -INFINITY)) {
    r.fail("a row that sees no key has row_max -inf, row_sum 0 and lse -inf");
  }
  const JsonReader output = r.at("output");
  if (!output.is_array() || static_cast<int64_t>(output.size()) != s.value_dim) {
    output.fail("expected " + std::to_string(s.value_dim) + " entries, one per value column");
  }
  for (int64_t c = 0; c < s.value_dim; ++c) {
    const double x = read_pair(output.at(static_cast<size_t>(c)));
    if (seen == 0 && x != 0) output.at(static_cast<size_t>(c)).fail("a row that sees no key outputs 0");
  }
}

std::vector<std::string> read_strings(const JsonReader& r) {
  if (!r.is_array()) r.fail("expected an array of strings");
  std::vector<std::string> out;
  for (size_t n = 0; n < r.size(); ++n) out.push_back(r.at(n).string());
  return out;
}

// ---- differences ----

bool is_pair(const Json& j) { return j.is_array() && j.size() == 2 && j[0].is_string() && j[1].is_string(); }

std::string show(const Json& j) {
  if (is_pair(j)) return j[0].get<std::string>() + " (" + j[1].get<std::string>() + ")";
  if (j.is_string()) return j.get<std::string>();
  const std::string text = j.dump();
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

void differences(const Json& a, const Json& b, const std::string& path, int depth, std::vector<std::string>& out,
                 size_t max_lines, size_t& total) {
  auto add = [&](const std::string& line) {
    if (out.size() < max_lines) out.push_back(line);
    ++total;
  };
  const std::string where = path.empty() ? "(top level)" : path;
  if (a == b) return;
  if (depth > 32 || is_pair(a) || is_pair(b) || a.type() != b.type() || (!a.is_object() && !a.is_array())) {
    add(where + ": file " + show(a) + ", oracle " + show(b));
    return;
  }
  if (a.is_object()) {
    for (const auto& [key, value] : a.items()) {
      const std::string child = path.empty() ? key : path + "." + key;
      if (!b.contains(key)) {
        add(child + ": in the file, not produced by the generator");
      } else {
        differences(value, b[key], child, depth + 1, out, max_lines, total);
      }
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) add((path.empty() ? key : path + "." + key) + ": missing from the file");
    }
    return;
  }
  if (a.size() != b.size()) {
    add(where + ": file has " + std::to_string(a.size()) + " entries, oracle " + std::to_string(b.size()));
    return;
  }
  for (size_t n = 0; n < a.size(); ++n) {
    differences(a[n], b[n], path + "[" + std::to_string(n) + "]", depth + 1, out, max_lines, total);
  }
}

}  // namespace

GeneratedTrace generate_trace(const TraceSpec& spec) {
  OrderedJson doc;
  doc["format"] = kFormat;
  doc["version"] = 1;
  doc["name"] = spec.name;
  doc["description"] = spec.description;
  doc["source"] = spec.source;
  doc["covers"] = spec.covers;
  ProblemFile problem = spec.problem;
  problem.name = spec.name;
  append_problem_json(problem, doc);
  if (spec.decode) {
    doc["decode"] = OrderedJson{{"sequence", spec.decode->sequence},
                                {"step", spec.decode->step},
                                {"cache_capacity", spec.decode->cache_capacity}};
  }
  // Double the precision until a value pinned at p is the one pinned at 2p, for every value.
  OrderedJson at_p = forward_json(problem, kFirstPrecision);
  for (unsigned bits = kFirstPrecision;; bits *= 2) {
    if (2 * bits > kMaxPrecision) throw std::runtime_error(spec.name + ": values not stable below " + std::to_string(kMaxPrecision) + " bits");
    OrderedJson at_2p = forward_json(problem, 2 * bits);
    if (at_p == at_2p) {
      doc["oracle"] = OrderedJson{{"precision_bits", bits}, {"pin_check_bits", 2 * bits}};
      doc["forward"] = std::move(at_p);
      break;
    }
    at_p = std::move(at_2p);
  }
  GeneratedTrace out;
  out.text = json_text(doc);
  out.json = std::move(doc);
  return out;
}

GoldenTrace read_trace(const Json& json, const std::string& path) {
  const JsonReader r(json, path);
  // The problem's members and the trace's own (formats/problem_file.hpp lists both).
  reject_unknown_keys(r, formats::problem_members(), *formats::problem_format_members(kFormat));
  if (r.at("format").string() != kFormat) r.at("format").fail(std::string("must be \"") + kFormat + "\"");
  if (r.at("version").integer(1, 1000) != 1) r.at("version").fail("this reader knows version 1");
  GoldenTrace trace;
  trace.path = path;
  TraceSpec& spec = trace.spec;
  spec.name = r.at("name").string();
  const std::string stem = std::filesystem::path(path).stem().string();
  if (spec.name != stem) r.at("name").fail("must be the file's name without .json ('" + stem + "')");
  spec.description = r.at("description").string();
  spec.source = r.at("source").string();
  spec.covers = read_strings(r.at("covers"));
  spec.problem = read_golden_problem(r, *formats::problem_format_members(kFormat));
  const AttentionShape& s = spec.problem.problem.spec.shape;
  if (r.has("decode")) {
    const JsonReader d = r.at("decode");
    reject_unknown_keys(d, {"sequence", "step", "cache_capacity"});
    DecodeStep step;
    step.sequence = d.at("sequence").string();
    step.step = d.at("step").integer(0, kMaxGoldenDimension);
    step.cache_capacity = d.at("cache_capacity").integer(s.kv_len, kMaxGoldenDimension);
    if (!spec.problem.problem.spec.causal) r.at("causal").fail("a decode step is causal");
    spec.decode = step;
  }
  const JsonReader o = r.at("oracle");
  reject_unknown_keys(o, {"precision_bits", "pin_check_bits"});
  trace.precision_bits = static_cast<unsigned>(o.at("precision_bits").integer(64, kMaxPrecision / 2));
  if (o.at("pin_check_bits").integer(64, kMaxPrecision) != 2 * static_cast<int64_t>(trace.precision_bits)) {
    o.at("pin_check_bits").fail("must be twice precision_bits");
  }
  const JsonReader f = r.at("forward");
  reject_unknown_keys(f, {"rows"});
  const JsonReader rows = f.at("rows");
  if (!rows.is_array() || static_cast<int64_t>(rows.size()) != lse_elements(s)) {
    rows.fail("expected " + std::to_string(lse_elements(s)) + " rows, one per (b, h, i)");
  }
  size_t n = 0;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) read_row(rows.at(n++), spec.problem, b, h, i);
    }
  }
  trace.json = json;
  return trace;
}

GoldenTrace read_trace_file(const std::string& path) { return read_trace(read_json_file(path), path); }

std::vector<std::string> json_differences(const Json& file, const Json& expected, size_t max_lines, size_t* total) {
  std::vector<std::string> out;
  size_t count = 0;
  differences(file, expected, "", 0, out, max_lines, count);
  if (total) *total = count;
  return out;
}

}  // namespace attncheck::golden
