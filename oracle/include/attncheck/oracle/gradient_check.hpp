// A backward kernel's gradients against the oracle's: error metrics and a-priori per-element
// bounds for dQ, dK and dV, as kernel_check.hpp and error_bound.hpp are for O and LSE.
// docs/error-model.md, "Backward bounds", derives the bound term by term (Higham's gamma_n
// analysis, like the forward's); the bound holds for any reduction order and for whatever O and
// LSE the kernel was handed (the oracle's, rounded, or its own forward's), because the actual
// difference of the handed values from the exact ones enters it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/oracle/backward.hpp"
#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/oracle/metrics.hpp"
#include "attncheck/problem.hpp"
#include "attncheck/run.hpp"

namespace attncheck::oracle {

// Per element of dQ, dK, dV (laid out as Q, K, V): the largest error a kernel with `traits`
// storing `dtype` may make.
struct GradientBound {
  std::vector<double> dq, dk, dv;
};

// `exact` must come from backward() on `problem` with keep_intermediates (the bound needs the
// weights, dP, dS and D of every row; std::invalid_argument otherwise). `handed` supplies the O
// and LSE the kernel was handed (its dq, dk, dv are not read). Elements a non-finite input
// reaches (non_finite_gradient_reach) get a bound that is meaningless (NaN or infinite); an
// element whose recomputed P is unbounded (an argument error that overflows) gets +inf, never NaN.
GradientBound a_priori_gradient_bound(const Problem& problem, const Gradients& exact, const BackwardResult& handed,
                                      const ErrorTraits& traits, DType dtype);

// The gradient elements a non-finite value in Q, K, V or dO reaches (docs/semantics.md,
// "Non-finite inputs", applied to the backward chain): a row whose query, a visible key, a
// visible value or its dO holds one has every dS (through P, dP or D = dO.O) and so its dQ and
// the dK of every key it sees reached; its dV reaches column c of every visible key's dV when
// dO[c] is non-finite, and every column when the scores are. A row that sees no key reads
// nothing. Empty vectors when every input is finite; else as long as dQ, dK, dV.
struct GradientReach {
  std::vector<uint8_t> dq, dk, dv;
};
GradientReach non_finite_gradient_reach(const Problem& problem);

struct GradientCheck {
  ErrorMetrics dq_metrics, dk_metrics, dv_metrics;
  BoundCheck dq_bound, dk_bound, dv_bound;
  // Rows that see a key and that no non-finite input reaches, whose handed O or LSE is not
  // finite (a broken forward fed the backward): no bound holds, and the check fails.
  int64_t handed_nonfinite_rows = 0;
  int64_t judged() const {
    return dq_metrics.count - dq_metrics.unjudged + dk_metrics.count - dk_metrics.unjudged + dv_metrics.count -
           dv_metrics.unjudged;
  }
  bool passed() const {
    return handed_nonfinite_rows == 0 && dq_bound.passed() && dk_bound.passed() && dv_bound.passed();
  }
};

// `exact`: backward() on `problem` with keep_intermediates = true (std::invalid_argument
// otherwise); `got`: what run_backward returned (its o and lse are the values it was handed).
// Elements a non-finite input reaches, and elements whose bound is infinite (logits near 2^100:
// P recomputed from an LSE rounded to f32 is unbounded there), are counted unjudged, never
// passed; judged() says how many were held to a finite bound.
GradientCheck check_backward(const KernelInfo& kernel, const Problem& problem, const Gradients& exact,
                             const BackwardResult& got);

// "dQ max_ulp=... norm_rel=... | dK ... | dV ... | bound: pass (worst ratio 0.012)", and the
// worst element of each gradient outside its bound.
std::string format_gradient_check(const GradientCheck& check);

// Where the O and LSE handed to the backward come from: the oracle's (exact.forward, rounded
// to the storage dtype and f32: forward_for_backward's values) or the kernel's own forward.
enum class ForwardSource { oracle, kernel };
const char* forward_source_name(ForwardSource source);

// Why `kernel` cannot run `problem`'s backward from `source`, or "" when it can: no backward
// entry point, another storage dtype, a feature it does not declare, or (kernel source) no kLse.
std::string backward_skip_reason(const KernelInfo& kernel, const Problem& problem, ForwardSource source);

// One backward run on one problem and checked: skipped (and why), threw (and what), or run and
// checked. As run_and_check (kernel_check.hpp), a kernel that throws has failed.
struct BackwardRunCheck {
  std::string skipped;
  std::string error;
  BackwardResult got;
  GradientCheck check;
  bool ran() const { return skipped.empty(); }
  bool passed() const { return !ran() || (error.empty() && check.passed()); }
};

// `exact`: backward() on `problem` with keep_intermediates. Throws std::invalid_argument when
// the problem has no d_out or `exact` lacks its intermediates (a caller's mistake, not the
// kernel's).
BackwardRunCheck run_and_check_backward(const KernelInfo& kernel, const Problem& problem, const Gradients& exact,
                                        ForwardSource source, const KernelOptions& options = {});

}  // namespace attncheck::oracle
