// Split-K decode (flash-decoding style), instantiated per storage dtype by decode_{f32,f16,
// bf16}.cpp, once per Highway target.
//
// Algorithm: the cache's key axis is cut into chunks of `chunk` keys aligned at key 0 (a
// fixed length, not a function of the thread count); one task per (batch, kv head, query
// block, chunk) runs the online softmax of attention_tile-inl.h over its chunk, reading K and V
// in place from the cache (widened in registers; the rows of a GQA group share every load)
// and writes the partial (m, l, acc) of each row. A second pass merges a row's partials in
// chunk order through their log-sum-exp: M = max m_c, L = sum exp(m_c - M) l_c,
// O = sum exp(m_c - M) acc_c / L, LSE = M + log L. A single query thus spreads over all cores.
// A task of one row group (a decode step of a GQA group up to kDecodeRows heads) runs its tiles
// software-pipelined (DecodeOneGroupInterleaved), a task of several (prefill) tile by tile
// (DecodeGroupsTileByTile); both do the same arithmetic in the same order per row.
// Invariants: only keys below kv_len are ever read (the slots up to the capacity are not), so
// NaN in unused cache slots cannot matter; a row's result depends only on its visible keys and
// the chunk and tile grids, so decoding token t against a cache of t + 1 tokens reproduces
// row t of a causal prefill by the same kernel bit for bit.
#if defined(ATTNCHECK_KERNELS_SPLIT_DECODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTNCHECK_KERNELS_SPLIT_DECODE_INL_H_
#undef ATTNCHECK_KERNELS_SPLIT_DECODE_INL_H_
#else
#define ATTNCHECK_KERNELS_SPLIT_DECODE_INL_H_
#endif

#include "attention_tile-inl.h"
#include "bf16_dot_scores.hpp"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

// Q.K of 4 query rows against w keys (ScoresDirect4's contract), by AVX-512 BF16 dot products
// where the job asks for them (bf16 caches; q_bf16 holds the rows' bf16 bit patterns at the
// same stride as q), else widened.
template <typename T>
HWY_INLINE void DecodeScores(const AttentionJob& job, const float* q, const uint16_t* q_bf16, size_t qdim,
                             const T* k, size_t dim, size_t w, size_t wp, float* s, const T* prefetch,
                             size_t prefetch_row_bytes) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    if (job.bf16_dot) {
      scores_bf16_dot4(q_bf16, qdim, reinterpret_cast<const uint16_t*>(k), dim, w, wp, s, prefetch,
                       prefetch_row_bytes);
      return;
    }
  }
  ScoresDirect4(q, qdim, k, dim, w, wp, s, prefetch, prefetch_row_bytes);
}

// Keys per block of the interleaved loop below, and how far ahead its rows are prefetched.
inline constexpr size_t kInterleaveKeys = 16;
inline constexpr size_t kInterleaveAhead = 32;

// The keys [lo, hi) of one chunk for a single row group (decode: one query token, a GQA group
// of kDecodeRows heads). The tile loop is software-pipelined: P.V of tile t runs interleaved
// with Q.K of tile t + 1, block by block of kInterleaveKeys keys, so the V rows of one tile
// and the K rows of the next stream from memory side by side, each prefetched a few rows per
// step, where the tile-at-a-time loop alternated 32 KiB of K with 32 KiB of V (Zen 5, f16,
// 8 kv heads x 8192 keys, 8 cold caches: one thread 1.27-1.40 -> 1.18-1.22 ms per call, two
// threads 719-729 -> 666-681 us; a walk over the cache in each order, loads only, measured
// the same gap). Without software prefetches either order is ~1.7x slower: the hardware
// prefetchers of this machine do not follow these streams. The arithmetic is unchanged:
// the row update of tile t + 1 (which may rescale acc) still follows the whole P.V of tile t,
// a score does not depend on the block it is computed in, and P.V adds each element's keys in
// increasing order whatever the blocks. Tiles that are not fully visible take the general
// path (AbsorbGroup, P.V included).
template <typename T, class Exp>
void DecodeOneGroupInterleaved(const AttentionJob& job, const RowInfo* rows, const float* q, const uint16_t* q_bf16,
                               size_t qdim, const T* k, const T* v, int64_t lo, int64_t hi, float* acc, float* max,
                               float* sum, Workspace& ws) {
  const AttentionShape& s = job.spec->shape;
  const size_t dim = static_cast<size_t>(s.head_dim);
  const size_t dv = static_cast<size_t>(s.value_dim);
  const size_t dvp = PaddedValueDim(s.value_dim);
  const size_t wp = TileWidth(job.tile_keys);
  float* scores = ws.scores.get(2 * kDecodeRows * wp);
  ws.visible.resize(kDecodeRows * wp);
  uint8_t* visible = ws.visible.data();
  // The tile whose weights wait for their P.V (in one of the two score buffers), if any.
  const float* pending_weights = nullptr;
  const T* pending_v = nullptr;
  size_t pending_w = 0;
  int64_t pending_kb0 = 0;
  if (lo < hi) {
    // The loop's prefetches run kInterleaveAhead keys ahead; the chunk's first keys get theirs
    // here, at once (about 3% faster per call, 2 threads).
    const int64_t first = lo / job.k_block * job.k_block;
    const int64_t rows_ahead = std::min<int64_t>(hi - first, static_cast<int64_t>(kInterleaveAhead));
    PrefetchRow(k + static_cast<size_t>(first) * dim, static_cast<size_t>(rows_ahead) * dim * sizeof(T));
    PrefetchRow(v + static_cast<size_t>(first) * dv, static_cast<size_t>(rows_ahead) * dv * sizeof(T));
  }
  for (int64_t kb0 = lo / job.k_block * job.k_block; kb0 < hi; kb0 += job.k_block) {
    const int64_t w = std::min(kb0 + job.k_block, hi) - kb0;
    const size_t wn = static_cast<size_t>(w);
    const Coverage coverage = Classify<kDecodeRows>(rows, kb0, w, job.scalar_alibi);
    if (coverage == Coverage::none) continue;
    float* tile_scores = scores + (pending_weights == scores ? kDecodeRows * wp : 0);
    const T* tile_k = k + kb0 * s.head_dim;
    for (size_t j = 0; j < std::max(wn, pending_w); j += kInterleaveKeys) {
      // Prefetches ride along the compute, a few rows per step, so no burst of them waits for
      // miss buffers: Q.K prefetches the V rows P.V will want kInterleaveAhead keys later (the
      // current tile's own, when no P.V is pending), P.V the K rows Q.K will want.
      const int64_t ahead = static_cast<int64_t>(j + kInterleaveAhead);
      const int64_t next_k = kb0 + ahead;
      const int64_t next_v = pending_w != 0 ? pending_kb0 + ahead : kb0 + static_cast<int64_t>(j);
      if (j < wn) {
        const size_t n = std::min(kInterleaveKeys, wn - j);
        const bool prefetch_v = next_v + static_cast<int64_t>(n) <= hi;
        DecodeScores(job, q, q_bf16, qdim, tile_k + j * dim, dim, n, wp, tile_scores + j,
                     prefetch_v ? v + static_cast<size_t>(next_v) * dv : nullptr, prefetch_v ? dv * sizeof(T) : 0);
      }
      // Only rows below hi: past them the pointer could leave the cache's allocation.
      PrefetchRows k_prefetch;
      if (next_k < hi) {
        const int64_t k_rows = std::min(hi - next_k, static_cast<int64_t>(kInterleaveKeys));
        k_prefetch = PrefetchRows{k + static_cast<size_t>(next_k) * dim, dim * sizeof(T), static_cast<size_t>(k_rows)};
      }
      if (j < pending_w) {
        AccumulatePV<kDecodeRows, Take::all>(pending_weights, wp, visible, nullptr, nullptr, pending_v, dv, j,
                                             std::min(j + kInterleaveKeys, pending_w), dv, acc, dvp, k_prefetch);
      } else if (k_prefetch.rows != 0) {
        PrefetchRow(static_cast<const T*>(k_prefetch.first), k_prefetch.rows * k_prefetch.row_bytes);
      }
    }
    pending_weights = nullptr;
    pending_w = 0;
    if (coverage == Coverage::full) {
      UpdateGroupFull<kDecodeRows, Exp, T, false>(tile_scores, rows, max, sum, acc, dvp, job, kb0, wn, wp);
      pending_weights = tile_scores;
      pending_v = v + kb0 * s.value_dim;
      pending_kb0 = kb0;
      pending_w = wn;
    } else {
      AbsorbGroup<kDecodeRows, Exp, T, false>(coverage, tile_scores, visible, rows, max, sum, acc, dvp, job, kb0, wn,
                                              wp, v + kb0 * s.value_dim, dv, dv);
    }
  }
  if (pending_w != 0) {
    AccumulatePV<kDecodeRows, Take::all>(pending_weights, wp, visible, nullptr, nullptr, pending_v, dv, 0, pending_w,
                                         dv, acc, dvp);
  }
}

// The keys [lo, hi) of one chunk for several row groups (prefill through this kernel, or a
// GQA group larger than kDecodeRows): tile by tile, every group's Q.K and then its softmax
// and P.V, while K and V of the tile are shared through the cache.
template <typename T, class Exp>
void DecodeGroupsTileByTile(const AttentionJob& job, const RowInfo* rows, int64_t padded_rows, const float* q,
                            const uint16_t* q_bf16, size_t qdim, const T* k, const T* v, int64_t lo, int64_t hi,
                            float* acc, float* max, float* sum, Workspace& ws) {
  const AttentionShape& s = job.spec->shape;
  const size_t dim = static_cast<size_t>(s.head_dim);
  const size_t dv = static_cast<size_t>(s.value_dim);
  const size_t dvp = PaddedValueDim(s.value_dim);
  const size_t wp = TileWidth(job.tile_keys);
  float* scores = ws.scores.get(kDecodeRows * wp);
  ws.visible.resize(kDecodeRows * wp);
  uint8_t* visible = ws.visible.data();
  for (int64_t kb0 = lo / job.k_block * job.k_block; kb0 < hi; kb0 += job.k_block) {
    const int64_t w = std::min(kb0 + job.k_block, hi) - kb0;
    for (int64_t g = 0; g < padded_rows; g += kDecodeRows) {
      const Coverage coverage = Classify<kDecodeRows>(rows + g, kb0, w, job.scalar_alibi);
      if (coverage == Coverage::none) continue;
      // The first group's pass prefetches the tile's V rows for every group's P.V.
      const uint16_t* group_q_bf16 = q_bf16 != nullptr ? q_bf16 + static_cast<size_t>(g) * qdim : nullptr;
      DecodeScores(job, q + static_cast<size_t>(g) * qdim, group_q_bf16, qdim, k + kb0 * s.head_dim, dim,
                   static_cast<size_t>(w), wp, scores, v + kb0 * s.value_dim, g == 0 ? dv * sizeof(T) : 0);
      // The first group's P.V prefetches the next tile's K rows (of this chunk).
      PrefetchRows next_keys;
      if (g == 0 && kb0 + w < hi) {
        next_keys = PrefetchRows{k + (kb0 + w) * s.head_dim, dim * sizeof(T),
                                 static_cast<size_t>(std::min(job.k_block, hi - kb0 - w))};
      }
      AbsorbGroup<kDecodeRows, Exp, T, false>(coverage, scores, visible, rows + g, max + g, sum + g, acc + g * dvp, dvp, job,
                                 kb0, static_cast<size_t>(w), wp, v + kb0 * s.value_dim, dv, dv, next_keys);
    }
  }
}

template <typename T, class Exp>
void DecodeChunkTask(const AttentionJob& job, int64_t task, Workspace& ws) {
  const AttentionShape& s = job.spec->shape;
  const int64_t chunk = task % job.chunks;
  const int64_t rest = task / job.chunks;
  const int64_t qb = rest % job.q_blocks;
  const int64_t kvh = rest / job.q_blocks % s.kv_heads;
  const int64_t b = rest / job.q_blocks / s.kv_heads;
  const int64_t i0 = qb * job.q_block;
  const int64_t rows_per_head = std::min(job.q_block, s.q_len - i0);
  const int64_t padded_rows = round_up(group_size(s) * rows_per_head, kDecodeRows);
  const DF df;
  const size_t qdim = static_cast<size_t>(round_up(s.head_dim, static_cast<int64_t>(hn::Lanes(df))));
  const size_t dv = static_cast<size_t>(s.value_dim);
  const size_t dvp = PaddedValueDim(s.value_dim);
  const size_t rows_n = static_cast<size_t>(padded_rows);

  float* q = ws.q.get(rows_n * qdim);
  const KeyRange keys = PrepareRows<kDecodeRows, T>(job, b, kvh, i0, rows_per_head, qdim, ws.rows, q);
  // The dot-product path reads the rows as bf16: the upper halves of their exact widenings.
  uint16_t* q_bf16 = nullptr;
  if constexpr (std::is_same_v<T, bfloat16>) {
    if (job.bf16_dot) {
      q_bf16 = ws.q_bf16.get(rows_n * qdim);
      for (size_t i = 0; i < rows_n * qdim; ++i) {
        uint32_t bits;
        std::memcpy(&bits, q + i, sizeof bits);
        q_bf16[i] = static_cast<uint16_t>(bits >> 16);
      }
    }
  }
  const RowInfo* rows = ws.rows.data();
  float* acc = ws.acc.zeroed(rows_n * dvp);
  float* max = ws.max.get(rows_n);
  float* sum = ws.sum.get(rows_n);
  for (size_t r = 0; r < rows_n; ++r) {
    max[r] = kNegInf;
    sum[r] = 0.0f;
  }
  const int64_t kv_base = (b * s.kv_heads + kvh) * job.kv_stride;
  const T* k = static_cast<const T*>(job.k) + kv_base * s.head_dim;
  const T* v = static_cast<const T*>(job.v) + kv_base * s.value_dim;
  const int64_t lo = std::max(chunk * job.chunk, keys.begin);
  const int64_t hi = std::min(std::min((chunk + 1) * job.chunk, s.kv_len), keys.end);
  if (padded_rows == kDecodeRows) {
    DecodeOneGroupInterleaved<T, Exp>(job, rows, q, q_bf16, qdim, k, v, lo, hi, acc, max, sum, ws);
  } else {
    DecodeGroupsTileByTile<T, Exp>(job, rows, padded_rows, q, q_bf16, qdim, k, v, lo, hi, acc, max, sum, ws);
  }
  const size_t stride = dv + 2;
  for (int64_t r = 0; r < padded_rows; ++r) {
    if (!rows[r].active) continue;
    float* partial = job.partials + (static_cast<size_t>(chunk * job.rows_total + rows[r].out_row)) * stride;
    partial[0] = max[r];
    partial[1] = sum[r];
    std::memcpy(partial + 2, acc + r * dvp, dv * sizeof(float));
  }
}

// Rows [task * kMergeRows, ...) of O and LSE from their chunk partials, in chunk order.
template <typename T, class Exp>
void MergeChunksTask(const AttentionJob& job, int64_t task, Workspace& ws) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t dv = static_cast<size_t>(job.spec->shape.value_dim);
  const size_t stride = dv + 2;
  float* o = ws.acc.get(dv);
  float* staging = ws.staging.get(dv);
  const int64_t last = std::min((task + 1) * kMergeRows, job.rows_total);
  for (int64_t row = task * kMergeRows; row < last; ++row) {
    auto partial = [&](int64_t c) { return job.partials + static_cast<size_t>(c * job.rows_total + row) * stride; };
    float m = kNegInf;
    for (int64_t c = 0; c < job.chunks; ++c) m = partial(c)[0] > m ? partial(c)[0] : m;
    float l = 0.0f;
    std::memset(o, 0, dv * sizeof(float));
    if (m != kNegInf) {
      for (int64_t c = 0; c < job.chunks; ++c) {
        const float* p = partial(c);
        if (p[0] == kNegInf) continue;  // the chunk saw none of the row's keys
        const float alpha = p[0] == m ? 1.0f : Exp::Scalar(p[0] - m);
        l = l + alpha * p[1];
        const VF va = hn::Set(df, alpha);
        size_t i = 0;
        for (; i + N <= dv; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(df, p + 2 + i), hn::LoadU(df, o + i)), df, o + i);
        for (; i < dv; ++i) o[i] = o[i] + alpha * p[2 + i];
      }
    }
    FinishRow<T>(job, row, o, m, l, staging);
  }
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
