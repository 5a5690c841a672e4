#include "attncheck/oracle/gradient_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "attncheck/oracle/kernel_check.hpp"

namespace attncheck::oracle {
namespace {

struct ExactValues {
  std::vector<double> f64;
  std::vector<float> rounded;  // correctly rounded to the storage dtype
};

ExactValues exact_values(const std::vector<Real>& xs, DType dtype) {
  ExactValues v;
  v.f64.reserve(xs.size());
  v.rounded.reserve(xs.size());
  for (const Real& x : xs) {
    v.f64.push_back(round_to_f64(x));
    v.rounded.push_back(round_to_dtype(x, dtype));
  }
  return v;
}

}  // namespace

GradientCheck check_backward(const KernelInfo& kernel, const Problem& problem, const Gradients& exact,
                             const BackwardResult& got) {
  const AttentionShape& s = problem.spec.shape;
  if (static_cast<int64_t>(got.dq.size()) != q_elements(s) || static_cast<int64_t>(got.dk.size()) != k_elements(s) ||
      static_cast<int64_t>(got.dv.size()) != v_elements(s)) {
    throw std::invalid_argument("check_backward: dQ, dK or dV does not match the problem's shape");
  }
  const GradientBound bound = a_priori_gradient_bound(problem, exact, got, kernel.error, kernel.dtype);
  const GradientReach input_reach = non_finite_gradient_reach(problem);
  GradientReach reach = input_reach;
  // An element whose bound is not finite cannot be judged (the recomputed P of a logit near
  // 2^100, from an LSE rounded to f32, is off by e^(2^76)): it is left out like one a non-finite
  // input reaches, and counted unjudged, never passed.
  const auto unbounded = [](std::vector<uint8_t>& mask, const std::vector<double>& b) {
    for (size_t e = 0; e < b.size(); ++e) {
      if (std::isfinite(b[e])) continue;
      if (mask.empty()) mask.assign(b.size(), 0);
      mask[e] = 1;
    }
  };
  unbounded(reach.dq, bound.dq);
  unbounded(reach.dk, bound.dk);
  unbounded(reach.dv, bound.dv);
  GradientCheck c;
  const ExactValues dq = exact_values(exact.dq, kernel.dtype);
  const ExactValues dk = exact_values(exact.dk, kernel.dtype);
  const ExactValues dv = exact_values(exact.dv, kernel.dtype);
  c.dq_metrics = compare(got.dq, dq.f64, dq.rounded, kernel.dtype, -1, reach.dq);
  c.dk_metrics = compare(got.dk, dk.f64, dk.rounded, kernel.dtype, -1, reach.dk);
  c.dv_metrics = compare(got.dv, dv.f64, dv.rounded, kernel.dtype, -1, reach.dv);
  c.dq_bound = check_bound(got.dq, dq.f64, bound.dq, reach.dq);
  c.dk_bound = check_bound(got.dk, dk.f64, bound.dk, reach.dk);
  c.dv_bound = check_bound(got.dv, dv.f64, bound.dv, reach.dv);
  // A handed O or LSE that is not finite on a row that sees a key and reads only finite inputs:
  // the bound (which adds its error) is not finite there, so the row is counted and fails.
  for (const RowTrace& row : exact.forward.rows) {
    if (row.visible_count == 0) continue;
    const int64_t q0 = q_offset(s, row.batch, row.head, row.query);
    if (!input_reach.dq.empty() && input_reach.dq[q0] != 0) continue;
    const int64_t o0 = o_offset(s, row.batch, row.head, row.query);
    bool finite = std::isfinite(got.lse[lse_offset(s, row.batch, row.head, row.query)]);
    for (int64_t e = o0; e < o0 + s.value_dim; ++e) finite = finite && std::isfinite(got.o[e]);
    if (!finite) ++c.handed_nonfinite_rows;
  }
  return c;
}

std::string format_gradient_check(const GradientCheck& c) {
  std::string out;
  char text[200];
  const std::pair<const char*, const ErrorMetrics*> metrics[] = {
      {"dQ", &c.dq_metrics}, {"dK", &c.dk_metrics}, {"dV", &c.dv_metrics}};
  for (const auto& [name, m] : metrics) {
    std::snprintf(text, sizeof text, "%s max_ulp=%.6g norm_rel=%.3g | ", name, m->max_ulp, m->normwise_rel);
    out += text;
  }
  const double worst = std::max({c.dq_bound.worst_ratio, c.dk_bound.worst_ratio, c.dv_bound.worst_ratio});
  std::snprintf(text, sizeof text, "bound: %s (worst ratio %.3g)", c.passed() ? "pass" : "FAIL", worst);
  out += text;
  if (c.handed_nonfinite_rows > 0) {
    std::snprintf(text, sizeof text, "\n    %lld rows were handed a non-finite O or LSE",
                  static_cast<long long>(c.handed_nonfinite_rows));
    out += text;
  }
  const std::pair<const char*, const BoundCheck*> bounds[] = {
      {"dQ", &c.dq_bound}, {"dK", &c.dk_bound}, {"dV", &c.dv_bound}};
  for (const auto& [name, b] : bounds) {
    if (!b->passed()) out += "\n    " + std::string(name) + " " + format_bound_check(*b);
  }
  return out;
}

const char* forward_source_name(ForwardSource source) {
  return source == ForwardSource::oracle ? "oracle forward" : "own forward";
}

std::string backward_skip_reason(const KernelInfo& kernel, const Problem& problem, ForwardSource source) {
  if (kernel.backward == nullptr) return "no backward entry point";
  std::string reason = skip_reason(kernel, problem);
  if (!reason.empty()) return reason;
  if (source == ForwardSource::kernel && !kernel.has(kLse)) {
    return "writes no LSE (kLse), so its own forward cannot feed its backward";
  }
  return "";
}

BackwardRunCheck run_and_check_backward(const KernelInfo& kernel, const Problem& problem, const Gradients& exact,
                                        ForwardSource source, const KernelOptions& options) {
  if (!problem.has_d_out()) throw std::invalid_argument("run_and_check_backward: the problem has no upstream gradient (do)");
  if (exact.forward.rows.size() != static_cast<size_t>(lse_elements(problem.spec.shape))) {
    throw std::invalid_argument("run_and_check_backward: the exact gradients lack their intermediates (keep_intermediates)");
  }
  BackwardRunCheck r;
  r.skipped = backward_skip_reason(kernel, problem, source);
  if (!r.ran()) return r;
  try {
    if (source == ForwardSource::oracle) {
      // forward_for_backward's values, from the forward the exact gradients already hold.
      r.got = run_backward(kernel, problem, outputs_in(exact.forward, problem.dtype), lse_f32(exact.forward), options);
    } else {
      r.got = run_backward_own_forward(kernel, problem, options);
    }
  } catch (const std::exception& e) {
    r.error = e.what();
    return r;
  } catch (...) {  // a kernel's own exception type: still this kernel's failure, not a crash
    r.error = "an exception that is not a std::exception";
    return r;
  }
  r.check = check_backward(kernel, problem, exact, r.got);
  return r;
}

}  // namespace attncheck::oracle
