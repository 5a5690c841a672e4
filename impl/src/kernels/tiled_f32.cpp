// Tiled online-softmax forward, f32 storage: tiled_f32 (vectorized exp) and
// tiled_exact_exp_f32 (libm expf), each with its backward. Algorithm and invariants:
// tiled_forward-inl.h; the backward: tiled_backward-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tiled_f32.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "tiled_backward-inl.h"
#include "tiled_forward-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void TiledF32(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float, FastExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}
void TiledExactExpF32(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float, LibmExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}

void TiledF32BackwardKeys(const void* job, int64_t task, Workspace&) {
  BackwardKeysTask<float, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledF32BackwardQueries(const void* job, int64_t task, Workspace&) {
  BackwardQueriesTask<float, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledF32BackwardFused(const void* job, int64_t task, Workspace&) {
  BackwardFusedTask<float, FastExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledExactExpF32BackwardKeys(const void* job, int64_t task, Workspace&) {
  BackwardKeysTask<float, LibmExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledExactExpF32BackwardQueries(const void* job, int64_t task, Workspace&) {
  BackwardQueriesTask<float, LibmExp>(*static_cast<const BackwardJob*>(job), task);
}
void TiledExactExpF32BackwardFused(const void* job, int64_t task, Workspace&) {
  BackwardFusedTask<float, LibmExp>(*static_cast<const BackwardJob*>(job), task);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
#include "tiled_backward.hpp"
#include "tiled_kernels.hpp"

namespace attncheck::kernels {
namespace {

HWY_EXPORT(TiledF32);
HWY_EXPORT(TiledExactExpF32);

void tiled_f32_task(const void* job, int64_t task, Workspace& ws) { HWY_DYNAMIC_DISPATCH(TiledF32)(job, task, ws); }
void tiled_exact_exp_f32_task(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledExactExpF32)(job, task, ws);
}

void tiled_f32(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
               const KernelOptions& options) {
  run_tiled_forward(spec, in, out, options, &tiled_f32_task);
}
void tiled_exact_exp_f32(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                         const KernelOptions& options) {
  run_tiled_forward(spec, in, out, options, &tiled_exact_exp_f32_task);
}

HWY_EXPORT(TiledF32BackwardKeys);
HWY_EXPORT(TiledF32BackwardQueries);
HWY_EXPORT(TiledF32BackwardFused);
void tiled_f32_backward_fused(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledF32BackwardFused)(job, task, ws);
}
void tiled_f32_backward_keys(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledF32BackwardKeys)(job, task, ws);
}
void tiled_f32_backward_queries(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledF32BackwardQueries)(job, task, ws);
}
void tiled_f32_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                        const KernelOptions& options) {
  run_tiled_backward(spec, in, out, options,
                     BackwardTasks{&backward_rows_task<float>, &tiled_f32_backward_keys, &tiled_f32_backward_queries,
                                   &tiled_f32_backward_fused});
}
HWY_EXPORT(TiledExactExpF32BackwardKeys);
HWY_EXPORT(TiledExactExpF32BackwardQueries);
HWY_EXPORT(TiledExactExpF32BackwardFused);
void tiled_exact_exp_f32_backward_fused(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledExactExpF32BackwardFused)(job, task, ws);
}
void tiled_exact_exp_f32_backward_keys(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledExactExpF32BackwardKeys)(job, task, ws);
}
void tiled_exact_exp_f32_backward_queries(const void* job, int64_t task, Workspace& ws) {
  HWY_DYNAMIC_DISPATCH(TiledExactExpF32BackwardQueries)(job, task, ws);
}
void tiled_exact_exp_f32_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                        const KernelOptions& options) {
  run_tiled_backward(spec, in, out, options,
                     BackwardTasks{&backward_rows_task<float>, &tiled_exact_exp_f32_backward_keys, &tiled_exact_exp_f32_backward_queries,
                                   &tiled_exact_exp_f32_backward_fused});
}

}  // namespace

ATTNCHECK_REGISTER_KERNEL(tiled_f32, tiled_kernel_info("tiled_f32", DType::f32, TiledVariant::fast_exp, &tiled_f32,
                                                       &tiled_f32_backward));
ATTNCHECK_REGISTER_KERNEL(tiled_exact_exp_f32, tiled_kernel_info("tiled_exact_exp_f32", DType::f32,
                                                                 TiledVariant::exact_exp, &tiled_exact_exp_f32, &tiled_exact_exp_f32_backward));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
