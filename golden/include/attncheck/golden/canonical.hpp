// The problems golden/traces/ holds, generated in code like a data table (boost's
// tools/erf_data.cpp): the worked examples of the seeds, then small canonical problems that
// together cover causal with Lq < Lk, padding (with a valid length of 0), sliding windows,
// shared and per-head boolean masks, GQA, MQA, ALiBi, fully masked rows, decode steps on a
// growing KV cache, and each storage dtype. Inputs are k/8 for small integers k, exact in
// f32, f16 and bf16, so every dtype's kernels can be checked against every such trace. Every
// canonical problem but the decode steps and the large-logits one also carries an upstream
// gradient dO (eighths again) and so its backward pass; seed 001's worked example has two
// backward traces of its own (the seed's g_3 at the last position, and a dense dO).
#pragma once

#include <vector>

#include "attncheck/golden/trace.hpp"

namespace attncheck::golden {

// In file-name order; names are unique.
std::vector<TraceSpec> canonical_traces();

// The length-4 causal "I will work ." problem of seed 001 in exact-decimal mode: the first
// trace, and what `attncheck trace` shows when given no file.
formats::ProblemFile worked_example();

// The worked example with an upstream gradient dO (exact-decimal "do"), for its backward pass:
// the seed's dL/dY[3] = g_3 at the last position only, g_3 = [1, -0.5, 0.25, -0.125] chosen by
// attncheck (the seed leaves it symbolic), or a dense dO whose last row is the same g_3.
enum class WorkedExampleDo { last_position, dense };
formats::ProblemFile worked_example_backward(WorkedExampleDo which);

}  // namespace attncheck::golden
