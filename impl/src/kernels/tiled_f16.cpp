// Tiled online-softmax forward, f16 storage (widened exactly to f32 when a tile is packed):
// tiled_f16 (vectorized exp, P in f32) and tiled_p_rounded_f16 (P rounded to f16 before P.V).
// Algorithm and invariants: tiled_forward-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tiled_f16.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "tiled_forward-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void TiledF16(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float16, FastExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}
void TiledPRoundedF16(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float16, FastExp, true>(*static_cast<const AttentionJob*>(job), task, ws);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
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

}  // namespace

ATTNCHECK_REGISTER_KERNEL(tiled_f16, tiled_kernel_info("tiled_f16", DType::f16, TiledVariant::fast_exp, &tiled_f16));
ATTNCHECK_REGISTER_KERNEL(tiled_p_rounded_f16, tiled_kernel_info("tiled_p_rounded_f16", DType::f16,
                                                                 TiledVariant::rounded_weights, &tiled_p_rounded_f16));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
