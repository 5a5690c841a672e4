#include "attncheck/cli/golden_problem.hpp"

#include <cmath>
#include <functional>

#include "attncheck/cli/golden_pinned.hpp"
#include "attncheck/oracle/exact_decimal.hpp"

namespace attncheck::cli {
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

ProblemFile read_golden_problem(const JsonReader& r) {
  const JsonReader shape = r.at("shape");
  for (const char* key : {"batch", "q_heads", "kv_heads", "q_len", "kv_len", "head_dim", "value_dim"}) {
    if (shape.has(key)) shape.at(key).integer(1, kMaxGoldenDimension);
  }
  ProblemFile file = read_problem(r);
  if (file.exact_decimal_inputs) {
    // The oracle reads exact-decimal inputs as rationals, a stricter grammar than the one
    // read_problem checks (MPFR's, which allows leading spaces, for one): check it here, where
    // the field can still be named (found by golden/fuzz).
    const std::pair<const char*, const std::vector<std::string>*> tensors[] = {
        {"q", &file.q_text}, {"k", &file.k_text}, {"v", &file.v_text}, {"alibi_slopes", &file.slope_text}};
    for (const auto& [key, texts] : tensors) {
      for (size_t n = 0; n < texts->size(); ++n) {
        try {
          oracle::parse_decimal_exact((*texts)[n]);
        } catch (const std::invalid_argument&) {
          r.at(key).element_path(n).fail("'" + (*texts)[n] + "' is not a plain decimal number");
        }
      }
    }
    if (file.scale_text) {
      try {
        oracle::parse_decimal_exact(*file.scale_text);
      } catch (const std::invalid_argument&) {
        r.at("scale").fail("'" + *file.scale_text + "' is not a plain decimal number");
      }
    }
  }
  try {
    validate(file.problem);
  } catch (const SpecError& e) {
    throw InputError(r.source(), (r.path().empty() ? "" : r.path() + ".") + e.field(), e.message());
  }
  return file;
}

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
}

}  // namespace attncheck::cli
