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
//
// Its backward (declared by setting KernelInfo::backward, so the gradient laws and
// `attncheck trace --backward` check it too) is the textbook one per kv head: for each query
// head of the group and each row, P_j = exp(s_j - LSE) from the LSE it is handed,
// dP_j = dO . v_j, D = dO . O, dS_j = P_j (dP_j - D); dQ = scale sum_j dS_j k_j, and dK, dV
// accumulate in f32 over the group's rows before they are stored.
#include <algorithm>
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

void online_softmax_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                             const KernelOptions&) {
  const AttentionShape& s = spec.shape;
  const float scale = static_cast<float>(effective_scale(spec));
  const auto* q_all = static_cast<const float*>(in.q);
  const auto* k_all = static_cast<const float*>(in.k);
  const auto* v_all = static_cast<const float*>(in.v);
  const auto* o_all = static_cast<const float*>(in.o);
  const auto* do_all = static_cast<const float*>(in.d_out);
  auto* dq_all = static_cast<float*>(out.dq);
  auto* dk_all = static_cast<float*>(out.dk);
  auto* dv_all = static_cast<float*>(out.dv);
  // dK and dV are sums over every row of the group: start from zero (the harness hands NaN).
  std::fill(dk_all, dk_all + k_elements(s), 0.0f);
  std::fill(dv_all, dv_all + v_elements(s), 0.0f);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kv_head = kv_head_for(s, h);
      for (int64_t i = 0; i < s.q_len; ++i) {
        const float* q = q_all + q_offset(s, b, h, i);
        const float* d_out = do_all + o_offset(s, b, h, i);
        const float* o = o_all + o_offset(s, b, h, i);
        float* dq = dq_all + q_offset(s, b, h, i);
        for (int64_t d = 0; d < s.head_dim; ++d) dq[d] = 0.0f;
        const KeyRange keys = visible_key_range(spec, in.visibility, b, i);
        if (keys.empty()) continue;  // a row that sees no key passes no gradient
        const float lse = in.lse[lse_offset(s, b, h, i)];
        float delta = 0.0f;
        for (int64_t c = 0; c < s.value_dim; ++c) delta += d_out[c] * o[c];
        for (int64_t j = keys.begin; j < keys.end; ++j) {
          if (!key_visible(spec, in.visibility, b, h, i, j)) continue;
          const float* k = k_all + k_offset(s, b, kv_head, j);
          const float* v = v_all + v_offset(s, b, kv_head, j);
          float dot = 0.0f;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += q[d] * k[d];
          const float p = std::exp(scale * dot - lse);
          float dp = 0.0f;
          float* dv = dv_all + v_offset(s, b, kv_head, j);
          for (int64_t c = 0; c < s.value_dim; ++c) {
            dp += d_out[c] * v[c];
            dv[c] += p * d_out[c];
          }
          const float ds = scale * (p * (dp - delta));
          float* dk = dk_all + k_offset(s, b, kv_head, j);
          for (int64_t d = 0; d < s.head_dim; ++d) {
            dq[d] += ds * k[d];
            dk[d] += ds * q[d];
          }
        }
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
  k.backward = &online_softmax_backward;
  k.exp = &kernel_exp;
  return k;
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(example_online_softmax_f32, online_softmax_info());
