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
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attncheck/half.hpp"
#include "attncheck/kernel_math.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/oracle/exp_accuracy.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/simd_dispatch.hpp"

namespace attncheck {
namespace {

bool exhaustive() {
  const char* env = std::getenv("ATTNCHECK_EXHAUSTIVE");
  return env != nullptr && std::string(env) == "1";
}

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

uint32_t sweep_stride() { return exhaustive() ? 1u : 127u; }

TEST(FastExp, StaysWithinItsDeclaredUlpErrorOverMinus104ToZeroOnEveryTarget) {
  double worst = 0;
  for (const SimdTarget& target : runnable_simd_targets()) {
    ScopedSimdTarget scope(target);
    ASSERT_EQ(simd_target_name(), target.name);
    const oracle::ExpAccuracy a = oracle::measure_exp_accuracy(&fast_exp, sweep_stride());
    std::printf("fast_exp[%s] over %lld inputs: max_ulp=%.4f at x=%.9g (double reference: %.4f) mean_ulp=%.4f\n",
                target.name.c_str(), static_cast<long long>(a.inputs), a.max_ulp, a.worst_x, a.max_ulp_double,
                a.mean_ulp);
    // The double reference is good to ~2^-29 ulp; MPFR confirms the worst case.
    EXPECT_NEAR(a.max_ulp, a.max_ulp_double, 1e-6);
    EXPECT_LE(a.max_ulp, kFastExpMaxUlp) << target.name << " at x=" << a.worst_x;
    worst = std::max(worst, a.max_ulp);
  }
  // Two-sided: a declared bound far above the measured one would hide a regression.
  EXPECT_GE(worst, 0.8 * kFastExpMaxUlp) << "kFastExpMaxUlp is stale: measured worst " << worst;
}

TEST(FastExp, DoubleReferenceAgreesWithMpfrOnARandomSample) {
  SplitMix64 rng(2026);
  for (int i = 0; i < 2000; ++i) {
    const float x = static_cast<float>(rng.uniform(-104.0, 0.0));
    const float y = fast_exp(x);
    EXPECT_NEAR(oracle::f32_ulp_error(y, std::exp(double(x))), oracle::mpfr_exp_ulp_error(x, y), 1e-6) << "x=" << x;
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
  const oracle::ExpAccuracy a = oracle::measure_exp_accuracy(&libm_exp, sweep_stride());
  std::printf("libm expf over %lld inputs: max_ulp=%.4f at x=%.9g mean_ulp=%.4f\n", static_cast<long long>(a.inputs),
              a.max_ulp, a.worst_x, a.mean_ulp);
  EXPECT_LE(a.max_ulp, 1.0);
}

// Every selected kernel that exposes its exp (KernelInfo::exp) is held to the exp_max_ulp it
// declares: a declaration below the truth would make its bound too tight, one far above would
// make the bound too loose to catch a few ULPs of damage. Kernels that share an exp are
// measured once.
TEST(DeclaredExpAccuracy, EverySelectedKernelsExpIsWithinItsDeclaredUlp) {
  std::map<ExpFn, oracle::ExpAccuracy> measured;
  int checked = 0;
  for (const KernelInfo* k : selected_kernels()) {
    if (k->exp == nullptr) {
      std::printf("%s: exp not exposed (KernelInfo::exp), not measured\n", k->name.c_str());
      continue;
    }
    auto it = measured.find(k->exp);
    if (it == measured.end()) it = measured.emplace(k->exp, oracle::measure_exp_accuracy(k->exp, sweep_stride())).first;
    const oracle::ExpAccuracy& a = it->second;
    std::printf("%s: exp max_ulp=%.4f at x=%.9g, declared %g\n", k->name.c_str(), a.max_ulp, a.worst_x,
                k->error.exp_max_ulp);
    EXPECT_LE(a.max_ulp, k->error.exp_max_ulp) << k->name << " declares exp_max_ulp = " << k->error.exp_max_ulp
                                               << " but its exp is " << a.max_ulp << " ULP wrong at x = " << a.worst_x;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no selected kernel exposes its exp";
}

// The measurement has teeth: an exp 8 ULPs wrong at one input is reported at that input.
void exp_off_by_8_ulp_at_minus_one(const float* x, float* y, size_t n) {
  libm_exp(x, y, n);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] == -1.0f) y[i] = std::bit_cast<float>(std::bit_cast<uint32_t>(y[i]) + 8);
  }
}

TEST(DeclaredExpAccuracy, TheMeasurementFindsAnExpEightUlpWrongAtOneInput) {
  const oracle::ExpAccuracy a = oracle::measure_exp_accuracy(&exp_off_by_8_ulp_at_minus_one, 1u << 20);
  EXPECT_GT(a.max_ulp, 7.0);
  EXPECT_EQ(a.worst_x, -1.0f);
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
