// AVX-512 BF16 code outside Highway (its version here has no operation for vdpbf16ps): the
// function carries its own target attribute and runs only where cpu_has_bf16_dot() says so.
#include "bf16_dot_scores.hpp"

#include "attention_plan.hpp"

#include <algorithm>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ATTNCHECK_HAVE_BF16_DOT 1
#else
#define ATTNCHECK_HAVE_BF16_DOT 0
#endif

namespace attncheck::kernels {

#if ATTNCHECK_HAVE_BF16_DOT

bool cpu_has_bf16_dot() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512bf16");
  return has;
}

namespace {

#define ATTNCHECK_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

ATTNCHECK_BF16_TARGET inline void prefetch_bytes(const char* p, size_t bytes) {
  for (size_t b = 0; b < bytes; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
}

// Sums of the lanes of 16 vectors: sums[i] = the sum of acc[i]'s lanes. Each level adds the
// even and the odd lanes of a pair (lanes 2l and 2l + 1 of a source first), halving the lanes
// per source; every source takes the same tree.
ATTNCHECK_BF16_TARGET inline void sums_of_lanes16(__m512* acc, float* sums) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#pragma GCC unroll 4
  for (size_t vectors = 16; vectors > 1; vectors /= 2) {
#pragma GCC unroll 8
    for (size_t i = 0; i < vectors / 2; ++i) {
      acc[i] = _mm512_add_ps(_mm512_permutex2var_ps(acc[2 * i], even, acc[2 * i + 1]),
                             _mm512_permutex2var_ps(acc[2 * i], odd, acc[2 * i + 1]));
    }
  }
  _mm512_storeu_ps(sums, acc[0]);
}

ATTNCHECK_BF16_TARGET inline __m512bh load_pairs(const uint16_t* p) {
  return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
}

// One query row's 32 elements against the same elements of 4 keys.
ATTNCHECK_BF16_TARGET inline void dot_four_keys(__m512bh q, __m512bh x0, __m512bh x1, __m512bh x2, __m512bh x3,
                                                __m512& a0, __m512& a1, __m512& a2, __m512& a3) {
  a0 = _mm512_dpbf16_ps(a0, q, x0);
  a1 = _mm512_dpbf16_ps(a1, q, x1);
  a2 = _mm512_dpbf16_ps(a2, q, x2);
  a3 = _mm512_dpbf16_ps(a3, q, x3);
}

}  // namespace

ATTNCHECK_BF16_TARGET void scores_bf16_dot4(const uint16_t* q, size_t q_stride, const uint16_t* k, size_t dim,
                                            size_t w, size_t wp, float* s, const void* prefetch,
                                            size_t prefetch_row_bytes) {
  constexpr size_t kRows = 4, kKeys = 4;
  alignas(64) float sums[kRows * kKeys];
  const char* prefetch_bytes_base = static_cast<const char*>(prefetch);
  const size_t key_bytes = dim * sizeof(uint16_t);
  for (size_t j = 0; j < w; j += kKeys) {
    const size_t keys = std::min(kKeys, w - j);
    // A last partial step repeats its last key: every score is computed the same way.
    const uint16_t* k0 = k + j * dim;
    const uint16_t* k1 = k0 + (keys > 1 ? dim : 0);
    const uint16_t* k2 = k0 + (keys > 2 ? 2 : keys - 1) * dim;
    const uint16_t* k3 = k0 + (keys > 3 ? 3 : keys - 1) * dim;
    if (prefetch_row_bytes != 0) prefetch_bytes(prefetch_bytes_base + j * prefetch_row_bytes, keys * prefetch_row_bytes);
    if (j + kPrefetchKeysAhead + kKeys <= w) prefetch_bytes(reinterpret_cast<const char*>(k0 + kPrefetchKeysAhead * dim), kKeys * key_bytes);
    // 16 named accumulators (4 rows x 4 keys), so they stay in registers.
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    const uint16_t* q1 = q + q_stride;
    const uint16_t* q2 = q + 2 * q_stride;
    const uint16_t* q3 = q + 3 * q_stride;
    for (size_t d = 0; d < dim; d += 32) {
      const __m512bh x0 = load_pairs(k0 + d), x1 = load_pairs(k1 + d);
      const __m512bh x2 = load_pairs(k2 + d), x3 = load_pairs(k3 + d);
      dot_four_keys(load_pairs(q + d), x0, x1, x2, x3, a00, a01, a02, a03);
      dot_four_keys(load_pairs(q1 + d), x0, x1, x2, x3, a10, a11, a12, a13);
      dot_four_keys(load_pairs(q2 + d), x0, x1, x2, x3, a20, a21, a22, a23);
      dot_four_keys(load_pairs(q3 + d), x0, x1, x2, x3, a30, a31, a32, a33);
    }
    __m512 acc[kRows * kKeys] = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33};
    sums_of_lanes16(acc, sums);
    for (size_t r = 0; r < kRows; ++r) {
      for (size_t t = 0; t < keys; ++t) s[r * wp + j + t] = sums[r * kKeys + t];
    }
  }
}

#else  // no AVX-512 BF16 in this build

bool cpu_has_bf16_dot() { return false; }

void scores_bf16_dot4(const uint16_t*, size_t, const uint16_t*, size_t, size_t, size_t, float*, const void*, size_t) {
  throw std::logic_error("scores_bf16_dot4: this build has no AVX-512 BF16 code; check cpu_has_bf16_dot()");
}

#endif

}  // namespace attncheck::kernels
