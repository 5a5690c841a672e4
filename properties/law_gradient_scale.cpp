// Gradient law 8, the scale survives backward (issue 18; seed 001: "the /sqrt(d_k) survives
// backward"): multiplying the scale by a power of two c (1/4, 1/2, 2 or 4) while dividing Q by c
// leaves the forward (O, LSE), dK and dV unchanged and multiplies dQ by c, bit for bit.
//
// Why bit for bit: the scores scale * c * (q / c) . k are the same floats, since dividing by a
// power of two is exact and commutes with every rounding of the dot product and the product
// with the scale while no value is subnormal or overflows. So P, dP, D and dS are the same
// floats; dK_j = (scale c) dS (q / c) rounds the same products; dV does not see Q; and
// dQ = (scale c) sum dS k is c times the old one. The preconditions are kept: values are drawn
// from the kinds whose intermediates stay normal (normal, uniform, ties, outliers: weights above
// e^-40), and a Q element that would be subnormal in the dtype, before or after the division,
// is set to 0. Only the stored dQ of a narrow dtype may be subnormal: there rounding to the
// subnormal grid (spacing sigma) does not commute with c. Where dQ or dQ' is subnormal, with x
// the f32 value before storage: |dQ' - c dQ| <= |dQ' - c x| + c |x - dQ|. The smaller of the two
// lies below the dtype's smallest normal N, so the larger below max(1, c) N, where a half ulp is
// at most max(1, c) sigma / 2; the smaller's half ulp is sigma / 2 (scaled by c when it is dQ,
// by 1 when it is dQ'; c <= 1 then). So |dQ' - c dQ| <= max(1, c) sigma is what is asserted
// there. Both runs state their scale, so the law needs a custom scale (kCustomScale).
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>

#include "gradient_tools.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

// The smallest positive subnormal of a dtype.
double subnormal_spacing(DType dtype) { return min_normal(dtype) * std::ldexp(1.0, 1 - significand_bits(dtype)); }

void check_scale(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  request.limits.max_long_work = int64_t{1} << 18;
  const AttentionSpec spec = draw_gradient_spec(request, kernel);
  Problem problem = draw_gradient_problem(
      spec, kernel.dtype, {ValueKind::normal, ValueKind::uniform, ValueKind::ties, ValueKind::outliers});
  const int exponent = *rc::gen::element(-2, -1, 1, 2).as("c = 2^n, n");
  const double c = std::ldexp(1.0, exponent);
  const double normal = min_normal(kernel.dtype);
  for (float& x : problem.q) {
    if (std::fabs(x) < normal || std::fabs(x / c) < normal) x = 0.0f;
  }
  // Both runs state their scale (a double): a kernel may compute the default 1/sqrt(D) by another
  // path than it converts a given scale, and the law compares scale with scale.
  problem.spec.scale = effective_scale(spec);
  Problem scaled = problem;
  scaled.spec.scale = effective_scale(spec) * c;
  for (float& x : scaled.q) x = static_cast<float>(x / c);
  const AttentionShape& s = spec.shape;
  run.count("cases");

  // The forward: unchanged, bit for bit.
  const KernelResult f1 = run_kernel(kernel, problem), f2 = run_kernel(kernel, scaled);
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    const auto a = output_row(f1, s, row), b = output_row(f2, s, row);
    bool same = !kernel.has(kLse) || same_bits(f1.lse[row], f2.lse[row]);
    for (int64_t col = 0; col < s.value_dim; ++col) same = same && same_bits(a[col], b[col]);
    if (!same) {
      const std::string what = "scale x " + format_values(std::span<const double>(&c, 1)) +
                               " with Q / c changed the forward: row " + row_name(s, row) + " O " + format_values(a) +
                               " became " + format_values(b);
      run.fail(Witness{scaled, what, {row}, false, true}, what);
    }
  }
  // The backward, with the same O and LSE handed to both (they are the same forward).
  const HandedForward forward = handed_forward(kernel, problem);
  BackwardResult g1 = run_with(kernel, problem, forward), g2 = run_with(kernel, scaled, forward);
  const double sigma = subnormal_spacing(kernel.dtype);
  for (size_t e = 0; e < g1.dq.size(); ++e) {
    const double want = c * g1.dq[e];  // exact: a float times a power of two, in double
    const double got = g2.dq[e];
    const bool subnormal = std::min(std::fabs(g1.dq[e]), std::fabs(g2.dq[e])) < normal;
    const bool ok = subnormal ? std::fabs(got - want) <= std::max(1.0, c) * sigma : got == want;
    if (!ok || std::isnan(got) != std::isnan(want)) {
      const std::string what = "scale x " + format_values(std::span<const double>(&c, 1)) + " with Q / c: " +
                               dq_name(s, static_cast<int64_t>(e)) + " " +
                               format_values(std::span<const float>(&g1.dq[e], 1)) + " x c should be " +
                               format_values(std::span<const double>(&want, 1)) + ", got " +
                               format_values(std::span<const float>(&g2.dq[e], 1));
      run.fail(Witness{scaled, what, {static_cast<int64_t>(e) / s.head_dim}, false, true}, what);
    }
  }
  g1.dq = g2.dq;  // dQ is judged above; dK and dV must keep every bit
  const GradientDifference diff = first_gradient_difference(g1, g2, s);
  if (!diff.empty()) {
    const std::string what =
        "scale x " + format_values(std::span<const double>(&c, 1)) + " with Q / c changed " + diff.what;
    run.fail(Witness{scaled, what, {}, false, true}, what);
  }
}

}  // namespace

std::vector<Law> gradient_scale_laws() {
  Law law;
  law.family = "GradientScale";
  law.name = "ScaleTimesPowerOfTwoWithQueryDividedMultipliesOnlyDqBitForBit";
  law.statement = "scale x c and Q / c (c = 1/4, 1/2, 2, 4) leave O, LSE, dK and dV bit-identical and make dQ "
                  "exactly c dQ (within max(1, c) sigma where dQ or dQ' is subnormal in the dtype)";
  law.cases = 40;
  law.applies = [](const KernelInfo& k) { return has_backward(k) && k.has(kCustomScale); };
  law.check_case = check_scale;
  return {law};
}

}  // namespace attncheck::properties
