// Gradient law 6, accuracy against the oracle (issue 18), for dQ, dK and dV alike:
//   - every element within its a-priori bound (oracle::check_backward; docs/error-model.md,
//     "Backward bounds"), with O and LSE handed from the oracle (rounded) AND, for a kernel with
//     kLse, from its own forward: the pair a training step runs. The bound takes the handed
//     values' actual error into account, so one bound serves both sources;
//   - no worse than twice the dense backward of the same dtype, normwise per gradient:
//       |G_K - G*|_2 <= 2 |G_D - G*|_2 + |B_D|_2 / 2 + max(0, |B_K|_2 - |B_D|_2)
//     with G* the oracle's, B_D and B_K the a-priori bounds for dense's and the kernel's traits
//     (the floor is half of dense's bound, as the forward law's epsilon, plus what the kernel's
//     own declared traits add: a tiny floor where dense happens to be exact). O and LSE are the
//     oracle's, handed to both, so the comparison is of backward against backward.
// Every case draws q_len != kv_len, head_dim != value_dim and dO, in both regimes.
#include <rapidcheck.h>

#include <cmath>
#include <cstdio>

#include "attncheck/oracle/gradient_check.hpp"
#include "gradient_tools.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

// The query row holding the worst dQ element outside its bound, if any.
std::vector<int64_t> worst_rows(const oracle::GradientCheck& check, const AttentionShape& s) {
  if (check.dq_bound.worst_index >= 0 && !check.dq_bound.passed()) return {check.dq_bound.worst_index / s.head_dim};
  return {};
}

void check_bound_case(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const Problem problem = draw_gradient_problem(draw_gradient_spec(bounded_request(kernel), kernel), kernel.dtype,
                                     ATTNCHECK_BOUNDED_VALUE_KINDS);
  const oracle::Gradients exact = oracle::backward(problem, oracle::BackwardOptions{.keep_intermediates = true});
  run.count("cases");
  for (oracle::ForwardSource source : {oracle::ForwardSource::oracle, oracle::ForwardSource::kernel}) {
    if (source == oracle::ForwardSource::kernel && !kernel.has(kLse)) continue;
    const oracle::BackwardRunCheck r = oracle::run_and_check_backward(kernel, problem, exact, source);
    if (!r.skipped.empty()) continue;  // cannot happen for a drawn problem; nothing to judge
    if (!r.error.empty()) {
      run.fail(Witness{problem, r.error, {}, false, true}, "the backward threw: " + r.error);
    }
    const char* key = source == oracle::ForwardSource::oracle ? "ratio, oracle forward" : "ratio, own forward";
    run.note_max(key, std::max({r.check.dq_bound.worst_ratio, r.check.dk_bound.worst_ratio, r.check.dv_bound.worst_ratio}));
    run.note_max("dQ ulp", r.check.dq_metrics.max_ulp);
    run.note_max("dK ulp", r.check.dk_metrics.max_ulp);
    run.note_max("dV ulp", r.check.dv_metrics.max_ulp);
    if (!r.check.passed()) {
      const std::string what = std::string("with ") + oracle::forward_source_name(source) + ": " +
                               oracle::format_gradient_check(r.check);
      run.fail(Witness{problem, what, worst_rows(r.check, problem.spec.shape), false, true},
               "gradient error exceeds the a-priori bound " + what);
    }
  }
}

std::string bound_summary(const LawRun& run) {
  char line[300];
  std::snprintf(line, sizeof line,
                "%s gradient accuracy: max_ulp dQ %.4g dK %.4g dV %.4g; worst error/bound %.3g (oracle's O, LSE), "
                "%.3g (own forward) over %lld cases",
                run.kernel().name.c_str(), run.max_of("dQ ulp"), run.max_of("dK ulp"), run.max_of("dV ulp"),
                run.max_of("ratio, oracle forward"), run.max_of("ratio, own forward"),
                static_cast<long long>(run.count_of("cases")));
  std::string out = line;
  if (!run.kernel().has(kLse)) out += " (no LSE: oracle's forward only)";
  return out;
}

double norm2(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  return std::sqrt(s);
}
double error_norm(const std::vector<float>& got, const std::vector<double>& exact) {
  double s = 0;
  for (size_t e = 0; e < got.size(); ++e) {
    const double d = got[e] - exact[e];
    s += d * d;
  }
  return std::sqrt(s);  // NaN when an element is NaN: the comparison below fails on it
}

void check_dense_case(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const KernelInfo& dense = *dense_kernel(kernel.dtype);
  const Problem problem = draw_gradient_problem(draw_gradient_spec(bounded_request(kernel), kernel), kernel.dtype,
                                     ATTNCHECK_BOUNDED_VALUE_KINDS);
  const HandedForward forward = handed_forward(kernel, problem, ForwardSource::oracle);
  const BoundedGradients k = bounded_backward(kernel, problem, forward);
  const BackwardResult d = run_with(dense, problem, forward);
  const oracle::GradientBound bound_d =
      oracle::a_priori_gradient_bound(problem, k.exact, d, dense.error, dense.dtype);
  run.count("cases");
  const auto compare = [&](const char* name, const std::vector<float>& got, const std::vector<float>& ref,
                           const std::vector<oracle::Real>& exact_reals, const std::vector<double>& bk,
                           const std::vector<double>& bd) {
    const std::vector<double> exact = reals_f64(exact_reals);
    const double err_k = error_norm(got, exact), err_d = error_norm(ref, exact);
    const double nbk = norm2(bk), nbd = norm2(bd);
    const double allowance = 2 * err_d + nbd / 2 + std::max(0.0, nbk - nbd);
    const double ratio = residual_ratio(err_k, 0.0, allowance);
    run.note_max(std::string(name) + " error / allowance", ratio);
    if (!(ratio <= 1)) {
      char text[300];
      std::snprintf(text, sizeof text, "%s: |G_K - G*|_2 = %.4g, |G_dense - G*|_2 = %.4g, |G*|_2 = %.4g, |B_dense|_2 = %.4g, "
                    "|B_K|_2 = %.4g: error / allowance %.3g", name, err_k, err_d, norm2(exact), nbd, nbk, ratio);
      run.fail(Witness{problem, text, {}, false, true}, std::string("normwise error above twice dense's: ") + text);
    }
  };
  compare("dQ", k.got.dq, d.dq, k.exact.dq, k.bound.dq, bound_d.dq);
  compare("dK", k.got.dk, d.dk, k.exact.dk, k.bound.dk, bound_d.dk);
  compare("dV", k.got.dv, d.dv, k.exact.dv, k.bound.dv, bound_d.dv);
}

}  // namespace

std::vector<Law> gradient_accuracy_laws() {
  std::vector<Law> laws;
  {
    Law law;
    law.family = "GradientAccuracy";
    law.name = "GradientsWithinAPrioriBoundForOracleAndOwnForward";
    law.statement = "every element of dQ, dK and dV lies within its a-priori bound (docs/error-model.md, Backward "
                    "bounds), with O and LSE from the oracle and, with kLse, from the kernel's own forward";
    law.cases = 30;
    law.applies = has_backward;
    law.check_case = check_bound_case;
    law.summary = bound_summary;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "GradientAccuracy";
    law.name = "NormwiseErrorAtMostTwiceDensePlusFloor";
    law.statement = "per gradient |G_K - G*|_2 <= 2 |G_dense - G*|_2 + |B_dense|_2 / 2 + max(0, |B_K|_2 - |B_dense|_2), "
                    "with the oracle's O and LSE handed to both";
    law.cases = 30;
    law.applies = [](const KernelInfo& k) {
      return has_backward(k) && dense_kernel(k.dtype) != nullptr && !is_dense_reference(k);
    };
    law.check_case = check_dense_case;
    law.summary = [](const LawRun& run) {
      char line[200];
      std::snprintf(line, sizeof line, "%s vs dense: worst normwise error / allowance dQ %.3g, dK %.3g, dV %.3g",
                    run.kernel().name.c_str(), run.max_of("dQ error / allowance"), run.max_of("dK error / allowance"),
                    run.max_of("dV error / allowance"));
      return std::string(line);
    };
    laws.push_back(law);
  }
  return laws;
}

}  // namespace attncheck::properties
