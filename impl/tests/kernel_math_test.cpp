// The optimized kernels' vector primitives, measured on every SIMD target this CPU runs:
// fast_exp's error in ULPs over its whole input range [-104, 0] (below -104 every exp rounds
// to 0), libm's expf over the same range (what the exact-exp kernels declare), and the
// rounding of weights to f16 / bf16 against the foundation's scalar rounding.
//
// Reference: exp in double (glibc, < 1 double ulp, i.e. ~2^-29 f32 ulp: enough to measure f32
// ULPs to 1e-8), confirmed by MPFR at 128 bits on the worst inputs and a random sample. The
// default run samples the input range densely (every 127th float, plus every float of the
// windows where exp underflows); ATTNCHECK_EXHAUSTIVE=1 sweeps every float in [-104, 0].
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "attncheck/half.hpp"
#include "attncheck/kernel_math.hpp"
#include "attncheck/oracle/real.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/simd_dispatch.hpp"

namespace attncheck {
namespace {

bool exhaustive() {
  const char* env = std::getenv("ATTNCHECK_EXHAUSTIVE");
  return env != nullptr && std::string(env) == "1";
}

// Spacing of f32 values at the magnitude of the exact value e > 0 (2^-149 among subnormals).
double f32_ulp_at(double e) {
  if (e < 0x1p-126) return 0x1p-149;
  int exponent = 0;
  std::frexp(e, &exponent);  // e = m * 2^exponent, m in [0.5, 1)
  return std::ldexp(1.0, exponent - 24);
}

double ulp_error(float computed, double exact) { return std::fabs(double(computed) - exact) / f32_ulp_at(exact); }

struct UlpStats {
  double max_ulp = 0;
  float worst_x = 0;
  double sum_ulp = 0;
  int64_t count = 0;
  void add(float x, double ulps) {
    if (ulps > max_ulp || count == 0) {
      max_ulp = ulps;
      worst_x = x;
    }
    sum_ulp += ulps;
    ++count;
  }
};

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

// The inputs: every `stride`-th float of [-104, -0] by bit pattern, plus every float of
// [-88, -87] (exp crosses into subnormals at -87.34), [-104, -103] (into zero at -103.97) and
// [-6, -5.5], where the exhaustive sweep found every target's worst case.
std::vector<float> exp_inputs(uint32_t stride) {
  std::vector<float> xs;
  const uint32_t first = 0x80000000u;                      // -0
  const uint32_t last = std::bit_cast<uint32_t>(-104.0f);  // bits grow with magnitude
  for (uint64_t b = first; b <= last; b += stride) xs.push_back(from_bits(static_cast<uint32_t>(b)));
  for (const auto& [hi, lo] : {std::pair{-87.0f, -88.0f}, std::pair{-103.0f, -104.0f}, std::pair{-5.5f, -6.0f}}) {
    for (uint32_t b = std::bit_cast<uint32_t>(hi); b <= std::bit_cast<uint32_t>(lo); ++b) xs.push_back(from_bits(b));
  }
  return xs;
}

UlpStats measure(const std::vector<float>& xs, void (*exp_fn)(const float*, float*, size_t)) {
  std::vector<float> ys(xs.size());
  exp_fn(xs.data(), ys.data(), xs.size());
  UlpStats stats;
  for (size_t i = 0; i < xs.size(); ++i) stats.add(xs[i], ulp_error(ys[i], std::exp(double(xs[i]))));
  return stats;
}

void libm_expf(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

// The same error with MPFR's exp as the reference.
double mpfr_ulp_error(float x, float computed) {
  oracle::PrecisionScope scope(128);
  const oracle::Real exact = boost::multiprecision::exp(oracle::Real(x));
  const double e = oracle::round_to_f64(exact);
  const oracle::Real diff = abs(oracle::Real(computed) - exact);
  return oracle::round_to_f64(diff) / f32_ulp_at(e);
}

TEST(FastExp, StaysWithinItsDeclaredUlpErrorOverMinus104ToZeroOnEveryTarget) {
  const std::vector<float> xs = exp_inputs(exhaustive() ? 1u : 127u);
  double worst = 0;
  for (const SimdTarget& target : runnable_simd_targets()) {
    ScopedSimdTarget scope(target);
    ASSERT_EQ(simd_target_name(), target.name);
    const UlpStats stats = measure(xs, &fast_exp);
    // The double reference is good to ~2^-29 ulp; MPFR confirms the worst case.
    const float y = fast_exp(stats.worst_x);
    const double confirmed = mpfr_ulp_error(stats.worst_x, y);
    std::printf("fast_exp[%s] over %lld inputs: max_ulp=%.4f at x=%.9g (MPFR: %.4f) mean_ulp=%.4f\n",
                target.name.c_str(), static_cast<long long>(stats.count), stats.max_ulp, stats.worst_x, confirmed,
                stats.sum_ulp / stats.count);
    EXPECT_NEAR(confirmed, stats.max_ulp, 1e-6);
    EXPECT_LE(stats.max_ulp, kFastExpMaxUlp) << target.name << " at x=" << stats.worst_x;
    worst = std::max(worst, stats.max_ulp);
  }
  // Two-sided: a declared bound far above the measured one would hide a regression.
  EXPECT_GE(worst, 0.8 * kFastExpMaxUlp) << "kFastExpMaxUlp is stale: measured worst " << worst;
}

TEST(FastExp, DoubleReferenceAgreesWithMpfrOnARandomSample) {
  SplitMix64 rng(2026);
  for (int i = 0; i < 2000; ++i) {
    const float x = static_cast<float>(rng.uniform(-104.0, 0.0));
    const float y = fast_exp(x);
    EXPECT_NEAR(ulp_error(y, std::exp(double(x))), mpfr_ulp_error(x, y), 1e-6) << "x=" << x;
  }
}

TEST(FastExp, MapsTheSoftmaxSpecialValuesExactly) {
  for (const SimdTarget& target : runnable_simd_targets()) {
    ScopedSimdTarget scope(target);
    const float neg_inf = -std::numeric_limits<float>::infinity();
    const float zero = fast_exp(neg_inf);
    EXPECT_EQ(zero, 0.0f) << target.name;
    EXPECT_FALSE(std::signbit(zero)) << target.name;
    EXPECT_EQ(fast_exp(0.0f), 1.0f) << target.name;  // the max term of every row is exactly 1
    EXPECT_EQ(fast_exp(-0.0f), 1.0f) << target.name;
    EXPECT_EQ(fast_exp(-104.5f), 0.0f) << target.name;
    EXPECT_EQ(fast_exp(-1e30f), 0.0f) << target.name;
    EXPECT_GT(fast_exp(-103.0f), 0.0f) << target.name;  // subnormal results are kept
    EXPECT_LT(fast_exp(-103.0f), 0x1p-126f) << target.name;
  }
}

TEST(LibmExpf, StaysWithinTheOneUlpTheExactExpKernelsDeclare) {
  const UlpStats stats = measure(exp_inputs(exhaustive() ? 1u : 127u), &libm_expf);
  std::printf("libm expf over %lld inputs: max_ulp=%.4f at x=%.9g mean_ulp=%.4f\n",
              static_cast<long long>(stats.count), stats.max_ulp, stats.worst_x, stats.sum_ulp / stats.count);
  EXPECT_LE(stats.max_ulp, 1.0);
}

// Every 509th float of [0, 1] and every 97th of [2^-26, 2^-13], where f16 turns subnormal and
// then rounds to zero, plus the ties at its boundaries.
std::vector<float> weight_inputs() {
  std::vector<float> xs;
  for (uint32_t b = 0; b <= std::bit_cast<uint32_t>(1.0f); b += 509) xs.push_back(from_bits(b));
  for (uint32_t b = std::bit_cast<uint32_t>(0x1p-26f); b <= std::bit_cast<uint32_t>(0x1p-13f); b += 97) {
    xs.push_back(from_bits(b));
  }
  xs.push_back(1.0f);
  xs.push_back(0x1p-14f);
  xs.push_back(0x1p-25f);  // ties between 0 and the smallest f16 subnormal
  xs.push_back(0x1.8p-24f);
  return xs;
}

TEST(RoundWeightsToStorage, MatchesScalarRoundToNearestEvenOnEveryTarget) {
  const std::vector<float> xs = weight_inputs();
  std::vector<float> ys(xs.size());
  for (const SimdTarget& target : runnable_simd_targets()) {
    ScopedSimdTarget scope(target);
    for (DType dtype : {DType::f16, DType::bf16}) {
      round_weights_to_storage(dtype, xs.data(), ys.data(), xs.size());
      int64_t mismatches = 0;
      for (size_t i = 0; i < xs.size(); ++i) {
        const float want = dtype == DType::f16 ? round_to_f16(xs[i]) : round_to_bf16(xs[i]);
        if (std::bit_cast<uint32_t>(ys[i]) != std::bit_cast<uint32_t>(want)) {
          if (++mismatches <= 10) {
            ADD_FAILURE() << target.name << " " << dtype_name(dtype) << " x=" << xs[i] << " got " << ys[i]
                          << " want " << want;
          }
        }
      }
      std::printf("round_weights[%s,%s] over %zu inputs: %lld mismatches\n", target.name.c_str(),
                  std::string(dtype_name(dtype)).c_str(), xs.size(), static_cast<long long>(mismatches));
      EXPECT_EQ(mismatches, 0);
    }
  }
}

}  // namespace
}  // namespace attncheck
