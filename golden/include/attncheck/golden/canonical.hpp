// The problems golden/traces/ holds, generated in code like a data table (boost's
// tools/erf_data.cpp): the worked examples of the seeds, then small canonical problems that
// together cover causal with Lq < Lk, padding (with a valid length of 0), sliding windows,
// shared and per-head boolean masks, GQA, MQA, ALiBi, fully masked rows, decode steps on a
// growing KV cache, and each storage dtype. Inputs are k/8 for small integers k, exact in
// f32, f16 and bf16, so every dtype's kernels can be checked against every such trace.
#pragma once

#include <vector>

#include "attncheck/golden/trace.hpp"

namespace attncheck::golden {

// In file-name order; names are unique.
std::vector<TraceSpec> canonical_traces();

// The length-4 causal "I will work ." problem of seed 001 in exact-decimal mode: the first
// trace, and what `attncheck trace` shows when given no file.
formats::ProblemFile worked_example();

}  // namespace attncheck::golden
