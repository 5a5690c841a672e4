// Tiled online-softmax forward, f16 storage (widened exactly to f32 when a tile is packed):
// tiled_f16 (vectorized exp, P in f32) and tiled_p_rounded_f16 (P rounded to f16 before P.V).
// Algorithm and invariants: tiled_forward-inl.h; the backward of the fast-exp (and exact-exp)
// kernels: tiled_backward-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tiled_f16.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "tiled_backward-inl.h"
#include "tiled_forward-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void TiledF16(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float16, FastExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}
void TiledPRoundedF16(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float16, FastExp, true>(*static_cast<const AttentionJob*>(job), task, ws);
}

void TiledF16BackwardKeys(const void* job, int64_t task, Workspace&) {
  BackwardKeysTask<float16, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledF16BackwardQueries(const void* job, int64_t task, Workspace&) {
  BackwardQueriesTask<float16, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledF16BackwardFused(const void* job, int64_t task, Workspace&) {
  BackwardFusedTask<float16, FastExp>(*static_cast<const BackwardJob*>(job), task);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
#include "tiled_backward.hpp"
#include "tiled_kernels.hpp"

namespace attncheck::kernels {
namespace {

HWY_EXPORT(TiledF16);
HWY_EXPORT(TiledPRoundedF16);

void tiled_f16_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(TiledF16)(job, task, ws); }
void tiled_p_rounded_f16_task(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledPRoundedF16)(job, task, ws);
}

void tiled_f16(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
               const KernelOptions& options) {
  run_tiled_forward(spec, in, out, options, &tiled_f16_task);
}
void tiled_p_rounded_f16(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                         const KernelOptions& options) {
  run_tiled_forward(spec, in, out, options, &tiled_p_rounded_f16_task);
}

HWY_EXPORT(TiledF16BackwardKeys);
HWY_EXPORT(TiledF16BackwardQueries);
HWY_EXPORT(TiledF16BackwardFused);
void tiled_f16_backward_fused(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledF16BackwardFused)(job, task, ws);
}
void tiled_f16_backward_keys(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledF16BackwardKeys)(job, task, ws);
}
void tiled_f16_backward_queries(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledF16BackwardQueries)(job, task, ws);
}
void tiled_f16_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                        const KernelOptions& options) {
  run_tiled_backward(spec, in, out, options,
                     BackwardTasks{&backward_rows_task<float16>, &tiled_f16_backward_keys, &tiled_f16_backward_queries,
                                   &tiled_f16_backward_fused});
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(tiled_f16, tiled_kernel_info("tiled_f16", DType::f16, TiledVariant::fast_exp, &tiled_f16,
                                                       &tiled_f16_backward));
ATTNCHECK_REGISTER_KERNEL(tiled_p_rounded_f16, tiled_kernel_info("tiled_p_rounded_f16", DType::f16,
                                                                 TiledVariant::rounded_weights, &tiled_p_rounded_f16));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
