// The plain C++ half of the optimized kernels (tiled_*, decode_*): resolved tile sizes, the
// per-row facts a tile needs, per-thread scratch, and the deterministic task loop. The SIMD
// half is attention_tile-inl.h, compiled once per Highway target.
//
// Determinism: work is cut into tasks by the problem and the tile sizes only, never by the
// thread count; each task owns its output rows (or its slot of split-K partials) and runs the
// same arithmetic whichever thread picks it up. So any thread count gives identical bits.
// Tasks are handed out dynamically (task_pool.hpp), which balances causal and windowed tasks.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/semantics.hpp"
#include "hwy/aligned_allocator.h"
#include "task_pool.hpp"

namespace attncheck::kernels {

// Tuned defaults (docs/performance.md, "What limits each kernel"): key tiles of 64 keep the packed K^T and V
// tiles at 32 KiB each for D = 128 (128-key tiles spill to L2 and ran ~10% slower), and 96
// query positions per head (a multiple of the 6-row micro-kernel) amortise the packing over
// 96 x group rows; decode splits the cache into chunks of 2048 keys (Zen 5, 8 kv heads x 8192
// keys, 2 threads: chunks of 1024, 2048, 4096 keys measured 651, 612, 590 us per call; 2048
// keeps two chunks per kv head from 4096 keys, so one sequence of an MQA model still uses two
// cores).
inline constexpr int64_t kDefaultQBlock = 96;
inline constexpr int64_t kDefaultKBlock = 64;
inline constexpr int64_t kDefaultDecodeQBlock = 16;
inline constexpr int64_t kDefaultDecodeKBlock = 128;
inline constexpr int64_t kDefaultDecodeChunk = 2048;

// How far ahead of its use a K row is prefetched by the decode Q.K loops (within a tile), in keys.
inline constexpr size_t kPrefetchKeysAhead = 16;

// Output rows per merge task of the split-K decode.
inline constexpr int64_t kMergeRows = 64;

// Rows per register-blocked micro-kernel call: 6 rows x 2 vectors = 12 independent FMA chains
// for the tiled forward (enough to cover FMA latency x throughput on current x86 and Arm cores
// within 16 vector registers); 4 for decode, whose GQA groups are typically 4 query heads.
inline constexpr int64_t kTiledRows = 6;
inline constexpr int64_t kDecodeRows = 4;
inline constexpr int64_t kMaxRowGroup = 6;

// Everything a query row (b, h, i) contributes to a tile: its visible key range, its mask row,
// its ALiBi slope and position, and where its output goes.
struct RowInfo {
  int64_t begin = 0;              // visible_key_range(): [begin, end)
  int64_t end = 0;
  const uint8_t* mask = nullptr;  // mask row (kv_len entries), or null
  float neg_slope = 0;            // -alibi_slopes[h], 0 without ALiBi
  int64_t position = 0;           // query_position(): the ALiBi origin
  int64_t out_row = 0;            // lse_offset(b, h, i); O row starts at out_row * value_dim
  bool active = false;            // false for the padding rows that fill the last group
};

inline int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }
inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// A growable, 64-byte aligned buffer (Highway's aligned loads need vector alignment).
template <typename T>
class AlignedBuffer {
 public:
  T* get(size_t n) {
    if (n > capacity_) {
      data_ = hwy::AllocateAligned<T>(n);
      capacity_ = n;
    }
    return data_.get();
  }
  // Like get(), but the first n elements are zero.
  T* zeroed(size_t n) {
    T* p = get(n);
    std::memset(p, 0, n * sizeof(T));
    return p;
  }

 private:
  hwy::AlignedFreeUniquePtr<T[]> data_;
  size_t capacity_ = 0;
};
using AlignedFloats = AlignedBuffer<float>;

// One thread's scratch, reused by every task that thread runs.
struct Workspace {
  AlignedFloats q;        // the task's query rows, widened to f32 and zero-padded
  AlignedBuffer<uint16_t> q_bf16;  // the same rows as bf16 bit patterns (decode_bf16_dot)
  AlignedFloats acc;      // unnormalised output rows
  AlignedFloats max;      // running max per row
  AlignedFloats sum;      // running sum per row
  AlignedFloats keys;     // packed K tile (transposed for the tiled forward)
  AlignedFloats values;   // packed V tile
  AlignedFloats scores;   // one row group's score / weight rows
  AlignedFloats staging;  // one widened row
  std::vector<uint8_t> visible;  // one row group's visibility rows (partial tiles only)
  std::vector<RowInfo> rows;     // the task's rows, padded to whole row groups
};

// One kernel call, resolved: what every task of it reads. K and V hold `kv_stride` key rows per
// (batch, kv head): kv_len for a forward call, the cache capacity for decode.
struct AttentionJob {
  const AttentionSpec* spec = nullptr;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t kv_stride = 0;
  VisibilityInputs visibility;
  AttentionOutputs outputs;
  float scale = 0;           // effective_scale(), rounded to f32 once, as the dense kernels do
  int64_t q_block = 0;       // query positions per head in one task
  int64_t k_block = 0;       // keys per tile; tiles are aligned at multiples of k_block
  int64_t tile_keys = 0;     // min(k_block, kv_len): the most keys a tile holds
  int64_t q_blocks = 0;      // ceil(q_len / q_block)
  bool scalar_alibi = false; // positions reach 2^23: ALiBi distances are formed in int64
  // Split-K (decode kernels only): chunks of `chunk` keys, aligned at key 0, a multiple of
  // k_block; partials[(c * rows_total + row) * (value_dim + 2)] holds m, l, acc[value_dim].
  int64_t chunk = 0;
  int64_t chunks = 1;
  int64_t rows_total = 0;    // batch * q_heads * q_len
  float* partials = nullptr;
  // Q.K by AVX-512 BF16 dot products (bf16 decode kernels, where the CPU has them and
  // head_dim is a multiple of 32): bf16_dot_scores.hpp.
  bool bf16_dot = false;
};

// Fills the fields every kernel shares; throws SpecError / std::invalid_argument on bad input.
AttentionJob plan_job(const AttentionSpec& spec, const VisibilityInputs& visibility,
                      const AttentionOutputs& outputs, const KernelOptions& options,
                      int64_t default_q_block, int64_t default_k_block);

// Threads to use: options.threads, or every CPU this process may run on.
int resolve_threads(const KernelOptions& options);

// Runs body(task, workspace) for every task in [0, count) on up to `threads` threads (the
// pool of task_pool.hpp). Tasks are independent; the thread that runs one does not affect any
// result. `flops` (the call's rough cost) caps the threads so that a tiny call (one decode
// step on a short cache) does not pay for waking threads it cannot keep busy.
void run_tasks(int64_t count, int threads, double flops, TaskBody body, const void* job);

// Multiply-adds of Q.K^T and P.V without any masking, as 2 flops each: the cost estimate above.
double dense_flops(const AttentionShape& shape);

}  // namespace attncheck::kernels
