// Problem files: the JSON form of a Problem that `attncheck trace` reads, the property suite
// writes for a failing case, and golden files embed. docs/file-formats.md documents it:
//
//   { "name": "...", "dtype": "f32" | "f16" | "bf16",
//     "inputs": "stored" | "exact_decimal",
//     "shape": { "batch": 1, "q_heads": 1, "kv_heads": 1, "q_len": 4, "kv_len": 4,
//                "head_dim": 4, "value_dim": 4 },
//     "scale": 0.5, "causal": true, "window_left": -1, "window_right": -1,
//     "valid_keys": [..], "mask_kind": "shared" | "per_head", "mask": [..],
//     "alibi_slopes": [..], "q": [..], "k": [..], "v": [..], "do": [..], "comment": "..." }
//
// "do" (optional) is the upstream gradient dO of a backward check, laid out as O, in the
// problem's dtype like q, k and v. Tensors are flat or nested arrays in the layout of semantics.hpp. Values are numbers or
// strings ("0.1", "nan", "inf", "-inf"; non-finite ones in any slot: docs/semantics.md,
// "Non-finite inputs"). With "inputs": "stored" (the default) each value is rounded once, from
// its exact decimal value, to dtype (the scale to f64, slopes to f32), and kernels and oracle
// both see that; with "exact_decimal" the
// oracle reads every decimal exactly (at its working precision) while kernels see it rounded
// to dtype: the mode for published worked examples.
//
// Every member the reader does not know is an error naming it (a misspelt "casual" would
// otherwise run the case without its mask); "comment" is free text for a person. A file that
// holds a problem and more says so in its "format" member, and may carry that format's members
// too: a failing case of the property suite ("attncheck-failing-case": "failing_rows", "note")
// and a golden trace ("attncheck-golden-trace": the trace's members, which its own reader in
// golden/ checks).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attncheck/formats/json_input.hpp"
#include "attncheck/formats/json_writer.hpp"
#include "attncheck/oracle/backward.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::formats {

struct ProblemFile {
  std::string name;
  Problem problem;  // values rounded to problem.dtype
  bool exact_decimal_inputs = false;
  // The decimal text of each value as written, for the exact-decimal oracle. q, k and v keep
  // theirs only with exact-decimal inputs; in stored mode the reader drops them once rounded
  // (problem.q/k/v are then the values), which for a long problem halves what reading holds.
  std::vector<std::string> q_text, k_text, v_text, do_text, slope_text;
  std::optional<std::string> scale_text;
};

// The formats of files that hold a problem plus members of their own.
inline constexpr const char* kFailingCaseFormat = "attncheck-failing-case";
inline constexpr const char* kGoldenTraceFormat = "attncheck-golden-trace";

// The members a problem may have: name, dtype, inputs, shape, scale, causal, window_left,
// window_right, valid_keys, mask_kind, mask, alibi_slopes, q, k, v, do and comment.
const std::vector<std::string>& problem_members();
// The members a file of `format` adds to a problem's ("format" itself included); nullptr for
// a format that holds no problem.
const std::vector<std::string>* problem_format_members(const std::string& format);

// Reads the problem in reader's object. A member that is neither a problem's nor one of
// `extra_members` is an InputError naming it, as is an unknown member of "shape".
ProblemFile read_problem(const JsonReader& reader, const std::vector<std::string>& extra_members = {});
// Reads a problem file: a plain problem, or a file whose "format" member names one of the
// formats above (then its members are allowed too); any other "format" is an InputError.
ProblemFile read_problem_document(const JsonReader& reader);
ProblemFile read_problem_file(const std::string& path);

// The oracle's view: exact decimals or the stored values, per the file's mode. Call inside a
// PrecisionScope.
oracle::OracleProblem oracle_problem(const ProblemFile& file);
oracle::OracleResult run_oracle(const ProblemFile& file, const oracle::OracleOptions& options = {});

// The upstream gradient as the oracle reads it: exact decimals (do's text) with exact-decimal
// inputs, else the stored values. Empty when the file has no "do". Call inside a PrecisionScope.
std::vector<oracle::Real> oracle_d_out(const ProblemFile& file);
// The oracle's gradients for the file's "do" (which must be there: std::invalid_argument
// otherwise), from the inputs as the oracle reads them (oracle_problem, oracle_d_out).
oracle::Gradients run_backward_oracle(const ProblemFile& file, const oracle::BackwardOptions& options);

// The scale the oracle uses, as a ledger shows it ("scaled by ..."). Exact-decimal inputs: the
// file's decimal, which the oracle reads exactly. Stored inputs: the f64 the file's decimal was
// rounded to, exactly, after the file's text when the two differ ("0.1, used as the f64
// 0.1000000000000000055511151231257827021181583404541015625"), so the ledger never shows a scale
// that was not the one used. Without a scale: "1/sqrt(D) = " and its value to `digits` digits,
// at the precision in force (call it inside the oracle's PrecisionScope).
std::string scale_ledger_text(const ProblemFile& file, int digits);

// A problem as JSON, with every value printed so it reads back to the same float
// (shortest round-trip decimal; "nan", "inf", "-inf" as strings).
Json problem_to_json(const Problem& problem, const std::string& name);

// The canonical form golden files embed: the problem's members in problem-file order (name,
// dtype, inputs, shape, scale, causal, window_left, window_right, valid_keys, mask_kind, mask,
// alibi_slopes, q, k, v, do when the problem has one), tensors nested by axis. Exact-decimal inputs keep their text; stored
// values are shortest decimals (strings). Appended to `out`, which may already hold other
// members.
void append_problem_json(const ProblemFile& file, OrderedJson& out);

}  // namespace attncheck::formats
