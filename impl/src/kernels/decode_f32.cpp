// Split-K decode, f32 storage: decode_f32 (decode entry point over a KV cache, and a forward
// that is the same algorithm over contiguous K and V). Algorithm and invariants:
// split_decode-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/decode_f32.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "split_decode-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void DecodeChunkF32(const void* job, int64_t task, Workspace& ws) {
  DecodeChunkTask<float, FastExp>(*static_cast<const AttentionJob*>(job), task, ws);
}
void DecodeMergeF32(const void* job, int64_t task, Workspace& ws) {
  MergeChunksTask<float, FastExp>(*static_cast<const AttentionJob*>(job), task, ws);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
#include "decode_kernels.hpp"

namespace attncheck::kernels {
namespace {

HWY_EXPORT(DecodeChunkF32);
HWY_EXPORT(DecodeMergeF32);

void chunk_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(DecodeChunkF32)(job, task, ws); }
void merge_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(DecodeMergeF32)(job, task, ws); }

void decode_f32_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                        const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                        const KernelOptions& options) {
  run_split_decode(spec, q, cache, visibility, outputs, options, &chunk_task, &merge_task);
}
void decode_f32_forward(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                         const KernelOptions& options) {
  run_split_decode(spec, in.q, KvCacheView{in.k, in.v, spec.shape.kv_len}, in.visibility, out, options,
                   &chunk_task, &merge_task);
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(decode_f32, decode_kernel_info("decode_f32", DType::f32, &decode_f32_forward,
                                                          &decode_f32_decode));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
