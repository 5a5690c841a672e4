// Per-target building blocks of the optimized kernels (tiled_*.cpp, decode_*.cpp): tile
// packing, the register-blocked Q.K^T and P.V micro-kernels, the online-softmax row update and
// the final normalisation. Included once per Highway target through foreach_target.h. The
// building blocks are HWY_NOINLINE: each runs on a whole tile, so a call costs nothing, while
// inlining every instance into every task multiplied the compile time (and code size).
//
// Online softmax (Milakov & Gimelshein 2018; FlashAttention-2, Dao 2023). Each row keeps
//   m   = max of the visible scores seen so far (-inf before the first),
//   l   = sum_j exp(s_j - m),   acc = sum_j exp(s_j - m) v_j     (f32),
// and a key tile with tile max m_t sets m' = max(m, m_t), scales l and acc by exp(m - m')
// (skipped when m' = m), and adds the tile's exp(s_j - m') terms. O = acc / l and
// LSE = m + log(l) at the end.
// Invariants: once a key was visible l >= 1 (its max term is exp(0) = 1), so l never
// underflows or overflows; an invisible key never enters m, l or acc: its score is replaced
// (never multiplied) by -inf, and tiles that are not fully visible skip invisible keys in P.V,
// so a NaN or Inf stored in an invisible K or V slot cannot reach O. A row's arithmetic
// depends only on its own visible keys and the key-tile grid (aligned at key 0), never on the
// other rows that share its task or micro-kernel group: this is what makes the outputs
// independent of q_block and of the thread count, and decode equal to prefill bit for bit.
#if defined(ATTNCHECK_KERNELS_ATTENTION_TILE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTNCHECK_KERNELS_ATTENTION_TILE_INL_H_
#undef ATTNCHECK_KERNELS_ATTENTION_TILE_INL_H_
#else
#define ATTNCHECK_KERNELS_ATTENTION_TILE_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "attention_plan.hpp"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernel_math-inl.h"
#if HWY_ARCH_X86
#include "avx512_score_blocks.hpp"
#endif

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Width of a packed key tile: k_block rounded up to the two vectors the Q.K^T micro-kernel
// handles per step.
HWY_INLINE size_t TileWidth(int64_t k_block) {
  const DF df;
  return static_cast<size_t>(round_up(k_block, static_cast<int64_t>(2 * hn::Lanes(df))));
}

// Value rows padded to two vectors, so P.V on packed tiles has no column tail.
HWY_INLINE size_t PaddedValueDim(int64_t value_dim) { return TileWidth(value_dim); }

// ------------------------------------------------------------------ packing

#if HWY_TARGET != HWY_SCALAR
// Transposes the square block of rows r[0..n) (n = lanes of d: 8, or 4 on 128-bit targets)
// in registers: unpack pairs, then 64-bit pairs, then (8 lanes) 128-bit halves.
template <class D, class V>
HWY_INLINE void TransposeBlock(D d, V& r0, V& r1, V& r2, V& r3, V& r4, V& r5, V& r6, V& r7) {
  const hn::RepartitionToWide<D> dw;
  const V t0 = hn::InterleaveLower(d, r0, r1), t1 = hn::InterleaveUpper(d, r0, r1);
  const V t2 = hn::InterleaveLower(d, r2, r3), t3 = hn::InterleaveUpper(d, r2, r3);
  const V u0 = hn::BitCast(d, hn::InterleaveLower(dw, hn::BitCast(dw, t0), hn::BitCast(dw, t2)));
  const V u1 = hn::BitCast(d, hn::InterleaveUpper(dw, hn::BitCast(dw, t0), hn::BitCast(dw, t2)));
  const V u2 = hn::BitCast(d, hn::InterleaveLower(dw, hn::BitCast(dw, t1), hn::BitCast(dw, t3)));
  const V u3 = hn::BitCast(d, hn::InterleaveUpper(dw, hn::BitCast(dw, t1), hn::BitCast(dw, t3)));
  if constexpr (hn::MaxLanes(D()) == 4) {
    r0 = u0;
    r1 = u1;
    r2 = u2;
    r3 = u3;
  } else {
    const V t4 = hn::InterleaveLower(d, r4, r5), t5 = hn::InterleaveUpper(d, r4, r5);
    const V t6 = hn::InterleaveLower(d, r6, r7), t7 = hn::InterleaveUpper(d, r6, r7);
    const V u4 = hn::BitCast(d, hn::InterleaveLower(dw, hn::BitCast(dw, t4), hn::BitCast(dw, t6)));
    const V u5 = hn::BitCast(d, hn::InterleaveUpper(dw, hn::BitCast(dw, t4), hn::BitCast(dw, t6)));
    const V u6 = hn::BitCast(d, hn::InterleaveLower(dw, hn::BitCast(dw, t5), hn::BitCast(dw, t7)));
    const V u7 = hn::BitCast(d, hn::InterleaveUpper(dw, hn::BitCast(dw, t5), hn::BitCast(dw, t7)));
    r0 = hn::ConcatLowerLower(d, u4, u0);
    r1 = hn::ConcatLowerLower(d, u5, u1);
    r2 = hn::ConcatLowerLower(d, u6, u2);
    r3 = hn::ConcatLowerLower(d, u7, u3);
    r4 = hn::ConcatUpperUpper(d, u4, u0);
    r5 = hn::ConcatUpperUpper(d, u5, u1);
    r6 = hn::ConcatUpperUpper(d, u6, u2);
    r7 = hn::ConcatUpperUpper(d, u7, u3);
  }
}
#endif  // HWY_TARGET != HWY_SCALAR

// kt[d * wp + j] = K[j][d] for j < w (widened to f32); columns [w, wp) are zeroed so the
// micro-kernel never reads stale values (their scores are discarded anyway). Whole blocks of
// B x B (B = 8, or 4 on 128-bit targets) go through register transposes; the edges are scalar.
template <typename T>
HWY_NOINLINE void PackKeysTransposed(const T* HWY_RESTRICT k, size_t w, size_t dim, size_t wp,
                                   float* HWY_RESTRICT kt, float* HWY_RESTRICT /*staging*/) {
  size_t j = 0;
#if HWY_TARGET != HWY_SCALAR
  using DB = hn::CappedTag<float, 8>;
  const DB db;
  constexpr size_t B = hn::MaxLanes(DB());
  if constexpr (B == 4 || B == 8) {
    const size_t blocked_dim = dim / B * B;
    for (; j + B <= w; j += B) {
      const T* HWY_RESTRICT rows = k + j * dim;
      for (size_t d = 0; d < blocked_dim; d += B) {
        using V = hn::Vec<DB>;
        V r0 = LoadWiden(db, rows + d), r1 = LoadWiden(db, rows + dim + d);
        V r2 = LoadWiden(db, rows + 2 * dim + d), r3 = LoadWiden(db, rows + 3 * dim + d);
        V r4 = r0, r5 = r0, r6 = r0, r7 = r0;
        if constexpr (B == 8) {
          r4 = LoadWiden(db, rows + 4 * dim + d);
          r5 = LoadWiden(db, rows + 5 * dim + d);
          r6 = LoadWiden(db, rows + 6 * dim + d);
          r7 = LoadWiden(db, rows + 7 * dim + d);
        }
        TransposeBlock(db, r0, r1, r2, r3, r4, r5, r6, r7);
        float* HWY_RESTRICT out = kt + d * wp + j;
        hn::StoreU(r0, db, out);
        hn::StoreU(r1, db, out + wp);
        hn::StoreU(r2, db, out + 2 * wp);
        hn::StoreU(r3, db, out + 3 * wp);
        if constexpr (B == 8) {
          hn::StoreU(r4, db, out + 4 * wp);
          hn::StoreU(r5, db, out + 5 * wp);
          hn::StoreU(r6, db, out + 6 * wp);
          hn::StoreU(r7, db, out + 7 * wp);
        }
      }
    }
    // The dims past the last whole block, for the keys done above.
    for (size_t jj = 0; jj < j; ++jj) {
      for (size_t d = blocked_dim; d < dim; ++d) kt[d * wp + jj] = load_element(k + jj * dim + d);
    }
  }
#endif
  for (; j < w; ++j) {
    for (size_t d = 0; d < dim; ++d) kt[d * wp + j] = load_element(k + j * dim + d);
  }
  if (w < wp) {
    for (size_t d = 0; d < dim; ++d) std::memset(kt + d * wp + w, 0, (wp - w) * sizeof(float));
  }
}

// vt[j * dvp + c] = V[j][c] for j < w, c < dv (widened); columns [dv, dvp) must already be 0.
template <typename T>
HWY_NOINLINE void PackValues(const T* HWY_RESTRICT v, size_t w, size_t dv, size_t dvp, float* HWY_RESTRICT vt) {
  for (size_t j = 0; j < w; ++j) WidenRow(v + j * dv, dv, vt + j * dvp);
}

// ------------------------------------------------------------------ Q.K^T

// s[r * wp + j] = sum_{d < dim} q[r * q_stride + d] * kt[d * wp + j] for the 6 rows r and
// every j < wp (rows may be padded: q_stride >= dim). Register blocking: 6 rows x 2 vectors of
// keys (12 FMA chains); each score accumulates d in order with one FMA per term, from zero
// (error gamma_dim, as any summation order). The tiled backward recomputes its scores, and
// dP = dO V^T, with the same function, so its scores are the forward's bit for bit.
inline HWY_NOINLINE void ScoresRows6(const float* HWY_RESTRICT q, size_t q_stride, size_t dim,
                                     const float* HWY_RESTRICT kt, size_t wp, float* HWY_RESTRICT s) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const float* HWY_RESTRICT q0 = q;
  const float* HWY_RESTRICT q1 = q + q_stride;
  const float* HWY_RESTRICT q2 = q + 2 * q_stride;
  const float* HWY_RESTRICT q3 = q + 3 * q_stride;
  const float* HWY_RESTRICT q4 = q + 4 * q_stride;
  const float* HWY_RESTRICT q5 = q + 5 * q_stride;
  for (size_t j = 0; j < wp; j += 2 * N) {
    VF a00 = hn::Zero(df), a01 = hn::Zero(df), a10 = hn::Zero(df), a11 = hn::Zero(df);
    VF a20 = hn::Zero(df), a21 = hn::Zero(df), a30 = hn::Zero(df), a31 = hn::Zero(df);
    VF a40 = hn::Zero(df), a41 = hn::Zero(df), a50 = hn::Zero(df), a51 = hn::Zero(df);
    const float* HWY_RESTRICT column = kt + j;
    for (size_t d = 0; d < dim; ++d, column += wp) {
      const VF k0 = hn::Load(df, column);
      const VF k1 = hn::Load(df, column + N);
      VF b = hn::Set(df, q0[d]);
      a00 = hn::MulAdd(b, k0, a00);
      a01 = hn::MulAdd(b, k1, a01);
      b = hn::Set(df, q1[d]);
      a10 = hn::MulAdd(b, k0, a10);
      a11 = hn::MulAdd(b, k1, a11);
      b = hn::Set(df, q2[d]);
      a20 = hn::MulAdd(b, k0, a20);
      a21 = hn::MulAdd(b, k1, a21);
      b = hn::Set(df, q3[d]);
      a30 = hn::MulAdd(b, k0, a30);
      a31 = hn::MulAdd(b, k1, a31);
      b = hn::Set(df, q4[d]);
      a40 = hn::MulAdd(b, k0, a40);
      a41 = hn::MulAdd(b, k1, a41);
      b = hn::Set(df, q5[d]);
      a50 = hn::MulAdd(b, k0, a50);
      a51 = hn::MulAdd(b, k1, a51);
    }
    hn::Store(a00, df, s + j);
    hn::Store(a01, df, s + j + N);
    hn::Store(a10, df, s + wp + j);
    hn::Store(a11, df, s + wp + j + N);
    hn::Store(a20, df, s + 2 * wp + j);
    hn::Store(a21, df, s + 2 * wp + j + N);
    hn::Store(a30, df, s + 3 * wp + j);
    hn::Store(a31, df, s + 3 * wp + j + N);
    hn::Store(a40, df, s + 4 * wp + j);
    hn::Store(a41, df, s + 4 * wp + j + N);
    hn::Store(a50, df, s + 5 * wp + j);
    hn::Store(a51, df, s + 5 * wp + j + N);
  }
}

// The forward's case: rows of exactly dim floats.
inline void ScoresPacked6(const float* HWY_RESTRICT q, size_t dim, const float* HWY_RESTRICT kt, size_t wp,
                          float* HWY_RESTRICT s) {
  ScoresRows6(q, dim, dim, kt, wp, s);
}

template <typename T>
HWY_INLINE float DotTail(const float* HWY_RESTRICT q, const T* HWY_RESTRICT k, size_t from, size_t dim) {
  float sum = 0.0f;
  for (size_t d = from; d < dim; ++d) sum += q[d] * load_element(k + d);
  return sum;
}

template <typename T>
HWY_INLINE void PrefetchRow(const T* row, size_t bytes) {
  const char* p = reinterpret_cast<const char*>(row);
  for (size_t b = 0; b < bytes; b += 64) hwy::Prefetch(p + b);
}

// Prefetches spread over the iterations of a loop: iteration i requests the `step` bytes at
// first + i * step (step a multiple of 64; 0 requests nothing). A burst of a step's prefetches
// ahead of its loop stalled the core on the miss buffers, and the loads behind them waited
// (Zen 5, f16 decode, 8 kv heads x 8192 keys, 8 cold caches, alternating in one process: 2
// threads ~14% faster per call, 1 thread ~24%).
struct SpreadPrefetch {
  const char* first = nullptr;
  size_t step = 0;
};

// kLines != 0: the step is known to be kLines lines (or 0 over a stand-in region), so the
// slice is kLines prefetches with no loop around them.
template <size_t kLines>
HWY_INLINE void PrefetchSlice(const SpreadPrefetch& p, size_t i) {
  const char* slice = p.first + i * p.step;
  if constexpr (kLines != 0) {
    for (size_t line = 0; line < kLines; ++line) hwy::Prefetch(slice + 64 * line);
  } else {
    for (size_t b = 0; b < p.step; b += 64) hwy::Prefetch(slice + b);
  }
}

// The step that spreads `bytes` evenly over `iterations` in whole cache lines, or 0 if none does.
HWY_INLINE size_t SpreadStep(size_t bytes, size_t iterations) {
  return iterations != 0 && bytes != 0 && bytes % (iterations * 64) == 0 ? bytes / iterations : 0;
}

// Decode form: K read in place from storage (key rows of `dim` elements), no transpose: 4
// query rows (a GQA group; q rows f32, `qdim` apart, zero-padded to a multiple of the vector
// length) against the tile's keys, each score a lane-wise dot product over d (widened in
// registers) and then a horizontal sum; s[r * wp + j] for j < w. While K streams in, the same
// keys' V rows (prefetch + j * prefetch_row_bytes) are prefetched: P.V then walks the tile
// column block by column block, a strided pattern the hardware prefetchers serve poorly
// straight from DRAM. Two forms: on 512-bit targets 4 keys at a time with one transposing
// reduction (Zen 5, Hq = 32, Hkv = 8, D = 128, 8192 keys, one thread: f32 5.5 -> 3.6 ms; f16
// with data in cache 23 -> 19 ns per key and kv head, equal when streaming from DRAM, once the
// loop kept its 16 accumulators in registers and stored its sums without a per-key tail
// call); elsewhere (16 registers) 2 keys at a time with a horizontal sum per score.

// Two keys per step, so each loaded q vector serves 2 x 4 dot products. K rows are prefetched
// 16 ahead (one thread at 8192 keys: about 2.0 -> 1.9 ms, within the machine's noise).
template <typename T>
HWY_NOINLINE void ScoresDirectPairs(const float* HWY_RESTRICT q, size_t qdim, const T* HWY_RESTRICT k, size_t dim,
                                    size_t w, size_t wp, float* HWY_RESTRICT s, const T* prefetch,
                                    size_t prefetch_row_bytes) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t full = dim / N * N;
  const float* HWY_RESTRICT q0 = q;
  const float* HWY_RESTRICT q1 = q + qdim;
  const float* HWY_RESTRICT q2 = q + 2 * qdim;
  const float* HWY_RESTRICT q3 = q + 3 * qdim;
  size_t j = 0;
  const size_t prefetch_row = prefetch_row_bytes / sizeof(T);
  for (; j + 2 <= w; j += 2) {
    const T* HWY_RESTRICT ka = k + j * dim;
    const T* HWY_RESTRICT kb = ka + dim;
    PrefetchRow(prefetch + j * prefetch_row, 2 * prefetch_row_bytes);
    if (j + 18 <= w) PrefetchRow(k + (j + 16) * dim, 2 * dim * sizeof(T));  // K, 16 rows ahead
    VF a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    VF b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
    for (size_t d = 0; d < full; d += N) {
      const VF x = LoadWiden(df, ka + d);
      const VF y = LoadWiden(df, kb + d);
      VF qv = hn::Load(df, q0 + d);
      a0 = hn::MulAdd(qv, x, a0);
      b0 = hn::MulAdd(qv, y, b0);
      qv = hn::Load(df, q1 + d);
      a1 = hn::MulAdd(qv, x, a1);
      b1 = hn::MulAdd(qv, y, b1);
      qv = hn::Load(df, q2 + d);
      a2 = hn::MulAdd(qv, x, a2);
      b2 = hn::MulAdd(qv, y, b2);
      qv = hn::Load(df, q3 + d);
      a3 = hn::MulAdd(qv, x, a3);
      b3 = hn::MulAdd(qv, y, b3);
    }
    s[j] = hn::GetLane(hn::SumOfLanes(df, a0)) + DotTail(q0, ka, full, dim);
    s[wp + j] = hn::GetLane(hn::SumOfLanes(df, a1)) + DotTail(q1, ka, full, dim);
    s[2 * wp + j] = hn::GetLane(hn::SumOfLanes(df, a2)) + DotTail(q2, ka, full, dim);
    s[3 * wp + j] = hn::GetLane(hn::SumOfLanes(df, a3)) + DotTail(q3, ka, full, dim);
    s[j + 1] = hn::GetLane(hn::SumOfLanes(df, b0)) + DotTail(q0, kb, full, dim);
    s[wp + j + 1] = hn::GetLane(hn::SumOfLanes(df, b1)) + DotTail(q1, kb, full, dim);
    s[2 * wp + j + 1] = hn::GetLane(hn::SumOfLanes(df, b2)) + DotTail(q2, kb, full, dim);
    s[3 * wp + j + 1] = hn::GetLane(hn::SumOfLanes(df, b3)) + DotTail(q3, kb, full, dim);
  }
  for (; j < w; ++j) {
    const T* HWY_RESTRICT ka = k + j * dim;
    VF a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    for (size_t d = 0; d < full; d += N) {
      const VF x = LoadWiden(df, ka + d);
      a0 = hn::MulAdd(hn::Load(df, q0 + d), x, a0);
      a1 = hn::MulAdd(hn::Load(df, q1 + d), x, a1);
      a2 = hn::MulAdd(hn::Load(df, q2 + d), x, a2);
      a3 = hn::MulAdd(hn::Load(df, q3 + d), x, a3);
    }
    s[j] = hn::GetLane(hn::SumOfLanes(df, a0)) + DotTail(q0, ka, full, dim);
    s[wp + j] = hn::GetLane(hn::SumOfLanes(df, a1)) + DotTail(q1, ka, full, dim);
    s[2 * wp + j] = hn::GetLane(hn::SumOfLanes(df, a2)) + DotTail(q2, ka, full, dim);
    s[3 * wp + j] = hn::GetLane(hn::SumOfLanes(df, a3)) + DotTail(q3, ka, full, dim);
  }
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// The 16 scores of 4 query rows (q, qdim apart) against 4 keys over the first `full` elements
// (a multiple of the 16 lanes), as one vector: lane 4 r + t is row r against key t. Each
// widened key vector serves the 4 rows and each q vector the 4 keys. Iteration i of the loop
// over d sends slice i of each prefetch region.
template <size_t kLines, typename T>
HWY_INLINE VF ScoresOfStep(const float* HWY_RESTRICT q, size_t qdim, const T* HWY_RESTRICT k0,
                           const T* HWY_RESTRICT k1, const T* HWY_RESTRICT k2, const T* HWY_RESTRICT k3,
                           size_t full, const SpreadPrefetch& v_rows, const SpreadPrefetch& k_rows) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const float* HWY_RESTRICT q1 = q + qdim;
  const float* HWY_RESTRICT q2 = q + 2 * qdim;
  const float* HWY_RESTRICT q3 = q + 3 * qdim;
  VF a00 = hn::Zero(df), a01 = hn::Zero(df), a02 = hn::Zero(df), a03 = hn::Zero(df);
  VF a10 = hn::Zero(df), a11 = hn::Zero(df), a12 = hn::Zero(df), a13 = hn::Zero(df);
  VF a20 = hn::Zero(df), a21 = hn::Zero(df), a22 = hn::Zero(df), a23 = hn::Zero(df);
  VF a30 = hn::Zero(df), a31 = hn::Zero(df), a32 = hn::Zero(df), a33 = hn::Zero(df);
  for (size_t d = 0, i = 0; d < full; d += N, ++i) {
    PrefetchSlice<kLines>(v_rows, i);
    PrefetchSlice<kLines>(k_rows, i);
    const VF x0 = LoadWiden(df, k0 + d), x1 = LoadWiden(df, k1 + d);
    const VF x2 = LoadWiden(df, k2 + d), x3 = LoadWiden(df, k3 + d);
    VF qv = hn::Load(df, q + d);
    a00 = hn::MulAdd(qv, x0, a00);
    a01 = hn::MulAdd(qv, x1, a01);
    a02 = hn::MulAdd(qv, x2, a02);
    a03 = hn::MulAdd(qv, x3, a03);
    qv = hn::Load(df, q1 + d);
    a10 = hn::MulAdd(qv, x0, a10);
    a11 = hn::MulAdd(qv, x1, a11);
    a12 = hn::MulAdd(qv, x2, a12);
    a13 = hn::MulAdd(qv, x3, a13);
    qv = hn::Load(df, q2 + d);
    a20 = hn::MulAdd(qv, x0, a20);
    a21 = hn::MulAdd(qv, x1, a21);
    a22 = hn::MulAdd(qv, x2, a22);
    a23 = hn::MulAdd(qv, x3, a23);
    qv = hn::Load(df, q3 + d);
    a30 = hn::MulAdd(qv, x0, a30);
    a31 = hn::MulAdd(qv, x1, a31);
    a32 = hn::MulAdd(qv, x2, a32);
    a33 = hn::MulAdd(qv, x3, a33);
  }
  __m512 acc[16] = {a00.raw, a01.raw, a02.raw, a03.raw, a10.raw, a11.raw, a12.raw, a13.raw,
                    a20.raw, a21.raw, a22.raw, a23.raw, a30.raw, a31.raw, a32.raw, a33.raw};
  return VF{avx512::sums_of_lanes16(acc)};
}

// Four keys per step (ScoresOfStep), four steps per block of 16 keys, whose 4 score vectors
// are transposed by 128-bit blocks (avx512::transpose_blocks4) into one vector of 16 keys per
// row and stored whole, where storing each step's 4 x 4 scores went through the stack (a 64-byte store
// read back as 16-byte pieces). A last partial block goes step by step; a last partial step
// repeats its last key (its extra scores are dropped), so every key's score is computed the
// same way. While K streams in, each step prefetches the same keys' V rows (`prefetch`, for
// P.V) and the K rows kPrefetchKeysAhead keys ahead within the tile (the hardware prefetchers
// lag on 4 interleaved rows), spread over its loop (SpreadPrefetch) where the regions divide
// evenly into cache lines per iteration, else in one burst before it.
template <typename T>
HWY_NOINLINE void ScoresDirectTransposed(const float* HWY_RESTRICT q, size_t qdim, const T* HWY_RESTRICT k,
                                         size_t dim, size_t w, size_t wp, float* HWY_RESTRICT s, const T* prefetch,
                                         size_t prefetch_row_bytes) {
  constexpr size_t kRows = 4, kKeys = 4;
  const DF df;
  const size_t N = hn::Lanes(df);
  static_assert(kRows * kKeys == hn::MaxLanes(DF()), "one score per lane");
  const size_t full = dim / N * N;
  const bool tail = full < dim;
  const size_t prefetch_row = prefetch_row_bytes / sizeof(T);
  const size_t key_bytes = dim * sizeof(T);
  const size_t iterations = full / N;
  const size_t v_step = SpreadStep(kKeys * prefetch_row_bytes, iterations);
  const size_t k_step = SpreadStep(kKeys * key_bytes, iterations);
  // Spread where each region to send divides evenly (K alone when there is no V to prefetch).
  // An absent region is q's first line with step 0: nothing for the general slices, one line
  // already in L1 for the fixed ones.
  const bool spread = k_step != 0 && (v_step != 0 || prefetch_row_bytes == 0);
  const SpreadPrefetch absent{reinterpret_cast<const char*>(q), 0};
  // Decode's usual case (dim == dv, no tail): both regions take kFixedLines lines per
  // iteration, so the d loop prefetches without branches or loops of its own. The two little
  // prefetch loops per iteration had cost more than their prefetches (Zen 5, 8 kv heads x 8192
  // keys, 8 cold caches, 2 threads, alternating in one process: f16 2-5% faster per call with
  // the P.V change below, f32 19%; this Q.K alone in L1: 8.0 -> 6.5 ns per key).
  constexpr size_t kFixedLines = sizeof(T);
  const bool fixed =
      spread && k_step == 64 * kFixedLines && (v_step == 64 * kFixedLines || prefetch_row_bytes == 0);
  // The prefetch regions of the step at key j (of `keys` keys): spread, or sent at once.
  const auto step_prefetches = [&](size_t j, size_t keys, SpreadPrefetch& v_rows, SpreadPrefetch& k_rows) HWY_ATTR {
    const char* v_first = prefetch_row_bytes != 0 ? reinterpret_cast<const char*>(prefetch + j * prefetch_row) : nullptr;
    const char* k_first =
        j + kPrefetchKeysAhead + kKeys <= w ? reinterpret_cast<const char*>(k + (j + kPrefetchKeysAhead) * dim) : nullptr;
    if (spread && keys == kKeys) {
      v_rows = v_first != nullptr ? SpreadPrefetch{v_first, v_step} : absent;
      k_rows = k_first != nullptr ? SpreadPrefetch{k_first, k_step} : absent;
      return;
    }
    v_rows = k_rows = SpreadPrefetch{};
    if (v_first != nullptr) PrefetchRow(v_first, keys * prefetch_row_bytes);
    if (k_first != nullptr) PrefetchRow(k_first, kKeys * key_bytes);
  };
  SpreadPrefetch v_rows, k_rows;
  size_t j = 0;
  // Whole blocks of 16 keys; `lines` is kFixedLines or 0 (the general PrefetchSlice).
  const auto blocks = [&](auto lines) HWY_ATTR {
    constexpr size_t kLines = decltype(lines)::value;
    for (; j + 4 * kKeys <= w; j += 4 * kKeys) {
      const T* HWY_RESTRICT kj = k + j * dim;
      step_prefetches(j, kKeys, v_rows, k_rows);
      VF s0 = ScoresOfStep<kLines>(q, qdim, kj, kj + dim, kj + 2 * dim, kj + 3 * dim, full, v_rows, k_rows);
      kj += kKeys * dim;
      step_prefetches(j + kKeys, kKeys, v_rows, k_rows);
      VF s1 = ScoresOfStep<kLines>(q, qdim, kj, kj + dim, kj + 2 * dim, kj + 3 * dim, full, v_rows, k_rows);
      kj += kKeys * dim;
      step_prefetches(j + 2 * kKeys, kKeys, v_rows, k_rows);
      VF s2 = ScoresOfStep<kLines>(q, qdim, kj, kj + dim, kj + 2 * dim, kj + 3 * dim, full, v_rows, k_rows);
      kj += kKeys * dim;
      step_prefetches(j + 3 * kKeys, kKeys, v_rows, k_rows);
      VF s3 = ScoresOfStep<kLines>(q, qdim, kj, kj + dim, kj + 2 * dim, kj + 3 * dim, full, v_rows, k_rows);
      avx512::transpose_blocks4(s0.raw, s1.raw, s2.raw, s3.raw);
      hn::StoreU(s0, df, s + j);
      hn::StoreU(s1, df, s + wp + j);
      hn::StoreU(s2, df, s + 2 * wp + j);
      hn::StoreU(s3, df, s + 3 * wp + j);
    }
  };
  if (HWY_LIKELY(!tail)) {
    if (fixed) {
      blocks(std::integral_constant<size_t, kFixedLines>());
    } else {
      blocks(std::integral_constant<size_t, 0>());
    }
  }
  HWY_ALIGN float sums[kRows * kKeys];
  for (; j < w; j += kKeys) {
    const size_t keys = std::min(kKeys, w - j);
    const T* HWY_RESTRICT k0 = k + j * dim;
    const T* HWY_RESTRICT k1 = k0 + (keys > 1 ? dim : 0);
    const T* HWY_RESTRICT k2 = k0 + (keys > 2 ? 2 : keys - 1) * dim;
    const T* HWY_RESTRICT k3 = k0 + (keys > 3 ? 3 : keys - 1) * dim;
    step_prefetches(j, keys, v_rows, k_rows);
    hn::Store(ScoresOfStep<0>(q, qdim, k0, k1, k2, k3, full, v_rows, k_rows), df, sums);
    if (HWY_UNLIKELY(tail)) {
      const T* keys_of_step[kKeys] = {k0, k1, k2, k3};
      for (size_t r = 0; r < kRows; ++r) {
        for (size_t t = 0; t < kKeys; ++t) sums[r * kKeys + t] += DotTail(q + r * qdim, keys_of_step[t], full, dim);
      }
    }
    for (size_t r = 0; r < kRows; ++r) {
      for (size_t t = 0; t < keys; ++t) s[r * wp + j + t] = sums[r * kKeys + t];
    }
  }
}
#endif

template <typename T>
HWY_INLINE void ScoresDirect4(const float* HWY_RESTRICT q, size_t qdim, const T* HWY_RESTRICT k, size_t dim,
                              size_t w, size_t wp, float* HWY_RESTRICT s, const T* prefetch,
                              size_t prefetch_row_bytes) {
  // 16 accumulators + 4 keys + q fit the 32 registers of 512-bit targets.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  ScoresDirectTransposed(q, qdim, k, dim, w, wp, s, prefetch, prefetch_row_bytes);
#else
  ScoresDirectPairs(q, qdim, k, dim, w, wp, s, prefetch, prefetch_row_bytes);
#endif
}

// ------------------------------------------------------------------ tile coverage

enum class Coverage { none, full, partial };

// How a key tile [kb0, kb0 + w) meets a group of kRows rows: `full` when every active row
// sees every key of it (so the branch-free paths apply), `none` when no active row sees any.
template <int64_t kRows>
HWY_INLINE Coverage Classify(const RowInfo* rows, int64_t kb0, int64_t w, bool scalar_alibi) {
  bool any = false, all = true;
  for (int64_t r = 0; r < kRows; ++r) {
    const RowInfo& row = rows[r];
    if (!row.active) continue;
    any |= row.begin < row.end && row.begin < kb0 + w && row.end > kb0;
    all &= row.mask == nullptr && row.begin <= kb0 && row.end >= kb0 + w;
  }
  if (!any) return Coverage::none;
  return all && !scalar_alibi ? Coverage::full : Coverage::partial;
}

// ------------------------------------------------------------------ online softmax

// One row's running state.
struct RowState {
  float* max;  // m
  float* sum;  // l
  float* acc;  // dvp floats
  size_t dvp;
};

// Scores x (already scaled and biased, -inf where invisible) become the tile's weights
// exp(x - m') in place, and the row state absorbs the tile. tile_max = max x > -inf.
template <class Exp, typename T, bool kRoundP>
HWY_NOINLINE void AbsorbTile(float* HWY_RESTRICT x, size_t wp, float tile_max, const RowState& st) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const float m = *st.max;
  const float m_new = tile_max > m ? tile_max : m;
  const VF vm = hn::Set(df, m_new);
  VF vsum = hn::Zero(df);
  auto nan_seen = hn::Lt(vsum, vsum);  // all false
  if constexpr (Exp::kVectorized) {
    for (size_t j = 0; j < wp; j += N) {
      const VF arg = hn::Sub(hn::Load(df, x + j), vm);
      // Highway's Exp maps NaN to 0; remember it, so a NaN score poisons the row as it would
      // in exact arithmetic instead of vanishing.
      nan_seen = hn::Or(nan_seen, hn::IsNaN(arg));
      const VF p = FastExpV(df, arg);
      vsum = hn::Add(vsum, p);
      hn::Store(RoundToStorage<std::conditional_t<kRoundP, T, float>>(df, p), df, x + j);
    }
  } else {
    for (size_t j = 0; j < wp; ++j) x[j] = Exp::Scalar(x[j] - m_new);
    for (size_t j = 0; j < wp; j += N) {
      const VF p = hn::Load(df, x + j);
      vsum = hn::Add(vsum, p);
      if constexpr (kRoundP) hn::Store(RoundToStorage<T>(df, p), df, x + j);
    }
  }
  float tile_sum = hn::GetLane(hn::SumOfLanes(df, vsum));
  if (!hn::AllFalse(df, nan_seen)) tile_sum = std::numeric_limits<float>::quiet_NaN();
  if (m == kNegInf) {  // first visible tile: l and acc are still exactly 0
    *st.sum = tile_sum;
  } else if (m_new == m) {
    *st.sum = *st.sum + tile_sum;
  } else {
    const float alpha = Exp::Scalar(m - m_new);
    *st.sum = alpha * *st.sum + tile_sum;
    const VF va = hn::Set(df, alpha);
    for (size_t c = 0; c < st.dvp; c += N) hn::Store(hn::Mul(va, hn::Load(df, st.acc + c)), df, st.acc + c);
  }
  *st.max = m_new;
}

// A row that sees exactly the keys [lo, hi) of the tile (every key for a full tile; a range
// for causal, window and padding edges): x = scale * s (+ ALiBi bias) there, -inf elsewhere.
// The same operations, in the same order, as the dense kernel: round(scale * dot), then
// + round(-slope * |p - j|); the select is exact, so a key's x is the same in every path.
// ALiBi is a template parameter, not a run-time test in the loop: GCC 12 (-O2 and -O3) turned
// the loop-invariant `if (alibi)` of the AVX-512 instance into a lane mask made of the bool
// itself (kmovw of 0 or 1), so only lane 0 of each vector got its bias. The property
// Equivalence.AnyTileSizesAgreeWithDenseWithinBound found it on an AVX-512 machine
// (properties/regressions/alibi_bias_in_every_avx512_lane.json replays the case).
template <bool kAlibi, class Exp, typename T, bool kRoundP>
HWY_NOINLINE void UpdateRowRangeOf(float* HWY_RESTRICT s, size_t lo, size_t hi, size_t wp, float scale,
                                   const RowInfo& row, int64_t kb0, const RowState& st) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const VF vscale = hn::Set(df, scale);
  const VF neg_inf = hn::Set(df, kNegInf);
  const VF first = hn::Set(df, static_cast<float>(lo));
  const VF last = hn::Set(df, static_cast<float>(hi));
  const VF origin = hn::Set(df, static_cast<float>(row.position - kb0));
  const VF neg_slope = hn::Set(df, row.neg_slope);
  VF vmax = neg_inf;
  for (size_t j = 0; j < wp; j += N) {
    VF x = hn::Mul(vscale, hn::Load(df, s + j));
    const VF column = hn::Iota(df, static_cast<float>(j));
    if constexpr (kAlibi) x = hn::Add(x, hn::Mul(neg_slope, hn::Abs(hn::Sub(origin, column))));
    if (j < lo || j + N > hi) x = hn::IfThenElse(hn::And(hn::Ge(column, first), hn::Lt(column, last)), x, neg_inf);
    hn::Store(x, df, s + j);
    vmax = hn::Max(vmax, x);
  }
  AbsorbTile<Exp, T, kRoundP>(s, wp, hn::GetLane(hn::MaxOfLanes(df, vmax)), st);
}

template <class Exp, typename T, bool kRoundP>
HWY_INLINE void UpdateRowRange(float* HWY_RESTRICT s, size_t lo, size_t hi, size_t wp, float scale,
                               const RowInfo& row, int64_t kb0, bool alibi, const RowState& st) {
  if (alibi) {
    UpdateRowRangeOf<true, Exp, T, kRoundP>(s, lo, hi, wp, scale, row, kb0, st);
  } else {
    UpdateRowRangeOf<false, Exp, T, kRoundP>(s, lo, hi, wp, scale, row, kb0, st);
  }
}

// A row of a partial tile: visibility key by key (range, mask), flags for the checked P.V.
// Returns false, leaving the state untouched, when the row sees no key of the tile.
template <class Exp, typename T, bool kRoundP>
HWY_NOINLINE bool UpdateRowPartial(float* HWY_RESTRICT s, uint8_t* HWY_RESTRICT visible, size_t w, size_t wp,
                                 float scale, const RowInfo& row, int64_t kb0, bool alibi, const RowState& st) {
  float tile_max = kNegInf;
  for (size_t j = 0; j < wp; ++j) {
    const int64_t key = kb0 + static_cast<int64_t>(j);
    const bool seen = j < w && key >= row.begin && key < row.end && (row.mask == nullptr || row.mask[key] != 0);
    visible[j] = seen;
    if (!seen) {
      s[j] = kNegInf;
      continue;
    }
    float x = scale * s[j];
    if (alibi) {
      const int64_t distance = row.position >= key ? row.position - key : key - row.position;
      x += row.neg_slope * static_cast<float>(distance);
    }
    s[j] = x;
    tile_max = x > tile_max ? x : tile_max;
  }
  if (tile_max == kNegInf) return false;
  AbsorbTile<Exp, T, kRoundP>(s, wp, tile_max, st);
  return true;
}

// ------------------------------------------------------------------ P.V

// Rows of memory that P.V pulls towards the core while it computes on cached data: the decode
// kernel hands it the next tile's K rows, so that memory works during P.V as well as during
// Q.K (whose pass prefetches the tile's V rows). Measured on Zen 5, 8 layers' caches of 8192
// tokens, f16: about 10% faster with 1 and with 2 threads.
struct PrefetchRows {
  const void* first = nullptr;
  size_t row_bytes = 0;
  size_t rows = 0;
};

// Prefetches row i, if there is one. P.V walks the tile once per block of value columns: the
// first walk prefetches (measured: earlier is better than shared among the walks).
HWY_INLINE void PrefetchRowOf(const PrefetchRows& p, size_t i) {
  if (i < p.rows) PrefetchRow(static_cast<const char*>(p.first) + i * p.row_bytes, p.row_bytes);
}

// Which keys a row takes in P.V: every key, the keys whose visible flag is set (a masked
// tile), or the keys in the row's [lo, hi) (a causal, window or padding edge).
enum class Take { all, flagged, in_range };

// acc[r * acc_stride + c] += sum_{j in [j0, j1), taken} p[r * p_stride + j] * v[j * v_stride + c]
// for the kRows (4 or 6) rows and c < dv, v in storage type VT (f32 for packed tiles).
// Register blocking: kRows rows x 2 vectors of columns; keys in increasing order, one FMA each,
// so consecutive calls over adjacent key ranges add exactly what one call over their union would.
template <int64_t kRows, Take kTake, typename VT>
HWY_NOINLINE void AccumulatePV(const float* HWY_RESTRICT p, size_t p_stride, const uint8_t* HWY_RESTRICT visible,
                             const size_t* HWY_RESTRICT lo, const size_t* HWY_RESTRICT hi, const VT* HWY_RESTRICT v,
                             size_t v_stride, size_t j0, size_t j1, size_t dv, float* HWY_RESTRICT acc,
                             size_t acc_stride, const PrefetchRows& next = {}) {
  static_assert(kRows == 4 || kRows == 6, "micro-kernel row counts");
  if (j0 >= j1) return;
  const DF df;
  const size_t N = hn::Lanes(df);
  const float* HWY_RESTRICT p0 = p;
  const float* HWY_RESTRICT p1 = p + p_stride;
  const float* HWY_RESTRICT p2 = p + 2 * p_stride;
  const float* HWY_RESTRICT p3 = p + 3 * p_stride;
  const float* HWY_RESTRICT p4 = p + (kRows > 4 ? 4 : 0) * p_stride;
  const float* HWY_RESTRICT p5 = p + (kRows > 4 ? 5 : 0) * p_stride;
  float* HWY_RESTRICT o0 = acc;
  float* HWY_RESTRICT o1 = acc + acc_stride;
  float* HWY_RESTRICT o2 = acc + 2 * acc_stride;
  float* HWY_RESTRICT o3 = acc + 3 * acc_stride;
  float* HWY_RESTRICT o4 = acc + (kRows > 4 ? 4 : 0) * acc_stride;
  float* HWY_RESTRICT o5 = acc + (kRows > 4 ? 5 : 0) * acc_stride;
  float* HWY_RESTRICT outs[6] = {o0, o1, o2, o3, o4, o5};
  const float* HWY_RESTRICT weights[6] = {p0, p1, p2, p3, p4, p5};
  const auto take = [&](size_t r, size_t j) {
    if constexpr (kTake == Take::all) return true;
    else if constexpr (kTake == Take::flagged) return visible[r * p_stride + j] != 0;
    else return j >= lo[r] && j < hi[r];
  };
  size_t c = 0;
  if constexpr (kRows == 4 && hn::MaxLanes(DF()) == 16) {
    // 512-bit vectors: 4 rows x 4 vectors of columns (16 accumulators of 32 registers), so each
    // broadcast weight serves 4 FMAs and a tile's V rows are walked half as often (decode).
    // Each element still adds its keys in increasing order, one FMA each: the same bits.
    // The key rows are walked once per 64 columns; each walk prefetches its share of every
    // row of `next` (whole cache lines), so those requests too go out evenly.
    const size_t walks = dv / (4 * N);
    const size_t next_lines = (next.row_bytes + 63) / 64;
    // Decode's usual case: each walk sends kFixedLines lines of every next row (K and V of one
    // dtype, dim == dv), or none, where no rows follow (a stand-in line of p, row stride 0);
    // the key loop then prefetches with no branch or loop of its own. Only for Take::all, the
    // form decode's interleaved loop calls; the masked forms keep one instantiation each.
    constexpr size_t kFixedLines = sizeof(VT);
    const bool fixed = kTake == Take::all && next_lines == walks * kFixedLines &&
                       (next.rows == 0 || next.rows >= j1 - j0);
    const auto walk_columns = [&](auto lines) HWY_ATTR {
      constexpr size_t kLines = decltype(lines)::value;
      const size_t walk = c / (4 * N);
      const size_t slice_begin = walk * next_lines / walks * 64;
      const size_t slice_bytes = (walk + 1) * next_lines / walks * 64 - slice_begin;
      const char* slice_first = next.rows != 0 ? static_cast<const char*>(next.first) + slice_begin
                                               : reinterpret_cast<const char*>(p);
      const size_t slice_stride = next.rows != 0 ? next.row_bytes : 0;
      VF a[4][4];
      for (size_t r = 0; r < 4; ++r) {
        for (size_t b = 0; b < 4; ++b) a[r][b] = hn::LoadU(df, outs[r] + c + b * N);
      }
      const VT* HWY_RESTRICT row = v + j0 * v_stride + c;
      for (size_t j = j0; j < j1; ++j, row += v_stride) {
        if constexpr (kLines != 0) {
          for (size_t line = 0; line < kLines; ++line) hwy::Prefetch(slice_first + (j - j0) * slice_stride + 64 * line);
        } else if (j - j0 < next.rows) {
          PrefetchRow(static_cast<const char*>(next.first) + (j - j0) * next.row_bytes + slice_begin, slice_bytes);
        }
        VF x[4];
        for (size_t b = 0; b < 4; ++b) x[b] = LoadWiden(df, row + b * N);
        for (size_t r = 0; r < 4; ++r) {
          if (!take(r, j)) continue;
          const VF w = hn::Set(df, weights[r][j]);
          for (size_t b = 0; b < 4; ++b) a[r][b] = hn::MulAdd(w, x[b], a[r][b]);
        }
      }
      for (size_t r = 0; r < 4; ++r) {
        for (size_t b = 0; b < 4; ++b) hn::StoreU(a[r][b], df, outs[r] + c + b * N);
      }
    };
    for (; c + 4 * N <= dv; c += 4 * N) {
      if (fixed) {
        walk_columns(std::integral_constant<size_t, kFixedLines>());
      } else {
        walk_columns(std::integral_constant<size_t, 0>());
      }
    }
  }
  for (; c + 2 * N <= dv; c += 2 * N) {
    VF a00 = hn::LoadU(df, o0 + c), a01 = hn::LoadU(df, o0 + c + N);
    VF a10 = hn::LoadU(df, o1 + c), a11 = hn::LoadU(df, o1 + c + N);
    VF a20 = hn::LoadU(df, o2 + c), a21 = hn::LoadU(df, o2 + c + N);
    VF a30 = hn::LoadU(df, o3 + c), a31 = hn::LoadU(df, o3 + c + N);
    VF a40 = hn::Zero(df), a41 = hn::Zero(df), a50 = hn::Zero(df), a51 = hn::Zero(df);
    if constexpr (kRows > 4) {
      a40 = hn::LoadU(df, o4 + c);
      a41 = hn::LoadU(df, o4 + c + N);
      a50 = hn::LoadU(df, o5 + c);
      a51 = hn::LoadU(df, o5 + c + N);
    }
    const VT* HWY_RESTRICT row = v + j0 * v_stride + c;
    for (size_t j = j0; j < j1; ++j, row += v_stride) {
      if (c == 0) PrefetchRowOf(next, j - j0);
      const VF v0 = LoadWiden(df, row);
      const VF v1 = LoadWiden(df, row + N);
      if (take(0, j)) {
        const VF b = hn::Set(df, p0[j]);
        a00 = hn::MulAdd(b, v0, a00);
        a01 = hn::MulAdd(b, v1, a01);
      }
      if (take(1, j)) {
        const VF b = hn::Set(df, p1[j]);
        a10 = hn::MulAdd(b, v0, a10);
        a11 = hn::MulAdd(b, v1, a11);
      }
      if (take(2, j)) {
        const VF b = hn::Set(df, p2[j]);
        a20 = hn::MulAdd(b, v0, a20);
        a21 = hn::MulAdd(b, v1, a21);
      }
      if (take(3, j)) {
        const VF b = hn::Set(df, p3[j]);
        a30 = hn::MulAdd(b, v0, a30);
        a31 = hn::MulAdd(b, v1, a31);
      }
      if constexpr (kRows > 4) {
        if (take(4, j)) {
          const VF b = hn::Set(df, p4[j]);
          a40 = hn::MulAdd(b, v0, a40);
          a41 = hn::MulAdd(b, v1, a41);
        }
        if (take(5, j)) {
          const VF b = hn::Set(df, p5[j]);
          a50 = hn::MulAdd(b, v0, a50);
          a51 = hn::MulAdd(b, v1, a51);
        }
      }
    }
    hn::StoreU(a00, df, o0 + c);
    hn::StoreU(a01, df, o0 + c + N);
    hn::StoreU(a10, df, o1 + c);
    hn::StoreU(a11, df, o1 + c + N);
    hn::StoreU(a20, df, o2 + c);
    hn::StoreU(a21, df, o2 + c + N);
    hn::StoreU(a30, df, o3 + c);
    hn::StoreU(a31, df, o3 + c + N);
    if constexpr (kRows > 4) {
      hn::StoreU(a40, df, o4 + c);
      hn::StoreU(a41, df, o4 + c + N);
      hn::StoreU(a50, df, o5 + c);
      hn::StoreU(a51, df, o5 + c + N);
    }
  }
  // Column tails (value_dim not a multiple of 2 vectors; in-place V only): row by row.
  for (size_t r = 0; r < static_cast<size_t>(kRows); ++r) {
    size_t cc = c;
    for (; cc + N <= dv; cc += N) {
      VF a = hn::LoadU(df, outs[r] + cc);
      for (size_t j = j0; j < j1; ++j) {
        if (take(r, j)) a = hn::MulAdd(hn::Set(df, weights[r][j]), LoadWiden(df, v + j * v_stride + cc), a);
      }
      hn::StoreU(a, df, outs[r] + cc);
    }
    for (; cc < dv; ++cc) {
      float a = outs[r][cc];
      for (size_t j = j0; j < j1; ++j) {
        if (take(r, j)) a += weights[r][j] * load_element(v + j * v_stride + cc);
      }
      outs[r][cc] = a;
    }
  }
}

// ------------------------------------------------------------------ one tile for a row group

// The row update of a tile that every active row of the group sees whole (Coverage::full):
// the scores s (kRows rows, wp apart) become the weights exp(x - m') and each row's state
// absorbs the tile; inactive (padding) rows get zero weights. P.V is the caller's.
template <int64_t kRows, class Exp, typename T, bool kRoundP>
HWY_NOINLINE void UpdateGroupFull(float* HWY_RESTRICT s, const RowInfo* rows, float* max, float* sum, float* acc,
                                  size_t dvp, const AttentionJob& job, int64_t kb0, size_t w, size_t wp) {
  for (int64_t r = 0; r < kRows; ++r) {
    float* row_scores = s + r * wp;
    if (!rows[r].active) {
      std::memset(row_scores, 0, wp * sizeof(float));
      continue;
    }
    UpdateRowRange<Exp, T, kRoundP>(row_scores, 0, w, wp, job.scale, rows[r], kb0, job.spec->has_alibi,
                                    RowState{max + r, sum + r, acc + r * dvp, dvp});
  }
}

// Runs the softmax update and P.V for the kRows rows whose scores are in `s` (wp apart).
//   full tile: every active row sees every key: vector update, branch-free P.V (inactive
//     padding rows get zero weights and add exact zeros to their own scratch rows);
//   partial tile, no mask: each row sees a range [lo, hi) of the tile: vector update; P.V is
//     branch-free on the keys every row sees and checks ranges on the edges;
//   partial tile with a mask (or ALiBi distances beyond 2^23): key-by-key visibility.
template <int64_t kRows, class Exp, typename T, bool kRoundP, typename VT>
HWY_NOINLINE void AbsorbGroup(Coverage coverage, float* HWY_RESTRICT s, uint8_t* HWY_RESTRICT visible,
                            const RowInfo* rows, float* max, float* sum, float* acc, size_t dvp,
                            const AttentionJob& job, int64_t kb0, size_t w, size_t wp, const VT* v,
                            size_t v_stride, size_t dv, const PrefetchRows& next = {}) {
  const bool alibi = job.spec->has_alibi;
  const auto state = [&](int64_t r) { return RowState{max + r, sum + r, acc + r * dvp, dvp}; };
  if (coverage == Coverage::full) {
    UpdateGroupFull<kRows, Exp, T, kRoundP>(s, rows, max, sum, acc, dvp, job, kb0, w, wp);
    AccumulatePV<kRows, Take::all>(s, wp, visible, nullptr, nullptr, v, v_stride, 0, w, dv, acc, dvp, next);
    return;
  }
  bool masked = job.scalar_alibi;
  for (int64_t r = 0; r < kRows; ++r) masked |= rows[r].active && rows[r].mask != nullptr;
  if (!masked) {
    size_t lo[kMaxRowGroup], hi[kMaxRowGroup];
    size_t union_lo = w, union_hi = 0, common_lo = 0, common_hi = w;
    bool all_seen = true;
    for (int64_t r = 0; r < kRows; ++r) {
      const int64_t begin = std::clamp<int64_t>(rows[r].begin - kb0, 0, static_cast<int64_t>(w));
      const int64_t end = std::clamp<int64_t>(rows[r].end - kb0, 0, static_cast<int64_t>(w));
      lo[r] = static_cast<size_t>(begin);
      hi[r] = static_cast<size_t>(std::max(begin, end));
      if (!rows[r].active || lo[r] >= hi[r]) {
        lo[r] = hi[r] = 0;
        all_seen &= !rows[r].active;  // padding rows may take zeros; real rows may not
        std::memset(s + r * wp, 0, wp * sizeof(float));
        continue;
      }
      UpdateRowRange<Exp, T, kRoundP>(s + r * wp, lo[r], hi[r], wp, job.scale, rows[r], kb0, alibi, state(r));
      union_lo = std::min(union_lo, lo[r]);
      union_hi = std::max(union_hi, hi[r]);
      common_lo = std::max(common_lo, lo[r]);
      common_hi = std::min(common_hi, hi[r]);
    }
    if (union_lo >= union_hi) return;
    if (!all_seen || common_lo >= common_hi) {
      AccumulatePV<kRows, Take::in_range>(s, wp, visible, lo, hi, v, v_stride, union_lo, union_hi, dv, acc, dvp);
      return;
    }
    AccumulatePV<kRows, Take::in_range>(s, wp, visible, lo, hi, v, v_stride, union_lo, common_lo, dv, acc, dvp);
    AccumulatePV<kRows, Take::all>(s, wp, visible, lo, hi, v, v_stride, common_lo, common_hi, dv, acc, dvp);
    AccumulatePV<kRows, Take::in_range>(s, wp, visible, lo, hi, v, v_stride, common_hi, union_hi, dv, acc, dvp);
    return;
  }
  bool any = false;
  for (int64_t r = 0; r < kRows; ++r) {
    float* row_scores = s + r * wp;
    uint8_t* row_visible = visible + r * wp;
    bool seen = false;
    if (rows[r].active) {
      seen = UpdateRowPartial<Exp, T, kRoundP>(row_scores, row_visible, w, wp, job.scale, rows[r], kb0, alibi,
                                               state(r));
    }
    if (!seen) std::memset(row_visible, 0, wp);
    any |= seen;
  }
  if (any) AccumulatePV<kRows, Take::flagged>(s, wp, visible, nullptr, nullptr, v, v_stride, 0, w, dv, acc, dvp);
}

// ------------------------------------------------------------------ rows and outputs

// Fills rows[0, R) for query positions [i0, i0 + rows_per_head) of every head of kv head
// `kvh` (head-major), pads to a multiple of kRows with inactive rows, widens their queries into
// q (rows qdim apart, zero-padded), and returns the union of their key ranges.
template <int64_t kRows, typename T>
HWY_NOINLINE KeyRange PrepareRows(const AttentionJob& job, int64_t b, int64_t kvh, int64_t i0,
                                int64_t rows_per_head, size_t qdim, std::vector<RowInfo>& rows, float* q) {
  const AttentionSpec& spec = *job.spec;
  const AttentionShape& s = spec.shape;
  const int64_t group = group_size(s);
  const int64_t count = group * rows_per_head;
  const int64_t padded = round_up(count, kRows);
  rows.assign(static_cast<size_t>(padded), RowInfo{});
  std::memset(q, 0, static_cast<size_t>(padded) * qdim * sizeof(float));
  KeyRange all{s.kv_len, 0};
  const T* queries = static_cast<const T*>(job.q);
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = kvh * group + g;
    for (int64_t ii = 0; ii < rows_per_head; ++ii) {
      const int64_t i = i0 + ii;
      RowInfo& row = rows[static_cast<size_t>(g * rows_per_head + ii)];
      const KeyRange range = visible_key_range(spec, job.visibility, b, i);
      row.begin = range.begin;
      row.end = range.end;
      row.mask = spec.mask != MaskKind::none ? job.visibility.mask + mask_row_offset(spec, b, h, i) : nullptr;
      row.neg_slope = spec.has_alibi ? -job.visibility.alibi_slopes[h] : 0.0f;
      row.position = query_position(s, i);
      row.out_row = lse_offset(s, b, h, i);
      row.active = true;
      WidenRow(queries + q_offset(s, b, h, i), static_cast<size_t>(s.head_dim),
               q + static_cast<size_t>(g * rows_per_head + ii) * qdim);
      if (!range.empty()) {
        all.begin = std::min(all.begin, range.begin);
        all.end = std::max(all.end, range.end);
      }
    }
  }
  return all;
}

// O row = acc / l rounded to T, LSE = m + log(l); a row that saw no key gets +0 and -inf.
template <typename T>
HWY_NOINLINE void FinishRow(const AttentionJob& job, int64_t out_row, const float* acc, float m, float l,
                          float* staging) {
  const size_t dv = static_cast<size_t>(job.spec->shape.value_dim);
  T* out = static_cast<T*>(job.outputs.o) + out_row * job.spec->shape.value_dim;
  if (m == kNegInf) {
    for (size_t c = 0; c < dv; ++c) store_element(out + c, 0.0f);
    if (job.outputs.lse) job.outputs.lse[out_row] = kNegInf;
    return;
  }
  const DF df;
  const size_t N = hn::Lanes(df);
  const VF vl = hn::Set(df, l);
  size_t c = 0;
  for (; c + N <= dv; c += N) hn::StoreU(hn::Div(hn::LoadU(df, acc + c), vl), df, staging + c);
  for (; c < dv; ++c) staging[c] = acc[c] / l;
  NarrowRow(staging, dv, out);
  if (job.outputs.lse) job.outputs.lse[out_row] = m + std::log(l);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
