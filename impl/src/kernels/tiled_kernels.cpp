#include "tiled_kernels.hpp"

#include "attncheck/kernel_math.hpp"

namespace attncheck::kernels {

void run_tiled_forward(const AttentionSpec& spec, const AttentionInputs& inputs,
                       const AttentionOutputs& outputs, const KernelOptions& options, TaskBody task) {
  AttentionJob job = plan_job(spec, inputs.visibility, outputs, options, kDefaultQBlock, kDefaultKBlock);
  job.q = inputs.q;
  job.k = inputs.k;
  job.v = inputs.v;
  job.kv_stride = spec.shape.kv_len;
  const AttentionShape& s = spec.shape;
  run_tasks(s.batch * s.kv_heads * job.q_blocks, resolve_threads(options), dense_flops(s), task, &job);
}

KernelInfo tiled_kernel_info(const char* name, DType dtype, TiledVariant variant, ForwardFn forward,
                             BackwardFn backward) {
  KernelInfo k;
  k.name = name;
  k.dtype = dtype;
  k.capabilities = kAllForwardFeatures;
  k.error.online_softmax = true;
  k.error.exp_max_ulp = variant == TiledVariant::exact_exp ? 1.0 : kFastExpMaxUlp;
  k.error.weights_rounded_to_storage = variant == TiledVariant::rounded_weights;
  switch (variant) {
    case TiledVariant::fast_exp:
      k.algorithm = "tiled online softmax (FlashAttention-2): packed f32 K^T/V tiles shared by a GQA group, "
                    "vectorized exp, P in f32, f32 accumulation";
      break;
    case TiledVariant::exact_exp:
      k.algorithm = "tiled online softmax (FlashAttention-2): packed f32 K^T/V tiles shared by a GQA group, "
                    "libm expf, P in f32, f32 accumulation";
      break;
    case TiledVariant::rounded_weights:
      k.algorithm = "tiled online softmax (FlashAttention-2): packed f32 K^T/V tiles shared by a GQA group, "
                    "vectorized exp, P rounded to storage before P.V, f32 accumulation";
      break;
  }
  k.forward = forward;
  k.backward = backward;
  k.key_tile = kDefaultKBlock;
  k.exp = variant == TiledVariant::exact_exp ? ExpFn{&libm_exp} : ExpFn{&fast_exp};
  return k;
}

}  // namespace attncheck::kernels
