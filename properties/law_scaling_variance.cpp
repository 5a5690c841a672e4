// Law 3, scaling variance, observed through the LSE: a query with exactly one key has
// LSE = its score, so 2^16 one-key heads give 2^16 independent scores.
//   - With the default scale, the scaled score of i.i.d. N(0, 1) q and k has variance 1: the
//     mean of s^2 lies in 1 +- t (variance_interval.hpp), which also shows the default scale
//     is 1/sqrt(head_dim). value_dim differs from head_dim, so a scale taken from value_dim
//     fails.
//   - With scale 1 (a custom scale), the variance of q.k grows like head_dim: the mean of
//     (q.k)^2 / D lies in 1 +- t, for D from 1 to 64.
//   False failures: each case's interval holds with probability >= 1 - 1e-10, so a run of up
//   to 10,000 cases (the soak) fails falsely with probability <= 1e-6; the seed is fixed, so
//   a passing run passes every time. Rounding q and k to the storage dtype and the kernel's
//   f32 arithmetic move the mean by far less than 1e-3 relative (bf16 rounding: about
//   2^-16 / 3); the interval is widened by 1% for them.
//   - Row entropy never increases as the scale grows (dH/dT = Var_p(x) / T^3 >= 0 for
//     T = 1/scale): read through identity values, the entropy of a row at a larger scale is at
//     most the entropy at the smaller one plus the propagated a-priori bounds. No ALiBi: with a
//     bias the entropy need not be monotone in the scale.
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "attncheck/random_problem.hpp"
#include "attncheck/storage.hpp"
#include "generators.hpp"
#include "law_tools.hpp"
#include "laws.hpp"
#include "variance_interval.hpp"

namespace attncheck::properties {
namespace {

constexpr int64_t kSamples = int64_t{1} << 16;
constexpr int64_t kHeadsPerRun = int64_t{1} << 13;
constexpr double kCaseFalseFailure = 1e-10;
// A case is 2^16 samples (about a second); the soak runs 200 of them, 1.3e7 samples.
constexpr int kSoakVarianceCases = 200;
constexpr double kRoundingMargin = 0.01;
constexpr int64_t kHeadDims[] = {2, 1, 3, 5, 8, 16, 17, 33, 48, 64};

// Mean of LSE^2 / divisor over kSamples one-key heads with N(0, 1) q and k (rounded once to
// the dtype). The kernel is called directly on storage buffers: at 2^16 samples the harness's
// extra conversion passes would cost more than the kernel (the other laws use run_kernel,
// whose fences and NaN-filled outputs check every kernel on every shape).
double mean_square_score(const KernelInfo& kernel, int64_t head_dim, std::optional<double> scale,
                         uint64_t seed, double divisor) {
  AttentionSpec spec;
  spec.shape = AttentionShape{1, kHeadsPerRun, kHeadsPerRun, 1, 1, head_dim, head_dim};
  if (kernel.has(kValueDim)) spec.shape.value_dim = head_dim == 1 ? 2 : 1;
  spec.scale = scale;
  SplitMix64 rng(seed);
  StorageBuffer q(kernel.dtype, q_elements(spec.shape)), k(kernel.dtype, k_elements(spec.shape));
  const StorageBuffer v(kernel.dtype, v_elements(spec.shape));  // zeros
  StorageBuffer o(kernel.dtype, o_elements(spec.shape));
  std::vector<float> lse(lse_elements(spec.shape));
  double sum = 0;
  for (int64_t done = 0; done < kSamples; done += kHeadsPerRun) {
    for (size_t i = 0; i < q.size(); ++i) q.set(i, static_cast<float>(rng.normal()));
    for (size_t i = 0; i < k.size(); ++i) k.set(i, static_cast<float>(rng.normal()));
    std::fill(lse.begin(), lse.end(), std::numeric_limits<float>::quiet_NaN());
    kernel.forward(spec, AttentionInputs{q.data(), k.data(), v.data(), {}}, AttentionOutputs{o.data(), lse.data()},
                   KernelOptions{});
    for (float x : lse) sum += double(x) * x / divisor;
  }
  return sum / static_cast<double>(kSamples);
}

void check_variance(LawRun& run, bool raw) {
  const KernelInfo& kernel = run.kernel();
  const int64_t d = *rc::gen::elementOf(std::vector<int64_t>(std::begin(kHeadDims), std::end(kHeadDims)))
                         .as("head_dim");
  const uint64_t seed = *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("sample seed");
  // Raw: scale 1, so LSE = q.k and Var = D. Default: LSE = q.k / sqrt(D), Var = 1.
  const double mean = raw ? mean_square_score(kernel, d, 1.0, seed, static_cast<double>(d))
                          : mean_square_score(kernel, d, std::nullopt, seed, 1.0);
  const VarianceInterval interval = variance_interval(d, kSamples, kCaseFalseFailure);
  const double lo = (1 - interval.half_width) * (1 - kRoundingMargin);
  const double hi = (1 + interval.half_width) * (1 + kRoundingMargin);
  run.count("cases");
  run.note_max("|mean - 1| / t", std::fabs(mean - 1) / interval.half_width);
  if (!(mean >= lo && mean <= hi)) {
    char what[320];
    std::snprintf(what, sizeof what,
                  "%s: mean of %s over %lld samples at head_dim %lld is %.6g, outside [%.4g, %.4g] "
                  "(moment %d bound, false-failure probability %.0e)",
                  raw ? "Var(q.k) / D" : "Var(scale * q.k)", raw ? "(q.k)^2 / D" : "score^2",
                  static_cast<long long>(kSamples), static_cast<long long>(d), mean, lo, hi, interval.moment,
                  kCaseFalseFailure);
    // The witness: the first 4 of the same samples, small enough to trace.
    constexpr int64_t kShown = 4;
    AttentionSpec spec;
    spec.shape = AttentionShape{1, kShown, kShown, 1, 1, d, kernel.has(kValueDim) ? (d == 1 ? 2 : 1) : d};
    if (raw) spec.scale = 1.0;
    Problem p = make_zero_problem(spec, kernel.dtype);
    SplitMix64 rng(seed);
    for (int64_t i = 0; i < kHeadsPerRun * d; ++i) {
      const float x = static_cast<float>(rng.normal());
      if (i < kShown * d) p.q[i] = x;
    }
    for (float& x : p.k) x = static_cast<float>(rng.normal());
    round_inputs_to_dtype(p);
    run.fail(Witness{p, what, {0, 1}, false}, what);
  }
}

std::string variance_summary(const LawRun& run) {
  char line[200];
  std::snprintf(line, sizeof line, "%s: worst |mean - 1| / t = %.3g over %lld cases of %lld samples",
                run.kernel().name.c_str(), run.max_of("|mean - 1| / t"),
                static_cast<long long>(run.count_of("cases")), static_cast<long long>(kSamples));
  return line;
}

// -x ln x, with 0 at 0.
double entropy_term(double x) { return x > 0 ? -x * std::log(x) : 0.0; }

// Largest change of -x ln x when x moves from w anywhere in [w - b, w + b] (and x >= 0): the
// function is concave with its maximum at 1/e, so the extremes are the endpoints and 1/e.
double entropy_term_change(double w, double b) {
  const double lo = std::max(0.0, w - b), hi = w + b;
  const double f = entropy_term(w);
  double change = std::max(std::fabs(entropy_term(lo) - f), std::fabs(entropy_term(hi) - f));
  const double peak = 1.0 / M_E;
  if (lo < peak && peak < hi) change = std::max(change, entropy_term(peak) - f);
  return change;
}

struct RowEntropy {
  double entropy = 0;
  double tolerance = 0;
};

// Row `flat` of the kernel's result, whose oracle row and bounds are entry `n` of the rows checked.
RowEntropy row_entropy(const KernelResult& got, const oracle::OracleResult& exact, const oracle::ErrorBound& bound,
                       const AttentionShape& s, int64_t flat, int64_t n) {
  const auto weights = output_row(got, s, flat);
  const oracle::RowTrace& row = exact.rows[n];
  RowEntropy e;
  for (int64_t c = 0; c < s.value_dim; ++c) {
    if (!row.visible[c]) continue;
    e.entropy += entropy_term(std::max(0.0, double(weights[c])));
    e.tolerance += entropy_term_change(oracle::round_to_f64(row.weights[c]), bound.output[n * s.value_dim + c]);
  }
  return e;
}

void check_entropy(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  request.allowed.alibi = false;
  request.limits.weights_as_values = true;
  request.limits.max_long_kv_len = 5 * 64 + 1;  // kv_len^2 oracle work per row, as in WeightsSumToOne
  AttentionSpec spec = with_weight_outputs(draw_spec(request), kernel);
  // Two scales 2^(a/8) < 2^((a + b)/8).
  const int64_t a = *rc::gen::inRange<int64_t>(-24, 17).as("smaller scale, eighth-octaves");
  const int64_t b = *rc::gen::inRange<int64_t>(1, 25).as("scale step, eighth-octaves");
  // No large_logits or subnormals (the law's own choice, kept): the scale is swept here instead.
  // near_exp_overflow puts every row's max score near 88.7 at the drawn scale.
  Problem small = draw_problem(spec, kernel.dtype,
                               {ValueKind::normal, ValueKind::uniform, ValueKind::ties, ValueKind::outliers,
                                ValueKind::near_exp_overflow});
  set_identity_values(small);
  small.spec.scale = std::exp2(static_cast<double>(a) / 8);
  Problem large = small;
  large.spec.scale = std::exp2(static_cast<double>(a + b) / 8);
  const KernelResult got_small = run_kernel(kernel, small), got_large = run_kernel(kernel, large);
  // Every row of a short case, one sampled row of a long one (law_tools.hpp), the same in both.
  const std::vector<int64_t> rows = rows_to_check(small, 1);
  // Per key: the entropy's tolerance reads the exact weights.
  const oracle::OracleResult exact_small = oracle_rows(small, rows, true), exact_large = oracle_rows(large, rows, true);
  const oracle::ErrorBound bound_small = oracle::a_priori_bound(small, exact_small, kernel.error, kernel.dtype);
  const oracle::ErrorBound bound_large = oracle::a_priori_bound(large, exact_large, kernel.error, kernel.dtype);
  const AttentionShape& s = spec.shape;
  run.count("cases");
  for (size_t n = 0; n < rows.size(); ++n) {
    const int64_t row = rows[n];
    if (exact_small.rows[n].visible_count < 2) continue;
    const RowEntropy hs = row_entropy(got_small, exact_small, bound_small, s, row, static_cast<int64_t>(n));
    const RowEntropy hl = row_entropy(got_large, exact_large, bound_large, s, row, static_cast<int64_t>(n));
    const double slack = hs.tolerance + hl.tolerance + 1e-12;
    run.note_max("entropy rise / tolerance", (hl.entropy - hs.entropy) / slack);
    if (!(hl.entropy <= hs.entropy + slack)) {
      char what[320];
      std::snprintf(what, sizeof what,
                    "row %s: entropy %.9g at scale %.6g rose to %.9g at scale %.6g (tolerance %.3g)",
                    row_name(s, row).c_str(), hs.entropy, *small.spec.scale, hl.entropy, *large.spec.scale, slack);
      run.fail(Witness{large, std::string(what) + "; weights at the smaller scale " +
                                  format_values(output_row(got_small, s, row)) + ", at the larger " +
                                  format_values(output_row(got_large, s, row)),
                       {row}, false},
               what);
    }
  }
}

}  // namespace

std::vector<Law> scaling_variance_laws() {
  std::vector<Law> laws;
  {
    Law law;
    law.family = "ScalingVariance";
    law.name = "ScaledScoreVarianceStaysNearOneWithDefaultScale";
    law.statement =
        "with the default scale and i.i.d. N(0,1) q, k, the mean of score^2 over 2^16 one-key queries lies in "
        "1 +- t (false-failure probability <= 1e-10 per case)";
    law.cases = 4;
    law.reaches_tiles = false;  // one-key queries: 2^16 samples of a score, no tile to cross
    law.soak_cases = kSoakVarianceCases;
    law.applies = [](const KernelInfo& k) { return k.forward != nullptr && k.has(kLse); };
    law.check_case = [](LawRun& run) { check_variance(run, false); };
    law.summary = variance_summary;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "ScalingVariance";
    law.name = "RawScoreVarianceGrowsLikeHeadDim";
    law.statement =
        "with scale 1 and i.i.d. N(0,1) q, k, the mean of (q.k)^2 / head_dim over 2^16 one-key queries lies "
        "in 1 +- t (false-failure probability <= 1e-10 per case)";
    law.cases = 4;
    law.reaches_tiles = false;  // one-key queries, as above
    law.soak_cases = kSoakVarianceCases;
    law.applies = [](const KernelInfo& k) { return k.forward != nullptr && k.has(kLse) && k.has(kCustomScale); };
    law.check_case = [](LawRun& run) { check_variance(run, true); };
    law.summary = variance_summary;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "ScalingVariance";
    law.name = "RowEntropyNeverIncreasesAsScaleGrows";
    law.statement =
        "for scales c1 < c2 (no ALiBi) each row's weight entropy at c2 is at most its entropy at c1 plus the "
        "a-priori bounds propagated through -w ln w";
    law.cases = 40;
    law.applies = [](const KernelInfo& k) { return k.forward != nullptr && k.has(kCustomScale); };
    law.check_case = check_entropy;
    laws.push_back(law);
  }
  return laws;
}

}  // namespace attncheck::properties
