// The dense kernels against the oracle, on every feature of the semantics: each element of O
// and LSE must lie within the a-priori bound of docs/error-model.md. Each case prints its
// identity and the kernel's error metrics, pass or fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"
#include "attncheck/storage.hpp"

namespace attncheck {
namespace {

struct Case {
  std::string name;
  AttentionSpec spec;
};

AttentionSpec shape_only(AttentionShape shape) {
  AttentionSpec spec;
  spec.shape = shape;
  return spec;
}

// One case per feature, each with q_len != kv_len (alignment matters for causal, window and
// ALiBi) and, where it costs nothing, head_dim != value_dim.
std::vector<Case> feature_cases() {
  std::vector<Case> cases;
  cases.push_back({"mha", shape_only({1, 2, 2, 5, 7, 16, 16})});
  cases.push_back({"gqa", shape_only({2, 8, 2, 3, 9, 8, 12})});
  cases.push_back({"mqa", shape_only({1, 4, 1, 4, 6, 8, 8})});
  {
    Case c{"causal_lq_lt_lk", shape_only({1, 2, 1, 3, 11, 16, 8})};
    c.spec.causal = true;
    cases.push_back(c);
  }
  {  // q_len > kv_len: the first rows see no key at all
    Case c{"causal_lq_gt_lk_fully_masked_rows", shape_only({1, 2, 2, 7, 4, 8, 8})};
    c.spec.causal = true;
    cases.push_back(c);
  }
  {
    Case c{"padding", shape_only({4, 2, 1, 3, 9, 8, 8})};
    c.spec.has_valid_keys = true;
    cases.push_back(c);
  }
  {
    Case c{"window", shape_only({1, 2, 2, 6, 13, 8, 8})};
    c.spec.window_left = 3;
    c.spec.window_right = 2;
    cases.push_back(c);
  }
  {
    Case c{"causal_window", shape_only({1, 1, 1, 9, 9, 8, 8})};
    c.spec.causal = true;
    c.spec.window_left = 2;
    cases.push_back(c);
  }
  {
    Case c{"mask_shared", shape_only({2, 4, 2, 5, 6, 8, 8})};
    c.spec.mask = MaskKind::shared;
    cases.push_back(c);
  }
  {
    Case c{"mask_per_head", shape_only({1, 4, 4, 5, 6, 8, 4})};
    c.spec.mask = MaskKind::per_head;
    cases.push_back(c);
  }
  {
    Case c{"alibi_causal", shape_only({1, 4, 2, 4, 10, 8, 8})};
    c.spec.causal = true;
    c.spec.has_alibi = true;
    cases.push_back(c);
  }
  {
    Case c{"alibi_bidirectional", shape_only({1, 2, 2, 4, 10, 8, 8})};
    c.spec.has_alibi = true;
    cases.push_back(c);
  }
  {
    Case c{"custom_scale", shape_only({1, 1, 1, 4, 5, 16, 16})};
    c.spec.scale = 0.7;
    cases.push_back(c);
  }
  {
    Case c{"everything", shape_only({2, 6, 3, 5, 12, 8, 4})};
    c.spec.causal = true;
    c.spec.window_left = 4;
    c.spec.has_valid_keys = true;
    c.spec.mask = MaskKind::per_head;
    c.spec.has_alibi = true;
    c.spec.scale = 0.2;
    cases.push_back(c);
  }
  return cases;
}

oracle::KernelCheck check_against_oracle(const KernelInfo& kernel, const Problem& problem,
                                         const KernelResult& got) {
  return oracle::check_kernel(kernel, problem, oracle::forward(problem), got);
}

// The built-in dense kernels, each skipped unless the kernel filter selects it.
class DenseKernel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!is_selected(*find_kernel(GetParam()))) GTEST_SKIP() << GetParam() << " is not selected by the kernel filter";
  }
};

TEST_P(DenseKernel, StaysWithinTheAPrioriBoundOnEveryFeature) {
  const KernelInfo& kernel = *find_kernel(GetParam());
  uint64_t seed = 1;
  for (const Case& c : feature_cases()) {
    for (ValueDistribution distribution : {ValueDistribution::normal, ValueDistribution::uniform}) {
      const Problem problem = make_random_problem(c.spec, kernel.dtype, seed++, distribution);
      const KernelResult got = run_kernel(kernel, problem);
      const oracle::KernelCheck check = check_against_oracle(kernel, problem, got);
      const std::string id = kernel.name + " " + c.name + "(" + describe(c.spec) +
                             ",seed=" + std::to_string(seed - 1) + ")";
      std::printf("%s\n    %s\n", id.c_str(), oracle::format_kernel_check(check).c_str());
      EXPECT_TRUE(check.o_bound.passed()) << id << " O " << oracle::format_bound_check(check.o_bound);
      EXPECT_TRUE(check.lse_bound.passed()) << id << " LSE " << oracle::format_bound_check(check.lse_bound);
    }
  }
}

TEST_P(DenseKernel, ReturnsZerosAndMinusInfinityForARowThatSeesNoKey) {
  const KernelInfo& kernel = *find_kernel(GetParam());
  AttentionSpec spec = shape_only({1, 2, 1, 3, 4, 8, 8});
  spec.mask = MaskKind::per_head;
  Problem problem = make_random_problem(spec, kernel.dtype, 7);
  for (int64_t j = 0; j < 4; ++j) problem.mask[mask_row_offset(spec, 0, 1, 2) + j] = 0;
  for (int64_t j = 0; j < 4; ++j) problem.mask[mask_row_offset(spec, 0, 0, 0) + j] = 1;
  const KernelResult got = run_kernel(kernel, problem);
  for (int64_t c = 0; c < 8; ++c) {
    const float x = got.o[o_offset(spec.shape, 0, 1, 2) + c];
    EXPECT_EQ(x, 0.0f);
    EXPECT_FALSE(std::signbit(x));
  }
  EXPECT_EQ(got.lse[lse_offset(spec.shape, 0, 1, 2)], -INFINITY);
  EXPECT_TRUE(std::isfinite(got.lse[lse_offset(spec.shape, 0, 0, 0)]));
}

// The bound has teeth: the dense kernel's own output, moved in one element by 2^-12 relative
// (f32) or by 4 storage ulps (f16, bf16, whose bound is dominated by the final half-ulp
// rounding), and its LSE moved by 2^-12, must fall outside it. A bound that accepts
// everything proves nothing.
TEST_P(DenseKernel, BoundRejectsAnOutputMovedBeyondIt) {
  const KernelInfo& kernel = *find_kernel(GetParam());
  const AttentionSpec spec = shape_only({1, 1, 1, 4, 16, 16, 16});
  const Problem problem = make_random_problem(spec, kernel.dtype, 11);
  KernelResult got = run_kernel(kernel, problem);
  const float relative = kernel.dtype == DType::f32 ? 0x1p-12f : 4 * static_cast<float>(unit_roundoff(kernel.dtype)) * 2;
  got.o[5] = round_to_dtype(kernel.dtype, got.o[5] * (1.0f + relative));
  got.lse[2] += 0x1p-12f;
  const oracle::KernelCheck check = check_against_oracle(kernel, problem, got);
  EXPECT_FALSE(check.o_bound.passed()) << oracle::format_bound_check(check.o_bound);
  EXPECT_FALSE(check.lse_bound.passed()) << oracle::format_bound_check(check.lse_bound);
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, DenseKernel,
                         ::testing::Values("dense_f32", "dense_f16", "dense_bf16"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace attncheck
