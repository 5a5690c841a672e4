// A deliberately broken copy of example_online_softmax_kernel.cpp, kept to show what the suite
// does to a wrong user kernel: CI compiles it in and asserts that the suite FAILS it
// (scripts/check_example_kernels.sh). Its one bug is the classic online-softmax slip: when a
// score raises the running max, the accumulator is rescaled but the running sum l is not.
// It is explicit_only, so it runs only when a filter names it exactly:
//
//   ATTNCHECK_KERNELS=example_online_softmax_broken_f32 ctest --test-dir build   # fails
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/semantics.hpp"

namespace {

using namespace attncheck;

void online_softmax_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                            const KernelOptions&) {
  const AttentionShape& s = spec.shape;
  const float scale = static_cast<float>(effective_scale(spec));
  std::vector<float> acc(s.value_dim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kv_head = kv_head_for(s, h);
      for (int64_t i = 0; i < s.q_len; ++i) {
        const float* q = static_cast<const float*>(in.q) + q_offset(s, b, h, i);
        float m = -std::numeric_limits<float>::infinity();
        float l = 0.0f;
        std::fill(acc.begin(), acc.end(), 0.0f);
        const KeyRange keys = visible_key_range(spec, in.visibility, b, i);
        for (int64_t j = keys.begin; j < keys.end; ++j) {
          if (!key_visible(spec, in.visibility, b, h, i, j)) continue;
          const float* k = static_cast<const float*>(in.k) + k_offset(s, b, kv_head, j);
          float dot = 0.0f;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += q[d] * k[d];
          const float score = scale * dot;
          if (score > m) {
            const float rescale = std::exp(m - score);  // exp(-inf) = 0 for the first key
            // BUG (deliberate): l *= rescale is missing.
            for (float& a : acc) a *= rescale;
            m = score;
          }
          const float p = std::exp(score - m);
          l += p;
          const float* v = static_cast<const float*>(in.v) + v_offset(s, b, kv_head, j);
          for (int64_t c = 0; c < s.value_dim; ++c) acc[c] += p * v[c];
        }
        float* o = static_cast<float*>(out.o) + o_offset(s, b, h, i);
        const bool empty = l == 0.0f;  // the row sees no key: O = 0, LSE = -inf (semantics.hpp)
        for (int64_t c = 0; c < s.value_dim; ++c) o[c] = empty ? 0.0f : acc[c] / l;
        if (out.lse) out.lse[lse_offset(s, b, h, i)] = empty ? m : m + std::log(l);
      }
    }
  }
}

// The exp the kernel uses, callable alone so the suite can measure it against the declared
// exp_max_ulp (`attncheck exp-accuracy`).
void kernel_exp(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

KernelInfo online_softmax_info() {
  KernelInfo k;
  k.name = "example_online_softmax_broken_f32";
  k.dtype = DType::f32;
  k.capabilities = kCausal | kLse | kGroupedQuery;
  // glibc's expf is within 1 ULP (measured by `attncheck exp-accuracy`); the sums run in f32
  // and are rescaled when the max grows, hence online_softmax.
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = true};
  k.algorithm = "example (out of tree, deliberately broken): online softmax that forgets to rescale its sum";
  k.forward = &online_softmax_forward;
  k.explicit_only = true;
  k.exp = &kernel_exp;
  return k;
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(example_online_softmax_broken_f32, online_softmax_info());
