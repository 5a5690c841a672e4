#include "attncheck/formats/problem_file.hpp"

#include <charconv>
#include <functional>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "attncheck/formats/decimal_text.hpp"
#include "attncheck/oracle/exact_decimal.hpp"
#include "attncheck/oracle/real.hpp"

namespace attncheck::formats {
namespace {

constexpr int64_t kMaxDimension = int64_t{1} << 30;

// A decimal value rounded once, from its exact value, to dtype (oracle::decimal_to_dtype: never
// through a 128-bit or binary intermediate, which would land on a tie for a decimal within
// 2^-129 of one). "nan", "inf" and "-inf" may stand in any slot (docs/semantics.md, "Non-finite
// inputs": what they reach is not judged).
float stored_value(const JsonReader& r, const std::string& text, DType dtype) {
  if (text == "nan" || text == "NaN") return std::numeric_limits<float>::quiet_NaN();
  if (text == "inf" || text == "+inf" || text == "Infinity") return INFINITY;
  if (text == "-inf" || text == "-Infinity") return -INFINITY;
  float value;
  try {
    value = oracle::decimal_to_dtype(text, dtype);
  } catch (const std::invalid_argument& e) {
    const bool exponent = std::string(e.what()).find("exponent") != std::string::npos;
    r.fail("'" + text + "' is not a number" + (exponent ? " attncheck reads: its exponent is beyond +-4000" : ""));
  }
  if (std::isinf(value)) r.fail("value " + text + " overflows " + std::string(dtype_name(dtype)));
  return value;
}

std::vector<float> stored_tensor(const JsonReader& r, const std::vector<std::string>& texts, DType dtype) {
  std::vector<float> values(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    // Locate the element for the error message only when it fails.
    values[i] = stored_value(r.element_path(i), texts[i], dtype);
  }
  return values;
}

oracle::Real exact_value(const std::string& text) { return oracle::parse_decimal(text); }

}  // namespace

const std::vector<std::string>& problem_members() {
  static const std::vector<std::string> members = {
      "name", "dtype", "inputs", "shape", "scale", "causal", "window_left", "window_right", "valid_keys",
      "mask_kind", "mask", "alibi_slopes", "q", "k", "v", "do", "comment"};
  return members;
}

const std::vector<std::string>* problem_format_members(const std::string& format) {
  static const std::vector<std::string> failing_case = {"format", "failing_rows", "note"};
  static const std::vector<std::string> golden_trace = {"format", "version", "description", "source", "covers",
                                                        "decode", "oracle", "forward", "backward"};
  if (format == kFailingCaseFormat) return &failing_case;
  if (format == kGoldenTraceFormat) return &golden_trace;
  return nullptr;
}

ProblemFile read_problem(const JsonReader& r, const std::vector<std::string>& extra_members) {
  r.check_members(problem_members(), extra_members);
  if (r.has("comment")) r.at("comment").string();
  ProblemFile file;
  if (r.has("name")) file.name = r.at("name").string();
  const std::string dtype_text = r.has("dtype") ? r.at("dtype").string() : "f32";
  const auto dtype = parse_dtype(dtype_text);
  if (!dtype) r.at("dtype").fail("unknown dtype '" + dtype_text + "' (f32, f16 or bf16)");
  Problem& p = file.problem;
  p.dtype = *dtype;
  if (r.has("inputs")) {
    const std::string mode = r.at("inputs").string();
    if (mode == "exact_decimal") {
      file.exact_decimal_inputs = true;
    } else if (mode != "stored") {
      r.at("inputs").fail("must be \"stored\" or \"exact_decimal\"");
    }
  }
  const JsonReader shape = r.at("shape");
  shape.check_members({"batch", "q_heads", "kv_heads", "q_len", "kv_len", "head_dim", "value_dim"});
  AttentionShape& s = p.spec.shape;
  auto dim = [&](const char* key, int64_t fallback) {
    return shape.has(key) ? shape.at(key).integer(1, kMaxDimension) : fallback;
  };
  s.batch = dim("batch", 1);
  s.q_heads = dim("q_heads", 1);
  s.kv_heads = dim("kv_heads", s.q_heads);
  s.q_len = shape.at("q_len").integer(1, kMaxDimension);
  s.kv_len = shape.at("kv_len").integer(1, kMaxDimension);
  s.head_dim = shape.at("head_dim").integer(1, kMaxDimension);
  s.value_dim = dim("value_dim", s.head_dim);
  if (r.has("scale") && !r.at("scale").is_null()) {
    const JsonReader scale = r.at("scale");
    file.scale_text = scale.decimal();
    try {
      p.spec.scale = oracle::decimal_to_f64(*file.scale_text);  // one rounding, like every value
    } catch (const std::invalid_argument&) {
      scale.fail("'" + *file.scale_text + "' is not a finite number");
    }
    if (std::isinf(*p.spec.scale)) scale.fail("value " + *file.scale_text + " overflows f64");
  }
  if (r.has("causal")) p.spec.causal = r.at("causal").boolean();
  if (r.has("window_left")) p.spec.window_left = r.at("window_left").integer(-1, kMaxDimension);
  if (r.has("window_right")) p.spec.window_right = r.at("window_right").integer(-1, kMaxDimension);
  try {
    validate(p.spec);
  } catch (const SpecError& e) {
    const std::string field = e.field();
    const bool in_shape = field != "scale" && field != "window_left" && field != "window_right";
    throw InputError(r.source(), (in_shape ? "shape." : "") + field, e.message());
  }
  if (r.has("valid_keys")) {
    p.spec.has_valid_keys = true;
    for (int64_t n : r.at("valid_keys").integers(s.batch, 0, s.kv_len)) {
      p.valid_keys.push_back(static_cast<int32_t>(n));
    }
  }
  if (r.has("mask_kind") && !r.has("mask")) r.at("mask_kind").fail("given without a mask");
  if (r.has("mask")) {
    const std::string kind = r.has("mask_kind") ? r.at("mask_kind").string() : "shared";
    if (kind == "shared") {
      p.spec.mask = MaskKind::shared;
    } else if (kind == "per_head") {
      p.spec.mask = MaskKind::per_head;
    } else {
      r.at("mask_kind").fail("must be \"shared\" or \"per_head\"");
    }
    for (int64_t m : r.at("mask").integers(mask_elements(p.spec), 0, 1)) {
      p.mask.push_back(static_cast<uint8_t>(m));
    }
  }
  if (r.has("alibi_slopes")) {
    p.spec.has_alibi = true;
    const JsonReader slopes = r.at("alibi_slopes");
    file.slope_text = slopes.decimals(s.q_heads);
    p.alibi_slopes = stored_tensor(slopes, file.slope_text, DType::f32);
    for (size_t h = 0; h < p.alibi_slopes.size(); ++h) {
      if (!std::isfinite(p.alibi_slopes[h])) slopes.at(h).fail("must be finite");
    }
  }
  // One tensor at a time; in stored mode its decimal text is dropped once rounded, since only
  // the exact-decimal oracle reads it: for a long problem a std::string per value is the
  // largest thing held (B=1 H=8 L=4096 D=128 holds 12.6 million values).
  const auto read_tensor = [&](const char* key, int64_t count, std::vector<std::string>& texts,
                               std::vector<float>& values) {
    const JsonReader tensor = r.at(key);
    texts = tensor.decimals(count);
    values = stored_tensor(tensor, texts, p.dtype);
    if (!file.exact_decimal_inputs) std::vector<std::string>().swap(texts);
  };
  read_tensor("q", q_elements(s), file.q_text, p.q);
  read_tensor("k", k_elements(s), file.k_text, p.k);
  read_tensor("v", v_elements(s), file.v_text, p.v);
  if (r.has("do")) read_tensor("do", o_elements(s), file.do_text, p.d_out);
  if (file.exact_decimal_inputs) {
    for (const auto* texts : {&file.q_text, &file.k_text, &file.v_text, &file.do_text}) {
      for (const std::string& t : *texts) {
        if (t.find_first_of("0123456789") == std::string::npos) {
          r.at("inputs").fail("exact_decimal inputs must all be finite decimals");
        }
      }
    }
  }
  return file;
}

ProblemFile read_problem_document(const JsonReader& r) {
  if (!r.json().is_object()) r.fail("expected an object");
  if (!r.has("format")) return read_problem(r);
  const std::string format = r.at("format").string();
  const std::vector<std::string>* members = problem_format_members(format);
  if (members == nullptr) {
    r.at("format").fail("'" + format + "' is no format that holds a problem (" + kFailingCaseFormat + ", " +
                        kGoldenTraceFormat + ")");
  }
  return read_problem(r, *members);
}

ProblemFile read_problem_file(const std::string& path) {
  const Json json = read_json_file(path);
  return read_problem_document(JsonReader(json, path));
}

oracle::OracleProblem oracle_problem(const ProblemFile& file) {
  oracle::OracleProblem p = oracle::from_problem(file.problem);
  if (file.exact_decimal_inputs) {
    for (size_t i = 0; i < p.q.size(); ++i) p.q[i] = exact_value(file.q_text[i]);
    for (size_t i = 0; i < p.k.size(); ++i) p.k[i] = exact_value(file.k_text[i]);
    for (const std::string& text : file.q_text) p.q_exact.push_back(oracle::parse_decimal_exact(text));
    for (const std::string& text : file.k_text) p.k_exact.push_back(oracle::parse_decimal_exact(text));
    for (size_t i = 0; i < p.v.size(); ++i) p.v[i] = exact_value(file.v_text[i]);
    for (size_t h = 0; h < p.alibi_slopes.size(); ++h) p.alibi_slopes[h] = exact_value(file.slope_text[h]);
    if (file.scale_text) p.scale = exact_value(*file.scale_text);
  }
  return p;
}

oracle::OracleResult run_oracle(const ProblemFile& file, const oracle::OracleOptions& options) {
  oracle::PrecisionScope scope(options.precision_bits);
  return oracle::forward(oracle_problem(file), options);
}

std::vector<oracle::Real> oracle_d_out(const ProblemFile& file) {
  std::vector<oracle::Real> out;
  out.reserve(file.problem.d_out.size());
  if (file.exact_decimal_inputs && file.do_text.size() == file.problem.d_out.size()) {
    for (const std::string& text : file.do_text) out.push_back(exact_value(text));
  } else {
    for (float x : file.problem.d_out) out.emplace_back(x);
  }
  return out;
}

oracle::Gradients run_backward_oracle(const ProblemFile& file, const oracle::BackwardOptions& options) {
  if (!file.problem.has_d_out()) throw std::invalid_argument("run_backward_oracle: the problem has no \"do\"");
  oracle::PrecisionScope scope(options.precision_bits);
  return oracle::backward(oracle_problem(file), oracle_d_out(file), options);
}

std::string scale_ledger_text(const ProblemFile& file, int digits) {
  const std::optional<double>& used = file.problem.spec.scale;
  if (!used) {  // at the caller's precision, the oracle's
    const int64_t d = file.problem.spec.shape.head_dim;
    return "1/sqrt(" + std::to_string(d) + ") = " +
           oracle::to_decimal(oracle::Real(1) / sqrt(oracle::Real(static_cast<double>(d))), digits);
  }
  if (!file.scale_text) return f64_text(*used);  // a problem made in code: its f64, shortest
  if (file.exact_decimal_inputs) return *file.scale_text;
  if (oracle::parse_decimal_exact(*file.scale_text) == oracle::Rational(*used)) return *file.scale_text;
  // Every double is a finite decimal of at most 767 significant digits; %g drops the zeros.
  oracle::PrecisionScope scope(oracle::kDefaultPrecisionBits);
  return *file.scale_text + ", used as the f64 " + oracle::to_decimal(oracle::Real(*used), 800);
}

namespace {

Json decimal_json(float x) {
  if (!std::isfinite(x)) return float_to_decimal(x);  // strings for non-finite values
  // Integral values as integers keep files readable; the rest as shortest decimals, parsed
  // back into a number node so the file stays plain JSON numbers.
  const std::string text = float_to_decimal(x);
  return Json::parse(text);
}

Json values_json(const std::vector<float>& values) {
  Json array = Json::array();
  for (float x : values) array.push_back(decimal_json(x));
  return array;
}

}  // namespace

Json problem_to_json(const Problem& problem, const std::string& name) {
  const AttentionSpec& spec = problem.spec;
  const AttentionShape& s = spec.shape;
  Json j = Json::object();
  j["name"] = name;
  j["dtype"] = std::string(dtype_name(problem.dtype));
  j["inputs"] = "stored";
  j["shape"] = {{"batch", s.batch},   {"q_heads", s.q_heads},   {"kv_heads", s.kv_heads},
                {"q_len", s.q_len},   {"kv_len", s.kv_len},     {"head_dim", s.head_dim},
                {"value_dim", s.value_dim}};
  if (spec.scale) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, *spec.scale).ptr;  // shortest round trip
    j["scale"] = Json::parse(std::string(text, end));
  }
  j["causal"] = spec.causal;
  j["window_left"] = spec.window_left;
  j["window_right"] = spec.window_right;
  if (spec.has_valid_keys) j["valid_keys"] = problem.valid_keys;
  if (spec.mask != MaskKind::none) {
    j["mask_kind"] = spec.mask == MaskKind::shared ? "shared" : "per_head";
    j["mask"] = problem.mask;
  }
  if (spec.has_alibi) j["alibi_slopes"] = values_json(problem.alibi_slopes);
  j["q"] = values_json(problem.q);
  j["k"] = values_json(problem.k);
  j["v"] = values_json(problem.v);
  if (problem.has_d_out()) j["do"] = values_json(problem.d_out);
  return j;
}

namespace {


// Splits a flat row-major tensor into nested arrays of the given extents.
OrderedJson nested(const std::vector<std::string>& flat, const std::vector<int64_t>& extents, size_t axis,
                   size_t& next) {
  OrderedJson out = OrderedJson::array();
  for (int64_t n = 0; n < extents[axis]; ++n) {
    if (axis + 1 == extents.size()) {
      out.push_back(flat[next++]);
    } else {
      out.push_back(nested(flat, extents, axis + 1, next));
    }
  }
  return out;
}

OrderedJson tensor_json(const std::vector<std::string>& flat, const std::vector<int64_t>& extents) {
  size_t next = 0;
  return nested(flat, extents, 0, next);
}

std::vector<std::string> texts_of(const std::vector<float>& values) {
  std::vector<std::string> out;
  for (float x : values) out.push_back(float_to_decimal(x));
  return out;
}

template <typename T>
OrderedJson integer_tensor(const std::vector<T>& flat, const std::vector<int64_t>& extents) {
  size_t next = 0;
  std::function<OrderedJson(size_t)> build = [&](size_t axis) {
    OrderedJson a = OrderedJson::array();
    for (int64_t n = 0; n < extents[axis]; ++n) {
      if (axis + 1 == extents.size()) {
        a.push_back(static_cast<int64_t>(flat[next++]));
      } else {
        a.push_back(build(axis + 1));
      }
    }
    return a;
  };
  return build(0);
}

}  // namespace

void append_problem_json(const ProblemFile& file, OrderedJson& out) {
  const Problem& p = file.problem;
  const AttentionSpec& spec = p.spec;
  const AttentionShape& s = spec.shape;
  out["name"] = file.name;
  out["dtype"] = std::string(dtype_name(p.dtype));
  out["inputs"] = file.exact_decimal_inputs ? "exact_decimal" : "stored";
  out["shape"] = OrderedJson{{"batch", s.batch},   {"q_heads", s.q_heads}, {"kv_heads", s.kv_heads},
                             {"q_len", s.q_len},   {"kv_len", s.kv_len},   {"head_dim", s.head_dim},
                             {"value_dim", s.value_dim}};
  const bool exact = file.exact_decimal_inputs;
  if (exact && file.scale_text) {
    out["scale"] = *file.scale_text;
  } else if (spec.scale) {
    out["scale"] = f64_text(*spec.scale);
  }
  out["causal"] = spec.causal;
  out["window_left"] = spec.window_left;
  out["window_right"] = spec.window_right;
  if (spec.has_valid_keys) out["valid_keys"] = integer_tensor(p.valid_keys, {s.batch});
  if (spec.mask != MaskKind::none) {
    const int64_t heads = spec.mask == MaskKind::shared ? 1 : s.q_heads;
    out["mask_kind"] = spec.mask == MaskKind::shared ? "shared" : "per_head";
    out["mask"] = integer_tensor(p.mask, {s.batch, heads, s.q_len, s.kv_len});
  }
  if (spec.has_alibi) {
    out["alibi_slopes"] =
        tensor_json(exact ? file.slope_text : texts_of(p.alibi_slopes), {s.q_heads});
  }
  out["q"] = tensor_json(exact ? file.q_text : texts_of(p.q), {s.batch, s.q_heads, s.q_len, s.head_dim});
  out["k"] = tensor_json(exact ? file.k_text : texts_of(p.k), {s.batch, s.kv_heads, s.kv_len, s.head_dim});
  out["v"] = tensor_json(exact ? file.v_text : texts_of(p.v), {s.batch, s.kv_heads, s.kv_len, s.value_dim});
  if (p.has_d_out()) {
    out["do"] = tensor_json(exact ? file.do_text : texts_of(p.d_out), {s.batch, s.q_heads, s.q_len, s.value_dim});
  }
}

}  // namespace attncheck::formats
