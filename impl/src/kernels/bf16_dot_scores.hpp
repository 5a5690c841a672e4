// Q.K for bf16 K caches on AVX-512 BF16 (vdpbf16ps), used by the decode_bf16_dot kernel.
//
// vdpbf16ps multiplies pairs of bf16 elements exactly (8-bit significands, so a product fits
// an f32) and adds both products to an f32 lane, each addition rounded to nearest even: 16
// lanes take 32 products per instruction, where the widening path converts 16 elements and
// spends one FMA on them. Unlike the FMA path it treats subnormal inputs as zero and flushes
// subnormal products and sums to zero; docs/error-model.md, item 9, bounds what that costs.
// The queries must be bf16 too: decode_bf16's are (they are the stored bf16 values, widened
// exactly, and scaled only after the dot product), so no rounding is added.
#pragma once

#include <cstddef>
#include <cstdint>

namespace attncheck::kernels {

// Whether this build and this CPU can run scores_bf16_dot4 (x86-64 with AVX-512 BF16; false
// elsewhere, where the caller keeps the widening path).
bool cpu_has_bf16_dot();

// s[r * wp + j] = q_r . k_j for 4 query rows (bf16 bit patterns, q_stride elements apart)
// against the keys j < w (bf16 rows of dim elements, dim a multiple of 32): per key and row,
// 16 lanes of pair sums over d, then the lanes summed by a fixed tree (adjacent lanes first),
// so a score does not depend on the keys computed beside it. While K streams in, the V rows at
// prefetch + j * prefetch_row_bytes are prefetched (none when prefetch_row_bytes is 0), like
// ScoresDirectTransposed. Only call when cpu_has_bf16_dot().
void scores_bf16_dot4(const uint16_t* q, size_t q_stride, const uint16_t* k, size_t dim, size_t w, size_t wp,
                      float* s, const void* prefetch, size_t prefetch_row_bytes);

}  // namespace attncheck::kernels
