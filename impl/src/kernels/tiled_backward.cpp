#include "tiled_backward.hpp"

#include <algorithm>
#include <stdexcept>

namespace attncheck::kernels {

BackwardWorkspace& backward_workspace() {
  thread_local BackwardWorkspace workspace;
  return workspace;
}

void run_tiled_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                        const KernelOptions& options, const BackwardTasks& tasks) {
  BackwardJob job;
  job.plan = plan_job(spec, in.visibility, AttentionOutputs{}, options, kDefaultQBlock, kDefaultKBlock);
  if (in.q == nullptr || in.k == nullptr || in.v == nullptr || in.o == nullptr || in.lse == nullptr ||
      in.d_out == nullptr || out.dq == nullptr || out.dk == nullptr || out.dv == nullptr) {
    throw std::invalid_argument("tiled backward: every input (q, k, v, o, lse, d_out) and output (dq, dk, dv) is required");
  }
  const AttentionShape& s = spec.shape;
  job.plan.q = in.q;
  job.plan.k = in.k;
  job.plan.v = in.v;
  job.plan.kv_stride = s.kv_len;
  job.o = in.o;
  job.d_out = in.d_out;
  job.lse = in.lse;
  job.dq = out.dq;
  job.dk = out.dk;
  job.dv = out.dv;
  job.fused_q_block = options.q_block != 0 ? job.plan.q_block : std::min(kFusedQBlock, s.q_len);
  job.k_blocks = ceil_div(s.kv_len, job.plan.k_block);
  // Per query row, like LSE: D and the visible range (the only memory beyond O(tile) per thread
  // and the outputs themselves).
  const int64_t rows = s.batch * s.q_heads * s.q_len;
  std::vector<float> delta(static_cast<size_t>(rows));
  std::vector<int64_t> bounds(static_cast<size_t>(2 * rows));
  job.delta = delta.data();
  job.bounds = bounds.data();

  const int threads = resolve_threads(options);
  const double flops = dense_flops(s);
  run_tasks(s.batch * s.q_heads, threads, 2.0 * double(rows) * double(s.value_dim), tasks.rows, &job);
  if (s.batch * s.kv_heads >= kFusedTasksPerThread * threads) {
    run_tasks(s.batch * s.kv_heads, threads, 2.5 * flops, tasks.fused, &job);
    return;
  }
  // Key pass: S, dP, dV, dK (4 products); query pass: S, dP, dQ (3).
  run_tasks(s.batch * s.kv_heads * job.k_blocks, threads, 2.0 * flops, tasks.keys, &job);
  run_tasks(s.batch * s.kv_heads * job.plan.q_blocks, threads, 1.5 * flops, tasks.queries, &job);
}

}  // namespace attncheck::kernels
