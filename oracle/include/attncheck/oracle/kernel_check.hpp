// A kernel's output against the oracle: error metrics and the a-priori bound, for O and LSE.
// Shared by the unit tests, the properties, the golden checks and the CLI.
#pragma once

#include <string>

#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/oracle/metrics.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/run.hpp"

namespace attncheck::oracle {

struct KernelCheck {
  ErrorMetrics o_metrics, lse_metrics;
  BoundCheck o_bound, lse_bound;
  bool checks_lse = false;  // the kernel declares kLse
  bool passed() const { return o_bound.passed() && (!checks_lse || lse_bound.passed()); }
};

// `exact` must hold every row of `problem` (with weights), as forward() returns by default.
KernelCheck check_kernel(const KernelInfo& kernel, const Problem& problem, const OracleResult& exact,
                         const KernelResult& got);

// "O max_ulp=... | LSE max_ulp=... | bound: pass (worst ratio 0.01)"
std::string format_kernel_check(const KernelCheck& check);

}  // namespace attncheck::oracle
