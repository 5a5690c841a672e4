// Tiled backward (FlashAttention-2 style, deterministic): the SIMD half, instantiated per storage
// dtype and exp by tiled_{f32,f16,bf16}.cpp, once per Highway target. The driver and the pre-pass
// are tiled_backward.{hpp,cpp}.
//
// Algorithm (semantics.hpp, "Backward"). A pre-pass takes D_i = dO_i . O_i from the O handed in
// and each row's visible key range. Then two passes, each recomputing P tile by tile from LSE,
// P_ij = exp(s_ij - LSE_i), with s_ij formed exactly as the forward forms it (the same FMA chain
// over d for Q.K, then round(scale * dot), then + round(-slope * |p - j|); the kernel's own exp),
// and dP_ij = dO_i . V_j, dS_ij = P_ij (dP_ij - D_i):
//   key pass, one task per (batch, kv head, key block): packs the block's K^T and V^T once and
//     walks every query row of every head of the GQA group that sees a key of it, in the order
//     (head, row) ascending, in chunks of kBackwardChunkRows; dV_j += P_ij dO_i and
//     dK_j += dS_ij Q_i accumulate in an f32 tile (block x dim), scaled and stored at the end;
//   query pass, one task per (batch, kv head, query block): the forward's task shape; every key
//     tile the rows see is packed (K^T, V^T, K) and dQ_i += dS_ij K_j accumulates in f32 rows.
// No task writes another's output, so there are no atomics, and Lq x Lk never exists: memory is
// O(tile) per thread (the packed tiles, the chunk's rows, its P and dS, the dK/dV tile or the
// block's dQ rows, all f32, for every storage dtype) plus D and the row ranges per query row.
// The price of deterministic dQ in this form is the query pass's recomputation of S and dP: 7
// products of Lq x Lk x D per head where an atomic dQ needs 5. So where there are enough
// (batch, kv head) pairs to keep the threads busy, one task per pair runs both passes' work at
// once (BackwardFusedTask, 5 products, f32 dK/dV of the whole kv head): the same chains below.
// Invariant (bit-identical for every thread count, q_block and k_block): each gradient element is
// one f32 FMA chain in a fixed order, whatever the tiles: dQ_i[d] over the visible keys j
// ascending, dK_j[d] and dV_j[c] over the rows (head of the group, query position) ascending.
// P_ij and dS_ij depend only on row i and key j (not on the tile or the other rows of a group);
// a tile's invisible (row, key) pairs get P = dS = 0 by select (never by multiplying), and an
// exact zero added to an f32 sum that is never -0 leaves it unchanged, so a tile grid that
// touches more pairs adds nothing. dQ's product dS_ij K_j skips invisible keys outright (a NaN
// in an invisible K slot times 0 is NaN); the key pass multiplies P and dS only by Q and dO rows
// of rows that see a key. So a NaN or Inf stored in an invisible K/V slot, or in dO of a row that
// sees no key, reaches no gradient; such rows store dQ = 0, keys no row sees dK = dV = 0.
#if defined(ATTNCHECK_KERNELS_TILED_BACKWARD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTNCHECK_KERNELS_TILED_BACKWARD_INL_H_
#undef ATTNCHECK_KERNELS_TILED_BACKWARD_INL_H_
#else
#define ATTNCHECK_KERNELS_TILED_BACKWARD_INL_H_
#endif

#include "attention_tile-inl.h"
#include "tiled_backward.hpp"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

// The score rows come from attention_tile-inl.h's ScoresRows6, the forward's own micro-kernel
// (the same FMA chain from zero over d ascending), so the recomputed scores are the forward's
// bit for bit.

// dP for 6 rows: dp[r * wp + j] = sum_{c < dv} d_out[r * stride + c] * vt[c * wp + j] for every
// j < wp, each element one FMA chain from zero over c ascending (as ScoresRows6 forms a score;
// dP is no forward quantity, so only that fixed chain matters for the bits). On 512-bit targets
// 6 rows x 4 vectors of keys (24 accumulators), so each broadcast dO element serves 4 FMAs; the
// two-vector rest, and other targets, 6 x 2. S keeps the forward's ScoresRows6.
template <size_t kVecs>
HWY_INLINE void DotRows6Block(const float* HWY_RESTRICT x, size_t stride, size_t n, const float* HWY_RESTRICT yt,
                              size_t wp, size_t j, float* HWY_RESTRICT out) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF a[6][kVecs];
  for (size_t r = 0; r < 6; ++r) {
    for (size_t v = 0; v < kVecs; ++v) a[r][v] = hn::Zero(df);
  }
  const float* HWY_RESTRICT column = yt + j;
  for (size_t c = 0; c < n; ++c, column += wp) {
    VF y[kVecs];
    for (size_t v = 0; v < kVecs; ++v) y[v] = hn::Load(df, column + v * N);
    for (size_t r = 0; r < 6; ++r) {
      const VF b = hn::Set(df, x[r * stride + c]);
      for (size_t v = 0; v < kVecs; ++v) a[r][v] = hn::MulAdd(b, y[v], a[r][v]);
    }
  }
  for (size_t r = 0; r < 6; ++r) {
    for (size_t v = 0; v < kVecs; ++v) hn::Store(a[r][v], df, out + r * wp + j + v * N);
  }
}

inline HWY_NOINLINE void GradRows6(const float* HWY_RESTRICT d_out, size_t stride, size_t dv,
                                   const float* HWY_RESTRICT vt, size_t wp, float* HWY_RESTRICT dp) {
  static_assert(kTiledRows == 6, "six rows per group");
  const DF df;
  const size_t N = hn::Lanes(df);
  size_t j = 0;
  if constexpr (hn::MaxLanes(DF()) >= 16) {
    for (; j + 4 * N <= wp; j += 4 * N) DotRows6Block<4>(d_out, stride, dv, vt, wp, j, dp);
  }
  for (; j < wp; j += 2 * N) DotRows6Block<2>(d_out, stride, dv, vt, wp, j, dp);
}

// exp(arg) by the kernel's exp, NaN kept (FastExpV's clamp would turn a NaN argument into 0;
// a NaN score of a visible key must poison the gradients as it does in exact arithmetic).
template <class Exp>
HWY_INLINE float ExpKeepNaN(float arg) {
  return std::isnan(arg) ? arg : Exp::Scalar(arg);
}

// One row on one tile, for the keys [lo, hi) of it (every key of a full tile; a range for
// causal, window and padding edges), in place: s (Q.K) becomes P = exp(x - LSE) with
// x = scale * s (+ ALiBi bias) formed by the forward's operations (UpdateRowRangeOf), and dp
// (dO.V) becomes dS = P (dP - D). Outside [lo, hi) both are set to +0 by select.
template <bool kAlibi, class Exp>
HWY_NOINLINE void RowGradsRange(float* HWY_RESTRICT s, float* HWY_RESTRICT dp, size_t lo, size_t hi, size_t wp,
                                float scale, const RowInfo& row, int64_t kb0, float lse, float delta) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const VF vscale = hn::Set(df, scale);
  const VF first = hn::Set(df, static_cast<float>(lo));
  const VF last = hn::Set(df, static_cast<float>(hi));
  const VF origin = hn::Set(df, static_cast<float>(row.position - kb0));
  const VF neg_slope = hn::Set(df, row.neg_slope);
  const VF vlse = hn::Set(df, lse);
  const VF vdelta = hn::Set(df, delta);
  const auto args = [&](size_t j) HWY_ATTR {
    VF x = hn::Mul(vscale, hn::Load(df, s + j));
    if constexpr (kAlibi) {
      x = hn::Add(x, hn::Mul(neg_slope, hn::Abs(hn::Sub(origin, hn::Iota(df, static_cast<float>(j))))));
    }
    return hn::Sub(x, vlse);
  };
  const auto finish = [&](size_t j, VF p) HWY_ATTR {
    VF ds = hn::Mul(p, hn::Sub(hn::Load(df, dp + j), vdelta));
    if (j < lo || j + N > hi) {
      const VF column = hn::Iota(df, static_cast<float>(j));
      const auto in = hn::And(hn::Ge(column, first), hn::Lt(column, last));
      p = hn::IfThenElseZero(in, p);
      ds = hn::IfThenElseZero(in, ds);
    }
    hn::Store(p, df, s + j);
    hn::Store(ds, df, dp + j);
  };
  if constexpr (Exp::kVectorized) {
    for (size_t j = 0; j < wp; j += N) {
      const VF arg = args(j);
      finish(j, hn::IfThenElse(hn::IsNaN(arg), arg, FastExpV(df, arg)));
    }
  } else {
    for (size_t j = 0; j < wp; j += N) hn::Store(args(j), df, s + j);
    for (size_t j = 0; j < wp; ++j) s[j] = ExpKeepNaN<Exp>(s[j]);
    for (size_t j = 0; j < wp; j += N) finish(j, hn::Load(df, s + j));
  }
}

// One row of a partial tile key by key (a mask, or ALiBi distances formed in int64): the same
// values as RowGradsRange for the keys the row sees, +0 elsewhere; visible[j] says which.
template <class Exp>
HWY_NOINLINE void RowGradsMasked(float* HWY_RESTRICT s, float* HWY_RESTRICT dp, uint8_t* HWY_RESTRICT visible,
                                 size_t w, size_t wp, float scale, const RowInfo& row, int64_t kb0, bool alibi,
                                 float lse, float delta) {
  for (size_t j = 0; j < wp; ++j) {
    const int64_t key = kb0 + static_cast<int64_t>(j);
    const bool seen = j < w && key >= row.begin && key < row.end && (row.mask == nullptr || row.mask[key] != 0);
    if (visible != nullptr) visible[j] = seen;
    if (!seen) {
      s[j] = 0.0f;
      dp[j] = 0.0f;
      continue;
    }
    float x = scale * s[j];
    if (alibi) {
      const int64_t distance = row.position >= key ? row.position - key : key - row.position;
      x += row.neg_slope * static_cast<float>(distance);
    }
    const float p = ExpKeepNaN<Exp>(x - lse);
    s[j] = p;
    dp[j] = p * (dp[j] - delta);
  }
}

// The kTiledRows rows whose Q.K are in s and dO.V in dp (wp apart): P and dS in place, for the
// coverage Classify() found. visible (nullable; the query pass's checked dQ product) receives
// each row's visible keys for a partial tile.
template <class Exp>
HWY_NOINLINE void GroupGrads(Coverage coverage, float* HWY_RESTRICT s, float* HWY_RESTRICT dp,
                             uint8_t* HWY_RESTRICT visible, const RowInfo* rows, const float* lse,
                             const float* delta, const AttentionJob& job, int64_t kb0, size_t w, size_t wp) {
  const bool alibi = job.spec->has_alibi;
  for (int64_t r = 0; r < kTiledRows; ++r) {
    float* rs = s + r * wp;
    float* rdp = dp + r * wp;
    uint8_t* rv = visible != nullptr ? visible + r * wp : nullptr;
    const RowInfo& row = rows[r];
    size_t lo = 0, hi = w;
    if (row.active && coverage == Coverage::partial) {
      if (row.mask != nullptr || job.scalar_alibi) {
        RowGradsMasked<Exp>(rs, rdp, rv, w, wp, job.scale, row, kb0, alibi, lse[r], delta[r]);
        continue;
      }
      lo = static_cast<size_t>(std::clamp<int64_t>(row.begin - kb0, 0, static_cast<int64_t>(w)));
      hi = static_cast<size_t>(std::clamp<int64_t>(row.end - kb0, static_cast<int64_t>(lo), static_cast<int64_t>(w)));
    }
    if (!row.active || lo >= hi) {
      std::memset(rs, 0, wp * sizeof(float));
      std::memset(rdp, 0, wp * sizeof(float));
      if (rv != nullptr) std::memset(rv, 0, wp);
      continue;
    }
    if (alibi) {
      RowGradsRange<true, Exp>(rs, rdp, lo, hi, wp, job.scale, row, kb0, lse[r], delta[r]);
    } else {
      RowGradsRange<false, Exp>(rs, rdp, lo, hi, wp, job.scale, row, kb0, lse[r], delta[r]);
    }
    if (rv != nullptr) {
      for (size_t j = 0; j < wp; ++j) rv[j] = j >= lo && j < hi;
    }
  }
}

// ------------------------------------------------------------------ the key pass's products

// acc[(j0 + t) * cols + c + v N] += sum_{r < n} p[r * wp + j0 + t] * x[r * x_stride + c + v N]
// for kKeys keys and kVecs vectors of columns, held in registers over all n rows.
template <size_t kKeys, size_t kVecs>
HWY_INLINE void OuterBlock(const float* HWY_RESTRICT p, size_t wp, const float* HWY_RESTRICT x, size_t x_stride,
                           size_t n, size_t j0, size_t c, float* HWY_RESTRICT acc, size_t cols) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF a[kKeys][kVecs];
  for (size_t t = 0; t < kKeys; ++t) {
    for (size_t v = 0; v < kVecs; ++v) a[t][v] = hn::Load(df, acc + (j0 + t) * cols + c + v * N);
  }
  const float* HWY_RESTRICT pr = p + j0;
  const float* HWY_RESTRICT xr = x + c;
  for (size_t r = 0; r < n; ++r, pr += wp, xr += x_stride) {
    VF xv[kVecs];
    for (size_t v = 0; v < kVecs; ++v) xv[v] = hn::Load(df, xr + v * N);
    for (size_t t = 0; t < kKeys; ++t) {
      const VF b = hn::Set(df, pr[t]);
      for (size_t v = 0; v < kVecs; ++v) a[t][v] = hn::MulAdd(b, xv[v], a[t][v]);
    }
  }
  for (size_t t = 0; t < kKeys; ++t) {
    for (size_t v = 0; v < kVecs; ++v) hn::Store(a[t][v], df, acc + (j0 + t) * cols + c + v * N);
  }
}

template <size_t kVecs>
HWY_INLINE void OuterColumns(const float* HWY_RESTRICT p, size_t wp, const float* HWY_RESTRICT x, size_t x_stride,
                             size_t n, size_t w, size_t c, float* HWY_RESTRICT acc, size_t cols) {
  size_t j = 0;
  for (; j + 6 <= w; j += 6) OuterBlock<6, kVecs>(p, wp, x, x_stride, n, j, c, acc, cols);
  if (j + 4 <= w) {  // a 64-key tile's last 4 keys: one walk over the rows, not four
    OuterBlock<4, kVecs>(p, wp, x, x_stride, n, j, c, acc, cols);
    j += 4;
  }
  for (; j < w; ++j) OuterBlock<1, kVecs>(p, wp, x, x_stride, n, j, c, acc, cols);
}

// acc[j * cols + c] += sum_{r < n} p[r * wp + j] * x[r * x_stride + c] for j < w, c < cols (a
// multiple of two vectors; x rows and acc aligned): dV += P^T dO and dK += dS^T Q over a chunk of
// rows. Register blocking: 6 keys x 4 vectors of columns on 512-bit targets (24 accumulators of
// 32 registers), 6 x 2 elsewhere. Each element adds the rows in increasing order, one FMA each,
// so chunks of rows in sequence add exactly what one chunk of all of them would.
inline HWY_NOINLINE void AccumulateOuter(const float* HWY_RESTRICT p, size_t wp, const float* HWY_RESTRICT x,
                                         size_t x_stride, size_t n, size_t w, size_t cols, float* HWY_RESTRICT acc) {
  const DF df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  if constexpr (hn::MaxLanes(DF()) >= 16) {
    for (; c + 4 * N <= cols; c += 4 * N) OuterColumns<4>(p, wp, x, x_stride, n, w, c, acc, cols);
  }
  for (; c + 2 * N <= cols; c += 2 * N) OuterColumns<2>(p, wp, x, x_stride, n, w, c, acc, cols);
}

// dq[r * dimp + c] += sum_{j < w} ds[r * wp + j] * kr[j * dimp + c] for the kTiledRows rows of a
// fully visible group and c < dimp: dQ += dS K. The same chains as AccumulatePV<6, Take::all>
// (keys ascending, one FMA each, onto the loaded sums), so the same bits; on 512-bit targets 6
// rows x 4 vectors of columns (24 accumulators of 32 registers), so each broadcast dS serves 4
// FMAs and the K tile is walked half as often; the column tail, and other targets, take
// AccumulatePV.
inline HWY_NOINLINE void AccumulateDqFull(const float* HWY_RESTRICT ds, size_t wp, const float* HWY_RESTRICT kr,
                                   size_t dimp, size_t w, float* HWY_RESTRICT dq) {
  const DF df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  if constexpr (hn::MaxLanes(DF()) >= 16) {
    static_assert(kTiledRows == 6, "six rows per group");
    for (; c + 4 * N <= dimp; c += 4 * N) {
      VF a[6][4];
      for (size_t r = 0; r < 6; ++r) {
        for (size_t v = 0; v < 4; ++v) a[r][v] = hn::Load(df, dq + r * dimp + c + v * N);
      }
      const float* HWY_RESTRICT row = kr + c;
      for (size_t j = 0; j < w; ++j, row += dimp) {
        VF x[4];
        for (size_t v = 0; v < 4; ++v) x[v] = hn::Load(df, row + v * N);
        for (size_t r = 0; r < 6; ++r) {
          const VF b = hn::Set(df, ds[r * wp + j]);
          for (size_t v = 0; v < 4; ++v) a[r][v] = hn::MulAdd(b, x[v], a[r][v]);
        }
      }
      for (size_t r = 0; r < 6; ++r) {
        for (size_t v = 0; v < 4; ++v) hn::Store(a[r][v], df, dq + r * dimp + c + v * N);
      }
    }
  }
  if (c < dimp) {
    AccumulatePV<kTiledRows, Take::all>(ds, wp, nullptr, nullptr, nullptr, kr + c, dimp, 0, w, dimp - c, dq + c,
                                        dimp);
  }
}

// acc[e] * scale rounded to T, e < n (acc has room for whole vectors).
template <typename T>
HWY_INLINE void StoreScaled(float* HWY_RESTRICT acc, size_t n, float scale, T* HWY_RESTRICT out) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const VF vs = hn::Set(df, scale);
  for (size_t c = 0; c < n; c += N) hn::Store(hn::Mul(vs, hn::Load(df, acc + c)), df, acc + c);
  NarrowRow(acc, n, out);
}

// A RowInfo for row (b, h, i) of job, its range taken from the pre-pass (empty: inactive).
HWY_INLINE RowInfo BackwardRow(const BackwardJob& job, int64_t b, int64_t h, int64_t i) {
  const AttentionSpec& spec = *job.plan.spec;
  const AttentionShape& s = spec.shape;
  RowInfo row;
  row.out_row = lse_offset(s, b, h, i);
  row.begin = job.bounds[2 * row.out_row];
  row.end = job.bounds[2 * row.out_row + 1];
  row.active = row.begin < row.end;
  row.mask = spec.mask != MaskKind::none ? job.plan.visibility.mask + mask_row_offset(spec, b, h, i) : nullptr;
  row.neg_slope = spec.has_alibi ? -job.plan.visibility.alibi_slopes[h] : 0.0f;
  row.position = query_position(s, i);
  return row;
}

// dst[0, n) = src widened, dst[n, padded) = 0.
template <typename T>
HWY_INLINE void WidenPadded(const T* HWY_RESTRICT src, size_t n, size_t padded, float* HWY_RESTRICT dst) {
  WidenRow(src, n, dst);
  std::memset(dst + n, 0, (padded - n) * sizeof(float));
}

// ------------------------------------------------------------------ the two passes

template <typename T, class Exp>
void BackwardKeysTask(const BackwardJob& job, int64_t task) {
  const AttentionJob& plan = job.plan;
  const AttentionShape& s = plan.spec->shape;
  const int64_t kb = task % job.k_blocks;
  const int64_t kvh = task / job.k_blocks % s.kv_heads;
  const int64_t b = task / job.k_blocks / s.kv_heads;
  const int64_t kb0 = kb * plan.k_block;
  const int64_t w = std::min(plan.k_block, s.kv_len - kb0);
  const size_t wn = static_cast<size_t>(w);
  const size_t dim = static_cast<size_t>(s.head_dim), dv = static_cast<size_t>(s.value_dim);
  const size_t dimp = PaddedValueDim(s.head_dim), dvp = PaddedValueDim(s.value_dim);
  const size_t wp = TileWidth(plan.tile_keys);
  constexpr size_t kChunk = static_cast<size_t>(kBackwardChunkRows);
  BackwardWorkspace& ws = backward_workspace();

  const int64_t kv_row = (b * s.kv_heads + kvh) * s.kv_len + kb0;
  float* kt = ws.kt.get(dim * wp);
  float* vt = ws.vt.get(dv * wp);
  PackKeysTransposed(static_cast<const T*>(plan.k) + kv_row * s.head_dim, wn, dim, wp, kt, nullptr);
  PackKeysTransposed(static_cast<const T*>(plan.v) + kv_row * s.value_dim, wn, dv, wp, vt, nullptr);
  float* dk = ws.dk.zeroed(wn * dimp);
  float* dva = ws.dv.zeroed(wn * dvp);
  float* q = ws.q.get(kChunk * dimp);
  float* d_out = ws.d_out.get(kChunk * dvp);
  float* sp = ws.s.get(kChunk * wp);
  float* dp = ws.dp.get(kChunk * wp);
  RowInfo rows[kChunk];
  float lse[kChunk], delta[kChunk];
  size_t n = 0;

  const auto flush = [&] {
    const size_t padded = static_cast<size_t>(round_up(static_cast<int64_t>(n), kTiledRows));
    for (size_t r = n; r < padded; ++r) {  // inactive rows: zero operands, zero P and dS
      rows[r] = RowInfo{};
      lse[r] = delta[r] = 0.0f;
      std::memset(q + r * dimp, 0, dimp * sizeof(float));
      std::memset(d_out + r * dvp, 0, dvp * sizeof(float));
    }
    for (size_t g = 0; g < padded; g += kTiledRows) {
      const Coverage coverage = Classify<kTiledRows>(rows + g, kb0, w, plan.scalar_alibi);
      if (coverage == Coverage::none) {  // every row's keys lie in masked parts of the tile
        std::memset(sp + g * wp, 0, kTiledRows * wp * sizeof(float));
        std::memset(dp + g * wp, 0, kTiledRows * wp * sizeof(float));
        continue;
      }
      ScoresRows6(q + g * dimp, dimp, dim, kt, wp, sp + g * wp);
      GradRows6(d_out + g * dvp, dvp, dv, vt, wp, dp + g * wp);
      GroupGrads<Exp>(coverage, sp + g * wp, dp + g * wp, nullptr, rows + g, lse + g, delta + g, plan, kb0, wn, wp);
    }
    AccumulateOuter(sp, wp, d_out, dvp, padded, wn, dvp, dva);  // dV += P^T dO
    AccumulateOuter(dp, wp, q, dimp, padded, wn, dimp, dk);     // dK += dS^T Q (scaled at the end)
    n = 0;
  };

  const int64_t group = group_size(s);
  const T* queries = static_cast<const T*>(plan.q);
  const T* grads = static_cast<const T*>(job.d_out);
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = kvh * group + g;
    for (int64_t i = 0; i < s.q_len; ++i) {
      const int64_t row = lse_offset(s, b, h, i);
      const int64_t begin = job.bounds[2 * row], end = job.bounds[2 * row + 1];
      if (begin >= end || end <= kb0 || begin >= kb0 + w) continue;  // sees no key of the block
      rows[n] = BackwardRow(job, b, h, i);
      lse[n] = job.lse[row];
      delta[n] = job.delta[row];
      WidenPadded(queries + q_offset(s, b, h, i), dim, dimp, q + n * dimp);
      WidenPadded(grads + o_offset(s, b, h, i), dv, dvp, d_out + n * dvp);
      if (++n == kChunk) flush();
    }
  }
  if (n != 0) flush();

  T* dk_out = static_cast<T*>(job.dk) + kv_row * s.head_dim;
  T* dv_out = static_cast<T*>(job.dv) + kv_row * s.value_dim;
  for (size_t j = 0; j < wn; ++j) {
    StoreScaled(dk + j * dimp, dim, plan.scale, dk_out + j * dim);
    NarrowRow(dva + j * dvp, dv, dv_out + j * dv);
  }
}

// Key tile [kb0, kb0 + w) packed for the query side (the query pass and the fused form): K^T and
// V^T for S and dP, K by rows for dQ += dS K.
template <typename T>
HWY_INLINE void PackQueryTile(const T* k, const T* v, int64_t kb0, size_t w, size_t dim, size_t dv, size_t dimp,
                              size_t wp, float* kt, float* vt, float* kr) {
  const size_t first = static_cast<size_t>(kb0);
  PackKeysTransposed(k + first * dim, w, dim, wp, kt, nullptr);
  PackKeysTransposed(v + first * dv, w, dv, wp, vt, nullptr);
  PackValues(k + first * dim, w, dim, dimp, kr);
}

// One group of 6 rows on a packed tile, query side: S (the forward's scores), dP, then P and dS
// (GroupGrads, left in s and dp for the key side), then dQ += dS K, keys ascending, one FMA
// each; a partial tile takes only each row's visible keys (an invisible K row may hold NaN, and
// 0 * NaN is NaN). q, d_out and dq are the group's first rows (dimp, dvp floats apart).
template <class Exp>
HWY_INLINE void GroupQuerySide(Coverage coverage, const float* q, const float* d_out, const float* kt,
                               const float* vt, const float* kr, float* s, float* dp, uint8_t* visible,
                               const RowInfo* rows, const float* lse, const float* delta, const AttentionJob& plan,
                               int64_t kb0, size_t w, size_t wp, float* dq) {
  const AttentionShape& shape = plan.spec->shape;
  const size_t dim = static_cast<size_t>(shape.head_dim), dv = static_cast<size_t>(shape.value_dim);
  const size_t dimp = PaddedValueDim(shape.head_dim), dvp = PaddedValueDim(shape.value_dim);
  ScoresRows6(q, dimp, dim, kt, wp, s);
  GradRows6(d_out, dvp, dv, vt, wp, dp);
  if (coverage == Coverage::full) {
    GroupGrads<Exp>(coverage, s, dp, nullptr, rows, lse, delta, plan, kb0, w, wp);
    AccumulateDqFull(dp, wp, kr, dimp, w, dq);
  } else {
    GroupGrads<Exp>(coverage, s, dp, visible, rows, lse, delta, plan, kb0, w, wp);
    AccumulatePV<kTiledRows, Take::flagged>(dp, wp, visible, nullptr, nullptr, kr, dimp, 0, w, dimp, dq, dimp);
  }
}

template <typename T, class Exp>
void BackwardQueriesTask(const BackwardJob& job, int64_t task) {
  const AttentionJob& plan = job.plan;
  const AttentionShape& s = plan.spec->shape;
  const int64_t qb = task % plan.q_blocks;
  const int64_t kvh = task / plan.q_blocks % s.kv_heads;
  const int64_t b = task / plan.q_blocks / s.kv_heads;
  const int64_t i0 = qb * plan.q_block;
  const int64_t rows_per_head = std::min(plan.q_block, s.q_len - i0);
  const int64_t group = group_size(s);
  const int64_t count = group * rows_per_head;
  const int64_t padded = round_up(count, kTiledRows);
  const size_t dim = static_cast<size_t>(s.head_dim), dv = static_cast<size_t>(s.value_dim);
  const size_t dimp = PaddedValueDim(s.head_dim), dvp = PaddedValueDim(s.value_dim);
  const size_t wp = TileWidth(plan.tile_keys);
  const size_t rows_n = static_cast<size_t>(padded);
  BackwardWorkspace& ws = backward_workspace();

  ws.rows.assign(rows_n, RowInfo{});
  ws.lse.assign(rows_n, 0.0f);
  ws.delta.assign(rows_n, 0.0f);
  RowInfo* rows = ws.rows.data();
  float* q = ws.q.zeroed(rows_n * dimp);
  float* d_out = ws.d_out.zeroed(rows_n * dvp);
  float* dq = ws.dq.zeroed(rows_n * dimp);
  KeyRange keys{s.kv_len, 0};
  const T* queries = static_cast<const T*>(plan.q);
  const T* grads = static_cast<const T*>(job.d_out);
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = kvh * group + g;
    for (int64_t ii = 0; ii < rows_per_head; ++ii) {
      const int64_t i = i0 + ii;
      const size_t r = static_cast<size_t>(g * rows_per_head + ii);
      rows[r] = BackwardRow(job, b, h, i);
      if (!rows[r].active) continue;  // sees no key: dQ stays 0, its dO is never read
      ws.lse[r] = job.lse[rows[r].out_row];
      ws.delta[r] = job.delta[rows[r].out_row];
      WidenRow(queries + q_offset(s, b, h, i), dim, q + r * dimp);
      WidenRow(grads + o_offset(s, b, h, i), dv, d_out + r * dvp);
      keys.begin = std::min(keys.begin, rows[r].begin);
      keys.end = std::max(keys.end, rows[r].end);
    }
  }

  float* kt = ws.kt.get(dim * wp);
  float* vt = ws.vt.get(dv * wp);
  float* kr = ws.kr.zeroed(static_cast<size_t>(plan.tile_keys) * dimp);  // padding columns stay 0
  float* sp = ws.s.get(kTiledRows * wp);
  float* dp = ws.dp.get(kTiledRows * wp);
  ws.visible.resize(kTiledRows * wp);
  uint8_t* visible = ws.visible.data();
  const int64_t kv_base = (b * s.kv_heads + kvh) * s.kv_len;
  const T* k = static_cast<const T*>(plan.k) + kv_base * s.head_dim;
  const T* v = static_cast<const T*>(plan.v) + kv_base * s.value_dim;
  for (int64_t kb0 = keys.empty() ? keys.end : keys.begin / plan.k_block * plan.k_block; kb0 < keys.end;
       kb0 += plan.k_block) {
    const int64_t w = std::min(kb0 + plan.k_block, keys.end) - kb0;
    const size_t wn = static_cast<size_t>(w);
    bool packed = false;
    for (int64_t g = 0; g < padded; g += kTiledRows) {
      const Coverage coverage = Classify<kTiledRows>(rows + g, kb0, w, plan.scalar_alibi);
      if (coverage == Coverage::none) continue;
      if (!packed) {  // a tile no group sees (inside a window's span) is never read
        PackQueryTile(k, v, kb0, wn, dim, dv, dimp, wp, kt, vt, kr);
        packed = true;
      }
      const size_t gr = static_cast<size_t>(g);
      GroupQuerySide<Exp>(coverage, q + gr * dimp, d_out + gr * dvp, kt, vt, kr, sp, dp, visible, rows + g,
                          ws.lse.data() + g, ws.delta.data() + g, plan, kb0, wn, wp, dq + gr * dimp);
    }
  }
  T* dq_out = static_cast<T*>(job.dq);
  for (int64_t r = 0; r < count; ++r) {
    StoreScaled(dq + r * dimp, dim, plan.scale, dq_out + rows[r].out_row * s.head_dim);
  }
}

// The fused form, one task per (batch, kv head): the heads of the group in turn, each head's
// rows in blocks of q_block, and for each block every key tile it sees, where S, P, dP and dS are
// formed once and serve all three products: dQ += dS K (the block's f32 rows), dV += P^T dO and
// dK += dS^T Q (f32 accumulators of the kv head's whole K and V). 5 products instead of the two
// passes' 7; the same FMA chains element by element (keys ascending for dQ; heads, then rows
// ascending for dK and dV), so the same bits. Used where (batch, kv head) pairs alone keep
// every thread busy.
template <typename T, class Exp>
void BackwardFusedTask(const BackwardJob& job, int64_t task) {
  const AttentionJob& plan = job.plan;
  const AttentionShape& s = plan.spec->shape;
  const int64_t kvh = task % s.kv_heads;
  const int64_t b = task / s.kv_heads;
  const size_t dim = static_cast<size_t>(s.head_dim), dv = static_cast<size_t>(s.value_dim);
  const size_t dimp = PaddedValueDim(s.head_dim), dvp = PaddedValueDim(s.value_dim);
  const size_t wp = TileWidth(plan.tile_keys);
  const size_t block_rows = static_cast<size_t>(round_up(job.fused_q_block, kTiledRows));
  BackwardWorkspace& ws = backward_workspace();

  const size_t kv_len = static_cast<size_t>(s.kv_len);
  float* dk = ws.dk.zeroed(kv_len * dimp);
  float* dva = ws.dv.zeroed(kv_len * dvp);
  float* kt = ws.kt.get(dim * wp);
  float* vt = ws.vt.get(dv * wp);
  float* kr = ws.kr.zeroed(static_cast<size_t>(plan.tile_keys) * dimp);  // padding columns stay 0
  float* sp = ws.s.get(block_rows * wp);
  float* dp = ws.dp.get(block_rows * wp);
  ws.visible.resize(kTiledRows * wp);
  uint8_t* visible = ws.visible.data();
  const int64_t kv_base = (b * s.kv_heads + kvh) * s.kv_len;
  const T* k = static_cast<const T*>(plan.k) + kv_base * s.head_dim;
  const T* v = static_cast<const T*>(plan.v) + kv_base * s.value_dim;
  const T* queries = static_cast<const T*>(plan.q);
  const T* grads = static_cast<const T*>(job.d_out);
  T* dq_out = static_cast<T*>(job.dq);
  const int64_t group = group_size(s);
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = kvh * group + g;
    for (int64_t i0 = 0; i0 < s.q_len; i0 += job.fused_q_block) {
      const int64_t count = std::min(job.fused_q_block, s.q_len - i0);
      const int64_t padded = round_up(count, kTiledRows);
      const size_t rows_n = static_cast<size_t>(padded);
      ws.rows.assign(rows_n, RowInfo{});
      ws.lse.assign(rows_n, 0.0f);
      ws.delta.assign(rows_n, 0.0f);
      RowInfo* rows = ws.rows.data();
      float* q = ws.q.zeroed(rows_n * dimp);
      float* d_out = ws.d_out.zeroed(rows_n * dvp);
      float* dq = ws.dq.zeroed(rows_n * dimp);
      KeyRange keys{s.kv_len, 0};
      for (int64_t r = 0; r < count; ++r) {
        const int64_t i = i0 + r;
        rows[r] = BackwardRow(job, b, h, i);
        if (!rows[r].active) continue;  // sees no key: dQ stays 0, its dO is never read
        ws.lse[r] = job.lse[rows[r].out_row];
        ws.delta[r] = job.delta[rows[r].out_row];
        WidenRow(queries + q_offset(s, b, h, i), dim, q + r * dimp);
        WidenRow(grads + o_offset(s, b, h, i), dv, d_out + r * dvp);
        keys.begin = std::min(keys.begin, rows[r].begin);
        keys.end = std::max(keys.end, rows[r].end);
      }
      for (int64_t kb0 = keys.empty() ? keys.end : keys.begin / plan.k_block * plan.k_block; kb0 < keys.end;
           kb0 += plan.k_block) {
        const int64_t w = std::min(kb0 + plan.k_block, keys.end) - kb0;
        const size_t wn = static_cast<size_t>(w);
        bool packed = false;
        for (int64_t gr = 0; gr < padded; gr += kTiledRows) {
          float* gs = sp + static_cast<size_t>(gr) * wp;
          float* gdp = dp + static_cast<size_t>(gr) * wp;
          const Coverage coverage = Classify<kTiledRows>(rows + gr, kb0, w, plan.scalar_alibi);
          if (coverage == Coverage::none) {  // zeros for the rank-n updates below
            std::memset(gs, 0, kTiledRows * wp * sizeof(float));
            std::memset(gdp, 0, kTiledRows * wp * sizeof(float));
            continue;
          }
          if (!packed) {
            PackQueryTile(k, v, kb0, wn, dim, dv, dimp, wp, kt, vt, kr);
            packed = true;
          }
          const size_t ro = static_cast<size_t>(gr);
          GroupQuerySide<Exp>(coverage, q + ro * dimp, d_out + ro * dvp, kt, vt, kr, gs, gdp, visible, rows + gr,
                              ws.lse.data() + gr, ws.delta.data() + gr, plan, kb0, wn, wp, dq + ro * dimp);
        }
        if (!packed) continue;
        const size_t key0 = static_cast<size_t>(kb0);
        AccumulateOuter(sp, wp, d_out, dvp, rows_n, wn, dvp, dva + key0 * dvp);  // dV += P^T dO
        AccumulateOuter(dp, wp, q, dimp, rows_n, wn, dimp, dk + key0 * dimp);    // dK += dS^T Q
      }
      for (int64_t r = 0; r < count; ++r) {
        StoreScaled(dq + r * dimp, dim, plan.scale, dq_out + rows[r].out_row * s.head_dim);
      }
    }
  }
  T* dk_out = static_cast<T*>(job.dk) + kv_base * s.head_dim;
  T* dv_out = static_cast<T*>(job.dv) + kv_base * s.value_dim;
  for (size_t j = 0; j < kv_len; ++j) {
    StoreScaled(dk + j * dimp, dim, plan.scale, dk_out + j * dim);
    NarrowRow(dva + j * dvp, dv, dv_out + j * dv);
  }
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
