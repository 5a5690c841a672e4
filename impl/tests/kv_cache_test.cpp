// The KV cache and the decode kernels that read it: appends land where the layout says, an
// overflowing append is refused by name, slots past length() stay NaN and never matter, and
// decoding a cache filled token by token reproduces the causal prefill row by row, bit for
// bit for the same kernel and within the oracle's bound for both.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "attncheck/kv_cache.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"
#include "attncheck/storage.hpp"
#include "capable_spec.hpp"

namespace attncheck {
namespace {

// The selected kernels with both entry points: decode is checked against the same kernel's
// causal prefill.
std::vector<const KernelInfo*> decode_kernels() {
  std::vector<const KernelInfo*> out;
  for (const KernelInfo* k : selected_kernels()) {
    if (k->decode != nullptr && k->forward != nullptr) out.push_back(k);
  }
  return out;
}

#define SKIP_WITHOUT_DECODE_KERNELS() \
  if (decode_kernels().empty()) GTEST_SKIP() << "no selected kernel has both a decode and a forward entry point"

// Tokens [first, first + count) of every (batch, kv head) of a problem's K (or V), laid out
// [batch, kv_heads, count, dim] as append() takes them.
std::vector<float> token_slice(const std::vector<float>& tensor, const AttentionShape& s, int64_t dim, int64_t first,
                               int64_t count = 1) {
  std::vector<float> out;
  for (int64_t bh = 0; bh < s.batch * s.kv_heads; ++bh) {
    const auto begin = tensor.begin() + (bh * s.kv_len + first) * dim;
    out.insert(out.end(), begin, begin + count * dim);
  }
  return out;
}

TEST(KvCache, AppendsTokensAtTheirPositionsAndLeavesTheRestNaN) {
  KvCache cache(DType::f32, 2, 3, 4, 5, 6);
  EXPECT_EQ(cache.length(), 0);
  std::vector<float> k(2 * 3 * 2 * 4), v(2 * 3 * 2 * 5);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<float>(i);
  for (size_t i = 0; i < v.size(); ++i) v[i] = -static_cast<float>(i);
  cache.append(k, v, 2);
  EXPECT_EQ(cache.length(), 2);
  const float* kc = static_cast<const float*>(cache.view().k);
  const float* vc = static_cast<const float*>(cache.view().v);
  // (b=1, kvh=2, token 1, d=3) is element ((1*3+2)*2+1)*4+3 of the appended k.
  EXPECT_EQ(kc[((1 * 3 + 2) * 6 + 1) * 4 + 3], static_cast<float>(((1 * 3 + 2) * 2 + 1) * 4 + 3));
  EXPECT_EQ(vc[((1 * 3 + 2) * 6 + 1) * 5 + 4], -static_cast<float>(((1 * 3 + 2) * 2 + 1) * 5 + 4));
  EXPECT_TRUE(std::isnan(kc[((1 * 3 + 2) * 6 + 2) * 4]));  // first unused slot
  EXPECT_EQ(cache.view().capacity, 6);
}

TEST(KvCache, RefusesAnAppendPastCapacityNamingBothNumbers) {
  KvCache cache(DType::f16, 1, 1, 2, 2, 3);
  cache.append(std::vector<float>(4, 1.0f), std::vector<float>(4, 1.0f), 2);
  try {
    cache.append(std::vector<float>(4, 1.0f), std::vector<float>(4, 1.0f), 2);
    FAIL() << "an append past capacity was accepted";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("capacity 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("length 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cache.length(), 2);  // nothing was appended
  EXPECT_THROW(cache.append(std::vector<float>(3, 1.0f), std::vector<float>(2, 1.0f), 1), std::invalid_argument);
  EXPECT_THROW(KvCache(DType::f32, 1, 0, 2, 2, 3), SpecError);
  cache.reset();
  EXPECT_EQ(cache.length(), 0);
  StorageBuffer first(DType::f16, 1);
  std::memcpy(first.data(), cache.view().k, 2);
  EXPECT_TRUE(std::isnan(first.get(0)));  // the slots are NaN again
}

// Row t of a causal prefill: O and LSE rows of query t of every (batch, head).
KernelResult prefill_row(const KernelResult& full, const AttentionShape& s, int64_t t) {
  KernelResult row;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const auto first = full.o.begin() + o_offset(s, b, h, t);
      row.o.insert(row.o.end(), first, first + s.value_dim);
      row.lse.push_back(full.lse[lse_offset(s, b, h, t)]);
    }
  }
  return row;
}

// Decodes token t of `problem` (a causal prefill problem) from `cache`, which holds tokens
// [0, t]. extra_keys > 0 makes a broken caller that reads past the cache's length.
KernelResult decode_token(const KernelInfo& kernel, const Problem& problem, const KvCache& cache, int64_t t,
                          int64_t extra_keys = 0) {
  const AttentionShape& s = problem.spec.shape;
  AttentionSpec spec = cache.decode_spec(s.q_heads, 1);
  spec.shape.kv_len += extra_keys;
  std::vector<float> q;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const auto first = problem.q.begin() + q_offset(s, b, h, t);
      q.insert(q.end(), first, first + s.head_dim);
    }
  }
  const StorageBuffer q_stored = StorageBuffer::encode(kernel.dtype, q);
  StorageBuffer o(kernel.dtype, static_cast<size_t>(s.batch * s.q_heads * s.value_dim));
  std::vector<float> lse(static_cast<size_t>(s.batch * s.q_heads));
  kernel.decode(spec, q_stored.data(), cache.view(), VisibilityInputs{}, AttentionOutputs{o.data(), lse.data()}, {});
  return KernelResult{o.decode(), lse};
}

// "" when decoding each token of a cache filled one token at a time gives, bit for bit, the
// rows of the causal prefill by the same kernel.
std::string decode_prefill_difference(const KernelInfo& kernel, const Problem& problem, int64_t extra_keys = 0) {
  const AttentionShape& s = problem.spec.shape;
  const KernelResult prefill = run_kernel(kernel, problem);
  KvCache cache(kernel.dtype, s.batch, s.kv_heads, s.head_dim, s.value_dim, s.kv_len + 5);
  for (int64_t t = 0; t < s.kv_len; ++t) {
    cache.append(token_slice(problem.k, s, s.head_dim, t), token_slice(problem.v, s, s.value_dim, t), 1);
    const KernelResult decoded = decode_token(kernel, problem, cache, t, extra_keys);
    const KernelResult expected = prefill_row(prefill, s, t);
    for (size_t i = 0; i < expected.o.size(); ++i) {
      if (std::memcmp(&decoded.o[i], &expected.o[i], sizeof(float)) != 0) {
        return "token " + std::to_string(t) + " O[" + std::to_string(i) + "]: decode " + std::to_string(decoded.o[i]) +
               " prefill " + std::to_string(expected.o[i]);
      }
    }
    for (size_t i = 0; kernel.has(kLse) && i < expected.lse.size(); ++i) {
      if (std::memcmp(&decoded.lse[i], &expected.lse[i], sizeof(float)) != 0) {
        return "token " + std::to_string(t) + " LSE[" + std::to_string(i) + "]";
      }
    }
  }
  return "";
}

// A causal self-attention prefill, GQA, q_len == kv_len; long enough (2100 keys at the default
// chunk of 2048) that the last tokens are split over two chunks and merged. GQA and
// value_dim != head_dim as far as the kernel declares them.
Problem prefill_problem(const KernelInfo& kernel, int64_t length, int64_t head_dim = 16, int64_t value_dim = 8,
                        uint64_t seed = 404) {
  AttentionSpec spec;
  spec.shape = AttentionShape{1, 4, 2, length, length, head_dim, value_dim};
  spec.causal = true;
  return make_random_problem(within_capabilities(kernel, spec), kernel.dtype, seed);
}

TEST(DecodeKernels, DecodeOfACacheFilledTokenByTokenEqualsTheCausalPrefillBitForBit) {
  SKIP_WITHOUT_DECODE_KERNELS();
  for (const KernelInfo* kernel : decode_kernels()) {
    EXPECT_EQ(decode_prefill_difference(*kernel, prefill_problem(*kernel, 40)), "") << kernel->name;
  }
}

// head_dim 64: decode_bf16_dot takes its AVX-512 BF16 path (where the CPU has it) for decode and
// prefill alike.
TEST(DecodeKernels, DecodeEqualsTheCausalPrefillBitForBitWithAHeadDimForTheDotProductPath) {
  SKIP_WITHOUT_DECODE_KERNELS();
  for (const KernelInfo* kernel : decode_kernels()) {
    EXPECT_EQ(decode_prefill_difference(*kernel, prefill_problem(*kernel, 40, 64, 32, 405)), "") << kernel->name;
  }
}

TEST(DecodeKernels, DecodeEqualsPrefillAcrossChunkBoundaries) {
  const KernelInfo* kernel = find_kernel("decode_f16");
  ASSERT_NE(kernel, nullptr);
  const Problem problem = prefill_problem(*kernel, 2100);
  const AttentionShape& s = problem.spec.shape;
  const KernelResult prefill = run_kernel(*kernel, problem);
  KvCache cache(DType::f16, s.batch, s.kv_heads, s.head_dim, s.value_dim, s.kv_len);
  // A multi-token append, then token by token.
  cache.append(token_slice(problem.k, s, s.head_dim, 0, s.kv_len - 3),
               token_slice(problem.v, s, s.value_dim, 0, s.kv_len - 3), s.kv_len - 3);
  for (int64_t t = s.kv_len - 3; t < s.kv_len; ++t) {
    cache.append(token_slice(problem.k, s, s.head_dim, t), token_slice(problem.v, s, s.value_dim, t), 1);
    const KernelResult decoded = decode_token(*kernel, problem, cache, t);
    const KernelResult expected = prefill_row(prefill, s, t);
    EXPECT_EQ(std::memcmp(decoded.o.data(), expected.o.data(), expected.o.size() * sizeof(float)), 0) << t;
    EXPECT_EQ(std::memcmp(decoded.lse.data(), expected.lse.data(), expected.lse.size() * sizeof(float)), 0) << t;
  }
}

// A decode caller that reads one slot past the cache's length sees NaN: the check catches it.
TEST(DecodeKernels, TheDecodePrefillCheckRejectsReadingOneSlotPastTheLength) {
  const KernelInfo* kernel = find_kernel("decode_f32");
  ASSERT_NE(kernel, nullptr);
  EXPECT_NE(decode_prefill_difference(*kernel, prefill_problem(*kernel, 6), 1), "");
}

TEST(DecodeKernels, DecodedRowsStayWithinTheOracleBound) {
  SKIP_WITHOUT_DECODE_KERNELS();
  for (const KernelInfo* kernel : decode_kernels()) {
    const Problem problem = prefill_problem(*kernel, 24);
    const AttentionShape& s = problem.spec.shape;
    const oracle::OracleResult exact = oracle::forward(problem);
    KvCache cache(kernel->dtype, s.batch, s.kv_heads, s.head_dim, s.value_dim, s.kv_len);
    KernelResult decoded_all{std::vector<float>(static_cast<size_t>(o_elements(s))),
                             std::vector<float>(static_cast<size_t>(lse_elements(s)))};
    for (int64_t t = 0; t < s.kv_len; ++t) {
      cache.append(token_slice(problem.k, s, s.head_dim, t), token_slice(problem.v, s, s.value_dim, t), 1);
      const KernelResult row = decode_token(*kernel, problem, cache, t);
      for (int64_t h = 0; h < s.q_heads; ++h) {
        std::copy(row.o.begin() + h * s.value_dim, row.o.begin() + (h + 1) * s.value_dim,
                  decoded_all.o.begin() + o_offset(s, 0, h, t));
        decoded_all.lse[lse_offset(s, 0, h, t)] = row.lse[h];
      }
    }
    const oracle::KernelCheck check = oracle::check_kernel(*kernel, problem, exact, decoded_all);
    std::printf("%s decoded token by token: %s\n", kernel->name.c_str(), oracle::format_kernel_check(check).c_str());
    EXPECT_TRUE(check.passed()) << kernel->name;
  }
}

TEST(DecodeKernels, RefuseACacheViewSmallerThanTheLength) {
  const KernelInfo* kernel = find_kernel("decode_f32");
  ASSERT_NE(kernel, nullptr);
  KvCache cache(DType::f32, 1, 1, 4, 4, 8);
  cache.append(std::vector<float>(4 * 3, 0.5f), std::vector<float>(4 * 3, 0.5f), 3);
  AttentionSpec spec = cache.decode_spec(1, 1);
  KvCacheView view = cache.view();
  view.capacity = 2;
  std::vector<float> q(4, 1.0f), o(4);
  try {
    kernel->decode(spec, q.data(), view, {}, AttentionOutputs{o.data(), nullptr}, {});
    FAIL() << "a view smaller than kv_len was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace attncheck
