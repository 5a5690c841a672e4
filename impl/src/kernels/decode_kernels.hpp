// Registration helpers for the split-K decode kernels (decode_f32.cpp, decode_f16.cpp,
// decode_bf16.cpp): the driver and each kernel's KernelInfo.
#pragma once

#include "attention_plan.hpp"
#include "attncheck/kernel.hpp"

namespace attncheck::kernels {

// Validates, resolves tiles and chunks, runs one chunk task per (batch, kv head, query block,
// chunk), then the merge tasks. Chunks: kv_splits pieces when options.kv_splits > 0, else
// kDefaultDecodeChunk keys each (rounded up to whole tiles).
void run_split_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                      const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                      const KernelOptions& options, TaskBody chunk_task, TaskBody merge_task);

KernelInfo decode_kernel_info(const char* name, DType dtype, ForwardFn forward, DecodeFn decode);

}  // namespace attncheck::kernels
