// Registration helpers for the split-K decode kernels (decode_f32.cpp, decode_f16.cpp,
// decode_bf16.cpp): the driver and each kernel's KernelInfo.
#pragma once

#include "attention_plan.hpp"
#include "attncheck/kernel.hpp"

namespace attncheck::kernels {

// Validates, resolves tiles and chunks, runs one chunk task per (batch, kv head, query block,
// chunk), then the merge tasks. Chunks: kv_splits pieces when options.kv_splits > 0, else
// kDefaultDecodeChunk keys each (rounded up to whole tiles). bf16_dot asks for Q.K by AVX-512
// BF16 dot products (bf16 storage only); it takes effect where the CPU has them and head_dim
// is a multiple of 32, and the widening path runs otherwise.
void run_split_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                      const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                      const KernelOptions& options, TaskBody chunk_task, TaskBody merge_task, bool bf16_dot = false);

// The KernelInfo of a split-K decode kernel; bf16_dot for decode_bf16_dot (its error traits
// and algorithm line).
KernelInfo decode_kernel_info(const char* name, DType dtype, ForwardFn forward, DecodeFn decode, bool bf16_dot = false);

}  // namespace attncheck::kernels
