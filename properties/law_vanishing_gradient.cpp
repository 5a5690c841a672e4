// Gradient law 9, the vanishing-gradient trap (issue 18; seed 000): for random Q and K with
// unit-variance entries, the softmax Jacobian J = diag(P) - P P^T of unscaled logits q.k falls
// toward zero as the head dimension D grows (their variance is D, so the softmax saturates onto
// one key), while with the scale 1/sqrt(D) the logits keep unit variance and the Jacobian's size
// stays in a band independent of D.
//
// What is measured: dS = P (dP - D) = J dP, the Jacobian applied to dP = V dO. With V ~ N(0, 1)
// and dO ~ N(0, 1/Dv) (Dv = 4 with kValueDim, else Dv = D; sqrt(Dv) is a power of two, so dO is
// exact), dP ~ N(0, 1) whatever D is. Per D in {16, 64, 256, 1024}: 128 rows (batch 8 x 16 heads,
// one query row each, 16 keys), the same Q, K, V, dO for both regimes; "unscaled" multiplies Q
// by sqrt(D) (a power of two: exact) under the default scale 1/sqrt(D), so it needs no custom
// scale. The kernel's dS is observable through dK: with one query row per head,
// dK_j = scale dS_j q, so dS_j = <dK_j, q> / (scale |q|^2) (computed in double). The statistic
// is the median over the rows of |dS|^2 (the mean is dominated by the few rows whose top two
// logits tie).
//
// The law, and its confidence: in 200 independent draws of this experiment (numpy, float64),
// the scaled medians lay in [0.039, 0.085] for every D (mean 0.058), and the unscaled medians
// at D = 16, 64, 256, 1024 in [0.011, 0.047], [4.6e-4, 9.8e-3], [3.1e-7, 2.6e-4],
// [2.1e-14, 3.7e-8]. So the law asks: scaled medians within [0.029, 0.116] (0.058 x [1/2, 2])
// at every D; unscaled medians fall by at least 2x from each D to 4 D and end below 1e-6. Every
// observed draw passes with a margin of at least 25%; the 0.5% and 99.5% quantiles lie well
// inside, so a correct kernel fails it with a probability far below 1% for a fresh seed, and the
// law's seed is fixed (seed_for), so every run checks the same experiment. Kernels with storage
// below f32 round Q, K, V, dO and dK: that moves a median by under 1% (bf16's 2^-8 per
// element, averaged over 16 keys), and an unscaled dS that underflows the dtype reads as 0,
// which is on the law's side. The oracle is held to the same law (gradient_oracle_test.cpp).
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/random_problem.hpp"
#include "gradient_tools.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {

namespace {

constexpr int64_t kDims[] = {16, 64, 256, 1024};
constexpr double kScaledLow = 0.029, kScaledHigh = 0.116, kUnscaledEnd = 1e-6, kUnscaledFall = 2.0;

// The experiment's problem for head dimension D: one query row per (batch, head), 16 keys.
Problem vanishing_problem(int64_t head_dim, bool value_dim, DType dtype, uint64_t seed, bool unscaled) {
  AttentionSpec spec;
  spec.shape = AttentionShape{.batch = 8, .q_heads = 16, .kv_heads = 16, .q_len = 1, .kv_len = 16,
                              .head_dim = head_dim, .value_dim = value_dim ? 4 : head_dim};
  Problem p = make_random_problem(spec, dtype, seed);
  add_random_d_out(p, seed ^ 0x5DEECE66Dull);
  const double dv_root = std::sqrt(static_cast<double>(spec.shape.value_dim));  // a power of two
  for (float& x : p.d_out) x = static_cast<float>(x / dv_root);
  if (unscaled) {
    const double root = std::sqrt(static_cast<double>(head_dim));  // a power of two
    for (float& x : p.q) x = static_cast<float>(x * root);
  }
  return p;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

VanishingMedians vanishing_gradient_medians(const GradientSource& source, DType dtype, bool value_dim, uint64_t seed) {
  VanishingMedians m;
  for (int64_t d : kDims) {
    for (bool unscaled : {false, true}) {
      const Problem p = vanishing_problem(d, value_dim, dtype, seed + static_cast<uint64_t>(d), unscaled);
      const std::vector<double> norms = source(p);
      (unscaled ? m.unscaled : m.scaled).push_back(median(norms));
    }
  }
  return m;
}

std::vector<double> ds_norms_from_dk(const Problem& p, const std::vector<float>& dk) {
  const AttentionShape& s = p.spec.shape;
  const double scale = effective_scale(p.spec);
  std::vector<double> norms;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const float* q = &p.q[q_offset(s, b, h, 0)];
      double qq = 0;
      for (int64_t d = 0; d < s.head_dim; ++d) qq += double(q[d]) * q[d];
      double sum = 0;
      for (int64_t j = 0; j < s.kv_len; ++j) {
        const float* g = &dk[k_offset(s, b, h, j)];
        double dot = 0;
        for (int64_t d = 0; d < s.head_dim; ++d) dot += double(g[d]) * q[d];
        const double ds = dot / (scale * qq);
        sum += ds * ds;
      }
      norms.push_back(sum);
    }
  }
  return norms;
}

std::string judge_vanishing(const VanishingMedians& m) {
  std::string why;
  char text[200];
  for (size_t n = 0; n < m.scaled.size(); ++n) {
    if (!(m.scaled[n] >= kScaledLow && m.scaled[n] <= kScaledHigh)) {
      std::snprintf(text, sizeof text, "scaled by 1/sqrt(D), D = %lld: median |dS|^2 = %.4g, outside [%.3g, %.3g]; ",
                    static_cast<long long>(kDims[n]), m.scaled[n], kScaledLow, kScaledHigh);
      why += text;
    }
  }
  for (size_t n = 1; n < m.unscaled.size(); ++n) {
    if (!(m.unscaled[n] * kUnscaledFall <= m.unscaled[n - 1])) {
      std::snprintf(text, sizeof text, "unscaled: median |dS|^2 %.4g at D = %lld does not fall %gx from %.4g at D = %lld; ",
                    m.unscaled[n], static_cast<long long>(kDims[n]), kUnscaledFall, m.unscaled[n - 1],
                    static_cast<long long>(kDims[n - 1]));
      why += text;
    }
  }
  if (!(m.unscaled.back() < kUnscaledEnd)) {
    std::snprintf(text, sizeof text, "unscaled: median |dS|^2 at D = 1024 is %.4g, not below %g; ", m.unscaled.back(),
                  kUnscaledEnd);
    why += text;
  }
  return why;
}

std::string format_vanishing(const VanishingMedians& m) {
  std::string out = "median |dS|^2 at D = 16, 64, 256, 1024: scaled";
  char text[64];
  for (double x : m.scaled) {
    std::snprintf(text, sizeof text, " %.3g", x);
    out += text;
  }
  out += "; unscaled";
  for (double x : m.unscaled) {
    std::snprintf(text, sizeof text, " %.3g", x);
    out += text;
  }
  return out;
}

namespace {

void check_vanishing(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  // The seed comes from the law's fixed seed (seed_for): every run checks the same experiment.
  const uint64_t seed = *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("experiment seed");
  const GradientSource source = [&kernel](const Problem& p) {
    return ds_norms_from_dk(p, run_with(kernel, p, handed_forward(kernel, p)).dk);
  };
  const VanishingMedians m = vanishing_gradient_medians(source, kernel.dtype, kernel.has(kValueDim), seed);
  run.count("cases");
  for (size_t n = 0; n < m.scaled.size(); ++n) {
    run.note_max("scaled median D=" + std::to_string(kDims[n]), m.scaled[n]);
    run.note_max("unscaled median D=" + std::to_string(kDims[n]), m.unscaled[n]);
  }
  const std::string why = judge_vanishing(m);
  if (!why.empty()) {
    const Problem p = vanishing_problem(kDims[0], kernel.has(kValueDim), kernel.dtype, seed + kDims[0], false);
    run.fail(Witness{p, why + format_vanishing(m), {0}, false, true}, why + "\n    " + format_vanishing(m));
  }
}

}  // namespace

std::vector<Law> vanishing_gradient_laws() {
  Law law;
  law.family = "VanishingGradient";
  law.name = "SoftmaxJacobianVanishesUnscaledAndStaysInBandScaled";
  law.statement = "median |dS|^2 = |J dP|^2 over 128 random unit-variance rows: with 1/sqrt(D) within [0.029, 0.116] "
                  "at D = 16, 64, 256, 1024; unscaled falling >= 2x per 4x D and below 1e-6 at D = 1024";
  law.cases = 1;  // one experiment of 8 x 128 rows; the seed is fixed
  law.soak_cases = 20;
  law.reaches_tiles = false;  // 16 keys by design: the statistic, not the tiles, is on trial
  law.applies = has_backward;
  law.check_case = check_vanishing;
  law.summary = [](const LawRun& run) {
    char line[300];
    std::snprintf(line, sizeof line, "%s: largest medians |dS|^2 scaled D=16 %.3g, D=1024 %.3g; unscaled D=16 %.3g, "
                  "D=1024 %.3g", run.kernel().name.c_str(), run.max_of("scaled median D=16"),
                  run.max_of("scaled median D=1024"), run.max_of("unscaled median D=16"),
                  run.max_of("unscaled median D=1024"));
    return std::string(line);
  };
  return {law};
}

}  // namespace attncheck::properties
