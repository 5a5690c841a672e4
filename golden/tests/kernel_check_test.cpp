// Kernels against the traces: the check passes correct kernels and rejects broken ones, for
// the forward and the decode entry points (a decode kernel of this test's own, so the decode
// path is proven even before a registered decode kernel exists).
#include "attncheck/golden/kernel_check.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "attncheck/golden/regen.hpp"
#include "attncheck/registry.hpp"
#include "golden_test_support.hpp"

namespace attncheck::golden {
namespace {

std::vector<GoldenTrace> all_traces() {
  std::vector<GoldenTrace> out;
  for (const auto& p : golden_json_files(testing::golden_source_dir() / "traces")) {
    out.push_back(read_trace_file(p.string()));
  }
  return out;
}

struct Tally {
  int ran = 0, failed = 0;
};

Tally run_on_every_trace(const KernelInfo& kernel) {
  Tally t;
  for (const GoldenTrace& trace : all_traces()) {
    for (const KernelTraceCheck& r : check_kernels_on_trace(trace, {&kernel})) {
      if (!r.ran()) continue;
      ++t.ran;
      if (!r.passed()) ++t.failed;
    }
  }
  return t;
}

const KernelInfo& dense_f32() {
  const KernelInfo* k = find_kernel("dense_f32");
  if (!k) throw std::runtime_error("dense_f32 is not registered");
  return *k;
}

// dense_f32, then one output element nudged by 1%.
void nudged_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                    const KernelOptions& options) {
  dense_f32().forward(spec, in, out, options);
  static_cast<float*>(out.o)[0] *= 1.01f;
}

// dense_f32 that forgets the causal mask.
void acausal_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                     const KernelOptions& options) {
  AttentionSpec forgetful = spec;
  forgetful.causal = false;
  dense_f32().forward(forgetful, in, out, options);
}

KernelInfo wrap(const std::string& name, ForwardFn forward) {
  KernelInfo k = dense_f32();
  k.name = name;
  k.forward = forward;
  return k;
}

TEST(GoldenKernelCheck, TheReferenceKernelPassesEveryTrace) {
  const Tally t = run_on_every_trace(dense_f32());
  EXPECT_GE(t.ran, 20);
  EXPECT_EQ(t.failed, 0);
}

TEST(GoldenKernelCheck, AKernelOffByOnePercentInOneElementFails) {
  const Tally t = run_on_every_trace(wrap("nudged_f32", nudged_forward));
  EXPECT_GT(t.failed, 0);
}

TEST(GoldenKernelCheck, AKernelThatIgnoresTheCausalMaskFailsTheCausalTraces) {
  const Tally t = run_on_every_trace(wrap("acausal_f32", acausal_forward));
  EXPECT_GE(t.failed, 5);  // every causal trace but those where the mask hides nothing
}

// A plain decode for f32: for each query, every cached key up to kv_len (causal bottom-right
// with one query sees them all), in double. `reach` extra slots are read past kv_len, and
// `skip_newest` drops the newest token: the two ways a cache bug shows.
template <int reach, bool skip_newest>
void test_decode(const AttentionSpec& spec, const void* q_ptr, const KvCacheView& cache, const VisibilityInputs&,
                 const AttentionOutputs& out, const KernelOptions&) {
  const AttentionShape& s = spec.shape;
  const float* q = static_cast<const float*>(q_ptr);
  const float* k = static_cast<const float*>(cache.k);
  const float* v = static_cast<const float*>(cache.v);
  float* o = static_cast<float*>(out.o);
  const double scale = effective_scale(spec);
  const int64_t keys = s.kv_len + reach - (skip_newest ? 1 : 0);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      for (int64_t i = 0; i < s.q_len; ++i) {
        const float* qi = q + q_offset(s, b, h, i);
        std::vector<double> scores(static_cast<size_t>(keys));
        double max = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) {
          const float* kj = k + ((b * s.kv_heads + kvh) * cache.capacity + j) * s.head_dim;
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += double(qi[d]) * kj[d];
          scores[j] = dot * scale;
          max = std::max(max, scores[j]);
        }
        double sum = 0;
        for (double& x : scores) sum += (x = std::exp(x - max));
        for (int64_t c = 0; c < s.value_dim; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < keys; ++j) {
            acc += scores[j] / sum * v[((b * s.kv_heads + kvh) * cache.capacity + j) * s.value_dim + c];
          }
          o[o_offset(s, b, h, i) + c] = static_cast<float>(acc);
        }
        if (out.lse) out.lse[lse_offset(s, b, h, i)] = static_cast<float>(max + std::log(sum));
      }
    }
  }
}

KernelInfo decode_kernel(const std::string& name, DecodeFn decode) {
  KernelInfo k;
  k.name = name;
  k.dtype = DType::f32;
  k.capabilities = kCausal | kGroupedQuery | kLse | kDecode;
  k.decode = decode;
  return k;
}

TEST(GoldenKernelCheck, DecodeKernelsRunOnEveryDecodeStepAndACacheBugFails) {
  const Tally good = run_on_every_trace(decode_kernel("plain_decode_f32", test_decode<0, false>));
  EXPECT_EQ(good.ran, 3);  // the three decode steps, through run_decode
  EXPECT_EQ(good.failed, 0);
  const Tally overreach = run_on_every_trace(decode_kernel("overreaching_decode_f32", test_decode<1, false>));
  EXPECT_EQ(overreach.failed, 3);  // reads a NaN slot past kv_len
  const Tally forgetful = run_on_every_trace(decode_kernel("forgetful_decode_f32", test_decode<0, true>));
  EXPECT_EQ(forgetful.failed, 3);  // drops the newest token
}

}  // namespace
}  // namespace attncheck::golden
