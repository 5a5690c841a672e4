// Problem files: the JSON form of a Problem that `attncheck trace` reads, the property suite
// writes for a failing case, and golden files embed. docs/file-formats.md documents it:
//
//   { "name": "...", "dtype": "f32" | "f16" | "bf16",
//     "inputs": "stored" | "exact_decimal",
//     "shape": { "batch": 1, "q_heads": 1, "kv_heads": 1, "q_len": 4, "kv_len": 4,
//                "head_dim": 4, "value_dim": 4 },
//     "scale": 0.5, "causal": true, "window_left": -1, "window_right": -1,
//     "valid_keys": [..], "mask_kind": "shared" | "per_head", "mask": [..],
//     "alibi_slopes": [..], "q": [..], "k": [..], "v": [..] }
//
// Tensors are flat or nested arrays in the layout of semantics.hpp. Values are numbers or
// strings ("0.1", "nan", "inf", "-inf"). With "inputs": "stored" (the default) each value is
// rounded once to dtype, and kernels and oracle both see that; with "exact_decimal" the
// oracle reads every decimal exactly (at its working precision) while kernels see it rounded
// to dtype: the mode for published worked examples.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attncheck/cli/json_input.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::cli {

struct ProblemFile {
  std::string name;
  Problem problem;  // values rounded to problem.dtype
  bool exact_decimal_inputs = false;
  // The decimal text of each value as written, for the exact-decimal oracle.
  std::vector<std::string> q_text, k_text, v_text, slope_text;
  std::optional<std::string> scale_text;
};

ProblemFile read_problem(const JsonReader& reader);
ProblemFile read_problem_file(const std::string& path);

// The oracle's view: exact decimals or the stored values, per the file's mode. Call inside a
// PrecisionScope.
oracle::OracleProblem oracle_problem(const ProblemFile& file);
oracle::OracleResult run_oracle(const ProblemFile& file, const oracle::OracleOptions& options = {});

// A problem as JSON, with every value printed so it reads back to the same float
// (shortest round-trip decimal; "nan", "inf", "-inf" as strings).
Json problem_to_json(const Problem& problem, const std::string& name);

// Shortest decimal that reads back as x (up to 9 significant digits for f32).
std::string float_to_decimal(float x);

}  // namespace attncheck::cli
