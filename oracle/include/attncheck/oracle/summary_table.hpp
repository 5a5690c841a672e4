// The table a kernel engineer scans first at the end of a run: per kernel, how many checks ran,
// passed, failed or were skipped, its worst error in ULPs and bits for O and LSE, and its worst
// error / a-priori bound. `attncheck trace` and `attncheck golden check` print it, and their
// --json results carry the same numbers (formats/results_json.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attncheck/oracle/kernel_check.hpp"

namespace attncheck::oracle {

struct KernelSummary {
  std::string kernel;
  int64_t checked = 0;    // runs whose result was judged against the oracle
  int64_t passed = 0;
  int64_t failed = 0;     // outside the bound, or threw
  int64_t threw = 0;      // of failed: the kernel threw
  int64_t unjudged = 0;   // ran, but every element read a non-finite input: not a check
  int64_t skipped = 0;
  std::map<std::string, int64_t> skip_reasons;
  double o_max_ulp = 0, o_bits = 0;
  double lse_max_ulp = 0, lse_bits = 0;
  bool has_lse = false;   // some check judged its LSE
  double worst_ratio = 0; // max |kernel - oracle| / bound over O and LSE
};

class SummaryTable {
 public:
  // A kernel the run selected: it gets a row even if nothing checks it, which the table shows
  // (and checked_nothing() reports).
  void declare(const std::string& kernel);
  void add_skipped(const std::string& kernel, const std::string& reason);
  void add_error(const std::string& kernel);
  void add_check(const std::string& kernel, const KernelCheck& check);
  // One run of run_and_check: skipped, threw, or checked.
  void add(const std::string& kernel, const KernelRunCheck& run);

  // In the order kernels were first declared or added.
  const std::vector<KernelSummary>& rows() const { return rows_; }
  // Kernels with no judged check: a run that selected them checked nothing of them.
  std::vector<std::string> checked_nothing() const;

  // A fixed-width text table, one line per kernel, headed by the column names.
  std::string render() const;

 private:
  KernelSummary& row(const std::string& kernel);
  std::vector<KernelSummary> rows_;
};

}  // namespace attncheck::oracle
