// Oracle traces (golden/traces/*.json): a problem in problem-file format (so `attncheck trace
// FILE` reads a trace directly) plus every intermediate of the oracle's forward pass, each
// value pinned as [shortest f64, >= 25 digits] (pinned.hpp):
//
//   { "format": "attncheck-golden-trace", "version": 2, "name": stem of the file name,
//     "description": ..., "source": ..., "covers": ["causal", "lq<lk", ...],
//     <problem members: dtype, inputs, shape, scale, causal, window_*, valid_keys, mask_kind,
//      mask, alibi_slopes, q, k, v, and do when the trace has a backward section>,
//     "decode": {"sequence": ..., "step": s, "cache_capacity": c},      (decode steps only)
//     "oracle": {"precision_bits": p, "pin_check_bits": 2p},
//     "forward": {"rows": [{"b", "h", "i", "visible", "raw", "scaled", "biased", "shifted",
//                           "exps", "weights", "row_max", "row_sum", "lse", "output"}, ...]},
//     "backward": {"rows": [{"b", "h", "i", "dp", "ds", "delta", "delta_from_weights",  (with "do")
//                            "dq"}, ...],
//                  "keys": [{"b", "g", "j", "dk", "dv"}, ...]} }
//
// Rows run over (b, h, i) in row-major order. A key the query cannot see has raw and scaled
// null (never computed), biased and shifted -inf, exps and weights 0. A row that sees no key
// has row_max -inf, row_sum 0, lse -inf and output 0.
//
// Backward (version 2, present exactly when the problem has "do"): the oracle's gradients for
// that dO (oracle/backward.hpp). Per query row: dp = dO . V[j] (null for a hidden key, never
// computed), ds = P_j (dp_j - D) (0 for a hidden key), delta = D = dO . O, delta_from_weights
// = sum_j P_j dp_j (its cross-check) and the row's dq; a row that sees no key has every dp
// null and ds, delta, delta_from_weights and dq 0. Per (b, kv head g, key j): dk and dv, summed
// over the query heads of the group; 0 for a key no query sees. Keys run over (b, g, j) in
// row-major order. Version 1 (no backward section) is still read.
//
// Generation pins every value: it computes at p = 128 bits and at 2p, and doubles p until
// both give the same file, so the f64 written is the correctly rounded one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attncheck/formats/json_writer.hpp"
#include "attncheck/formats/json_input.hpp"
#include "attncheck/formats/problem_file.hpp"

namespace attncheck::golden {

// The version generate_trace writes: 2 added the backward section.
inline constexpr int kTraceVersion = 2;

// One step of a decode sequence: the problem is the step's queries (q_len new tokens)
// against the cache's first kv_len tokens, causal; kernels with a decode entry point run it
// through a cache of cache_capacity slots.
struct DecodeStep {
  std::string sequence;
  int64_t step = 0;
  int64_t cache_capacity = 0;
};

// What a trace is generated from.
struct TraceSpec {
  std::string name;  // the file is <name>.json
  std::string description;
  std::string source;  // a seed file, or "canonical"
  std::vector<std::string> covers;
  formats::ProblemFile problem;
  std::optional<DecodeStep> decode;
};

// The trace's JSON and its text. Throws std::runtime_error if the values cannot be pinned
// below 8192 bits (no golden problem comes near).
struct GeneratedTrace {
  formats::OrderedJson json;
  std::string text;
};
GeneratedTrace generate_trace(const TraceSpec& spec);

// A trace read from disk: strictly checked (every malformed, missing, unknown or
// inconsistent field is an InputError naming the file and field), values not re-derived.
struct GoldenTrace {
  std::string path;
  TraceSpec spec;
  unsigned precision_bits = 0;
  formats::Json json;  // as parsed (floats as decimal text)
};
GoldenTrace read_trace(const formats::Json& json, const std::string& path);
GoldenTrace read_trace_file(const std::string& path);

// Differences between a file's JSON and what it should be, readable one per line:
// "forward.rows[3].lse: file 0.5 (0.5000000000000000000000000), oracle 0.25 (...)".
// At most max_lines are returned; *total (when given) receives the full count.
std::vector<std::string> json_differences(const formats::Json& file, const formats::Json& expected, size_t max_lines,
                                          size_t* total = nullptr);

}  // namespace attncheck::golden
