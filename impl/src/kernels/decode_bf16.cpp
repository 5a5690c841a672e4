// Split-K decode, bf16 storage: decode_bf16 (decode entry point over a KV cache, and a forward
// that is the same algorithm over contiguous K and V) and decode_bf16_dot, the same with Q.K by
// AVX-512 BF16 dot products where the CPU has them (bf16_dot_scores.hpp). Algorithm and
// invariants: split_decode-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/decode_bf16.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "split_decode-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void DecodeChunkBf16(const void* job, int64_t task, Workspace& ws) {
  DecodeChunkTask<bfloat16, FastExp>(*static_cast<const AttentionJob*>(job), task, ws);
}
void DecodeMergeBf16(const void* job, int64_t task, Workspace& ws) {
  MergeChunksTask<bfloat16, FastExp>(*static_cast<const AttentionJob*>(job), task, ws);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
#include "decode_kernels.hpp"

namespace attncheck::kernels {
namespace {

HWY_EXPORT(DecodeChunkBf16);
HWY_EXPORT(DecodeMergeBf16);

void chunk_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(DecodeChunkBf16)(job, task, ws); }
void merge_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(DecodeMergeBf16)(job, task, ws); }

void decode_bf16_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                        const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                        const KernelOptions& options) {
  run_split_decode(spec, q, cache, visibility, outputs, options, &chunk_task, &merge_task);
}
void decode_bf16_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                         const KernelOptions& options) {
  run_split_decode(spec, in.q, KvCacheView{in.k, in.v, spec.shape.kv_len}, in.visibility, out, options,
                   &chunk_task, &merge_task);
}

void decode_bf16_dot_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                            const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                            const KernelOptions& options) {
  run_split_decode(spec, q, cache, visibility, outputs, options, &chunk_task, &merge_task, /*bf16_dot=*/true);
}
void decode_bf16_dot_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                             const KernelOptions& options) {
  run_split_decode(spec, in.q, KvCacheView{in.k, in.v, spec.shape.kv_len}, in.visibility, out, options,
                   &chunk_task, &merge_task, /*bf16_dot=*/true);
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(decode_bf16, decode_kernel_info("decode_bf16", DType::bf16, &decode_bf16_forward,
                                                          &decode_bf16_decode));
ATTNCHECK_REGISTER_KERNEL(decode_bf16_dot, decode_kernel_info("decode_bf16_dot", DType::bf16, &decode_bf16_dot_forward,
                                                              &decode_bf16_dot_decode, /*bf16_dot=*/true));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
