// The two in-register steps of the decode Q.K micro-kernels on 512-bit x86 targets, shared by
// the Highway code (attention_tile-inl.h, AVX3 targets) and the AVX-512 BF16 code
// (bf16_dot_scores.cpp): the transposing horizontal sum of 16 accumulators and the 128-bit
// block transpose of 4 score vectors. Each function asks only for AVX-512F, so it inlines into
// either caller's wider target. Included only where __x86_64__ and AVX-512 code are built.
#pragma once

#include <immintrin.h>

#define ATTNCHECK_AVX512F_TARGET __attribute__((target("avx512f")))

namespace attncheck::kernels::avx512 {

// _mm512_shuffle_f32x4 with every lane written, spelled as the merge-masked form: the plain
// intrinsic passes _mm512_undefined_ps() as its merge source, which GCC 12 reports as "may be
// used uninitialized" in every caller it inlines into (GCC bug 105593, fixed in 13). An
// all-ones mask compiles to the same unmasked instruction.
template <int kImm>
ATTNCHECK_AVX512F_TARGET inline __m512 shuffle_blocks(__m512 a, __m512 b) {
  return _mm512_mask_shuffle_f32x4(a, static_cast<__mmask16>(0xFFFF), a, b, kImm);
}

// Lane i of the result is the sum of the lanes of acc[i] (16 vectors of 16 lanes): a
// transposing reduction. Every source goes through the same fixed tree, adjacent lanes first:
// ((l0 + l1) + (l2 + l3)) within each 128-bit block, then (b0 + b1) + (b2 + b3) over the
// blocks, so a score depends only on its own vector (and the tree of the one-vector sums the
// tests compare with). Each level pairs two vectors by two two-source shuffles (the even and
// the odd elements of the pair, within blocks for the first two levels, of blocks for the last
// two) and one add: 30 shuffles and 15 adds, where blends and one-source shuffles took 59
// operations (Zen 5, Q.K of 4 rows x 128 f16 keys in L1: 6.9 -> 6.5 ns per key). acc is
// clobbered.
ATTNCHECK_AVX512F_TARGET inline __m512 sums_of_lanes16(__m512* acc) {
  constexpr int kEven = _MM_SHUFFLE(2, 0, 2, 0), kOdd = _MM_SHUFFLE(3, 1, 3, 1);
  for (int i = 0; i < 8; ++i) {  // lanes 2m, 2m + 1 of each block: pairs of sources' lane pairs
    acc[i] = _mm512_add_ps(_mm512_shuffle_ps(acc[2 * i], acc[2 * i + 1], kEven),
                           _mm512_shuffle_ps(acc[2 * i], acc[2 * i + 1], kOdd));
  }
  for (int i = 0; i < 4; ++i) {  // lane m of each block: that block's sum for source 4i + m
    acc[i] = _mm512_add_ps(_mm512_shuffle_ps(acc[2 * i], acc[2 * i + 1], kEven),
                           _mm512_shuffle_ps(acc[2 * i], acc[2 * i + 1], kOdd));
  }
  for (int i = 0; i < 2; ++i) {  // blocks b0 + b1 and b2 + b3 of sources 8i .. 8i + 7
    acc[i] = _mm512_add_ps(shuffle_blocks<kEven>(acc[2 * i], acc[2 * i + 1]),
                           shuffle_blocks<kOdd>(acc[2 * i], acc[2 * i + 1]));
  }
  return _mm512_add_ps(shuffle_blocks<kEven>(acc[0], acc[1]), shuffle_blocks<kOdd>(acc[0], acc[1]));
}

// The 4 x 4 matrix of 128-bit blocks transposed: s_c holds the scores of 4 rows (one per block)
// for keys 4c .. 4c + 3; afterwards s_r holds row r's scores for all 16 keys (its block c is
// block r of the old s_c).
ATTNCHECK_AVX512F_TARGET inline void transpose_blocks4(__m512& s0, __m512& s1, __m512& s2, __m512& s3) {
  const __m512 t0 = shuffle_blocks<_MM_SHUFFLE(1, 0, 1, 0)>(s0, s1);  // s0b0 s0b1 s1b0 s1b1
  const __m512 t1 = shuffle_blocks<_MM_SHUFFLE(3, 2, 3, 2)>(s0, s1);  // s0b2 s0b3 s1b2 s1b3
  const __m512 t2 = shuffle_blocks<_MM_SHUFFLE(1, 0, 1, 0)>(s2, s3);
  const __m512 t3 = shuffle_blocks<_MM_SHUFFLE(3, 2, 3, 2)>(s2, s3);
  s0 = shuffle_blocks<_MM_SHUFFLE(2, 0, 2, 0)>(t0, t2);
  s1 = shuffle_blocks<_MM_SHUFFLE(3, 1, 3, 1)>(t0, t2);
  s2 = shuffle_blocks<_MM_SHUFFLE(2, 0, 2, 0)>(t1, t3);
  s3 = shuffle_blocks<_MM_SHUFFLE(3, 1, 3, 1)>(t1, t3);
}

}  // namespace attncheck::kernels::avx512
