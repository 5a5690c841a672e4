// Split-K decode, f16 storage: decode_f16 (decode entry point over a KV cache, and a forward
// that is the same algorithm over contiguous K and V). Algorithm and invariants:
// split_decode-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/decode_f16.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "split_decode-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void DecodeChunkF16(const void* job, int64_t task, Workspace& ws) {
  DecodeChunkTask<float16, FastExp>(*static_cast<const AttentionJob*>(job), task, ws);
}
void DecodeMergeF16(const void* job, int64_t task, Workspace& ws) {
  MergeChunksTask<float16, FastExp>(*static_cast<const AttentionJob*>(job), task, ws);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
#include "decode_kernels.hpp"

namespace attncheck::kernels {
namespace {

HWY_EXPORT(DecodeChunkF16);
HWY_EXPORT(DecodeMergeF16);

void chunk_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(DecodeChunkF16)(job, task, ws); }
void merge_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(DecodeMergeF16)(job, task, ws); }

void decode_f16_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                        const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                        const KernelOptions& options) {
  run_split_decode(spec, q, cache, visibility, outputs, options, &chunk_task, &merge_task);
}
void decode_f16_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                         const KernelOptions& options) {
  run_split_decode(spec, in.q, KvCacheView{in.k, in.v, spec.shape.kv_len}, in.visibility, out, options,
                   &chunk_task, &merge_task);
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(decode_f16, decode_kernel_info("decode_f16", DType::f16, &decode_f16_forward,
                                                          &decode_f16_decode));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
