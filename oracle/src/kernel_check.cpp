#include "attncheck/oracle/kernel_check.hpp"

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace attncheck::oracle {

KernelCheck check_kernel(const KernelInfo& kernel, const Problem& problem, const OracleResult& exact,
                         const KernelResult& got) {
  const ErrorBound bound = a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  const std::vector<double> o_exact = outputs_f64(exact);
  const std::vector<double> lse_exact = lse_f64(exact);
  const AttentionShape& s = problem.spec.shape;
  KernelCheck c;
  c.checks_lse = kernel.has(kLse);
  c.rows_checked = static_cast<int64_t>(exact.rows.size());
  c.rows_total = lse_elements(s);
  // The kernel's values of the rows the oracle computed, in its order (all rows: the identity).
  std::vector<float> o, lse;
  o.reserve(exact.rows.size() * static_cast<size_t>(s.value_dim));
  c.rows.reserve(exact.rows.size());
  for (const RowTrace& row : exact.rows) {
    c.rows.push_back(flat_row(s, row.batch, row.head, row.query));
    const int64_t offset = o_offset(s, row.batch, row.head, row.query);
    if (offset + s.value_dim > static_cast<int64_t>(got.o.size())) throw std::invalid_argument("check_kernel: output too short");
    o.insert(o.end(), got.o.begin() + offset, got.o.begin() + offset + s.value_dim);
    if (c.checks_lse) lse.push_back(got.lse.at(static_cast<size_t>(lse_offset(s, row.batch, row.head, row.query))));
  }
  // The outputs a non-finite input reaches are not judged (docs/semantics.md); all others are.
  const NonFiniteReach reach = non_finite_reach(problem, exact);
  c.o_metrics = compare(o, o_exact, outputs_in(exact, kernel.dtype), kernel.dtype, -1, reach.output);
  c.o_bound = check_bound(o, o_exact, bound.output, reach.output);
  if (c.checks_lse) {
    c.lse_metrics = compare(lse, lse_exact, lse_f32(exact), DType::f32, -1, reach.lse);
    c.lse_bound = check_bound(lse, lse_exact, bound.lse, reach.lse);
  }
  return c;
}

std::string skip_reason(const KernelInfo& kernel, const Problem& problem, bool decode) {
  if (kernel.dtype != problem.dtype) {
    return "stores " + std::string(dtype_name(kernel.dtype)) + ", the problem is " +
           std::string(dtype_name(problem.dtype));
  }
  if (decode ? kernel.decode == nullptr : kernel.forward == nullptr) {
    return decode ? "no decode entry point" : "no forward entry point (decode only)";
  }
  // unsupported_feature() answers "forward" for a decode-only kernel before it looks at the
  // features; a decode run asks about the features alone.
  KernelInfo probe = kernel;
  if (probe.forward == nullptr) {
    probe.forward = [](const AttentionSpec&, const AttentionInputs&, const AttentionOutputs&, const KernelOptions&) {};
  }
  const std::string missing = unsupported_feature(probe, problem.spec);
  return missing.empty() ? "" : "does not support " + missing;
}

KernelRunCheck run_and_check(const KernelInfo& kernel, const Problem& problem, const OracleResult& exact, bool decode,
                             int64_t cache_capacity) {
  KernelRunCheck r;
  r.skipped = skip_reason(kernel, problem, decode);
  if (!r.ran()) return r;
  try {
    r.got = decode ? run_decode(kernel, problem, cache_capacity) : run_kernel(kernel, problem);
  } catch (const std::exception& e) {
    r.error = e.what();
    return r;
  } catch (...) {  // a kernel's own exception type: still this kernel's failure, not a crash
    r.error = "an exception that is not a std::exception";
    return r;
  }
  r.check = check_kernel(kernel, problem, exact, r.got);
  return r;
}

std::string format_kernel_check(const KernelCheck& c) {
  std::string out = "O " + format_metrics(c.o_metrics);
  if (c.checks_lse) out += "\n    LSE " + format_metrics(c.lse_metrics);
  char text[160];
  const double worst = std::max(c.o_bound.worst_ratio, c.checks_lse ? c.lse_bound.worst_ratio : 0.0);
  std::snprintf(text, sizeof text, "\n    a-priori bound: %s (worst error/bound %.3g)",
                c.passed() ? "within" : "EXCEEDED", worst);
  out += text;
  if (c.rows_checked < c.rows_total) {
    std::snprintf(text, sizeof text, ", checked %lld of %lld rows", static_cast<long long>(c.rows_checked),
                  static_cast<long long>(c.rows_total));
    out += text;
  }
  if (!c.o_bound.passed()) out += "\n    O   " + format_bound_check(c.o_bound);
  if (c.checks_lse && !c.lse_bound.passed()) out += "\n    LSE " + format_bound_check(c.lse_bound);
  return out;
}

}  // namespace attncheck::oracle
