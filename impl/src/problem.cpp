#include "attncheck/problem.hpp"

#include <string>

#include "attncheck/storage.hpp"

namespace attncheck {
namespace {

void require_size(const char* field, size_t actual, int64_t expected) {
  if (static_cast<int64_t>(actual) != expected) {
    throw SpecError(field, "has " + std::to_string(actual) + " elements, the shape needs " +
                               std::to_string(expected));
  }
}

void require_representable(const char* field, const std::vector<float>& values, DType dtype) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!representable_in(dtype, values[i])) {
      throw SpecError(std::string(field) + "[" + std::to_string(i) + "]",
                      "value " + std::to_string(values[i]) + " is not exactly representable in " +
                          std::string(dtype_name(dtype)));
    }
  }
}

}  // namespace

void validate(const Problem& problem) {
  const AttentionSpec& spec = problem.spec;
  validate(spec);
  const AttentionShape& s = spec.shape;
  require_size("q", problem.q.size(), q_elements(s));
  require_size("k", problem.k.size(), k_elements(s));
  require_size("v", problem.v.size(), v_elements(s));
  if (spec.has_valid_keys) require_size("valid_keys", problem.valid_keys.size(), s.batch);
  if (spec.mask != MaskKind::none) require_size("mask", problem.mask.size(), mask_elements(spec));
  if (spec.has_alibi) require_size("alibi_slopes", problem.alibi_slopes.size(), s.q_heads);
  validate(spec, problem.visibility());
  require_representable("q", problem.q, problem.dtype);
  require_representable("k", problem.k, problem.dtype);
  require_representable("v", problem.v, problem.dtype);
  if (problem.has_d_out()) {
    require_size("do", problem.d_out.size(), o_elements(s));
    require_representable("do", problem.d_out, problem.dtype);
  }
}

void round_inputs_to_dtype(Problem& problem) {
  for (auto* tensor : {&problem.q, &problem.k, &problem.v, &problem.d_out}) {
    for (float& x : *tensor) x = round_to_dtype(problem.dtype, x);
  }
}

Problem make_zero_problem(const AttentionSpec& spec, DType dtype) {
  validate(spec);
  Problem p;
  p.spec = spec;
  p.dtype = dtype;
  const AttentionShape& s = spec.shape;
  p.q.assign(q_elements(s), 0.0f);
  p.k.assign(k_elements(s), 0.0f);
  p.v.assign(v_elements(s), 0.0f);
  if (spec.has_valid_keys) p.valid_keys.assign(s.batch, static_cast<int32_t>(s.kv_len));
  if (spec.mask != MaskKind::none) p.mask.assign(mask_elements(spec), 1);
  if (spec.has_alibi) p.alibi_slopes.assign(s.q_heads, 0.0f);
  return p;
}

}  // namespace attncheck
