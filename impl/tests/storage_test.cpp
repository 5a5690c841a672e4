#include "attncheck/storage.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "attncheck/problem.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/run.hpp"
#include "attncheck/registry.hpp"

namespace attncheck {
namespace {

TEST(StorageBuffer, RoundsOnStoreAndDecodesExactly) {
  const float values[] = {1.0f, 1.0f + 0x1p-12f, 65520.0f, -0.0f};
  const StorageBuffer f16 = StorageBuffer::encode(DType::f16, values);
  EXPECT_EQ(f16.get(0), 1.0f);
  EXPECT_EQ(f16.get(1), 1.0f);         // below half an f16 ulp (2^-11)
  EXPECT_TRUE(std::isinf(f16.get(2)));  // max + half ulp rounds to infinity
  EXPECT_TRUE(std::signbit(f16.get(3)));
  const StorageBuffer bf16 = StorageBuffer::encode(DType::bf16, values);
  EXPECT_EQ(bf16.get(2), 65536.0f);
  EXPECT_EQ(StorageBuffer::encode(DType::f32, values).get(1), values[1]);
}

TEST(StorageBuffer, RowsStartOnCacheLinesAndLargeBuffersOnHugePageBoundaries) {
  // A 256-byte K row of an f16 cache must not straddle cache lines (the kernels' vector loads
  // split otherwise), and a KV cache is 2 MiB aligned so that it can live on huge pages.
  for (size_t elements : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20, (size_t{3} << 20) + 5}) {
    for (DType t : {DType::f32, DType::f16, DType::bf16}) {
      StorageBuffer buffer(t, elements);
      const auto address = reinterpret_cast<uintptr_t>(buffer.data());
      EXPECT_EQ(address % 64, 0u) << elements << " elements of " << dtype_name(t);
      if (elements * dtype_size(t) >= (size_t{2} << 20)) {
        EXPECT_EQ(address % (size_t{2} << 20), 0u);
      }
      buffer.set(elements - 1, 1.5f);  // the whole extent is usable
      EXPECT_EQ(buffer.get(elements - 1), 1.5f);
    }
  }
  EXPECT_EQ(StorageBuffer(DType::f16, 0).size(), 0u);
}

TEST(Problem, ValidationNamesTheTensorWithAWrongSizeOrAnUnrepresentableValue) {
  AttentionSpec spec;
  spec.shape = {1, 2, 1, 3, 4, 8, 8};
  Problem p = make_random_problem(spec, DType::f16, 1);
  EXPECT_NO_THROW(validate(p));
  p.v.pop_back();
  try {
    validate(p);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.field(), "v");
  }
  p = make_random_problem(spec, DType::f16, 1);
  p.k[5] = 1.0f + 0x1p-20f;
  try {
    validate(p);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.field(), "k[5]");
  }
}

TEST(RandomProblem, SameSeedGivesTheSameProblem) {
  AttentionSpec spec;
  spec.shape = {2, 2, 1, 3, 4, 8, 8};
  spec.has_valid_keys = true;
  spec.mask = MaskKind::per_head;
  const Problem a = make_random_problem(spec, DType::bf16, 42);
  const Problem b = make_random_problem(spec, DType::bf16, 42);
  const Problem c = make_random_problem(spec, DType::bf16, 43);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.mask, b.mask);
  EXPECT_EQ(a.valid_keys, b.valid_keys);
  EXPECT_NE(a.q, c.q);
}

// A kernel that writes one element past O: the harness must catch it.
void overrunning_kernel(const AttentionSpec& spec, const AttentionInputs&, const AttentionOutputs& out,
                        const KernelOptions&) {
  float* o = static_cast<float*>(out.o);
  for (int64_t i = 0; i <= o_elements(spec.shape); ++i) o[i] = 0;
}

TEST(RunKernel, RedZonesCatchAWriteAfterTheOutput) {
  KernelInfo k;
  k.name = "overrun";
  k.dtype = DType::f32;
  k.capabilities = kAllForwardFeatures;
  k.forward = &overrunning_kernel;
  AttentionSpec spec;
  spec.shape = {1, 1, 1, 2, 2, 4, 4};
  EXPECT_THROW(run_kernel(k, make_random_problem(spec, DType::f32, 3)), RedZoneViolation);
}

TEST(RunKernel, RefusesAProblemOfAnotherDtypeOrAnUndeclaredFeature) {
  AttentionSpec spec;
  spec.shape = {1, 1, 1, 2, 2, 4, 4};
  const Problem p = make_random_problem(spec, DType::f16, 3);
  EXPECT_THROW(run_kernel(*find_kernel("dense_f32"), p), std::invalid_argument);
  KernelInfo limited = *find_kernel("dense_f16");
  limited.capabilities &= ~kCausal;
  Problem causal = p;
  causal.spec.causal = true;
  EXPECT_THROW(run_kernel(limited, causal), std::invalid_argument);
}

}  // namespace
}  // namespace attncheck
