// Tiled online-softmax forward (FlashAttention-2 style), one task per (batch, kv head, query
// block); instantiated per storage dtype by tiled_{f32,f16,bf16}.cpp, once per Highway target.
//
// Algorithm: the task's rows are every query head of one kv head (GQA/MQA group) times a block
// of q_block query positions. Key tiles of k_block keys, aligned at multiples of k_block, run
// from the first to the last key any of those rows can see; tiles outside are never touched
// (causal, window and padding skipping). Each tile's K is widened to f32 and packed transposed,
// its V widened and packed, once, and then serves every row of the group: 6 rows at a time,
// the Q.K^T micro-kernel, the online-softmax update, and the P.V micro-kernel
// (attention_tile-inl.h states the invariants). O is normalised once at the end; LSE returned.
// Memory: O(q_block * group * (head_dim + value_dim) + k_block * (head_dim + value_dim)) floats
// per thread, independent of kv_len; the q_len x kv_len score matrix never exists.
#if defined(ATTNCHECK_KERNELS_TILED_FORWARD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTNCHECK_KERNELS_TILED_FORWARD_INL_H_
#undef ATTNCHECK_KERNELS_TILED_FORWARD_INL_H_
#else
#define ATTNCHECK_KERNELS_TILED_FORWARD_INL_H_
#endif

#include "attention_tile-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

template <typename T, class Exp, bool kRoundP>
void TiledForwardTask(const AttentionJob& job, int64_t task, Workspace& ws) {
  const AttentionShape& s = job.spec->shape;
  const int64_t qb = task % job.q_blocks;
  const int64_t kvh = task / job.q_blocks % s.kv_heads;
  const int64_t b = task / job.q_blocks / s.kv_heads;
  const int64_t i0 = qb * job.q_block;
  const int64_t rows_per_head = std::min(job.q_block, s.q_len - i0);
  const int64_t padded_rows = round_up(group_size(s) * rows_per_head, kTiledRows);
  const size_t dim = static_cast<size_t>(s.head_dim);
  const size_t dv = static_cast<size_t>(s.value_dim);
  const size_t dvp = PaddedValueDim(s.value_dim);
  const size_t wp = TileWidth(job.tile_keys);
  const size_t rows_n = static_cast<size_t>(padded_rows);

  float* q = ws.q.get(rows_n * dim);
  const KeyRange keys = PrepareRows<kTiledRows, T>(job, b, kvh, i0, rows_per_head, dim, ws.rows, q);
  const RowInfo* rows = ws.rows.data();
  float* acc = ws.acc.zeroed(rows_n * dvp);
  float* max = ws.max.get(rows_n);
  float* sum = ws.sum.get(rows_n);
  for (size_t r = 0; r < rows_n; ++r) {
    max[r] = kNegInf;
    sum[r] = 0.0f;
  }
  float* kt = ws.keys.get(dim * wp);
  float* vt = ws.values.zeroed(static_cast<size_t>(job.tile_keys) * dvp);  // padding columns stay 0
  float* scores = ws.scores.get(kTiledRows * wp);
  ws.visible.resize(kTiledRows * wp);
  uint8_t* visible = ws.visible.data();
  float* staging = ws.staging.get(std::max(dim, dvp));

  const int64_t kv_base = (b * s.kv_heads + kvh) * job.kv_stride;
  const T* k = static_cast<const T*>(job.k) + kv_base * s.head_dim;
  const T* v = static_cast<const T*>(job.v) + kv_base * s.value_dim;
  for (int64_t kb0 = keys.empty() ? keys.end : keys.begin / job.k_block * job.k_block; kb0 < keys.end;
       kb0 += job.k_block) {
    const int64_t w = std::min(kb0 + job.k_block, keys.end) - kb0;
    bool packed = false;
    for (int64_t g = 0; g < padded_rows; g += kTiledRows) {
      const Coverage coverage = Classify<kTiledRows>(rows + g, kb0, w, job.scalar_alibi);
      if (coverage == Coverage::none) continue;
      if (!packed) {  // a tile no group sees (inside a window's span) is never read
        PackKeysTransposed(k + kb0 * s.head_dim, static_cast<size_t>(w), dim, wp, kt, staging);
        PackValues(v + kb0 * s.value_dim, static_cast<size_t>(w), dv, dvp, vt);
        packed = true;
      }
      ScoresPacked6(q + static_cast<size_t>(g) * dim, dim, kt, wp, scores);
      AbsorbGroup<kTiledRows, Exp, T, kRoundP>(coverage, scores, visible, rows + g, max + g, sum + g, acc + g * dvp, dvp,
                                   job, kb0, static_cast<size_t>(w), wp, vt, dvp, dvp);
    }
  }
  for (int64_t r = 0; r < padded_rows; ++r) {
    if (!rows[r].active) continue;
    FinishRow<T>(job, rows[r].out_row, acc + r * dvp, max[r], sum[r], staging);
  }
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
