// Tiled online-softmax forward, f32 storage: tiled_f32 (vectorized exp) and
// tiled_exact_exp_f32 (libm expf). Algorithm and invariants: tiled_forward-inl.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tiled_f32.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "tiled_forward-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void TiledF32(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float, FastExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}
void TiledExactExpF32(const void* job, int64_t task, Workspace& ws) {
  TiledForwardTask<float, LibmExp, false>(*static_cast<const AttentionJob*>(job), task, ws);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "attncheck/registry.hpp"
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

}  // namespace

ATTNCHECK_REGISTER_KERNEL(tiled_f32, tiled_kernel_info("tiled_f32", DType::f32, TiledVariant::fast_exp, &tiled_f32));
ATTNCHECK_REGISTER_KERNEL(tiled_exact_exp_f32, tiled_kernel_info("tiled_exact_exp_f32", DType::f32,
                                                                 TiledVariant::exact_exp, &tiled_exact_exp_f32));

}  // namespace attncheck::kernels
#endif  // HWY_ONCE
