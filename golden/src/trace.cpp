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

// The oracle's backward pass for the problem's dO: per query row the intermediates of the chain
// (dP, dS, D and its cross-check) and dQ, then per (batch, kv head, key) dK and dV.
OrderedJson backward_json(const ProblemFile& file, unsigned bits) {
  oracle::BackwardOptions options;
  options.precision_bits = bits;
  options.keep_intermediates = true;
  const oracle::Gradients g = formats::run_backward_oracle(file, options);
  oracle::PrecisionScope scope(bits);
  const AttentionShape& s = file.problem.spec.shape;
  OrderedJson rows = OrderedJson::array();
  for (size_t n = 0; n < g.rows.size(); ++n) {
    const oracle::BackwardRow& r = g.rows[n];
    const oracle::RowTrace& f = g.forward.rows[n];
    const bool sees = !r.dp.empty();
    OrderedJson row;
    row["b"] = r.batch;
    row["h"] = r.head;
    row["i"] = r.query;
    OrderedJson dp = OrderedJson::array(), ds = OrderedJson::array();
    for (int64_t j = 0; j < s.kv_len; ++j) {
      const bool visible = sees && f.visible[static_cast<size_t>(j)] != 0;
      dp.push_back(visible ? pair_json(r.dp[static_cast<size_t>(j)]) : OrderedJson());
      ds.push_back(pair_json(visible ? r.ds[static_cast<size_t>(j)] : Real(0)));
    }
    row["dp"] = dp;
    row["ds"] = ds;
    row["delta"] = pair_json(r.delta);
    row["delta_from_weights"] = pair_json(r.delta_from_weights);
    OrderedJson dq = OrderedJson::array();
    const int64_t q0 = q_offset(s, r.batch, r.head, r.query);
    for (int64_t c = 0; c < s.head_dim; ++c) dq.push_back(pair_json(g.dq[static_cast<size_t>(q0 + c)]));
    row["dq"] = dq;
    rows.push_back(row);
  }
  OrderedJson keys = OrderedJson::array();
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      for (int64_t j = 0; j < s.kv_len; ++j) {
        OrderedJson key;
        key["b"] = b;
        key["g"] = kvh;
        key["j"] = j;
        OrderedJson dk = OrderedJson::array(), dv = OrderedJson::array();
        const int64_t k0 = k_offset(s, b, kvh, j), v0 = v_offset(s, b, kvh, j);
        for (int64_t c = 0; c < s.head_dim; ++c) dk.push_back(pair_json(g.dk[static_cast<size_t>(k0 + c)]));
        for (int64_t c = 0; c < s.value_dim; ++c) dv.push_back(pair_json(g.dv[static_cast<size_t>(v0 + c)]));
        key["dk"] = dk;
        key["dv"] = dv;
        keys.push_back(key);
      }
    }
  }
  return OrderedJson{{"rows", rows}, {"keys", keys}};
}

// Everything a trace pins at `bits`: the forward pass, and the backward pass when the problem
// has a dO.
OrderedJson pinned_json(const ProblemFile& file, unsigned bits) {
  OrderedJson out;
  out["forward"] = forward_json(file, bits);
  if (file.problem.has_d_out()) out["backward"] = backward_json(file, bits);
  return out;
}

// ---- strict reading ----

void reject_unknown_keys(const JsonReader& r, const std::vector<std::string>& known,
                         const std::vector<std::string>& also = {}) {
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

// `count` pinned pairs, each checked by `check` (index, value).
void read_pairs(const JsonReader& r, int64_t count, const std::string& what,
                const std::function<void(const JsonReader&, int64_t, double)>& check) {
  if (!r.is_array() || static_cast<int64_t>(r.size()) != count) {
    r.fail("expected " + std::to_string(count) + " entries, " + what);
  }
  for (int64_t n = 0; n < count; ++n) {
    const JsonReader v = r.at(static_cast<size_t>(n));
    check(v, n, read_pair(v));
  }
}

void require_zero(const JsonReader& v, double x, const char* why) {
  if (x != 0) v.fail(why);
}

void read_backward_row(const JsonReader& r, const ProblemFile& file, int64_t b, int64_t h, int64_t i) {
  reject_unknown_keys(r, {"b", "h", "i", "dp", "ds", "delta", "delta_from_weights", "dq"});
  const Problem& p = file.problem;
  const AttentionShape& s = p.spec.shape;
  if (r.at("b").integer(0, s.batch - 1) != b || r.at("h").integer(0, s.q_heads - 1) != h ||
      r.at("i").integer(0, s.q_len - 1) != i) {
    r.fail("rows must run over (b, h, i) in order; expected (" + std::to_string(b) + ", " + std::to_string(h) +
           ", " + std::to_string(i) + ")");
  }
  std::vector<bool> visible(static_cast<size_t>(s.kv_len));
  bool sees = false;
  for (int64_t j = 0; j < s.kv_len; ++j) {
    visible[static_cast<size_t>(j)] = key_visible(p.spec, p.visibility(), b, h, i, j);
    sees = sees || visible[static_cast<size_t>(j)];
  }
  const JsonReader dp = r.at("dp");
  if (!dp.is_array() || static_cast<int64_t>(dp.size()) != s.kv_len) {
    dp.fail("expected " + std::to_string(s.kv_len) + " entries, one per key");
  }
  for (int64_t j = 0; j < s.kv_len; ++j) {
    const JsonReader v = dp.at(static_cast<size_t>(j));
    const bool shown = visible[static_cast<size_t>(j)];
    if (v.is_null() != !shown) v.fail(shown ? "missing for a visible key" : "must be null for a hidden key");
    if (shown) read_pair(v);
  }
  read_pairs(r.at("ds"), s.kv_len, "one per key", [&](const JsonReader& v, int64_t j, double x) {
    if (!visible[static_cast<size_t>(j)]) require_zero(v, x, "a hidden key's dS must be 0");
  });
  const char* empty_row = "a row that sees no key passes no gradient: 0";
  for (const char* key : {"delta", "delta_from_weights"}) {
    const double x = read_pair(r.at(key));
    if (!sees) require_zero(r.at(key), x, empty_row);
  }
  read_pairs(r.at("dq"), s.head_dim, "one per head_dim column", [&](const JsonReader& v, int64_t, double x) {
    if (!sees) require_zero(v, x, empty_row);
  });
}

void read_backward_key(const JsonReader& r, const ProblemFile& file, int64_t b, int64_t g, int64_t j) {
  reject_unknown_keys(r, {"b", "g", "j", "dk", "dv"});
  const Problem& p = file.problem;
  const AttentionShape& s = p.spec.shape;
  if (r.at("b").integer(0, s.batch - 1) != b || r.at("g").integer(0, s.kv_heads - 1) != g ||
      r.at("j").integer(0, s.kv_len - 1) != j) {
    r.fail("keys must run over (b, g, j) in order; expected (" + std::to_string(b) + ", " + std::to_string(g) +
           ", " + std::to_string(j) + ")");
  }
  // A key no query of its group sees gets exactly 0 gradient (docs/semantics.md, "Backward").
  bool seen = false;
  for (int64_t h = 0; h < s.q_heads && !seen; ++h) {
    if (kv_head_for(s, h) != g) continue;
    for (int64_t i = 0; i < s.q_len && !seen; ++i) seen = key_visible(p.spec, p.visibility(), b, h, i, j);
  }
  const char* unseen = "a key no query sees gets 0 gradient";
  read_pairs(r.at("dk"), s.head_dim, "one per head_dim column", [&](const JsonReader& v, int64_t, double x) {
    if (!seen) require_zero(v, x, unseen);
  });
  read_pairs(r.at("dv"), s.value_dim, "one per value column", [&](const JsonReader& v, int64_t, double x) {
    if (!seen) require_zero(v, x, unseen);
  });
}

void read_backward(const JsonReader& r, const ProblemFile& file) {
  reject_unknown_keys(r, {"rows", "keys"});
  const AttentionShape& s = file.problem.spec.shape;
  const JsonReader rows = r.at("rows");
  if (!rows.is_array() || static_cast<int64_t>(rows.size()) != lse_elements(s)) {
    rows.fail("expected " + std::to_string(lse_elements(s)) + " rows, one per (b, h, i)");
  }
  size_t n = 0;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) read_backward_row(rows.at(n++), file, b, h, i);
    }
  }
  const JsonReader keys = r.at("keys");
  const int64_t key_count = s.batch * s.kv_heads * s.kv_len;
  if (!keys.is_array() || static_cast<int64_t>(keys.size()) != key_count) {
    keys.fail("expected " + std::to_string(key_count) + " keys, one per (b, kv head, j)");
  }
  n = 0;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < s.kv_heads; ++g) {
      for (int64_t j = 0; j < s.kv_len; ++j) read_backward_key(keys.at(n++), file, b, g, j);
    }
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
  doc["version"] = kTraceVersion;
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
  OrderedJson at_p = pinned_json(problem, kFirstPrecision);
  for (unsigned bits = kFirstPrecision;; bits *= 2) {
    if (2 * bits > kMaxPrecision) throw std::runtime_error(spec.name + ": values not stable below " + std::to_string(kMaxPrecision) + " bits");
    OrderedJson at_2p = pinned_json(problem, 2 * bits);
    if (at_p == at_2p) {
      doc["oracle"] = OrderedJson{{"precision_bits", bits}, {"pin_check_bits", 2 * bits}};
      doc["forward"] = std::move(at_p["forward"]);
      if (at_p.contains("backward")) doc["backward"] = std::move(at_p["backward"]);
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
  // Version 1 traces predate the backward section; this reader knows both.
  const int64_t version = r.at("version").integer(1, 1000);
  if (version > kTraceVersion) {
    r.at("version").fail("this reader knows versions 1 to " + std::to_string(kTraceVersion));
  }
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
  const bool has_d_out = spec.problem.problem.has_d_out();
  if (r.has("backward")) {
    if (version < 2) r.at("backward").fail("a version 1 trace has no backward section");
    if (!has_d_out) r.at("backward").fail("given without the upstream gradient \"do\" it is of");
    read_backward(r.at("backward"), spec.problem);
  } else if (has_d_out) {
    r.at("do").fail("a trace with an upstream gradient carries its \"backward\" section");
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
