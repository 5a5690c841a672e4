// The AVX-512 BF16 Q.K path of decode_bf16_dot (kernels/bf16_dot_scores.hpp): its scores
// against exact dot products, the subnormal flush docs/error-model.md (item 9) accounts for,
// and the kernel within its bound on shapes that take the path, where the bound without item 9
// must reject it and the bound with it must still reject a wrong output. Skipped on CPUs
// without AVX-512 BF16 (the kernel then widens like decode_bf16 and the rest of the suite
// covers it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "attncheck/half.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"
#include "kernels/bf16_dot_scores.hpp"

namespace attncheck {
namespace {

uint16_t bf16_bits(float bf16_value) {
  uint32_t bits;
  std::memcpy(&bits, &bf16_value, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);
}

std::vector<float> random_bf16_values(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(n);
  for (float& x : values) x = round_to_bf16(normal(rng));
  return values;
}

std::vector<uint16_t> bits_of(const std::vector<float>& values) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) bits[i] = bf16_bits(values[i]);
  return bits;
}

constexpr size_t kRows = 4;

TEST(Bf16DotScores, MatchTheExactDotWithinGammaDAndDoNotDependOnTheirNeighbours) {
  if (!kernels::cpu_has_bf16_dot()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  // 23 keys: a block of 16 (stored as whole score rows), a step of 4, a last partial step.
  const size_t dim = 96, keys = 23, wp = 24;
  const std::vector<float> q = random_bf16_values(kRows * dim, 1), k = random_bf16_values(keys * dim, 2);
  const std::vector<uint16_t> q_bits = bits_of(q), k_bits = bits_of(k);
  std::vector<float> s(kRows * wp, -1.0f);
  kernels::scores_bf16_dot4(q_bits.data(), dim, k_bits.data(), dim, keys, wp, s.data(), nullptr, 0);
  const double u = 0x1p-24;
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t j = 0; j < keys; ++j) {
      double exact = 0, magnitude = 0;
      for (size_t d = 0; d < dim; ++d) {
        exact += double(q[r * dim + d]) * double(k[j * dim + d]);
        magnitude += std::fabs(double(q[r * dim + d]) * double(k[j * dim + d]));
      }
      const double gamma = dim * u / (1 - dim * u);  // products exact, at most dim additions
      EXPECT_LE(std::fabs(double(s[r * wp + j]) - exact), gamma * magnitude) << "row " << r << " key " << j;
      // The same key alone (its step then repeats it four times) gives the same bits.
      std::vector<float> alone(kRows * wp, -1.0f);
      kernels::scores_bf16_dot4(q_bits.data(), dim, k_bits.data() + j * dim, dim, 1, wp, alone.data(), nullptr, 0);
      EXPECT_EQ(std::memcmp(&alone[r * wp], &s[r * wp + j], sizeof(float)), 0) << "row " << r << " key " << j;
    }
  }
}

// What item 9 of the error model is for: vdpbf16ps drops a subnormal input (here 2^-127
// times 2^127, a product of 1) and flushes a subnormal product (2^-70 times 2^-70), where the
// widening path keeps both.
TEST(Bf16DotScores, TreatSubnormalInputsAsZeroAndFlushSubnormalProducts) {
  if (!kernels::cpu_has_bf16_dot()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const size_t dim = 32, wp = 4;
  std::vector<float> q(kRows * dim, 0.0f), k(dim, 0.0f);
  k[0] = 0x1p127f;
  k[1] = 0x1p-70f;
  k[2] = 2.0f;
  q[0 * dim + 0] = 0x1p-127f;  // subnormal bf16
  q[1 * dim + 1] = 0x1p-70f;   // normal, but the product 2^-140 is subnormal in f32
  q[2 * dim + 2] = 1.5f;       // an ordinary product
  ASSERT_EQ(round_to_bf16(q[0]), q[0]);
  std::vector<float> s(kRows * wp, -1.0f);
  kernels::scores_bf16_dot4(bits_of(q).data(), dim, bits_of(k).data(), dim, 1, wp, s.data(), nullptr, 0);
  EXPECT_EQ(s[0 * wp], 0.0f) << "exact: 1";
  EXPECT_EQ(s[1 * wp], 0.0f) << "exact: 2^-140";
  EXPECT_EQ(s[2 * wp], 3.0f);
  EXPECT_EQ(s[3 * wp], 0.0f);
}

// A causal GQA problem with head_dim 64 (the dot path) and 300 keys (several tiles, a partial
// last one), whose queries hold a subnormal 2^-127 against keys of magnitude 2^127: the
// dropped products move every score by up to scale * 1. Item 9 covers that; the bound
// without it must reject the same output, or the path was not taken.
TEST(Bf16DotScores, DecodeBf16DotStaysWithinItsBoundAndNeedsItem9WhenInputsAreSubnormal) {
  if (!kernels::cpu_has_bf16_dot()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const KernelInfo* kernel = find_kernel("decode_bf16_dot");
  ASSERT_NE(kernel, nullptr);
  ASSERT_TRUE(kernel->error.dot_flushes_subnormals);
  AttentionSpec spec;
  spec.shape = AttentionShape{1, 4, 2, 3, 300, 64, 64};
  spec.causal = true;
  Problem problem = make_random_problem(spec, DType::bf16, 29);
  const AttentionShape& s = spec.shape;
  for (int64_t h = 0; h < s.q_heads; ++h) {
    for (int64_t i = 0; i < s.q_len; ++i) problem.q[q_offset(s, 0, h, i)] = 0x1p-127f;
  }
  for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
    for (int64_t j = 0; j < s.kv_len; ++j) problem.k[k_offset(s, 0, kvh, j)] = j % 3 == 0 ? 0x1p127f : -0x1p126f;
  }
  const oracle::OracleResult exact = oracle::forward(problem);
  const KernelResult got = run_kernel(*kernel, problem);
  const oracle::KernelCheck check = oracle::check_kernel(*kernel, problem, exact, got);
  EXPECT_TRUE(check.passed()) << oracle::format_kernel_check(check);

  KernelInfo without_item_9 = *kernel;
  without_item_9.error.dot_flushes_subnormals = false;
  const oracle::KernelCheck strict = oracle::check_kernel(without_item_9, problem, exact, got);
  EXPECT_FALSE(strict.passed()) << oracle::format_kernel_check(strict);

  // The widening kernel keeps the subnormal products and needs no such term.
  const KernelInfo* widening = find_kernel("decode_bf16");
  ASSERT_NE(widening, nullptr);
  const oracle::KernelCheck widened = oracle::check_kernel(*widening, problem, exact, run_kernel(*widening, problem));
  EXPECT_TRUE(widened.passed()) << oracle::format_kernel_check(widened);
}

// Item 9 is absolute and tiny away from the subnormal range: on ordinary values the bound with
// it still rejects an output element off by 2^-5 of itself (16 bf16 half-ulps).
TEST(Bf16DotScores, Item9LeavesTheBoundTightOnOrdinaryValues) {
  if (!kernels::cpu_has_bf16_dot()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const KernelInfo* kernel = find_kernel("decode_bf16_dot");
  ASSERT_NE(kernel, nullptr);
  AttentionSpec spec;
  spec.shape = AttentionShape{1, 4, 2, 3, 300, 64, 64};
  const Problem problem = make_random_problem(spec, DType::bf16, 31);
  const oracle::OracleResult exact = oracle::forward(problem);
  KernelResult got = run_kernel(*kernel, problem);
  ASSERT_TRUE(oracle::check_kernel(*kernel, problem, exact, got).passed());
  got.o[5] += 0x1p-5f * std::fabs(got.o[5]);
  const oracle::KernelCheck moved = oracle::check_kernel(*kernel, problem, exact, got);
  EXPECT_FALSE(moved.passed()) << oracle::format_kernel_check(moved);
}

}  // namespace
}  // namespace attncheck
