// What a kernel is to attncheck: a function over the semantics of semantics.hpp, with a
// declared storage dtype, the features it supports and the facts its error bound needs.
// Kernels join the registry (registry.hpp); out-of-tree kernels join it the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "attncheck/dtype.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck {

// Tensors handed to a forward kernel. q, k, v point at the storage dtype of the kernel
// (float, float16 or bfloat16), laid out as semantics.hpp says.
struct AttentionInputs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  VisibilityInputs visibility;
};

// o is in the storage dtype; lse is always f32 and may be null when the caller does not want it.
struct AttentionOutputs {
  void* o = nullptr;
  float* lse = nullptr;
};

// Tensors handed to a backward kernel (semantics.hpp, "Backward"): the forward's inputs, its
// outputs O (storage dtype) and LSE (f32, -inf for a row that sees no key), and the upstream
// gradient dO = dL/dO (storage dtype, laid out as O). O and LSE are what the harness hands over
// (the oracle's rounded to the storage dtype and f32, or the kernel's own forward: run.hpp);
// a kernel recomputes P from Q, K and LSE and takes D_i = dO_i . O_i from the O it is given.
struct BackwardInputs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* o = nullptr;
  const float* lse = nullptr;
  const void* d_out = nullptr;
  VisibilityInputs visibility;
};

// dQ, dK, dV in the storage dtype, laid out as Q, K and V. dK and dV of a kv head are summed
// over the query heads of its group. Every element must be written (the harness prefills NaN).
struct BackwardOutputs {
  void* dq = nullptr;
  void* dk = nullptr;
  void* dv = nullptr;
};

// Run-time knobs; 0 means "the kernel's tuned default". Kernels must give bit-identical
// results for every thread count.
struct KernelOptions {
  int64_t q_block = 0;
  int64_t k_block = 0;
  int threads = 0;
  int64_t kv_splits = 0;  // decode: how many pieces the cache length is split into
};

// Rejects a negative option with std::invalid_argument naming the field
// ("KernelOptions.q_block: ..."). run_kernel and run_decode check every kernel's options with
// it before the call, so an out-of-tree kernel may take them as valid; the built-in kernels
// check too, since they are also called directly.
void validate(const KernelOptions& options);

// A KV cache's storage as a decode kernel sees it: K [batch, kv_heads, capacity, head_dim] and
// V [batch, kv_heads, capacity, value_dim] in the kernel's dtype. Only positions below
// spec.shape.kv_len hold tokens; the slots after them must never reach the result.
struct KvCacheView {
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t capacity = 0;
};

using ForwardFn = void (*)(const AttentionSpec& spec, const AttentionInputs& inputs,
                           const AttentionOutputs& outputs, const KernelOptions& options);
// Queries q [batch, q_heads, q_len, head_dim] against the cache, causal bottom-right.
// The exp a kernel uses, as a batch: y[i] = exp(x[i]) for x[i] <= 0 (softmax's arguments). A
// kernel that exposes it lets the suite measure it against ErrorTraits::exp_max_ulp
// (oracle/exp_accuracy.hpp; `attncheck exp-accuracy`), so a declaration below the truth fails
// by itself instead of passing through a bound that is too tight or too loose.
using ExpFn = void (*)(const float* x, float* y, size_t n);
using DecodeFn = void (*)(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                          const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                          const KernelOptions& options);

// The backward pass of `forward` (semantics.hpp, "Backward"): kernels must give bit-identical
// gradients for every thread count, as for the forward.
using BackwardFn = void (*)(const AttentionSpec& spec, const BackwardInputs& inputs,
                            const BackwardOutputs& outputs, const KernelOptions& options);

// Features a kernel declares. A property or test runs a kernel only on specs whose features
// it declares (see unsupported_feature()).
enum Capability : uint32_t {
  kCausal = 1u << 0,
  kPadding = 1u << 1,       // per-batch valid key lengths
  kWindow = 1u << 2,        // sliding window
  kBoolMask = 1u << 3,      // dense boolean mask, shared or per head
  kAlibi = 1u << 4,
  kGroupedQuery = 1u << 5,  // kv_heads < q_heads
  kLse = 1u << 6,           // writes LSE
  kValueDim = 1u << 7,      // value_dim != head_dim
  kCustomScale = 1u << 8,
  kDecode = 1u << 9,        // has a decode entry point
  kBackward = 1u << 10,     // has a backward entry point (set by register_kernel when
                            // KernelInfo::backward is); it runs every feature the forward declares
  kAllForwardFeatures = kCausal | kPadding | kWindow | kBoolMask | kAlibi | kGroupedQuery | kLse |
                        kValueDim | kCustomScale,
};

// What docs/error-model.md's a-priori bound needs to know about a kernel's arithmetic.
struct ErrorTraits {
  // Max error of the exp the kernel uses, in f32 ULPs, measured against MPFR.
  double exp_max_ulp = 1.0;
  // The weights P are rounded to the storage dtype before P.V.
  bool weights_rounded_to_storage = false;
  // Online softmax: the running sum and output are rescaled when the running max grows.
  bool online_softmax = false;
  // The Q.K dot product treats subnormal inputs as zero and flushes subnormal products and
  // sums to zero (AVX-512 BF16's vdpbf16ps).
  bool dot_flushes_subnormals = false;
};

struct KernelInfo {
  std::string name;
  DType dtype = DType::f32;
  uint32_t capabilities = 0;
  ErrorTraits error;
  // One line: the algorithm and its invariant, as the kernel's header comment says.
  std::string algorithm;
  ForwardFn forward = nullptr;
  DecodeFn decode = nullptr;
  // Optional: the gradients of `forward` (kBackward). It supports exactly the features the
  // kernel declares for its forward.
  BackwardFn backward = nullptr;
  // Optional: the exp the kernel computes its weights with (see ExpFn).
  ExpFn exp = nullptr;
  // Keys per tile in the kernel's default configuration (KernelOptions::k_block = 0), or 0 when
  // undeclared or not tiled. The laws draw key and query lengths across several of the kernel's
  // tile edges (n * tile - 1, n * tile, n * tile + 1); undeclared, they cover 64, 128 and 256,
  // the tiles FlashAttention and PyTorch's CPU path use.
  int64_t key_tile = 0;
  // Selected only by a filter entry that is its exact name, never by default or by a glob: for
  // a kernel kept to show what the suite does to a wrong one (docs/examples/), or one that is
  // not ready to be checked with the rest.
  bool explicit_only = false;

  bool has(uint32_t capability) const { return (capabilities & capability) == capability; }
};

// The first feature of spec that kernel does not declare, or "" when it can run the spec.
std::string unsupported_feature(const KernelInfo& kernel, const AttentionSpec& spec);

// "causal,padding,window,..." for listings.
std::string capability_names(uint32_t capabilities);

}  // namespace attncheck
