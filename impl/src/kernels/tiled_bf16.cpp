// Tiled online-softmax forward, bf16 storage (widened exactly to f32 when a tile is packed):
// tiled_bf16 (vectorized exp, P in f32) and tiled_p_rounded_bf16 (P rounded to bf16 before P.V).
// Algorithm and invariants: tiled_forward-inl.h; the backward of the fast-exp (and exact-exp)
// kernels: tiled_backward-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tiled_bf16.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "tiled_backward-inl.h"
#include "tiled_forward-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void TiledBf16(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<bfloat16, FastExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}
void TiledPRoundedBf16(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<bfloat16, FastExp, true>(*static_cast<const AttentionJob*>(job), task, ws);
}

void TiledBf16BackwardKeys(const void* job, int64_t task, Workspace&) {
  BackwardKeysTask<bfloat16, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledBf16BackwardQueries(const void* job, int64_t task, Workspace&) {
  BackwardQueriesTask<bfloat16, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledBf16BackwardFused(const void* job, int64_t task, Workspace&) {
  BackwardFusedTask<bfloat16, FastExp>(*static_cast<const BackwardJob*>(job), task);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
#include "tiled_backward.hpp"
#include "tiled_kernels.hpp"

namespace attncheck::kernels {
namespace {

HWY_EXPORT(TiledBf16);
HWY_EXPORT(TiledPRoundedBf16);

void tiled_bf16_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(TiledBf16)(job, task, ws); }
void tiled_p_rounded_bf16_task(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledPRoundedBf16)(job, task, ws);
}

void tiled_bf16(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
               const KernelOptions& options) {
  run_tiled_forward(spec, in, out, options, &tiled_bf16_task);
}
void tiled_p_rounded_bf16(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                         const KernelOptions& options) {
  run_tiled_forward(spec, in, out, options, &tiled_p_rounded_bf16_task);
}

HWY_EXPORT(TiledBf16BackwardKeys);
HWY_EXPORT(TiledBf16BackwardQueries);
HWY_EXPORT(TiledBf16BackwardFused);
void tiled_bf16_backward_fused(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledBf16BackwardFused)(job, task, ws);
}
void tiled_bf16_backward_keys(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledBf16BackwardKeys)(job, task, ws);
}
void tiled_bf16_backward_queries(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledBf16BackwardQueries)(job, task, ws);
}
void tiled_bf16_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                        const KernelOptions& options) {
  run_tiled_backward(spec, in, out, options,
                     BackwardTasks{&backward_rows_task<bfloat16>, &tiled_bf16_backward_keys, &tiled_bf16_backward_queries,
                                   &tiled_bf16_backward_fused});
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(tiled_bf16, tiled_kernel_info("tiled_bf16", DType::bf16, TiledVariant::fast_exp, &tiled_bf16,
                                                       &tiled_bf16_backward));
ATTNCHECK_REGISTER_KERNEL(tiled_p_rounded_bf16, tiled_kernel_info("tiled_p_rounded_bf16", DType::bf16,
                                                                 TiledVariant::rounded_weights, &tiled_p_rounded_bf16));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
