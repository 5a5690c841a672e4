// A kernel's output against the oracle: error metrics and the a-priori bound, for O and LSE.
// Shared by the unit tests, the properties, the golden checks and the CLI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/oracle/metrics.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/run.hpp"

namespace attncheck::oracle {

struct KernelCheck {
  ErrorMetrics o_metrics, lse_metrics;
  BoundCheck o_bound, lse_bound;
  bool checks_lse = false;  // the kernel declares kLse
  int64_t rows_checked = 0;  // the rows of `exact`: all of the problem's, or a sample
  int64_t rows_total = 0;    // the problem's rows
  // The flat rows (b * q_heads * q_len + h * q_len + i) checked, in the order of the metrics'
  // and bounds' element indices: element n of O is column n % value_dim of row rows[n / value_dim].
  std::vector<int64_t> rows;
  // Elements judged (O and, when checked, LSE): those no non-finite input reaches. A kernel
  // whose every element read one was run but not checked.
  int64_t judged() const {
    return o_metrics.count - o_metrics.unjudged + (checks_lse ? lse_metrics.count - lse_metrics.unjudged : 0);
  }
  bool passed() const { return o_bound.passed() && (!checks_lse || lse_bound.passed()); }
};

// `exact` holds the rows to check (forward() on `problem`, with or without intermediates): every
// row, or a sample (OracleOptions::rows), and then only those rows of `got` are compared.
KernelCheck check_kernel(const KernelInfo& kernel, const Problem& problem, const OracleResult& exact,
                         const KernelResult& got);

// Why `kernel` cannot run `problem` (through its decode entry point when `decode`), or "" when
// it can: another storage dtype, no such entry point, or a feature it does not declare.
std::string skip_reason(const KernelInfo& kernel, const Problem& problem, bool decode = false);

// One kernel run on one problem and checked against the oracle: skipped (and why), threw
// (and what), or run and checked. A kernel that throws, with its own error or through the
// harness's red-zone check, has failed; the caller goes on with the next kernel.
struct KernelRunCheck {
  std::string skipped;  // skip_reason(), or empty
  std::string error;    // the exception's message, or empty
  KernelResult got;
  KernelCheck check;
  bool ran() const { return skipped.empty(); }
  bool passed() const { return !ran() || (error.empty() && check.passed()); }
};

// Runs `kernel` on `problem` through run_kernel, or through run_decode with a cache of
// `cache_capacity` slots when `decode`, and checks the result against `exact` (as
// check_kernel()).
KernelRunCheck run_and_check(const KernelInfo& kernel, const Problem& problem, const OracleResult& exact,
                             bool decode = false, int64_t cache_capacity = 0);

// "O max_ulp=... | LSE max_ulp=... | bound: pass (worst ratio 0.01)", and which rows were
// checked when they were a sample ("checked 64 of 32768 rows").
std::string format_kernel_check(const KernelCheck& check);

}  // namespace attncheck::oracle
