#include "attncheck/oracle/kernel_check.hpp"

#include <cstdio>

namespace attncheck::oracle {

KernelCheck check_kernel(const KernelInfo& kernel, const Problem& problem, const OracleResult& exact,
                         const KernelResult& got) {
  const ErrorBound bound = a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  const std::vector<double> o_exact = outputs_f64(exact);
  const std::vector<double> lse_exact = lse_f64(exact);
  KernelCheck c;
  c.checks_lse = kernel.has(kLse);
  c.o_metrics = compare(got.o, o_exact, outputs_in(exact, kernel.dtype), kernel.dtype);
  c.o_bound = check_bound(got.o, o_exact, bound.output);
  if (c.checks_lse) {
    c.lse_metrics = compare(got.lse, lse_exact, lse_f32(exact), DType::f32);
    c.lse_bound = check_bound(got.lse, lse_exact, bound.lse);
  }
  return c;
}

std::string format_kernel_check(const KernelCheck& c) {
  std::string out = "O " + format_metrics(c.o_metrics);
  if (c.checks_lse) out += "\n    LSE " + format_metrics(c.lse_metrics);
  char text[160];
  const double worst = std::max(c.o_bound.worst_ratio, c.checks_lse ? c.lse_bound.worst_ratio : 0.0);
  std::snprintf(text, sizeof text, "\n    a-priori bound: %s (worst error/bound %.3g)",
                c.passed() ? "within" : "EXCEEDED", worst);
  out += text;
  if (!c.o_bound.passed()) out += "\n    O   " + format_bound_check(c.o_bound);
  if (c.checks_lse && !c.lse_bound.passed()) out += "\n    LSE " + format_bound_check(c.lse_bound);
  return out;
}

}  // namespace attncheck::oracle
