// Kernels that exist only in attncheck_with_test_kernels (the attncheck command plus these), so
// the CTest tests of cli/tests can show what the command says and which exit code it gives for
// kernels the built-in set does not have: one that lacks a feature, one without a forward entry
// point, one that throws, one wrong on a single row. All are explicit-only: only a --kernel entry naming one exactly
// selects it, so no default or glob selection of this program ever runs them.
//
// The two that compute are correct: the two-pass algorithm of
// docs/examples/example_two_pass_kernel.cpp (max, then exp(s - max) and its products with V
// summed in double), restricted to what the tests need. They must pass every check they run, so
// that a failure in a test is the CLI's and not theirs.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/semantics.hpp"

namespace {

using namespace attncheck;

// Rows of Q against K and V stored [batch, kv_heads, kv_stride, dim]: kv_stride is kv_len for a
// forward call and the cache capacity for a decode call.
struct KeysAndValues {
  const float* k;
  const float* v;
  int64_t kv_stride;
};

float score(const AttentionSpec& spec, const float* q_all, const KeysAndValues& kv, const VisibilityInputs& vis,
            int64_t b, int64_t h, int64_t i, int64_t j) {
  const AttentionShape& s = spec.shape;
  const int64_t kv_h = kv_head_for(s, h);
  const float* q = q_all + q_offset(s, b, h, i);
  const float* k = kv.k + ((b * s.kv_heads + kv_h) * kv.kv_stride + j) * s.head_dim;
  float dot = 0;
  for (int64_t d = 0; d < s.head_dim; ++d) dot += q[d] * k[d];
  float value = static_cast<float>(effective_scale(spec)) * dot;
  if (spec.has_alibi) value -= vis.alibi_slopes[h] * static_cast<float>(alibi_distance(s, i, j));
  return value;
}

void two_pass(const AttentionSpec& spec, const float* q, const KeysAndValues& kv, const VisibilityInputs& vis,
              const AttentionOutputs& out) {
  const AttentionShape& s = spec.shape;
  std::vector<double> accumulator(s.value_dim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        const KeyRange keys = visible_key_range(spec, vis, b, i);
        float row_max = -std::numeric_limits<float>::infinity();
        for (int64_t j = keys.begin; j < keys.end; ++j) {
          if (key_visible(spec, vis, b, h, i, j)) row_max = std::max(row_max, score(spec, q, kv, vis, b, h, i, j));
        }
        float* o = static_cast<float*>(out.o) + o_offset(s, b, h, i);
        if (row_max == -std::numeric_limits<float>::infinity()) {  // sees no key: O = 0, LSE = -inf
          for (int64_t c = 0; c < s.value_dim; ++c) o[c] = 0.0f;
          if (out.lse) out.lse[lse_offset(s, b, h, i)] = row_max;
          continue;
        }
        double sum = 0;
        std::fill(accumulator.begin(), accumulator.end(), 0.0);
        for (int64_t j = keys.begin; j < keys.end; ++j) {
          if (!key_visible(spec, vis, b, h, i, j)) continue;
          const double p = std::exp(static_cast<double>(score(spec, q, kv, vis, b, h, i, j) - row_max));
          sum += p;
          const float* v = kv.v + ((b * s.kv_heads + kv_head_for(s, h)) * kv.kv_stride + j) * s.value_dim;
          for (int64_t c = 0; c < s.value_dim; ++c) accumulator[c] += p * v[c];
        }
        for (int64_t c = 0; c < s.value_dim; ++c) o[c] = static_cast<float>(accumulator[c] / sum);
        if (out.lse) out.lse[lse_offset(s, b, h, i)] = static_cast<float>(row_max + std::log(sum));
      }
    }
  }
}

void two_pass_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                      const KernelOptions&) {
  two_pass(spec, static_cast<const float*>(in.q),
           {static_cast<const float*>(in.k), static_cast<const float*>(in.v), spec.shape.kv_len}, in.visibility, out);
}

void two_pass_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                     const VisibilityInputs& visibility, const AttentionOutputs& out, const KernelOptions&) {
  // Only positions below kv_len are read: visible_key_range() ends there.
  two_pass(spec, static_cast<const float*>(q),
           {static_cast<const float*>(cache.k), static_cast<const float*>(cache.v), cache.capacity}, visibility,
           out);
}

// A kernel that fails at run time, as one does when it runs out of scratch memory or meets a
// shape it was not written for; the message deliberately does not name the kernel, so a test
// that sees the name knows the CLI put it there.
void throwing_forward(const AttentionSpec&, const AttentionInputs&, const AttentionOutputs&, const KernelOptions&) {
  throw std::runtime_error("scratch buffer exhausted (deliberate failure of a CLI test kernel)");
}

// exp and the sums are in double, far below f32's roundoff; 1 f32 ULP covers the f32 argument.
constexpr ErrorTraits kTwoPassTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = false};

KernelInfo test_kernel(const char* name, uint32_t capabilities, const char* algorithm) {
  KernelInfo k;
  k.name = name;
  k.dtype = DType::f32;
  k.capabilities = capabilities;
  k.error = kTwoPassTraits;
  k.algorithm = algorithm;
  k.explicit_only = true;
  return k;
}

KernelInfo no_causal() {
  KernelInfo k = test_kernel("clitest_no_causal_f32", kAllForwardFeatures & ~kCausal,
                             "CLI test: two passes per row, double accumulation; declares every feature but causal");
  k.forward = &two_pass_forward;
  return k;
}

KernelInfo decode_only() {
  // No grouped-query support either, so it can run none of the golden traces (the decode
  // traces are grouped-query): the case of a selected kernel that checks nothing.
  KernelInfo k = test_kernel("clitest_decode_only_f32", kCausal | kLse,
                             "CLI test: decode entry point only, two passes per row over the cache");
  k.decode = &two_pass_decode;
  return k;
}

KernelInfo throws() {
  KernelInfo k = test_kernel("clitest_throws_f32", kAllForwardFeatures, "CLI test: throws on every call");
  k.forward = &throwing_forward;
  return k;
}

// An exp 8 f32 ULPs wrong near x = -1 (libm's expf elsewhere), declared as 1 ULP: what
// `attncheck exp-accuracy` exists to catch.
void exp_8_ulp_wrong(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i]);
    if (x[i] <= -1.0f && x[i] > -1.0001f) y[i] = std::bit_cast<float>(std::bit_cast<uint32_t>(y[i]) + 8);
  }
}

KernelInfo overclaims_exp() {
  KernelInfo k = test_kernel("clitest_exp_overclaimed_f32", kAllForwardFeatures,
                             "CLI test: two passes per row; exposes an exp 8 ULPs wrong but declares 1 ULP");
  k.forward = &two_pass_forward;
  k.exp = &exp_8_ulp_wrong;
  return k;
}

// Correct on every row but one: query 2 of the first head (flat row 2) is off by 0.5 in its
// first column, so a check that compares that row fails and one that samples around it passes
// (cli.trace_rows_*).
void wrong_row_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                       const KernelOptions& options) {
  two_pass_forward(spec, in, out, options);
  if (spec.shape.q_len > 2) static_cast<float*>(out.o)[o_offset(spec.shape, 0, 0, 2)] += 0.5f;
}

KernelInfo wrong_row() {
  KernelInfo k = test_kernel("clitest_wrong_row_f32", kAllForwardFeatures,
                             "CLI test: two passes per row, then flat row 2 made wrong by 0.5");
  k.forward = &wrong_row_forward;
  return k;
}

// A backward that forgets the scale in dQ (seed 001: "the 1/sqrt(d_k) survives backward"):
// dense_f32's backward, then dQ divided by the scale again. Its forward is the correct two-pass
// one, so only `trace --backward` and the backward part of `golden check` fail it.
void unscaled_dq_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                          const KernelOptions& options) {
  const KernelInfo* dense = find_kernel("dense_f32");
  if (dense == nullptr || dense->backward == nullptr) throw std::runtime_error("dense_f32 has no backward");
  dense->backward(spec, in, out, options);
  const float undo = static_cast<float>(1.0 / effective_scale(spec));
  for (int64_t n = 0; n < q_elements(spec.shape); ++n) static_cast<float*>(out.dq)[n] *= undo;
}

KernelInfo unscaled_dq() {
  KernelInfo k = test_kernel("clitest_unscaled_dq_f32", kAllForwardFeatures,
                             "CLI test: two passes per row; its backward leaves the scale out of dQ");
  k.forward = &two_pass_forward;
  k.backward = &unscaled_dq_backward;
  return k;
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(clitest_unscaled_dq_f32, unscaled_dq());
ATTNCHECK_REGISTER_KERNEL(clitest_wrong_row_f32, wrong_row());
ATTNCHECK_REGISTER_KERNEL(clitest_exp_overclaimed_f32, overclaims_exp());
ATTNCHECK_REGISTER_KERNEL(clitest_no_causal_f32, no_causal());
ATTNCHECK_REGISTER_KERNEL(clitest_decode_only_f32, decode_only());
ATTNCHECK_REGISTER_KERNEL(clitest_throws_f32, throws());
