#include "decode_kernels.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "attncheck/kernel_math.hpp"
#include "bf16_dot_scores.hpp"

namespace attncheck::kernels {

void run_split_decode(const AttentionSpec& spec, const void* q, const KvCacheView& cache,
                      const VisibilityInputs& visibility, const AttentionOutputs& outputs,
                      const KernelOptions& options, TaskBody chunk_task, TaskBody merge_task, bool bf16_dot) {
  AttentionJob job = plan_job(spec, visibility, outputs, options, kDefaultDecodeQBlock, kDefaultDecodeKBlock);
  const AttentionShape& s = spec.shape;
  if (cache.capacity < s.kv_len) {
    throw std::invalid_argument("KvCacheView.capacity: " + std::to_string(cache.capacity) +
                                " is below kv_len " + std::to_string(s.kv_len));
  }
  job.q = q;
  job.k = cache.k;
  job.v = cache.v;
  job.kv_stride = cache.capacity;
  job.bf16_dot = bf16_dot && s.head_dim % 32 == 0 && cpu_has_bf16_dot();
  // Chunks of a fixed key count aligned at key 0, so a row's chunks are the same whatever
  // kv_len and thread count are (decode of token t == row t of the prefill).
  const int64_t wanted = options.kv_splits > 0 ? ceil_div(s.kv_len, options.kv_splits) : kDefaultDecodeChunk;
  job.chunk = round_up(wanted, job.k_block);
  job.chunks = ceil_div(s.kv_len, job.chunk);
  std::vector<float> partials(static_cast<size_t>(job.chunks * job.rows_total * (s.value_dim + 2)));
  job.partials = partials.data();
  const int threads = resolve_threads(options);
  run_tasks(s.batch * s.kv_heads * job.q_blocks * job.chunks, threads, dense_flops(s), chunk_task, &job);
  // The merge reads every partial once: about (value_dim + 2) flops per row and chunk.
  run_tasks(ceil_div(job.rows_total, kMergeRows), threads, 2.0 * double(job.rows_total * job.chunks * (s.value_dim + 2)),
            merge_task, &job);
}

KernelInfo decode_kernel_info(const char* name, DType dtype, ForwardFn forward, DecodeFn decode, bool bf16_dot) {
  KernelInfo k;
  k.name = name;
  k.dtype = dtype;
  k.capabilities = kAllForwardFeatures | kDecode;
  k.error = ErrorTraits{.exp_max_ulp = kFastExpMaxUlp, .weights_rounded_to_storage = false, .online_softmax = true};
  k.exp = &fast_exp;
  k.algorithm = "split-K decode (flash-decoding): online softmax per chunk of 2048 cache keys, K/V read in place "
                "and shared by a GQA group (Q.K of one tile interleaved with P.V of the previous), vectorized "
                "exp, partials merged through their log-sum-exp";
  if (bf16_dot) {
    k.error.dot_flushes_subnormals = true;
    k.algorithm += "; Q.K by AVX-512 BF16 dot products (vdpbf16ps: exact pair products, subnormals flushed) "
                   "where the CPU has them, else widened like decode_bf16";
  }
  k.forward = forward;
  k.decode = decode;
  k.key_tile = kDefaultDecodeKBlock;
  return k;
}

}  // namespace attncheck::kernels
