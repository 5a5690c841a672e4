// check_backward (oracle/gradient_check.hpp): the dense reference backward inside the a-priori
// gradient bound for every dtype, both sources of O and LSE and every feature; and the bound
// rejecting deliberately wrong backward kernels (an exp 8 ULP worse than declared, a dropped
// tile-edge key, a dK without the scale, dV written to the wrong key).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "attncheck/oracle/gradient_check.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/storage.hpp"

namespace attncheck::oracle {
namespace {

struct Case {
  std::string name;
  AttentionSpec spec;
  std::vector<int32_t> valid_keys;  // replaces the random lengths when not empty
};

std::vector<Case> feature_cases() {
  std::vector<Case> cases;
  {  // grouped-query, causal with Lq < Lk, D != Dv, padding with an empty batch entry
    Case c{"gqa_causal_short_q_padding", {}, {7, 0}};
    c.spec.shape = AttentionShape{2, 4, 2, 3, 7, 5, 3};
    c.spec.causal = true;
    c.spec.has_valid_keys = true;
    cases.push_back(c);
  }
  {  // causal with Lq > Lk (the first four rows see no key), window, ALiBi, MQA, custom scale
    Case c{"mqa_causal_long_q_window_alibi_scale", {}, {}};
    c.spec.shape = AttentionShape{1, 4, 1, 9, 5, 8, 6};
    c.spec.causal = true;
    c.spec.window_left = 2;
    c.spec.has_alibi = true;
    c.spec.scale = 0.3;
    cases.push_back(c);
  }
  {  // per-head mask with padding (random lengths)
    Case c{"per_head_mask_padding", {}, {}};
    c.spec.shape = AttentionShape{2, 2, 2, 4, 6, 4, 4};
    c.spec.mask = MaskKind::per_head;
    c.spec.has_valid_keys = true;
    cases.push_back(c);
  }
  {  // shared mask, two-sided window, grouped-query
    Case c{"shared_mask_window_gqa", {}, {}};
    c.spec.shape = AttentionShape{1, 2, 1, 5, 8, 6, 2};
    c.spec.mask = MaskKind::shared;
    c.spec.window_left = 3;
    c.spec.window_right = 1;
    cases.push_back(c);
  }
  return cases;
}

// Long rows and wide heads: the bound's gamma(D + 3) and gamma(N) terms at realistic sizes.
std::vector<Case> large_cases() {
  std::vector<Case> cases;
  {
    Case c{"kv1000_d64", {}, {}};
    c.spec.shape = AttentionShape{1, 1, 1, 2, 1000, 64, 64};
    cases.push_back(c);
  }
  {
    Case c{"kv160_d128_causal", {}, {}};
    c.spec.shape = AttentionShape{1, 1, 1, 3, 160, 128, 128};
    c.spec.causal = true;
    cases.push_back(c);
  }
  {
    Case c{"kv64_d256_dv32", {}, {}};
    c.spec.shape = AttentionShape{1, 1, 1, 2, 64, 256, 32};
    cases.push_back(c);
  }
  return cases;
}

Problem make_case(const Case& c, DType dtype, uint64_t seed) {
  Problem p = make_random_problem(c.spec, dtype, seed);
  if (!c.valid_keys.empty()) p.valid_keys = c.valid_keys;
  add_random_d_out(p, seed + 100);
  return p;
}

Gradients exact_gradients(const Problem& p) {
  BackwardOptions options;
  options.keep_intermediates = true;
  return backward(p, options);
}

// |got - exact| / bound over the judged elements with a nonzero bound, pooled.
void collect_ratios(const Problem& p, const Gradients& exact, const BackwardResult& got, const KernelInfo& kernel,
                    std::vector<double>& ratios) {
  const GradientBound bound = a_priori_gradient_bound(p, exact, got, kernel.error, kernel.dtype);
  for (auto [g, x, b] : {std::tuple{&got.dq, &exact.dq, &bound.dq}, std::tuple{&got.dk, &exact.dk, &bound.dk},
                         std::tuple{&got.dv, &exact.dv, &bound.dv}}) {
    for (size_t e = 0; e < g->size(); ++e) {
      if ((*b)[e] > 0) ratios.push_back(std::fabs((*g)[e] - round_to_f64((*x)[e])) / (*b)[e]);
    }
  }
}

double quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0.0 : xs[static_cast<size_t>(q * static_cast<double>(xs.size() - 1))];
}

void expect_dense_passes(const std::vector<Case>& cases, const char* label) {
  for (const char* name : {"dense_f32", "dense_f16", "dense_bf16"}) {
    const KernelInfo& kernel = *find_kernel(name);
    std::vector<double> ratios;
    for (const Case& c : cases) {
      const Problem p = make_case(c, kernel.dtype, 7);
      const Gradients exact = exact_gradients(p);
      for (ForwardSource source : {ForwardSource::oracle, ForwardSource::kernel}) {
        const BackwardRunCheck r = run_and_check_backward(kernel, p, exact, source);
        ASSERT_TRUE(r.ran()) << r.skipped;
        ASSERT_TRUE(r.error.empty()) << r.error;
        EXPECT_TRUE(r.check.passed()) << name << " " << c.name << " (" << forward_source_name(source)
                                      << "): " << format_gradient_check(r.check);
        EXPECT_EQ(r.check.judged(), q_elements(p.spec.shape) + k_elements(p.spec.shape) + v_elements(p.spec.shape));
        collect_ratios(p, exact, r.got, kernel, ratios);
      }
    }
    const double worst = quantile(ratios, 1.0);
    std::printf("[ ratios   ] %s %s: error/bound over %zu elements: median %.3g, 99%% %.3g, worst %.3g\n", label,
                name, ratios.size(), quantile(ratios, 0.5), quantile(ratios, 0.99), worst);
    // The bound must not be vacuous: the worst element uses a visible share of it.
    EXPECT_GT(worst, 1e-3) << name;
  }
}

TEST(CheckBackward, DenseBackwardPassesOnEveryFeatureBothSources) { expect_dense_passes(feature_cases(), "features"); }

TEST(CheckBackward, DenseBackwardPassesOnLongRowsAndWideHeads) { expect_dense_passes(large_cases(), "large"); }

// Subnormal dS (dO of size 2^-132, queries times 8): the product scale * dS underflows by up to 2^-150 before it
// multiplies Q or K, an error the other factor magnifies (B8's sum_r |Q_rd| 2^-150 term; the
// dense kernel scales dS before dK and exceeded the bound without it).
TEST(CheckBackward, SubnormalDsUnderflowsBeforeItsProduct) {
  const KernelInfo& kernel = *find_kernel("dense_f32");
  double worst = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    AttentionSpec spec;
    spec.shape = AttentionShape{1, 2, 1, 6, 24, 16, 8};
    spec.causal = true;
    Problem p = make_random_problem(spec, DType::f32, seed);
    add_random_d_out(p, seed + 50);
    for (float& x : p.d_out) x = std::ldexp(x, -132);
    for (float& x : p.q) x *= 8;
    const Gradients exact = exact_gradients(p);
    const BackwardRunCheck r = run_and_check_backward(kernel, p, exact, ForwardSource::oracle);
    EXPECT_TRUE(r.check.passed()) << "seed " << seed << ": " << format_gradient_check(r.check);
    worst = std::max(worst, r.check.dk_bound.worst_ratio);
  }
  std::printf("[ ratios   ] subnormal dS: dK worst error/bound %.3g\n", worst);
}

TEST(CheckBackward, RequiresTheExactIntermediates) {
  const KernelInfo& kernel = *find_kernel("dense_f32");
  const Problem p = make_case(feature_cases()[0], DType::f32, 3);
  const Gradients bare = backward(p, BackwardOptions{});
  const ForwardValues fv = forward_for_backward(p);
  const BackwardResult got = run_backward(kernel, p, fv.o, fv.lse);
  EXPECT_THROW(check_backward(kernel, p, bare, got), std::invalid_argument);
  EXPECT_THROW(run_and_check_backward(kernel, p, bare, ForwardSource::oracle), std::invalid_argument);
}

TEST(CheckBackward, SkipsWithAReason) {
  const Problem p = make_case(feature_cases()[0], DType::f32, 3);
  const Gradients exact = exact_gradients(p);
  const KernelInfo& f16 = *find_kernel("dense_f16");
  EXPECT_NE(run_and_check_backward(f16, p, exact, ForwardSource::oracle).skipped.find("stores f16"), std::string::npos);
  KernelInfo no_backward = *find_kernel("dense_f32");
  no_backward.backward = nullptr;
  EXPECT_EQ(backward_skip_reason(no_backward, p, ForwardSource::oracle), "no backward entry point");
  KernelInfo no_causal = *find_kernel("dense_f32");
  no_causal.capabilities &= ~uint32_t{kCausal};
  EXPECT_NE(backward_skip_reason(no_causal, p, ForwardSource::oracle).find("causal"), std::string::npos);
  KernelInfo no_lse = *find_kernel("dense_f32");
  no_lse.capabilities &= ~uint32_t{kLse};
  EXPECT_EQ(backward_skip_reason(no_lse, p, ForwardSource::oracle), "");
  EXPECT_NE(backward_skip_reason(no_lse, p, ForwardSource::kernel).find("kLse"), std::string::npos);
}

// Non-finite inputs: a NaN in a visible key leaves unjudged exactly what it reaches, and the
// dense kernel passes on the rest; a NaN in dO of a row that sees no key reaches nothing.
TEST(CheckBackward, NonFiniteInputsLeaveWhatTheyReachUnjudged) {
  const KernelInfo& kernel = *find_kernel("dense_f32");
  Problem p = make_case(feature_cases()[0], DType::f32, 5);  // batch 1 sees no key
  const AttentionShape& s = p.spec.shape;
  p.k[k_offset(s, 0, 1, 0) + 2] = NAN;                      // key 0 of kv head 1: seen by every row
  p.d_out[o_offset(s, 1, 0, 0)] = NAN;                       // a row that sees no key
  const Gradients exact = exact_gradients(p);
  const BackwardRunCheck r = run_and_check_backward(kernel, p, exact, ForwardSource::oracle);
  EXPECT_TRUE(r.check.passed()) << format_gradient_check(r.check);
  const GradientReach reach = non_finite_gradient_reach(p);
  // Heads 2 and 3 share kv head 1: their dQ rows of batch 0 and the dK and dV of every key
  // they see (all of kv head 1's first q_len + 4 keys) are reached; nothing of kv head 0.
  EXPECT_EQ(r.check.dq_metrics.unjudged, 2 * s.q_len * s.head_dim);
  EXPECT_EQ(reach.dk[k_offset(s, 0, 0, 0)], 0);
  EXPECT_EQ(reach.dk[k_offset(s, 0, 1, 0)], 1);
  EXPECT_EQ(reach.dv[v_offset(s, 0, 1, 0)], 1);
  EXPECT_EQ(reach.dv[v_offset(s, 1, 1, 0)], 0);
  EXPECT_GT(r.check.judged(), 0);
}

// Logits near 2^100 (the large_logits value kind): the f32 rounding of the oracle's LSE moves
// exp's argument by about 2^76, so P recomputed from it is unbounded. The bound says +inf there,
// never NaN (0 * inf where the f64 weight underflowed), and the check leaves those elements
// unjudged instead of passing them.
TEST(CheckBackward, AnUnboundedRecomputedWeightIsUnjudgedNotPassed) {
  const KernelInfo& kernel = *find_kernel("dense_f32");
  AttentionSpec spec;
  spec.shape = AttentionShape{1, 1, 1, 2, 3, 2, 2};
  Problem p = make_random_problem(spec, DType::f32, 3);
  for (float& x : p.q) x *= 0x1p50f;
  for (float& x : p.k) x *= 0x1p50f;
  add_random_d_out(p, 4);
  const Gradients exact = exact_gradients(p);
  const ForwardValues fv = forward_for_backward(p);
  const BackwardResult got = run_backward(kernel, p, fv.o, fv.lse);
  const GradientBound bound = a_priori_gradient_bound(p, exact, got, kernel.error, kernel.dtype);
  int64_t infinite = 0;
  for (const auto* b : {&bound.dq, &bound.dk, &bound.dv}) {
    for (double x : *b) {
      EXPECT_FALSE(std::isnan(x));
      infinite += std::isinf(x) ? 1 : 0;
    }
  }
  EXPECT_GT(infinite, 0);
  const GradientCheck c = check_backward(kernel, p, exact, got);
  EXPECT_EQ(c.dq_metrics.unjudged + c.dk_metrics.unjudged + c.dv_metrics.unjudged, infinite);
  EXPECT_EQ(c.judged(), q_elements(spec.shape) + k_elements(spec.shape) + v_elements(spec.shape) - infinite);
}

// A forward that handed a NaN LSE to a row that sees a key fails the check whatever the
// gradients are: no bound holds.
TEST(CheckBackward, ANonFiniteHandedForwardFails) {
  const KernelInfo& kernel = *find_kernel("dense_f32");
  const Problem p = make_case(feature_cases()[0], DType::f32, 5);
  const Gradients exact = exact_gradients(p);
  ForwardValues fv = forward_for_backward(p);
  BackwardResult got = run_backward(kernel, p, fv.o, fv.lse);
  ASSERT_TRUE(check_backward(kernel, p, exact, got).passed());
  got.lse[0] = NAN;
  const GradientCheck c = check_backward(kernel, p, exact, got);
  EXPECT_FALSE(c.passed());
  EXPECT_EQ(c.handed_nonfinite_rows, 1);
}

// ---- Deliberately wrong backward kernels ---------------------------------------------------

// A plain f32 backward (the semantics' chain, one row at a time, keys in order) with one
// defect, selected by a global because a BackwardFn carries no state.
enum class Defect { none, exp_ulps, drop_tile_edge_key, dk_without_scale, dv_of_next_key };
Defect g_defect = Defect::none;
int g_exp_ulps = 0;         // exp_ulps: the exp is off by this many f32 ULPs (upwards)
int64_t g_dropped_key = 0;  // drop_tile_edge_key: this key is skipped in the first row that sees it

void defective_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                        const KernelOptions&) {
  const AttentionShape& s = spec.shape;
  const auto* q = static_cast<const float*>(in.q);
  const auto* k = static_cast<const float*>(in.k);
  const auto* v = static_cast<const float*>(in.v);
  const auto* o = static_cast<const float*>(in.o);
  const auto* d_out = static_cast<const float*>(in.d_out);
  auto* dq = static_cast<float*>(out.dq);
  auto* dk = static_cast<float*>(out.dk);
  auto* dv = static_cast<float*>(out.dv);
  std::fill(dq, dq + q_elements(s), 0.0f);
  std::fill(dk, dk + k_elements(s), 0.0f);
  std::fill(dv, dv + v_elements(s), 0.0f);
  const float scale = static_cast<float>(effective_scale(spec));
  bool dropped = false;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t g = kv_head_for(s, h);
      for (int64_t i = 0; i < s.q_len; ++i) {
        const float* qi = q + q_offset(s, b, h, i);
        const float* doi = d_out + o_offset(s, b, h, i);
        float delta = 0;
        for (int64_t c = 0; c < s.value_dim; ++c) delta += doi[c] * o[o_offset(s, b, h, i) + c];
        const float lse = in.lse[lse_offset(s, b, h, i)];
        for (int64_t j = 0; j < s.kv_len; ++j) {
          if (!key_visible(spec, in.visibility, b, h, i, j)) continue;
          if (g_defect == Defect::drop_tile_edge_key && j == g_dropped_key && !dropped) {
            dropped = true;
            continue;
          }
          const float* kj = k + k_offset(s, b, g, j);
          const float* vj = v + v_offset(s, b, g, j);
          float dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += qi[d] * kj[d];
          float score = scale * dot;
          if (spec.has_alibi) score += -in.visibility.alibi_slopes[h] * static_cast<float>(alibi_distance(s, i, j));
          float p = std::exp(score - lse);
          if (g_defect == Defect::exp_ulps) {
            for (int n = 0; n < g_exp_ulps; ++n) p = std::nextafter(p, INFINITY);
          }
          float dp = 0;
          const int64_t target = g_defect == Defect::dv_of_next_key && j + 1 < s.kv_len ? j + 1 : j;
          for (int64_t c = 0; c < s.value_dim; ++c) {
            dp += doi[c] * vj[c];
            dv[v_offset(s, b, g, target) + c] += p * doi[c];
          }
          const float ds = p * (dp - delta);
          const float dk_factor = g_defect == Defect::dk_without_scale ? ds : scale * ds;
          for (int64_t d = 0; d < s.head_dim; ++d) {
            dq[q_offset(s, b, h, i) + d] += scale * ds * kj[d];
            dk[k_offset(s, b, g, j) + d] += dk_factor * qi[d];
          }
        }
      }
    }
  }
}

KernelInfo defective_kernel() {
  KernelInfo kernel = *find_kernel("dense_f32");
  kernel.name = "defective_backward_f32";
  kernel.backward = &defective_backward;
  return kernel;  // declares exp_max_ulp = 1, as dense_f32
}

GradientCheck run_defective(const Problem& p, const Gradients& exact, Defect defect) {
  g_defect = defect;
  const BackwardRunCheck r = run_and_check_backward(defective_kernel(), p, exact, ForwardSource::oracle);
  g_defect = Defect::none;
  EXPECT_TRUE(r.error.empty()) << r.error;
  return r.check;
}

// An exp 8 ULP worse than the 1 ULP declared. The worst-case bound can see a few ULPs of P
// only where the other sources of P's error are small: a short row (3 keys) whose scores are
// computed almost exactly (head_dim 4, queries of size 2^-6), so that the recomputed score
// (B1), the handed LSE (B2) and the exp leave P about 4u of room, where 9 ULPs of P near 1/3
// are 13u. With head_dim 64 and unit-sized inputs gamma(D + 3) |q||k| alone is hundreds of u,
// and only the statistical accuracy law can see an exp that is a few ULPs off.
TEST(CheckBackward, RejectsAnExpEightUlpWorseThanDeclared) {
  AttentionSpec spec;
  spec.shape = AttentionShape{1, 1, 1, 1, 3, 4, 4};
  Problem p = make_random_problem(spec, DType::f32, 21);
  for (float& x : p.q) x = std::ldexp(x, -6);  // exact: a power of two
  add_random_d_out(p, 22);
  const Gradients exact = exact_gradients(p);
  g_exp_ulps = 1;  // within the declaration
  const GradientCheck within = run_defective(p, exact, Defect::exp_ulps);
  EXPECT_TRUE(within.passed()) << format_gradient_check(within);
  g_exp_ulps = 9;  // 8 worse than declared
  const GradientCheck worse = run_defective(p, exact, Defect::exp_ulps);
  EXPECT_FALSE(worse.passed()) << format_gradient_check(worse);
  EXPECT_FALSE(worse.dv_bound.passed());
  std::printf("[ defect   ] exp 1 ULP: worst ratio %.3g; exp 9 ULP: dV worst ratio %.3g\n",
              std::max({within.dq_bound.worst_ratio, within.dk_bound.worst_ratio, within.dv_bound.worst_ratio}),
              worse.dv_bound.worst_ratio);
}

// The other defects on a problem with every common feature and realistic head_dim.
Problem defect_problem() {
  AttentionSpec spec;
  spec.shape = AttentionShape{1, 4, 2, 6, 40, 32, 16};
  spec.causal = true;
  spec.has_alibi = true;
  Problem p = make_random_problem(spec, DType::f32, 31);
  add_random_d_out(p, 32);
  return p;
}

TEST(CheckBackward, RejectsWrongBackwardKernels) {
  const Problem p = defect_problem();
  const Gradients exact = exact_gradients(p);
  const GradientCheck correct = run_defective(p, exact, Defect::none);
  EXPECT_TRUE(correct.passed()) << format_gradient_check(correct);

  // Key 16, the first of a 16-key tile, dropped from the one row (b 0, h 0, i 0) that first sees it.
  g_dropped_key = 16;
  const GradientCheck dropped = run_defective(p, exact, Defect::drop_tile_edge_key);
  EXPECT_FALSE(dropped.passed()) << format_gradient_check(dropped);
  EXPECT_FALSE(dropped.dv_bound.passed());

  const GradientCheck no_scale = run_defective(p, exact, Defect::dk_without_scale);
  EXPECT_FALSE(no_scale.dk_bound.passed()) << format_gradient_check(no_scale);
  EXPECT_TRUE(no_scale.dq_bound.passed() && no_scale.dv_bound.passed()) << format_gradient_check(no_scale);

  const GradientCheck next_key = run_defective(p, exact, Defect::dv_of_next_key);
  EXPECT_FALSE(next_key.dv_bound.passed()) << format_gradient_check(next_key);
  EXPECT_TRUE(next_key.dq_bound.passed() && next_key.dk_bound.passed()) << format_gradient_check(next_key);

  std::printf("[ defect   ] dropped key: %s\n[ defect   ] dK without scale: %s\n[ defect   ] dV of next key: %s\n",
              format_gradient_check(dropped).c_str(), format_gradient_check(no_scale).c_str(),
              format_gradient_check(next_key).c_str());
}

// Random specs with every feature, in each dtype, some with values scaled down until products
// and results are subnormal (B8: the underflow terms are exact there, ratios up to 0.97 were
// seen in a 600-problem soak) or peaked softmaxes (queries times 6).
TEST(CheckBackward, DenseBackwardPassesOnRandomProblemsIncludingSubnormalGradients) {
  SplitMix64 rng(2024);
  double worst[3] = {0, 0, 0};
  for (int t = 0; t < 45; ++t) {
    AttentionSpec spec;
    const int64_t kvh = 1 + rng.below(2), group = 1 + rng.below(3);
    spec.shape = AttentionShape{1 + rng.below(2), kvh * group, kvh, 1 + rng.below(9), 1 + rng.below(40),
                                1 + rng.below(48), 1 + rng.below(20)};
    spec.causal = rng.below(2) != 0;
    if (rng.below(3) == 0) spec.window_left = rng.below(6);
    if (rng.below(4) == 0) spec.window_right = rng.below(4);
    spec.has_alibi = rng.below(3) == 0;
    spec.has_valid_keys = rng.below(3) == 0;
    const int64_t m = rng.below(4);
    spec.mask = m == 0 ? MaskKind::shared : m == 1 ? MaskKind::per_head : MaskKind::none;
    if (rng.below(3) == 0) spec.scale = rng.uniform(0.05, 3.0);
    const int d = t % 3;
    const DType dtype = d == 0 ? DType::f32 : d == 1 ? DType::f16 : DType::bf16;
    const KernelInfo& kernel = *find_kernel(d == 0 ? "dense_f32" : d == 1 ? "dense_f16" : "dense_bf16");
    Problem p = make_random_problem(spec, dtype, 1000 + t,
                                    rng.below(2) != 0 ? ValueDistribution::normal : ValueDistribution::uniform);
    add_random_d_out(p, 77 + t);
    const auto scale_by = [&](std::vector<float>& xs, int exponent) {
      for (float& x : xs) x = round_to_dtype(dtype, std::ldexp(x, exponent));
    };
    const int variant = (t / 3) % 6;
    if (dtype == DType::f16) {
      if (variant < 2) scale_by(p.v, -16);  // f16's subnormals start at 2^-14
    } else if (variant == 0) {
      scale_by(p.v, -135);
    } else if (variant == 1) {
      scale_by(p.d_out, -120);
    } else if (variant == 2) {
      scale_by(p.q, -70);
      scale_by(p.k, -65);
    } else if (variant == 3) {
      scale_by(p.d_out, -70);
      scale_by(p.v, -70);
    }
    if (variant == 4) for (float& x : p.q) x = round_to_dtype(dtype, x * 6.0f);
    const Gradients exact = exact_gradients(p);
    for (ForwardSource source : {ForwardSource::oracle, ForwardSource::kernel}) {
      const BackwardRunCheck r = run_and_check_backward(kernel, p, exact, source);
      ASSERT_TRUE(r.error.empty()) << r.error;
      EXPECT_TRUE(r.check.passed()) << "problem " << t << " " << kernel.name << " (" << forward_source_name(source)
                                    << "): " << format_gradient_check(r.check);
      worst[d] = std::max({worst[d], r.check.dq_bound.worst_ratio, r.check.dk_bound.worst_ratio,
                           r.check.dv_bound.worst_ratio});
    }
  }
  std::printf("[ ratios   ] random: worst error/bound f32 %.3g, f16 %.3g, bf16 %.3g\n", worst[0], worst[1], worst[2]);
}

}  // namespace
}  // namespace attncheck::oracle
