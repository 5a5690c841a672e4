// The optimized kernels (every registered kernel but dense_*, so an out-of-tree kernel joins
// automatically) against the oracle and against their own laws:
//   - every element of O and LSE lies within the a-priori bound, on every declared feature,
//     with q_len != kv_len and head_dim != value_dim, for default and awkward tile sizes, on
//     every SIMD target this CPU runs, through the forward and the decode entry points;
//   - tiled equals dense within the sum of their bounds for tile sizes that do and do not
//     divide L;
//   - outputs are bit-identical for any thread count, and (tiled) for any q_block;
//   - NaN in an invisible K or V slot never reaches O; a row that sees no key gives +0, -inf.
// Each law is also run against a deliberately broken kernel, which it must reject.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/oracle/oracle.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"
#include "attncheck/simd_dispatch.hpp"
#include "capable_spec.hpp"

namespace attncheck {
namespace {

bool is_dense(const KernelInfo& k) { return k.name.rfind("dense_", 0) == 0; }

// The selected kernels of `dtype` other than dense_* that have a forward entry point (every test
// here compares against a forward run).
std::vector<const KernelInfo*> optimized_kernels(DType dtype) {
  std::vector<const KernelInfo*> out;
  for (const KernelInfo* k : selected_kernels()) {
    if (!is_dense(*k) && k->dtype == dtype && k->forward != nullptr) out.push_back(k);
  }
  return out;
}

// A test of a dtype no selected kernel stores is skipped, not passed having checked nothing.
#define SKIP_WITHOUT_KERNELS(dtype)                                                               \
  if (optimized_kernels(dtype).empty())                                                           \
  GTEST_SKIP() << "no selected kernel other than dense_* stores " << dtype_name(dtype)

AttentionSpec shape_only(AttentionShape shape) {
  AttentionSpec spec;
  spec.shape = shape;
  return spec;
}

struct Case {
  std::string name;
  AttentionSpec spec;
};

// A test's problem and its oracle, made once per distinct spec: each kernel runs on the test's
// spec without the features it does not declare (capable_spec.hpp), and kernels that declare
// the same features share one problem and one oracle run.
class ProblemsBySpec {
 public:
  struct Entry {
    Problem problem;
    oracle::OracleResult exact;
  };
  // row_stride > 1: the oracle computes every row_stride-th row only.
  ProblemsBySpec(AttentionSpec spec, DType dtype, uint64_t seed, int64_t row_stride = 1)
      : spec_(std::move(spec)), dtype_(dtype), seed_(seed), row_stride_(row_stride) {}

  const Entry& for_kernel(const KernelInfo& kernel) {
    const AttentionSpec spec = within_capabilities(kernel, spec_);
    std::unique_ptr<Entry>& entry = entries_[describe(spec)];
    if (!entry) {
      entry = std::make_unique<Entry>();
      entry->problem = make_random_problem(spec, dtype_, seed_);
      oracle::OracleOptions options;
      for (int64_t r = 0; row_stride_ > 1 && r < lse_elements(spec.shape); r += row_stride_) options.rows.push_back(r);
      entry->exact = oracle::forward(entry->problem, options);
    }
    return *entry;
  }

 private:
  AttentionSpec spec_;
  DType dtype_;
  uint64_t seed_;
  int64_t row_stride_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

// One case per feature, q_len != kv_len throughout (alignment matters for causal, window and
// ALiBi), head_dim != value_dim where it costs nothing, and dims that leave vector tails.
std::vector<Case> feature_cases() {
  std::vector<Case> cases;
  cases.push_back({"mha", shape_only({1, 2, 2, 5, 7, 16, 12})});
  cases.push_back({"gqa", shape_only({2, 8, 2, 3, 9, 8, 12})});
  cases.push_back({"mqa", shape_only({1, 4, 1, 4, 6, 9, 5})});
  {
    Case c{"causal_lq_lt_lk", shape_only({1, 2, 1, 3, 11, 16, 8})};
    c.spec.causal = true;
    cases.push_back(c);
  }
  {  // q_len > kv_len: the first rows see no key at all
    Case c{"causal_lq_gt_lk_fully_masked_rows", shape_only({1, 2, 2, 7, 4, 8, 8})};
    c.spec.causal = true;
    cases.push_back(c);
  }
  {
    Case c{"padding", shape_only({4, 2, 1, 3, 9, 8, 6})};
    c.spec.has_valid_keys = true;
    cases.push_back(c);
  }
  {
    Case c{"window", shape_only({1, 2, 2, 6, 13, 8, 8})};
    c.spec.window_left = 3;
    c.spec.window_right = 2;
    cases.push_back(c);
  }
  {
    Case c{"causal_window", shape_only({1, 1, 1, 9, 9, 8, 8})};
    c.spec.causal = true;
    c.spec.window_left = 2;
    cases.push_back(c);
  }
  {
    Case c{"mask_shared", shape_only({2, 4, 2, 5, 6, 8, 8})};
    c.spec.mask = MaskKind::shared;
    cases.push_back(c);
  }
  {
    Case c{"mask_per_head", shape_only({1, 4, 4, 5, 6, 8, 4})};
    c.spec.mask = MaskKind::per_head;
    cases.push_back(c);
  }
  {
    Case c{"alibi_causal", shape_only({1, 4, 2, 4, 10, 8, 8})};
    c.spec.causal = true;
    c.spec.has_alibi = true;
    cases.push_back(c);
  }
  {
    Case c{"alibi_bidirectional", shape_only({1, 2, 2, 4, 10, 8, 8})};
    c.spec.has_alibi = true;
    cases.push_back(c);
  }
  {
    Case c{"custom_scale", shape_only({1, 1, 1, 4, 5, 16, 16})};
    c.spec.scale = 0.7;
    cases.push_back(c);
  }
  {
    Case c{"everything", shape_only({2, 6, 3, 5, 12, 8, 4})};
    c.spec.causal = true;
    c.spec.window_left = 4;
    c.spec.has_valid_keys = true;
    c.spec.mask = MaskKind::per_head;
    c.spec.has_alibi = true;
    c.spec.scale = 0.2;
    cases.push_back(c);
  }
  return cases;
}

// The tile sizes every case runs with: the defaults (one tile at these lengths), and tiles
// small enough that online rescaling, tile skipping and partial tiles all happen.
std::vector<KernelOptions> tile_options() {
  return {KernelOptions{}, KernelOptions{.q_block = 3, .k_block = 5}, KernelOptions{.q_block = 1, .k_block = 1},
          KernelOptions{.q_block = 2, .k_block = 4, .kv_splits = 2}};
}

std::string options_id(const KernelOptions& o) {
  return "q_block=" + std::to_string(o.q_block) + ",k_block=" + std::to_string(o.k_block) +
         ",kv_splits=" + std::to_string(o.kv_splits);
}

// O and LSE of `got` against the bound, for the rows `exact` holds (all, or a sample).
struct Verdict {
  oracle::BoundCheck o, lse;
  bool checks_lse = false;
  bool passed() const { return o.passed() && (!checks_lse || lse.passed()); }
  std::string describe() const {
    std::string s = "O " + oracle::format_bound_check(o);
    if (checks_lse) s += " | LSE " + oracle::format_bound_check(lse);
    return s;
  }
};

Verdict check_rows(const KernelInfo& kernel, const Problem& problem, const oracle::OracleResult& exact,
                   const KernelResult& got) {
  const AttentionShape& s = problem.spec.shape;
  const oracle::ErrorBound bound = oracle::a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  std::vector<float> o, lse;
  for (const oracle::RowTrace& row : exact.rows) {
    const int64_t offset = o_offset(s, row.batch, row.head, row.query);
    o.insert(o.end(), got.o.begin() + offset, got.o.begin() + offset + s.value_dim);
    lse.push_back(got.lse[lse_offset(s, row.batch, row.head, row.query)]);
  }
  Verdict v;
  v.checks_lse = kernel.has(kLse);
  v.o = oracle::check_bound(o, oracle::outputs_f64(exact), bound.output);
  if (v.checks_lse) v.lse = oracle::check_bound(lse, oracle::lse_f64(exact), bound.lse);
  return v;
}

// "" when both results have the same bits, else where they first differ.
std::string first_difference(const KernelResult& a, const KernelResult& b) {
  for (size_t i = 0; i < a.o.size(); ++i) {
    if (std::memcmp(&a.o[i], &b.o[i], sizeof(float)) != 0) {
      return "O[" + std::to_string(i) + "]: " + std::to_string(a.o[i]) + " vs " + std::to_string(b.o[i]);
    }
  }
  for (size_t i = 0; i < a.lse.size(); ++i) {
    if (std::memcmp(&a.lse[i], &b.lse[i], sizeof(float)) != 0 && !(std::isnan(a.lse[i]) && std::isnan(b.lse[i]))) {
      return "LSE[" + std::to_string(i) + "]: " + std::to_string(a.lse[i]) + " vs " + std::to_string(b.lse[i]);
    }
  }
  return "";
}

// ------------------------------------------------------------------ broken kernels

// Deliberately broken kernels, never registered: each law below must reject one of them.
const KernelInfo& tiled_f32() { return *find_kernel("tiled_f32"); }

// Forgets the last key of every row (an off-by-one in the visible range). For specs without
// padding of their own.
void drops_last_key(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                    const KernelOptions& options) {
  AttentionSpec shorter = spec;
  shorter.has_valid_keys = true;
  std::vector<int32_t> valid(static_cast<size_t>(spec.shape.batch), static_cast<int32_t>(spec.shape.kv_len - 1));
  AttentionInputs changed = in;
  changed.visibility.valid_keys = valid.data();
  tiled_f32().forward(shorter, changed, out, options);
}

// Picks its key tile from the thread count: correct, but not reproducible across threads.
void tile_follows_threads(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                          const KernelOptions& options) {
  KernelOptions changed = options;
  changed.k_block = 3 + options.threads;
  tiled_f32().forward(spec, in, out, changed);
}

// Picks its key tile from q_block.
void tile_follows_q_block(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                          const KernelOptions& options) {
  KernelOptions changed = options;
  changed.k_block = 2 + options.q_block;
  tiled_f32().forward(spec, in, out, changed);
}

// Masks by multiplying with a zero weight instead of skipping: 0 * NaN leaks.
void masks_by_zero_weight(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                          const KernelOptions&) {
  const AttentionShape& s = spec.shape;
  const float* q = static_cast<const float*>(in.q);
  const float* k = static_cast<const float*>(in.k);
  const float* v = static_cast<const float*>(in.v);
  float* o = static_cast<float*>(out.o);
  const float scale = static_cast<float>(effective_scale(spec));
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      for (int64_t i = 0; i < s.q_len; ++i) {
        std::vector<float> p(static_cast<size_t>(s.kv_len), 0.0f);
        float m = -INFINITY, l = 0;
        for (int64_t j = 0; j < s.kv_len; ++j) {
          if (!key_visible(spec, in.visibility, b, h, i, j)) continue;
          float dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += q[q_offset(s, b, h, i) + d] * k[k_offset(s, b, kvh, j) + d];
          p[j] = scale * dot;
          m = std::max(m, p[j]);
        }
        for (int64_t j = 0; j < s.kv_len; ++j) {
          p[j] = key_visible(spec, in.visibility, b, h, i, j) ? std::exp(p[j] - m) : 0.0f;
          l += p[j];
        }
        for (int64_t c = 0; c < s.value_dim; ++c) {
          float acc = 0;
          for (int64_t j = 0; j < s.kv_len; ++j) acc += p[j] * v[v_offset(s, b, kvh, j) + c];
          o[o_offset(s, b, h, i) + c] = l > 0 ? acc / l : 0.0f;
        }
        if (out.lse) out.lse[lse_offset(s, b, h, i)] = l > 0 ? m + std::log(l) : -INFINITY;
      }
    }
  }
}

// Writes LSE = 0 for rows that see no key.
void zero_lse_for_empty_rows(const AttentionSpec& spec, const AttentionInputs& in, const AttentionOutputs& out,
                             const KernelOptions& options) {
  tiled_f32().forward(spec, in, out, options);
  for (int64_t r = 0; r < lse_elements(spec.shape); ++r) {
    if (std::isinf(out.lse[r])) out.lse[r] = 0.0f;
  }
}

KernelInfo broken(const char* name, ForwardFn forward) {
  KernelInfo k = tiled_f32();
  k.name = name;
  k.forward = forward;
  k.decode = nullptr;
  return k;
}

// ------------------------------------------------------------------ laws

// Every feature case, both value distributions, every tile-size set, forward and decode.
// Returns the number of failing (kernel, case, options) runs; prints one line per run.
int64_t feature_sweep(const std::vector<const KernelInfo*>& kernels, DType dtype, bool print) {
  int64_t failures = 0;
  uint64_t seed = 1;
  for (const Case& c : feature_cases()) {
    for (ValueDistribution distribution : {ValueDistribution::normal, ValueDistribution::uniform}) {
      const Problem problem = make_random_problem(c.spec, dtype, seed++, distribution);
      const oracle::OracleResult exact = oracle::forward(problem);
      for (const KernelInfo* kernel : kernels) {
        const std::string missing = unsupported_feature(*kernel, c.spec);
        if (!missing.empty()) {
          if (print) std::printf("%s %s: skipped, does not declare %s\n", kernel->name.c_str(), c.name.c_str(), missing.c_str());
          continue;
        }
        for (const KernelOptions& options : tile_options()) {
          for (bool decode : {false, true}) {
            if (decode && kernel->decode == nullptr) continue;
            const KernelResult got =
                decode ? run_decode(*kernel, problem, 0, options) : run_kernel(*kernel, problem, options);
            const Verdict v = check_rows(*kernel, problem, exact, got);
            const std::string id = kernel->name + (decode ? " decode " : " ") + c.name + "(" + describe(c.spec) +
                                   ",seed=" + std::to_string(seed - 1) + "," + options_id(options) + ")";
            if (print || !v.passed()) {
              std::printf("%s: %s worst error/bound %.3g\n", id.c_str(), v.passed() ? "within" : "EXCEEDED",
                          std::max(v.o.worst_ratio, v.lse.worst_ratio));
            }
            if (!v.passed()) {
              ++failures;
              ADD_FAILURE() << id << " " << v.describe();
            }
          }
        }
      }
    }
  }
  return failures;
}

class OptimizedKernels : public ::testing::TestWithParam<DType> {};

TEST_P(OptimizedKernels, StayWithinTheAPrioriBoundOnEveryDeclaredFeatureAndTileSize) {
  SKIP_WITHOUT_KERNELS(GetParam());
  const std::vector<const KernelInfo*> kernels = optimized_kernels(GetParam());
  EXPECT_EQ(feature_sweep(kernels, GetParam(), /*print=*/false), 0);
}

// A kernel that forgets one key must fall outside the bound somewhere in the sweep.
TEST(OptimizedKernelLaws, TheBoundRejectsAKernelThatDropsTheLastKey) {
  const KernelInfo k = broken("drops_last_key_f32", &drops_last_key);
  const Problem problem = make_random_problem(shape_only({1, 2, 1, 4, 9, 8, 8}), DType::f32, 3);
  const Verdict v = check_rows(k, problem, oracle::forward(problem), run_kernel(k, problem));
  EXPECT_FALSE(v.passed()) << v.describe();
}

TEST_P(OptimizedKernels, RunOnEverySimdTargetWithinTheBound) {
  SKIP_WITHOUT_KERNELS(GetParam());
  const DType dtype = GetParam();
  const std::vector<const KernelInfo*> kernels = optimized_kernels(dtype);
  for (const char* which : {"everything", "gqa", "mha"}) {
    Case chosen;
    for (const Case& c : feature_cases()) {
      if (c.name == which) chosen = c;
    }
    ProblemsBySpec problems(chosen.spec, dtype, 77);
    for (const SimdTarget& target : runnable_simd_targets()) {
      ScopedSimdTarget scope(target);
      for (const KernelInfo* kernel : kernels) {
        const auto& [problem, exact] = problems.for_kernel(*kernel);
        for (const KernelOptions& options : {KernelOptions{}, KernelOptions{.q_block = 2, .k_block = 3}}) {
          const KernelResult got = run_kernel(*kernel, problem, options);
          const Verdict v = check_rows(*kernel, problem, exact, got);
          EXPECT_TRUE(v.passed()) << kernel->name << "[" << target.name << "] " << which << " "
                                  << options_id(options) << " " << v.describe();
        }
      }
    }
  }
}

// Tiled and dense are both within their bounds of the exact result, so within the sum of the
// bounds of each other; checked for tiles that divide L = 64 and tiles that do not.
TEST_P(OptimizedKernels, TiledEqualsDenseWithinBoundForTileSizesThatDoAndDoNotDivideL) {
  SKIP_WITHOUT_KERNELS(GetParam());
  const DType dtype = GetParam();
  const KernelInfo& dense = *find_kernel("dense_" + std::string(dtype_name(dtype)));
  for (bool causal : {false, true}) {
    AttentionSpec spec = shape_only({1, 4, 2, 64, 64, 32, 24});
    spec.causal = causal;
    ProblemsBySpec problems(spec, dtype, causal ? 11 : 12);
    for (const KernelInfo* kernel : optimized_kernels(dtype)) {
      if (causal && !kernel->has(kCausal)) continue;  // the non-causal pass already checked it
      const auto& [problem, exact] = problems.for_kernel(*kernel);
      const KernelResult reference = run_kernel(dense, problem);
      const oracle::ErrorBound dense_bound = oracle::a_priori_bound(problem, exact, dense.error, dtype);
      ASSERT_TRUE(check_rows(dense, problem, exact, reference).passed());
      const oracle::ErrorBound bound = oracle::a_priori_bound(problem, exact, kernel->error, dtype);
      for (int64_t tile : {1, 3, 16, 17, 64, 0}) {
        for (int64_t q_block : {tile, int64_t{5}}) {
          const KernelOptions options{.q_block = q_block, .k_block = tile};
          const KernelResult got = run_kernel(*kernel, problem, options);
          const Verdict v = check_rows(*kernel, problem, exact, got);
          EXPECT_TRUE(v.passed()) << kernel->name << " " << options_id(options) << " " << v.describe();
          int64_t outside = 0;
          for (size_t e = 0; e < got.o.size(); ++e) {
            if (!(std::fabs(double(got.o[e]) - reference.o[e]) <= bound.output[e] + dense_bound.output[e])) ++outside;
          }
          EXPECT_EQ(outside, 0) << kernel->name << " vs dense, " << options_id(options);
        }
      }
    }
  }
}

// Across the default tile (128 keys) and split chunk (2048 keys) at realistic head sizes,
// checked on a sample of rows (the oracle costs ~0.4 s per 128 x 128 x 64 head).
TEST_P(OptimizedKernels, StayWithinTheBoundAcrossDefaultTilesOnSampledRows) {
  SKIP_WITHOUT_KERNELS(GetParam());
  const DType dtype = GetParam();
  AttentionSpec spec = shape_only({1, 4, 1, 40, 2100, 64, 64});
  spec.causal = true;
  spec.has_alibi = true;
  ProblemsBySpec problems(spec, dtype, 5, /*row_stride=*/7);
  for (const KernelInfo* kernel : optimized_kernels(dtype)) {
    const auto& [problem, exact] = problems.for_kernel(*kernel);
    const KernelResult got = run_kernel(*kernel, problem);
    const Verdict v = check_rows(*kernel, problem, exact, got);
    EXPECT_TRUE(v.passed()) << kernel->name << " " << v.describe();
    if (kernel->decode != nullptr) {
      const Verdict d = check_rows(*kernel, problem, exact, run_decode(*kernel, problem, 2200));
      EXPECT_TRUE(d.passed()) << kernel->name << " decode " << d.describe();
    }
  }
}

// A mid-sized GQA problem with every visibility feature, so tasks differ in cost and dynamic
// scheduling really hands them to different threads.
// Each kernel gets the features it declares.
Problem threading_problem(const KernelInfo& kernel) {
  AttentionSpec spec = shape_only({2, 6, 2, 37, 150, 40, 24});
  spec.causal = true;
  spec.window_left = 90;
  spec.has_valid_keys = true;
  spec.has_alibi = true;
  return make_random_problem(within_capabilities(kernel, spec), kernel.dtype, 21);
}

// "" when the kernel gives identical bits for 1, 2 and 3 threads (forward and decode).
std::string thread_dependence(const KernelInfo& kernel, const Problem& problem, KernelOptions options) {
  options.threads = 1;
  const KernelResult one = run_kernel(kernel, problem, options);
  for (int threads : {2, 3}) {
    options.threads = threads;
    const std::string diff = first_difference(one, run_kernel(kernel, problem, options));
    if (!diff.empty()) return std::to_string(threads) + " threads: " + diff;
  }
  if (kernel.decode != nullptr) {
    options.threads = 1;
    const KernelResult decode_one = run_decode(kernel, problem, 0, options);
    options.threads = 2;
    const std::string diff = first_difference(decode_one, run_decode(kernel, problem, 0, options));
    if (!diff.empty()) return "decode, 2 threads: " + diff;
  }
  return "";
}

TEST_P(OptimizedKernels, GiveBitIdenticalOutputsForOneTwoAndThreeThreads) {
  SKIP_WITHOUT_KERNELS(GetParam());
  for (const KernelInfo* kernel : optimized_kernels(GetParam())) {
    const Problem problem = threading_problem(*kernel);
    for (const KernelOptions& options : {KernelOptions{}, KernelOptions{.q_block = 4, .k_block = 16, .kv_splits = 3}}) {
      EXPECT_EQ(thread_dependence(*kernel, problem, options), "") << kernel->name << " " << options_id(options);
    }
  }
}

TEST(OptimizedKernelLaws, TheThreadCheckRejectsAKernelWhoseTileFollowsTheThreadCount) {
  const KernelInfo k = broken("tile_follows_threads_f32", &tile_follows_threads);
  EXPECT_NE(thread_dependence(k, threading_problem(k), {}), "");
}

// "" when every q_block gives the same bits as q_block = 1 (a row's arithmetic depends only
// on its own keys and the key-tile grid).
std::string q_block_dependence(const KernelInfo& kernel, const Problem& problem) {
  const KernelResult one = run_kernel(kernel, problem, {.q_block = 1, .k_block = 16});
  for (int64_t q_block : {2, 3, 17, 64}) {
    const std::string diff = first_difference(one, run_kernel(kernel, problem, {.q_block = q_block, .k_block = 16}));
    if (!diff.empty()) return "q_block " + std::to_string(q_block) + ": " + diff;
  }
  return "";
}

TEST_P(OptimizedKernels, GiveBitIdenticalRowsForEveryQueryBlock) {
  SKIP_WITHOUT_KERNELS(GetParam());
  for (const KernelInfo* kernel : optimized_kernels(GetParam())) {
    EXPECT_EQ(q_block_dependence(*kernel, threading_problem(*kernel)), "") << kernel->name;
  }
}

TEST(OptimizedKernelLaws, TheQueryBlockCheckRejectsAKernelWhoseTileFollowsTheQueryBlock) {
  const KernelInfo k = broken("tile_follows_q_block_f32", &tile_follows_q_block);
  EXPECT_NE(q_block_dependence(k, threading_problem(k)), "");
}

// NaN planted in every K and V slot no query can see: past each batch's valid length, outside
// every window, and in key columns the shared mask hides from every row, as far as the kernel
// declares those features. *planted counts the slots poisoned.
Problem poisoned_problem(const KernelInfo& kernel, int64_t* planted) {
  AttentionSpec spec = shape_only({2, 4, 2, 6, 40, 16, 8});
  spec.has_valid_keys = true;
  spec.window_left = 12;
  spec.window_right = 3;
  spec.mask = MaskKind::shared;
  spec = within_capabilities(kernel, spec);
  Problem problem = make_random_problem(spec, kernel.dtype, 31);
  const AttentionShape& s = spec.shape;
  if (spec.has_valid_keys) problem.valid_keys = {33, 29};
  for (int64_t b = 0; spec.mask == MaskKind::shared && b < s.batch; ++b) {
    for (int64_t i = 0; i < s.q_len; ++i) problem.mask[(b * s.q_len + i) * s.kv_len + 30] = 0;
  }
  *planted = 0;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t j = 0; j < s.kv_len; ++j) {
      bool seen = false;
      for (int64_t h = 0; h < s.q_heads; ++h) {
        for (int64_t i = 0; i < s.q_len; ++i) seen |= key_visible(spec, problem.visibility(), b, h, i, j);
      }
      if (seen) continue;
      ++*planted;
      for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
        for (int64_t d = 0; d < s.head_dim; ++d) problem.k[k_offset(s, b, kvh, j) + d] = nan;
        for (int64_t c = 0; c < s.value_dim; ++c) problem.v[v_offset(s, b, kvh, j) + c] = nan;
      }
    }
  }
  return problem;
}

// "" when O and LSE are free of NaN and within the bound.
std::string nan_leak(const KernelInfo& kernel, const Problem& problem, const oracle::OracleResult& exact,
                     const KernelOptions& options) {
  const KernelResult got = run_kernel(kernel, problem, options);
  for (size_t i = 0; i < got.o.size(); ++i) {
    if (std::isnan(got.o[i])) return "O[" + std::to_string(i) + "] is NaN";
  }
  const Verdict v = check_rows(kernel, problem, exact, got);
  return v.passed() ? "" : v.describe();
}

TEST_P(OptimizedKernels, NeverLetANaNInAnInvisibleKeyOrValueReachTheOutput) {
  SKIP_WITHOUT_KERNELS(GetParam());
  int checked = 0;
  for (const KernelInfo* kernel : optimized_kernels(GetParam())) {
    int64_t planted = 0;
    const Problem problem = poisoned_problem(*kernel, &planted);
    if (planted == 0) {
      std::printf("%s: skipped, declares none of padding, window, mask: no key is hidden from every query\n",
                  kernel->name.c_str());
      continue;
    }
    ++checked;
    const oracle::OracleResult exact = oracle::forward(problem);
    for (const KernelOptions& options : tile_options()) {
      EXPECT_EQ(nan_leak(*kernel, problem, exact, options), "") << kernel->name << " " << options_id(options);
    }
  }
  if (checked == 0) GTEST_SKIP() << "no selected kernel declares padding, a window or a mask";
}

TEST(OptimizedKernelLaws, TheNaNCheckRejectsAKernelThatMasksByZeroWeights) {
  const KernelInfo k = broken("masks_by_zero_weight_f32", &masks_by_zero_weight);
  int64_t planted = 0;
  const Problem problem = poisoned_problem(k, &planted);
  ASSERT_GT(planted, 0);
  EXPECT_NE(nan_leak(k, problem, oracle::forward(problem), {}), "");
}

// The spec of the empty-row check: causal with q_len > kv_len (rows 0 and 1 see nothing) and a
// per-head mask that also hides every key of head 1, row 5; as far as the kernel declares them.
Problem empty_row_problem(const KernelInfo& kernel) {
  AttentionSpec spec = shape_only({1, 2, 1, 6, 4, 8, 8});
  spec.causal = true;
  spec.mask = MaskKind::per_head;
  spec = within_capabilities(kernel, spec);
  Problem problem = make_random_problem(spec, kernel.dtype, 7);
  if (spec.mask == MaskKind::per_head) {
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t i = 2; i < 6; ++i) problem.mask[mask_row_offset(spec, 0, h, i) + 0] = 1;
    }
    for (int64_t j = 0; j < 4; ++j) problem.mask[mask_row_offset(spec, 0, 1, 5) + j] = 0;
  }
  return problem;
}

// Rows of `problem` that see no key, by the semantics' own visibility rule.
int64_t count_empty_rows(const Problem& problem) {
  const AttentionShape& s = problem.spec.shape;
  int64_t empty = 0;
  for (int64_t h = 0; h < s.q_heads; ++h) {
    for (int64_t i = 0; i < s.q_len; ++i) {
      bool sees = false;
      for (int64_t j = 0; j < s.kv_len; ++j) sees |= key_visible(problem.spec, problem.visibility(), 0, h, i, j);
      empty += sees ? 0 : 1;
    }
  }
  return empty;
}

// "" when rows that see no key give +0 outputs and LSE = -inf, and the others finite LSE (LSE
// only for kernels that declare it).
std::string empty_row_violation(const KernelInfo& kernel, const Problem& problem, const KernelOptions& options) {
  const AttentionSpec& spec = problem.spec;
  const KernelResult got = run_kernel(kernel, problem, options);
  for (int64_t h = 0; h < spec.shape.q_heads; ++h) {
    for (int64_t i = 0; i < spec.shape.q_len; ++i) {
      bool empty = true;
      for (int64_t j = 0; j < spec.shape.kv_len; ++j) empty &= !key_visible(spec, problem.visibility(), 0, h, i, j);
      const std::string where = "(h=" + std::to_string(h) + ",i=" + std::to_string(i) + ")";
      const float lse = got.lse[lse_offset(spec.shape, 0, h, i)];
      if (!empty) {
        if (kernel.has(kLse) && !std::isfinite(lse)) return "LSE not finite at " + where;
        continue;
      }
      if (kernel.has(kLse) && lse != -INFINITY) return "LSE " + std::to_string(lse) + " at " + where;
      for (int64_t c = 0; c < spec.shape.value_dim; ++c) {
        const float x = got.o[o_offset(spec.shape, 0, h, i) + c];
        if (x != 0.0f || std::signbit(x)) return "O not +0 at " + where;
      }
    }
  }
  return "";
}

TEST_P(OptimizedKernels, ReturnPlusZeroAndMinusInfinityForARowThatSeesNoKey) {
  SKIP_WITHOUT_KERNELS(GetParam());
  int checked = 0;
  for (const KernelInfo* kernel : optimized_kernels(GetParam())) {
    const Problem problem = empty_row_problem(*kernel);
    if (count_empty_rows(problem) == 0) {
      std::printf("%s: skipped, declares neither causal nor mask: no row can see no key\n", kernel->name.c_str());
      continue;
    }
    ++checked;
    for (const KernelOptions& options : tile_options()) {
      EXPECT_EQ(empty_row_violation(*kernel, problem, options), "") << kernel->name << " " << options_id(options);
    }
  }
  if (checked == 0) GTEST_SKIP() << "no selected kernel declares causal or a mask";
}

// A decode step whose query sees only the cache's last keys (a window of 4 at the end of 64),
// split into chunks of 8 keys: seven chunks hold no visible key and must be skipped, not read
// or looped over (the first version of the pipelined decode loop prefetched a negative row
// count there and never returned), and the result must still be within the bound.
TEST_P(OptimizedKernels, DecodeSkipsChunksThatHoldNoVisibleKey) {
  SKIP_WITHOUT_KERNELS(GetParam());
  AttentionSpec spec = shape_only({1, 4, 1, 1, 64, 16, 16});
  spec.window_left = 3;
  spec.window_right = 0;
  const Problem problem = make_random_problem(spec, GetParam(), 11);
  const oracle::OracleResult exact = oracle::forward(problem);
  for (const KernelInfo* kernel : optimized_kernels(GetParam())) {
    if (kernel->decode == nullptr || !unsupported_feature(*kernel, spec).empty()) continue;  // the test is about windows
    for (const KernelOptions& options : {KernelOptions{.k_block = 4, .kv_splits = 8}, KernelOptions{.kv_splits = 8}}) {
      const Verdict v = check_rows(*kernel, problem, exact, run_decode(*kernel, problem, 0, options));
      EXPECT_TRUE(v.passed()) << kernel->name << " " << options_id(options) << " " << v.describe();
    }
  }
}

TEST(OptimizedKernelLaws, TheEmptyRowCheckRejectsAKernelThatWritesLseZero) {
  const KernelInfo k = broken("zero_lse_for_empty_rows_f32", &zero_lse_for_empty_rows);
  const Problem problem = empty_row_problem(k);
  ASSERT_EQ(count_empty_rows(problem), 5);  // rows 0 and 1 of both heads, and head 1 row 5
  EXPECT_NE(empty_row_violation(k, problem, {}), "");
}

TEST(OptimizedKernelLaws, RejectNegativeTileSizesAndThreadCountsByName) {
  const Problem problem = make_random_problem(shape_only({1, 1, 1, 2, 3, 4, 4}), DType::f32, 1);
  for (const KernelInfo* kernel : optimized_kernels(DType::f32)) {
    for (const auto& [options, field] :
         std::vector<std::pair<KernelOptions, std::string>>{{{.q_block = -1}, "q_block"},
                                                            {{.k_block = -2}, "k_block"},
                                                            {{.threads = -1}, "threads"},
                                                            {{.kv_splits = -1}, "kv_splits"}}) {
      if (field == "kv_splits" && kernel->decode == nullptr) continue;
      try {
        run_kernel(*kernel, problem, options);
        ADD_FAILURE() << kernel->name << " accepted a negative " << field;
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      }
    }
  }
}

// The kernels' worker threads do not survive fork(); a child must still be able to run them
// (its own pool starts), not wait forever for workers that are not there.
TEST(OptimizedKernelLaws, RunWithSeveralThreadsInAForkedChild) {
  const KernelInfo& kernel = tiled_f32();
  const Problem problem = threading_problem(kernel);
  const KernelResult parent = run_kernel(kernel, problem, {.threads = 2});  // starts the workers
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const KernelResult again = run_kernel(kernel, problem, {.threads = 2});
    _exit(first_difference(parent, again).empty() ? 0 : 1);
  }
  int status = -1;
  for (int waited_ms = 0; waited_ms < 60000; waited_ms += 10) {
    if (waitpid(child, &status, WNOHANG) == child) break;
    usleep(10000);
  }
  if (!WIFEXITED(status)) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    FAIL() << "the forked child did not finish within 60 s";
  }
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's result differs from the parent's";
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, OptimizedKernels, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace attncheck
