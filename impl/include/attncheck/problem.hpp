// A complete attention problem: the spec plus every input value, held as floats that are
// exactly representable in the problem's storage dtype. The harness, the CLI and the
// properties pass Problems around; kernels see only the encoded buffers (see run.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "attncheck/dtype.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck {

struct Problem {
  AttentionSpec spec;
  DType dtype = DType::f32;
  std::vector<float> q;  // [batch, q_heads, q_len, head_dim]
  std::vector<float> k;  // [batch, kv_heads, kv_len, head_dim]
  std::vector<float> v;  // [batch, kv_heads, kv_len, value_dim]
  std::vector<int32_t> valid_keys;  // [batch] when spec.has_valid_keys
  std::vector<uint8_t> mask;        // see semantics.hpp, when spec.mask != none
  std::vector<float> alibi_slopes;  // [q_heads] when spec.has_alibi
  // The upstream gradient dO = dL/dO of a backward check, laid out as O and exactly
  // representable in dtype; empty for a forward-only problem.
  std::vector<float> d_out;
  bool has_d_out() const { return !d_out.empty(); }

  VisibilityInputs visibility() const {
    return VisibilityInputs{spec.has_valid_keys ? valid_keys.data() : nullptr,
                            spec.mask != MaskKind::none ? mask.data() : nullptr,
                            spec.has_alibi ? alibi_slopes.data() : nullptr};
  }
};

// Checks the spec, every tensor's size against it, that the visibility inputs are valid, and
// that q, k, v (and d_out, when present) hold values exactly representable in dtype (NaN and Inf are allowed: the
// properties plant them in invisible slots). Throws SpecError naming the field.
void validate(const Problem& problem);

// Rounds q, k and v in place to the problem's dtype.
void round_inputs_to_dtype(Problem& problem);

// A problem with the given spec, zero-filled tensors of the right sizes, valid lengths of
// kv_len, an all-visible mask and zero slopes, as the spec asks.
Problem make_zero_problem(const AttentionSpec& spec, DType dtype);

}  // namespace attncheck
