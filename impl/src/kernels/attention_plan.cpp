#include "attention_plan.hpp"

#include <algorithm>

namespace attncheck::kernels {
namespace {

int64_t tile_option(int64_t value, int64_t fallback) { return value == 0 ? fallback : value; }

}  // namespace

AttentionJob plan_job(const AttentionSpec& spec, const VisibilityInputs& visibility,
                      const AttentionOutputs& outputs, const KernelOptions& options,
                      int64_t default_q_block, int64_t default_k_block) {
  validate(spec, visibility);
  validate(options);
  const AttentionShape& s = spec.shape;
  AttentionJob job;
  job.spec = &spec;
  job.visibility = visibility;
  job.outputs = outputs;
  job.scale = static_cast<float>(effective_scale(spec));
  job.q_block = std::min(tile_option(options.q_block, default_q_block), s.q_len);
  job.k_block = tile_option(options.k_block, default_k_block);
  // A tile never holds more than kv_len keys, so a larger k_block costs no memory.
  job.tile_keys = std::min(job.k_block, s.kv_len);
  job.q_blocks = ceil_div(s.q_len, job.q_block);
  // Float distances |p - j| are exact below 2^24; positions lie in [-q_len, kv_len].
  job.scalar_alibi = spec.has_alibi && s.q_len + s.kv_len >= (int64_t{1} << 23);
  job.rows_total = s.batch * s.q_heads * s.q_len;
  return job;
}

int resolve_threads(const KernelOptions& options) {
  return options.threads > 0 ? options.threads : default_thread_count();
}

double dense_flops(const AttentionShape& s) {
  return 2.0 * double(s.batch) * double(s.q_heads) * double(s.q_len) * double(s.kv_len) *
         double(s.head_dim + s.value_dim);
}

void run_tasks(int64_t count, int threads, double flops, TaskBody body, const void* job) {
  // At least ~1 MFLOP (tens of microseconds) per thread, so waking a thread pays for itself.
  constexpr double kMinFlopsPerThread = 1e6;
  const int64_t worth = std::max<int64_t>(1, static_cast<int64_t>(flops / kMinFlopsPerThread));
  run_in_pool(count, static_cast<int>(std::min<int64_t>(threads, worth)), body, job);
}

}  // namespace attncheck::kernels
