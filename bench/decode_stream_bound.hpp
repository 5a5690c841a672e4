// A measured reference for the decode kernels: the arithmetic decode cannot avoid, over the
// bytes it must read, in the access order this machine's memory system serves best.
//
// For every (layer, kv head) the loop walks the cached keys once, K row j and V row j in the
// same step, widens both from f16 in registers and spends 4 FMAs per K vector (4 query rows of
// a GQA group: Q.K) and 4 per V vector (4 weights: P.V), 64 FMAs per key and kv head at
// D = 128 like the kernels, into 16 register accumulators. It leaves out what a correct kernel
// cannot: the horizontal sums of the scores, the online softmax, accumulators per value column
// (4 rows x D floats, more than the register file holds, so the kernels walk K and V of a tile
// in blocks instead of row by row), and the prefetch instructions those blocks need. The
// decode kernel's speed over this loop's says how much of the gap to the read peak is the
// kernel's to close; this loop's own fraction of the read peak, how much no kernel with these
// flops per byte could close on this machine.
#pragma once

#include <cstdint>
#include <vector>

namespace attncheck::bench {

// One pass over the f16 caches (each [kv_heads, capacity, dim], the first `length` keys read)
// on `threads` released threads, kv heads dealt round-robin per layer; returns the seconds.
// dim must be a multiple of 32.
double decode_stream_bound_seconds(const std::vector<const void*>& k_layers, const std::vector<const void*>& v_layers,
                                   int64_t kv_heads, int64_t capacity, int64_t length, int64_t dim, int threads);

}  // namespace attncheck::bench
