// Every registered kernel against every golden trace it is capable of, within its a-priori
// bound (oracle/kernel_check.hpp).
//
// A kernel runs on a trace when the trace's inputs are exact in the kernel's dtype (the
// canonical traces use k/8, exact everywhere, so every dtype's kernels check them; an
// exact-decimal trace is rounded once to each dtype, as `attncheck trace` does) and the
// kernel declares every feature the trace uses. Forward kernels run through run_kernel; a
// kernel with a decode entry point also runs each decode-step trace through run_decode, with
// the cache capacity the trace names and NaN in the unused slots. The reference is the
// oracle of the values the kernel saw, recomputed from the problem (`golden verify` checks
// the values written in the trace separately).
//
// A trace with a backward section (an upstream gradient "do") also runs every kernel that has
// a backward entry point (kBackward), twice: with O and LSE from the oracle and from the
// kernel's own forward (oracle/gradient_check.hpp), against the oracle's gradients of the
// values the kernel saw, within the a-priori gradient bound.
#pragma once

#include <string>
#include <vector>

#include "attncheck/formats/json_writer.hpp"
#include "attncheck/oracle/summary_table.hpp"

#include "attncheck/golden/backward_check.hpp"
#include "attncheck/golden/trace.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/oracle/kernel_check.hpp"

namespace attncheck::golden {

struct KernelTraceCheck {
  std::string trace;
  std::string kernel;
  std::string entry;   // "forward", "decode", "backward (oracle forward)" or "backward (own forward)"
  std::string skipped; // why it did not run, or empty
  std::string error;   // an exception from the run (red zone overrun, ...), or empty
  AttentionShape shape;  // the trace's
  oracle::KernelCheck check;
  // A backward run: the O and LSE it was handed came from `source`, and `gradients` is its check.
  bool backward = false;
  oracle::ForwardSource source = oracle::ForwardSource::oracle;
  oracle::GradientCheck gradients;
  bool ran() const { return skipped.empty(); }
  bool passed() const { return !ran() || (error.empty() && (backward ? gradients.passed() : check.passed())); }
  // Elements judged: a run that judged none (every one read a non-finite input) checked nothing.
  int64_t judged() const { return backward ? gradients.judged() : check.judged(); }
};

// One result per (kernel, entry point) that applies (a backward kernel on a trace with a backward
// section: one per forward source), and a skipped one for a decode-only
// kernel on a trace that is no decode step, so every kernel has a result on every trace: run,
// or skipped with the reason. A kernel that throws is a result with `error` set.
std::vector<KernelTraceCheck> check_kernels_on_trace(const GoldenTrace& trace,
                                                     const std::vector<const KernelInfo*>& kernels);

// "PASS gqa_bf16 x dense_f32 forward: O max_ulp=... | bound: pass ..." or "skip ...: reason".
std::string format_kernel_trace_check(const KernelTraceCheck& result);

// `golden check`: every kernel against every trace of a directory's traces/, with the per-kernel
// summary. It fails when a run failed or threw, when a selected kernel was checked on no trace
// (every trace skipped it), when a selected backward kernel's backward was checked on no trace,
// or when there was no trace: a check that checked nothing is no pass.
struct GoldenCheckReport {
  std::string traces_dir;
  int traces = 0;
  std::vector<KernelTraceCheck> runs;  // every (trace, kernel, entry), skipped ones included
  oracle::SummaryTable summary;        // the forward and decode runs
  BackwardSummary backward_summary;   // the backward runs, per kernel and forward source
  int backward_traces = 0;            // traces with a backward section
  std::vector<std::string> failures;   // why it failed, one line each; empty when it passed
  bool passed() const { return failures.empty(); }
};
GoldenCheckReport check_golden_traces(const std::string& traces_dir, const std::vector<const KernelInfo*>& kernels);

// The report as JSON (docs/file-formats.md, "Results JSON"): format "attncheck-golden-check-results".
formats::OrderedJson golden_check_json(const GoldenCheckReport& report, const std::vector<const KernelInfo*>& kernels);

}  // namespace attncheck::golden
