// Machine-readable results of `attncheck trace --json` and `attncheck golden check --json`
// (schema in docs/file-formats.md, "Results JSON"): what the text output says, for CI
// dashboards and scripts that should not parse a ledger. Numbers are JSON numbers (shortest
// round-trip decimals); a non-finite value is the string "nan", "inf" or "-inf", since JSON
// has none. The same run gives the same bytes.
#pragma once

#include <string>
#include <vector>

#include "attncheck/formats/json_writer.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/oracle/summary_table.hpp"
#include "attncheck/problem.hpp"

namespace attncheck::formats {

inline constexpr int kResultsJsonVersion = 1;

// A number, or "nan" / "inf" / "-inf".
OrderedJson json_number(double x);

// Error metrics (metrics.hpp) as the results write them: max_ulp, mean_ulp, bits, max_abs,
// max_rel, normwise_rel, nmse, elements, unjudged, nonfinite_mismatches.
OrderedJson metrics_json(const oracle::ErrorMetrics& metrics);

// One kernel's check: status ("pass", "fail", "error", "skipped", "unjudged"), its reason,
// and for a judged run the metrics, the bound verdict and the worst element of O and LSE
// located by batch, head, query (and column).
OrderedJson kernel_run_json(const KernelInfo& kernel, const oracle::KernelRunCheck& run, const AttentionShape& shape);

// The summary table's rows.
OrderedJson summary_json(const oracle::SummaryTable& table);

struct TraceResults {
  std::string source;  // the problem file, or the built-in example's name
  const Problem* problem = nullptr;
  const oracle::OracleResult* exact = nullptr;  // the rows checked (all, or a sample)
  std::vector<std::pair<const KernelInfo*, oracle::KernelRunCheck>> kernels;
  const oracle::SummaryTable* summary = nullptr;
  bool passed = false;
  std::vector<std::string> failures;  // the FAILED lines, without the prefix
};

// {"format": "attncheck-trace-results", "version", "problem", "oracle": {rows: O and LSE},
//  "kernels": [...], "summary": [...], "verdict", "failures"}
OrderedJson trace_results_json(const TraceResults& results);

// The document's text: two-space indentation, ending in a newline.
std::string results_text(const OrderedJson& doc);

// A --json PATH must name a file in an existing directory; the commands check it before their
// work, so a typo does not cost a long run. Throws std::invalid_argument naming the option.
void require_results_path(const std::string& path);
// Writes the document to path atomically; a failure throws std::invalid_argument naming it.
void write_results_file(const std::string& path, const OrderedJson& doc);

}  // namespace attncheck::formats
