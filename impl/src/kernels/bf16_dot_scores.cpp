// AVX-512 BF16 code outside Highway (its version here has no operation for vdpbf16ps): the
// function carries its own target attribute and runs only where cpu_has_bf16_dot() says so.
#include "bf16_dot_scores.hpp"

#include "attention_plan.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "avx512_score_blocks.hpp"
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

// Prefetch regions sent slice by slice over a loop (iteration i: `step` bytes at first +
// i * step; step 0 sends nothing), as SpreadPrefetch in attention_tile-inl.h.
struct Spread {
  const char* first = nullptr;
  size_t step = 0;
};

// kLines != 0: the step is known to be kLines lines (or 0 over a stand-in region), so the slice
// goes out with no loop around it.
template <size_t kLines>
ATTNCHECK_BF16_TARGET inline void prefetch_slice(const Spread& p, size_t i) {
  const char* slice = p.first + i * p.step;
  if constexpr (kLines != 0) {
    for (size_t line = 0; line < kLines; ++line) _mm_prefetch(slice + 64 * line, _MM_HINT_T0);
  } else {
    for (size_t b = 0; b < p.step; b += 64) _mm_prefetch(slice + b, _MM_HINT_T0);
  }
}

// The 16 scores of 4 query rows against 4 keys as one vector (lane 4 r + t: row r, key t).
template <size_t kLines>
ATTNCHECK_BF16_TARGET inline __m512 step_scores(const uint16_t* q, size_t q_stride, const uint16_t* k0,
                                                const uint16_t* k1, const uint16_t* k2, const uint16_t* k3,
                                                size_t dim, const Spread& v_rows, const Spread& k_rows) {
  // 16 named accumulators (4 rows x 4 keys), so they stay in registers.
  __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  const uint16_t* q1 = q + q_stride;
  const uint16_t* q2 = q + 2 * q_stride;
  const uint16_t* q3 = q + 3 * q_stride;
  for (size_t d = 0, i = 0; d < dim; d += 32, ++i) {
    prefetch_slice<kLines>(v_rows, i);
    prefetch_slice<kLines>(k_rows, i);
    const __m512bh x0 = load_pairs(k0 + d), x1 = load_pairs(k1 + d);
    const __m512bh x2 = load_pairs(k2 + d), x3 = load_pairs(k3 + d);
    dot_four_keys(load_pairs(q + d), x0, x1, x2, x3, a00, a01, a02, a03);
    dot_four_keys(load_pairs(q1 + d), x0, x1, x2, x3, a10, a11, a12, a13);
    dot_four_keys(load_pairs(q2 + d), x0, x1, x2, x3, a20, a21, a22, a23);
    dot_four_keys(load_pairs(q3 + d), x0, x1, x2, x3, a30, a31, a32, a33);
  }
  __m512 acc[16] = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33};
  return avx512::sums_of_lanes16(acc);
}


}  // namespace

// Same structure as ScoresDirectTransposed: 4 keys per step, whole 16-key score rows per block
// of 4 steps, prefetches spread over each step's loop over d (in whole cache lines where the
// regions divide evenly, else sent at once).
ATTNCHECK_BF16_TARGET void scores_bf16_dot4(const uint16_t* q, size_t q_stride, const uint16_t* k, size_t dim,
                                            size_t w, size_t wp, float* s, const void* prefetch,
                                            size_t prefetch_row_bytes) {
  constexpr size_t kRows = 4, kKeys = 4;
  const char* v_base = static_cast<const char*>(prefetch);
  const size_t key_bytes = dim * sizeof(uint16_t);
  const size_t iterations = dim / 32;
  const auto spread_step = [iterations](size_t bytes) {
    return iterations != 0 && bytes != 0 && bytes % (iterations * 64) == 0 ? bytes / iterations : 0;
  };
  const size_t v_step = spread_step(kKeys * prefetch_row_bytes), k_step = spread_step(kKeys * key_bytes);
  // Spread where each region to send divides evenly (K alone when there is no V to prefetch);
  // an absent region is q's first line with step 0, as in ScoresDirectTransposed.
  const bool spread = k_step != 0 && (v_step != 0 || prefetch_row_bytes == 0);
  const Spread absent{reinterpret_cast<const char*>(q), 0};
  // Decode's usual case (dim == dv): both regions take kFixedLines lines per iteration, with
  // no loop around them (here 19% faster per call, 8 kv heads x 8192 keys, 8 cold caches, 2
  // threads).
  constexpr size_t kFixedLines = 4;
  const bool fixed =
      spread && k_step == 64 * kFixedLines && (v_step == 64 * kFixedLines || prefetch_row_bytes == 0);
  // The step at key j (of `keys` keys): the V rows of its keys and the K rows kPrefetchKeysAhead
  // keys ahead, as spreads, or sent now.
  const auto step_prefetches = [&](size_t j, size_t keys, Spread& v_rows, Spread& k_rows) ATTNCHECK_BF16_TARGET {
    const char* v_first = prefetch_row_bytes != 0 ? v_base + j * prefetch_row_bytes : nullptr;
    const char* k_first =
        j + kPrefetchKeysAhead + kKeys <= w ? reinterpret_cast<const char*>(k + (j + kPrefetchKeysAhead) * dim) : nullptr;
    if (keys == kKeys && spread) {
      v_rows = v_first != nullptr ? Spread{v_first, v_step} : absent;
      k_rows = k_first != nullptr ? Spread{k_first, k_step} : absent;
      return;
    }
    v_rows = k_rows = Spread{};
    if (v_first != nullptr) prefetch_bytes(v_first, keys * prefetch_row_bytes);
    if (k_first != nullptr) prefetch_bytes(k_first, kKeys * key_bytes);
  };
  Spread v_rows, k_rows;
  size_t j = 0;
  // Whole blocks of 16 keys; `lines` is kFixedLines or 0 (the general prefetch_slice).
  const auto blocks = [&](auto lines) ATTNCHECK_BF16_TARGET {
    constexpr size_t kLines = decltype(lines)::value;
    for (; j + 4 * kKeys <= w; j += 4 * kKeys) {
      __m512 steps[4];
#pragma GCC unroll 4
      for (size_t t = 0; t < 4; ++t) {
        const uint16_t* kt = k + (j + t * kKeys) * dim;
        step_prefetches(j + t * kKeys, kKeys, v_rows, k_rows);
        steps[t] = step_scores<kLines>(q, q_stride, kt, kt + dim, kt + 2 * dim, kt + 3 * dim, dim, v_rows, k_rows);
      }
      avx512::transpose_blocks4(steps[0], steps[1], steps[2], steps[3]);
      for (size_t r = 0; r < kRows; ++r) _mm512_storeu_ps(s + r * wp + j, steps[r]);
    }
  };
  if (fixed) {
    blocks(std::integral_constant<size_t, kFixedLines>());
  } else {
    blocks(std::integral_constant<size_t, 0>());
  }
  alignas(64) float sums[kRows * kKeys];
  for (; j < w; j += kKeys) {
    const size_t keys = std::min(kKeys, w - j);
    // A last partial step repeats its last key: every score is computed the same way.
    const uint16_t* k0 = k + j * dim;
    const uint16_t* k1 = k0 + (keys > 1 ? dim : 0);
    const uint16_t* k2 = k0 + (keys > 2 ? 2 : keys - 1) * dim;
    const uint16_t* k3 = k0 + (keys > 3 ? 3 : keys - 1) * dim;
    step_prefetches(j, keys, v_rows, k_rows);
    _mm512_store_ps(sums, step_scores<0>(q, q_stride, k0, k1, k2, k3, dim, v_rows, k_rows));
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
