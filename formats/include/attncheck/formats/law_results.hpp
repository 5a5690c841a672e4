// The property suite's results, one file per (law, kernel) test, and their summary. ctest runs
// every law x kernel test in its own process, so no one process sees the whole run: with
// ATTNCHECK_RESULTS_DIR set, each test writes DIR/<Family>.<Law>.<kernel>.json (atomically),
// and `attncheck summary DIR` reads them all back into the per-kernel table and, with --json, one
// document (docs/properties.md, "Summary of a run"; schema in docs/file-formats.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attncheck/formats/json_writer.hpp"

namespace attncheck::formats {

inline constexpr const char* kLawResultFormat = "attncheck-law-result";
inline constexpr const char* kResultsDirVariable = "ATTNCHECK_RESULTS_DIR";

struct LawResult {
  std::string law;     // "Accuracy.OutputAndLseWithinAPrioriBound"
  std::string kernel;
  bool passed = false;
  int64_t cases = 0;   // cases run to the end
  uint64_t seed = 0;
  std::string summary, reach;      // the lines the test printed
  std::string replay;              // RC_PARAMS of the minimal failing case, or ""
  std::map<std::string, double> maxima;  // the law's tallies ("O bits", "ratio", ...)
};

// Writes `result` into `dir` (which must exist) as <law>.<kernel>.json, atomically.
void write_law_result(const std::string& dir, const LawResult& result);

// Every <...>.json of `dir` that is a law result; a malformed one is an InputError naming the
// file and field; a file of another format is an error too (the directory is the run's).
std::vector<LawResult> read_law_results(const std::string& dir);

// Per kernel: laws held, failed, cases, worst bits of O and LSE, worst error / bound (the
// maxima "O bits", "LSE bits", "ratio" over its laws), and the laws it failed.
std::string render_law_summary(const std::vector<LawResult>& results);
OrderedJson law_summary_json(const std::vector<LawResult>& results);

}  // namespace attncheck::formats
