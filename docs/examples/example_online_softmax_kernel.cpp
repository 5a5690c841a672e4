// An out-of-tree kernel of the kind users write: it declares only the features it has
// (causal, LSE, grouped-query), not padding, masks, windows, ALiBi, a value_dim of its own, a
// custom scale or decode. Every test and law that needs one of those skips it with the reason,
// so the whole suite passes for it:
//
//   cmake -S . -B build -DATTNCHECK_EXTRA_KERNELS="$PWD/docs/examples/example_online_softmax_kernel.cpp"
//   cmake --build build && ATTNCHECK_KERNELS=example_online_softmax_f32 ctest --test-dir build
//
// Algorithm: one pass per query row over its visible keys in f32 (online softmax): a running
// max m, a running sum l of exp(s - m) and an accumulator acc of exp(s - m) * v; when a score
// exceeds m, l and acc are rescaled by exp(m_old - m_new) before the new term is added.
// Invariant: after each key, l = sum exp(s_j - m) and acc = sum exp(s_j - m) v_j over the keys
// seen, with m their max, so O = acc / l and LSE = m + log(l) at the end.
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
            l *= rescale;
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
  k.name = "example_online_softmax_f32";
  k.dtype = DType::f32;
  k.capabilities = kCausal | kLse | kGroupedQuery;
  // glibc's expf is within 1 ULP (measured by `attncheck exp-accuracy`); the sums run in f32
  // and are rescaled when the max grows, hence online_softmax.
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = true};
  k.algorithm = "example (out of tree): one-pass online softmax per row in f32";
  k.forward = &online_softmax_forward;
  k.exp = &kernel_exp;
  return k;
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(example_online_softmax_f32, online_softmax_info());
