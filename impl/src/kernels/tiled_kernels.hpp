// Registration helpers for the tiled forward kernels (tiled_f32.cpp, tiled_f16.cpp,
// tiled_bf16.cpp): the driver that cuts a call into tasks, and each variant's KernelInfo.
#pragma once

#include "attention_plan.hpp"
#include "attncheck/kernel.hpp"

namespace attncheck::kernels {

// The variants, each a registered kernel, that make precision-versus-speed visible.
enum class TiledVariant {
  fast_exp,        // vectorized exp (kFastExpMaxUlp), P kept in f32
  exact_exp,       // libm expf element by element, P kept in f32
  rounded_weights  // vectorized exp, P rounded to the storage dtype before P.V
};

// Validates, resolves the tile sizes and runs one task per (batch, kv head, query block).
void run_tiled_forward(const AttentionSpec& spec, const AttentionInputs& inputs,
                       const AttentionOutputs& outputs, const KernelOptions& options, TaskBody task);

// backward (optional): the variant's tiled backward (tiled_backward-inl.h), with the same exp.
KernelInfo tiled_kernel_info(const char* name, DType dtype, TiledVariant variant, ForwardFn forward,
                             BackwardFn backward = nullptr);

}  // namespace attncheck::kernels
