// The plain C++ half of the tiled backward (tiled_backward-inl.h is the SIMD half): the
// resolved call, per-thread scratch, the per-row pre-pass, and the driver that runs the passes.
#pragma once

#include <cstdint>
#include <vector>

#include "attention_plan.hpp"
#include "attncheck/element.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/semantics.hpp"

namespace attncheck::kernels {

// Rows per chunk of the key pass: the rows whose P and dS are formed before the rank-n updates
// of dK and dV run over all of them (so each accumulator tile is loaded and stored once per
// chunk, not once per 6-row group). A multiple of kTiledRows. It changes no bit: every dK and
// dV element adds its rows in the same order whatever the chunking.
inline constexpr int64_t kBackwardChunkRows = 48;

// Query rows per block of the fused form, where KernelOptions.q_block does not say (the
// forward's kDefaultQBlock serves the two passes, whose query pass cuts its tasks by it). Each
// block packs every key tile it sees (K^T, V^T, K) and loads and stores the dK/dV accumulators
// of each tile once, so a larger block spends less per score on both: at 96 rows packing was ~9%
// of the time at L = 2048, D = 128 (perf); a sweep on a shared (noisy) machine had 288 to 576
// rows fastest, 384 in the middle, which keeps the block's rows (Q, dO, dQ: 3 x 384 x 128 f32)
// and its P and dS on one 64-key tile within a 1 MiB L2 (docs/performance.md, "Backward").
// Like q_block, it changes no bit.
inline constexpr int64_t kFusedQBlock = 384;

// The fused form needs this many (batch, kv head) tasks per thread to keep the threads evenly
// busy; with fewer (one sequence of an MQA model, say) the two passes cut the work finer.
inline constexpr int64_t kFusedTasksPerThread = 2;

// One backward call, resolved. `plan` holds what the forward's tasks read (spec, Q, K, V,
// visibility, scale, tile sizes); the rest is the backward's own.
struct BackwardJob {
  AttentionJob plan;
  const void* o = nullptr;
  const void* d_out = nullptr;
  const float* lse = nullptr;
  void* dq = nullptr;
  void* dk = nullptr;
  void* dv = nullptr;
  // Per query row (lse_offset order), filled by the pre-pass: D = dO . O, and the visible key
  // range [bounds[2r], bounds[2r + 1]), empty (0, 0) for a row that sees no key (an empty
  // range, or a mask that hides every key of it).
  float* delta = nullptr;
  int64_t* bounds = nullptr;
  int64_t fused_q_block = 0;  // query rows per block of the fused form
  int64_t k_blocks = 0;  // ceil(kv_len / k_block): tasks of the key pass per (batch, kv head)
};

// One thread's scratch for the backward (the pool's Workspace is shaped for the forward); kept
// between calls, like the pool's.
struct BackwardWorkspace {
  AlignedFloats q;      // query rows, widened, zero-padded to PaddedValueDim(head_dim)
  AlignedFloats d_out;  // dO rows, widened, zero-padded to PaddedValueDim(value_dim)
  AlignedFloats kt;     // K tile, transposed: head_dim x wp
  AlignedFloats vt;     // V tile, transposed: value_dim x wp (for dP = dO V^T)
  AlignedFloats kr;     // K tile, row-major, padded (for dQ += dS K)
  AlignedFloats s;      // scores, then P
  AlignedFloats dp;     // dP, then dS
  AlignedFloats dk;     // the key pass's dK tile (f32)
  AlignedFloats dv;     // the key pass's dV tile (f32)
  AlignedFloats dq;     // the query pass's dQ rows (f32)
  std::vector<uint8_t> visible;
  std::vector<RowInfo> rows;
  std::vector<float> lse, delta;
};
// The fused form keeps f32 dK and dV of a whole kv head (kv_len x (head_dim + value_dim) floats
// per thread, the size of the outputs it writes); the two passes only tiles of them.
BackwardWorkspace& backward_workspace();  // this thread's

// Pre-pass task (one per (batch, query head)): each row's visible range (empty if it sees no
// key) and D = dO . O, summed in f32 in column order, from the O handed in. Rows that see no key
// keep D = 0 and never read dO, so a NaN stored there goes nowhere.
template <typename T>
void backward_rows_task(const void* job_ptr, int64_t task, Workspace& /*unused*/) {
  const BackwardJob& job = *static_cast<const BackwardJob*>(job_ptr);
  const AttentionSpec& spec = *job.plan.spec;
  const AttentionShape& s = spec.shape;
  const int64_t b = task / s.q_heads, h = task % s.q_heads;
  const T* o = static_cast<const T*>(job.o);
  const T* d_out = static_cast<const T*>(job.d_out);
  for (int64_t i = 0; i < s.q_len; ++i) {
    const int64_t row = lse_offset(s, b, h, i);
    KeyRange range = visible_key_range(spec, job.plan.visibility, b, i);
    if (!range.empty() && spec.mask != MaskKind::none) {
      const uint8_t* mask = job.plan.visibility.mask + mask_row_offset(spec, b, h, i);
      bool any = false;
      for (int64_t j = range.begin; j < range.end && !any; ++j) any = mask[j] != 0;
      if (!any) range = KeyRange{0, 0};
    }
    float delta = 0.0f;
    if (range.empty()) {
      range = KeyRange{0, 0};
    } else {
      const int64_t base = o_offset(s, b, h, i);
      for (int64_t c = 0; c < s.value_dim; ++c) delta += load_element(d_out + base + c) * load_element(o + base + c);
    }
    job.delta[row] = delta;
    job.bounds[2 * row] = range.begin;
    job.bounds[2 * row + 1] = range.end;
  }
}

// The task bodies of one kernel: the pre-pass (backward_rows_task<T>), the key pass, the query
// pass and the fused form (tiled_backward-inl.h).
struct BackwardTasks {
  TaskBody rows = nullptr;
  TaskBody keys = nullptr;
  TaskBody queries = nullptr;
  TaskBody fused = nullptr;
};

// Validates, resolves the tile sizes and runs the pre-pass, then either the fused form (one task
// per (batch, kv head), where there are at least kFusedTasksPerThread of them per thread) or the
// key pass (one task per (batch, kv head, key block)) and the query pass (one per (batch, kv
// head, query block)). Both give the same bits (tiled_backward-inl.h), so the choice, which
// depends on the thread count, changes no result.
void run_tiled_backward(const AttentionSpec& spec, const BackwardInputs& inputs, const BackwardOutputs& outputs,
                        const KernelOptions& options, const BackwardTasks& tasks);

}  // namespace attncheck::kernels
