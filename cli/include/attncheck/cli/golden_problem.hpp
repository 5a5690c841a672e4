// The attention problem inside a golden file: read with the problem-file reader, after a
// guard that keeps golden problems small (each dimension <= 64), so that no hostile or
// corrupted shape can ask for a huge allocation or overflow an element count; written back in
// a fixed key order.
#pragma once

#include "attncheck/cli/golden_json_writer.hpp"
#include "attncheck/cli/json_input.hpp"
#include "attncheck/cli/problem_file.hpp"

namespace attncheck::cli {

inline constexpr int64_t kMaxGoldenDimension = 64;

// read_problem plus the size guard and validate(Problem); every failure is an InputError
// naming the source and field.
ProblemFile read_golden_problem(const JsonReader& reader);

// The problem's members in problem-file order (name, dtype, inputs, shape, scale, causal,
// window_left, window_right, valid_keys, mask_kind, mask, alibi_slopes, q, k, v), tensors
// nested by axis. Exact-decimal inputs keep their text; stored values are shortest decimals
// (strings). Appended to `out`, which may already hold other members.
void append_problem_json(const ProblemFile& file, OrderedJson& out);

}  // namespace attncheck::cli
