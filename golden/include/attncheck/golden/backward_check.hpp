// Backward kernels against the oracle's gradients on one problem, for both sources of the O and
// LSE a backward is handed (oracle/gradient_check.hpp: the oracle's, rounded, and the kernel's
// own forward), with the per-(kernel, source) summary that ends `attncheck trace --backward`
// and the backward part of `attncheck golden check`, and their results JSON.
//
// Only kernels with a backward entry point (kBackward) are run; a selection in which none has
// one, or in which every run was skipped or unjudged, checked nothing and fails, saying so.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attncheck/formats/json_writer.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/oracle/gradient_check.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::golden {

inline constexpr oracle::ForwardSource kForwardSources[] = {oracle::ForwardSource::oracle,
                                                            oracle::ForwardSource::kernel};

// One row of the backward summary: a kernel fed from one source.
struct BackwardSummaryRow {
  std::string kernel;
  std::string source;  // forward_source_name()
  int64_t checked = 0, passed = 0, failed = 0, threw = 0, unjudged = 0, skipped = 0;
  std::map<std::string, int64_t> skip_reasons;
  double dq_max_ulp = 0, dk_max_ulp = 0, dv_max_ulp = 0;
  double worst_ratio = 0;  // max |kernel - oracle| / bound over dQ, dK, dV
};

class BackwardSummary {
 public:
  // Both sources of a selected backward kernel get a row, even if nothing checks them.
  void declare(const std::string& kernel);
  void add(const std::string& kernel, oracle::ForwardSource source, const oracle::BackwardRunCheck& run);
  const std::vector<BackwardSummaryRow>& rows() const { return rows_; }
  // "kernel (source)" of the rows with no judged check.
  std::vector<std::string> checked_nothing() const;
  // Fixed-width text, one line per (kernel, source).
  std::string render() const;

 private:
  BackwardSummaryRow& row(const std::string& kernel, const std::string& source);
  std::vector<BackwardSummaryRow> rows_;
};

// One backward run: the kernel's outputs are dropped once checked.
struct BackwardKernelRun {
  const KernelInfo* kernel = nullptr;
  oracle::ForwardSource source = oracle::ForwardSource::oracle;
  oracle::BackwardRunCheck run;
};

// "PASS dense_f32 backward (oracle forward): dQ max_ulp=... | bound: pass ...", "FAIL ...: threw: ...",
// "skip ...: reason".
std::string format_backward_run(const BackwardKernelRun& r);

// Every kernel of `kernels` with a backward, from both sources, on `problem` (which carries
// d_out) against `exact` (oracle::backward with keep_intermediates, of the values the kernels
// see). Kernels without a backward entry point are not run.
std::vector<BackwardKernelRun> run_backward_kernels(const Problem& problem, const oracle::Gradients& exact,
                                                    const std::vector<const KernelInfo*>& kernels);

// `attncheck trace --backward`'s check: the runs, the summary and why it failed (empty: passed).
struct BackwardTraceReport {
  std::vector<BackwardKernelRun> runs;
  BackwardSummary summary;
  std::vector<std::string> failures;
  bool passed() const { return failures.empty(); }
};
BackwardTraceReport check_backward_kernels(const Problem& problem, const oracle::Gradients& exact,
                                           const std::vector<const KernelInfo*>& kernels);

// The JSON of one run (status, metrics and bound of dQ, dK, dV with their worst elements) and of
// the summary (docs/file-formats.md, "Results JSON").
formats::OrderedJson backward_run_json(const BackwardKernelRun& r);
formats::OrderedJson backward_summary_json(const BackwardSummary& summary);

// {"format": "attncheck-trace-backward-results", "version", "problem", "oracle": {dq, dk, dv},
//  "kernels": [...], "summary": [...], "verdict", "failures"}
formats::OrderedJson trace_backward_results_json(const std::string& source, const Problem& problem,
                                                 const oracle::Gradients& exact, const BackwardTraceReport& report);

}  // namespace attncheck::golden
