// What the gradient laws share (issue 18): which kernels they run, the shapes and upstream
// gradients they draw, the forward values they hand a backward kernel, and bitwise comparison
// and naming of gradient elements.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/oracle/gradient_check.hpp"
#include "attncheck/oracle/real.hpp"
#include "attncheck/problem.hpp"
#include "attncheck/run.hpp"
#include "generators.hpp"

namespace attncheck::properties {

// The kernel has a backward entry point (kBackward, set by registration; a mutant sets it).
bool has_backward(const KernelInfo& kernel);

// A spec for a gradient law from `request` (usually request_for(kernel) with smaller limits),
// with q_len != kv_len and, when the kernel declares kValueDim, head_dim != value_dim in every
// case: the alignment of causal masks, windows and ALiBi and the layouts of dQ/dK against dV
// depend on them, so no family may draw the square shape alone. A drawn q_len == kv_len becomes
// q_len - 1 (2 for 1); a drawn value_dim == head_dim becomes head_dim - 1 (2 for 1), so the
// long regime's kv_len stays on its tile edge and shrinking still moves toward 1.
AttentionSpec draw_gradient_spec(SpecRequest request, const KernelInfo& kernel);

// The value kinds of the laws that judge by the a-priori gradient bound: every kind but
// large_logits. A logit near 2^100 carries an f32 rounding error near 2^76, so P = exp(s - LSE)
// recomputed from an LSE not formed from those same rounded scores (the oracle's) is
// meaningless: the a-priori bound there is infinite, and a backward's NaN is no bug. (The bitwise
// laws draw every kind: bits do not need a bound.)
#define ATTNCHECK_BOUNDED_VALUE_KINDS                                                                        \
  { ValueKind::normal, ValueKind::uniform, ValueKind::ties, ValueKind::subnormals, ValueKind::outliers,      \
    ValueKind::near_exp_overflow }

// draw_problem() plus an upstream gradient dO: N(0, 1) rounded to the dtype
// (add_random_d_out) from a drawn seed.
// Every value kind by default, as draw_problem().
Problem draw_gradient_problem(const AttentionSpec& spec, DType dtype,
                              std::initializer_list<ValueKind> kinds = {ValueKind::normal, ValueKind::uniform,
                                                                        ValueKind::large_logits, ValueKind::ties,
                                                                        ValueKind::subnormals, ValueKind::outliers,
                                                                        ValueKind::near_exp_overflow});

// Where the O and LSE handed to the backward come from (oracle/gradient_check.hpp's names).
using oracle::ForwardSource;

// O (storage dtype values) and LSE (f32) to hand a backward: the kernel's own forward with
// default options when it declares kLse, else the oracle's, rounded
// (oracle::forward_for_backward). Bitwise laws hand the same values to every backward run they
// compare, so only the backward is on trial.
struct HandedForward {
  std::vector<float> o, lse;
  ForwardSource source = ForwardSource::oracle;
};
HandedForward handed_forward(const KernelInfo& kernel, const Problem& problem);
HandedForward handed_forward(const KernelInfo& kernel, const Problem& problem, ForwardSource source);

// The backward of `kernel` with the handed forward values.
BackwardResult run_with(const KernelInfo& kernel, const Problem& problem, const HandedForward& forward,
                        const KernelOptions& options = {});

// The oracle's gradients with their intermediates, the kernel's with the handed forward, and the
// kernel's a-priori per-element bound (oracle/gradient_check.hpp, docs/error-model.md,
// "Backward bounds"): the bound-based laws derive their tolerance from it.
struct BoundedGradients {
  oracle::Gradients exact;
  BackwardResult got;
  oracle::GradientBound bound;
};
BoundedGradients bounded_backward(const KernelInfo& kernel, const Problem& problem, const HandedForward& forward,
                                  const KernelOptions& options = {});

// gamma_n of a sum of n + 1 doubles in any order (Higham): n u / (1 - n u), u = 2^-53. The laws
// that sum a kernel's floats in double add gamma(n) times the sum of magnitudes for it.
double gamma_f64(int64_t n);

// |actual - expected| / tolerance: 0 when they are equal (infinities included), infinite for a
// NaN or any difference against a zero tolerance, and NaN for a NaN tolerance (so a law fails on
// it rather than passing a meaningless bound).
double residual_ratio(double actual, double expected, double tolerance);

// The shape limits of the laws that run the oracle's backward: it computes every row (dK and dV
// sum over all of them), so its work batch * q_heads * q_len * kv_len * (head_dim + value_dim)
// is bounded in both regimes; long cases keep few query rows and narrow heads.
SpecRequest bounded_request(const KernelInfo& kernel);

// Names of gradient elements: "dQ[b=0,h=1,i=2,d=3]", "dK[b=0,g=1,j=2,d=3]", "dV[...,c=3]".
std::string dq_name(const AttentionShape& s, int64_t index);
std::string dk_name(const AttentionShape& s, int64_t index);
std::string dv_name(const AttentionShape& s, int64_t index);

// The first element whose bits differ between two backward results (dQ, then dK, then dV),
// with what it was and became; empty `what` when all agree. `flat_row` is the query row of a
// differing dQ element (-1 for dK and dV).
struct GradientDifference {
  std::string what;
  int64_t flat_row = -1;
  bool empty() const { return what.empty(); }
};
GradientDifference first_gradient_difference(const BackwardResult& a, const BackwardResult& b,
                                             const AttentionShape& s);

// The oracle's values rounded to double (oracle::round_to_f64).
std::vector<double> reals_f64(const std::vector<oracle::Real>& values);

// Whether some value among Q, K, V and dO is not finite (the gradient bounds need finite inputs).
bool has_non_finite_input(const Problem& problem);

// Query rows that see no key, and keys (b, kv head, j) that no query row of their kv head sees.
std::vector<uint8_t> empty_rows(const Problem& problem);
std::vector<uint8_t> unseen_keys(const Problem& problem);  // [batch, kv_heads, kv_len]

}  // namespace attncheck::properties

namespace attncheck::properties {

// Law 9, the vanishing-gradient trap (law_vanishing_gradient.cpp), shared with the oracle's test
// (gradient_oracle_test.cpp): a source gives, for an experiment problem, |dS|^2 per query row.
using GradientSource = std::function<std::vector<double>(const Problem&)>;
struct VanishingMedians {
  std::vector<double> scaled, unscaled;  // per D in 16, 64, 256, 1024
};
VanishingMedians vanishing_gradient_medians(const GradientSource& source, DType dtype, bool value_dim, uint64_t seed);
// |dS|^2 per row of an experiment problem (one query row per head) read off dK.
std::vector<double> ds_norms_from_dk(const Problem& problem, const std::vector<float>& dk);
// Why the medians break the law, or "".
std::string judge_vanishing(const VanishingMedians& medians);
std::string format_vanishing(const VanishingMedians& medians);

}  // namespace attncheck::properties
