// Every selected kernel with a backward entry point (kBackward: the tiled kernels, and the dense
// reference, so an out-of-tree backward joins automatically), against the oracle's gradients and
// its own laws:
//   - dQ, dK, dV land near the oracle's normwise (a coarse bound: the per-element a-priori bound
//     of the backward is the oracle's, not this file's), on every declared feature, grouped-query
//     group sizes from 1 to all heads, head_dim 5, 17, 64, 128, key lengths across the tile
//     edges, q_len != kv_len both ways; through the oracle's O and LSE and the kernel's own;
//   - the gradients are bit-identical for every k_block, q_block and thread count;
//   - NaN in a K/V slot no query sees, or in dO of a row that sees no key, changes no bit; such
//     rows give dQ = 0 and such keys dK = dV = 0.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"
#include "capable_spec.hpp"

namespace attncheck {
namespace {

std::vector<const KernelInfo*> backward_kernels() {
  std::vector<const KernelInfo*> out;
  for (const KernelInfo* k : selected_kernels()) {
    if (k->has(kBackward)) out.push_back(k);
  }
  return out;
}

#define SKIP_WITHOUT_BACKWARD_KERNELS() \
  if (backward_kernels().empty()) GTEST_SKIP() << "no selected kernel has a backward entry point"

AttentionSpec shape_only(AttentionShape shape) {
  AttentionSpec spec;
  spec.shape = shape;
  return spec;
}

struct Case {
  std::string name;
  AttentionSpec spec;
};

// Key lengths around the default tile of the tiled kernels (64 keys: kDefaultKBlock): tile - 1,
// tile, tile + 1, 2 tile + 1; smaller ones elsewhere keep the oracle quick.
std::vector<Case> feature_cases() {
  std::vector<Case> cases;
  {
    AttentionSpec s = shape_only({2, 4, 2, 9, 70, 17, 5});  // GQA 2, value_dim != head_dim
    s.causal = true;                                        // bottom-right, q_len < kv_len
    cases.push_back({"gqa2_causal_d17_dv5", s});
  }
  cases.push_back({"mha_d64_kv65", shape_only({1, 2, 2, 7, 65, 64, 64})});
  cases.push_back({"mqa_d128_kv63", shape_only({1, 4, 1, 5, 63, 128, 128})});
  {
    AttentionSpec s = shape_only({2, 4, 4, 6, 129, 16, 16});
    s.window_left = 20;
    s.window_right = 5;
    s.has_valid_keys = true;  // random valid lengths in [0, kv_len]
    cases.push_back({"window_padding_kv129", s});
  }
  {
    AttentionSpec s = shape_only({1, 4, 2, 8, 64, 5, 9});
    s.mask = MaskKind::shared;
    cases.push_back({"mask_shared_d5_kv64", s});
  }
  {
    AttentionSpec s = shape_only({1, 4, 4, 6, 65, 16, 16});
    s.mask = MaskKind::per_head;
    s.has_alibi = true;
    cases.push_back({"mask_per_head_alibi", s});
  }
  {
    AttentionSpec s = shape_only({1, 4, 1, 12, 40, 32, 24});
    s.causal = true;
    s.has_alibi = true;
    s.scale = 0.3;
    cases.push_back({"mqa_alibi_causal_scale", s});
  }
  {
    AttentionSpec s = shape_only({1, 2, 2, 20, 10, 8, 8});  // q_len > kv_len: rows 0-9 see no key
    s.causal = true;
    cases.push_back({"causal_more_queries_than_keys", s});
  }
  return cases;
}

double normwise_error(const std::vector<float>& got, const std::vector<oracle::Real>& exact) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double x = static_cast<double>(exact[i]);
    diff += (got[i] - x) * (got[i] - x);
    norm += x * x;
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

double tolerance(DType dtype) { return dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 1e-2 : 5e-2; }

TEST(TiledBackward, AgreesWithTheOracleNormwiseOnEveryFeature) {
  SKIP_WITHOUT_BACKWARD_KERNELS();
  for (const Case& c : feature_cases()) {
    // Kernels that declare the same features share one problem and one oracle run per dtype.
    std::map<std::pair<DType, std::string>, std::pair<Problem, oracle::Gradients>> cache;
    for (const KernelInfo* kernel : backward_kernels()) {
      const AttentionSpec spec = within_capabilities(*kernel, c.spec);
      const std::string features = capability_names(kernel->capabilities);
      auto [it, fresh] = cache.try_emplace({kernel->dtype, features});
      Problem& p = it->second.first;
      if (fresh) {
        p = make_random_problem(spec, kernel->dtype, 17);
        add_random_d_out(p, 23);
        it->second.second = oracle::backward(p, oracle::BackwardOptions{});
      }
      const oracle::Gradients& exact = it->second.second;
      const oracle::ForwardValues fv = oracle::forward_for_backward(p);
      const BackwardResult got = run_backward(*kernel, p, fv.o, fv.lse);
      const BackwardResult own = kernel->has(kLse) ? run_backward_own_forward(*kernel, p) : got;
      const double tol = tolerance(kernel->dtype);
      for (auto [name, g, o, e] : {std::tuple{"dq", &got.dq, &own.dq, &exact.dq}, {"dk", &got.dk, &own.dk, &exact.dk},
                                   {"dv", &got.dv, &own.dv, &exact.dv}}) {
        EXPECT_LT(normwise_error(*g, *e), tol) << kernel->name << " " << c.name << " " << name;
        // The kernel's own O and LSE differ from the oracle's by the forward's error: looser.
        EXPECT_LT(normwise_error(*o, *e), 10 * tol) << kernel->name << " " << c.name << " " << name << " (own forward)";
      }
    }
  }
}

// Causal, window, padding, GQA and ALiBi (full, range and empty tiles), and a per-head mask with
// GQA (key-by-key tiles): shapes whose lengths no tile size below divides.
std::vector<Problem> threading_problems(const KernelInfo& kernel) {
  std::vector<Problem> out;
  AttentionSpec a = shape_only({2, 4, 2, 37, 150, 24, 16});
  a.causal = true;
  a.window_left = 70;
  a.has_valid_keys = true;
  a.has_alibi = true;
  AttentionSpec m = shape_only({1, 6, 2, 19, 77, 17, 8});
  m.mask = MaskKind::per_head;
  for (const AttentionSpec& spec : {a, m}) {
    Problem p = make_random_problem(within_capabilities(kernel, spec), kernel.dtype, 5);
    if (spec.has_valid_keys && p.spec.has_valid_keys) p.valid_keys = {150, 111};
    add_random_d_out(p, 6);
    out.push_back(std::move(p));
  }
  return out;
}

std::string options_id(const KernelOptions& o) {
  return "q_block " + std::to_string(o.q_block) + " k_block " + std::to_string(o.k_block) + " threads " +
         std::to_string(o.threads);
}

// "" when a and b hold the same bits, else the first difference.
std::string bit_difference(const BackwardResult& a, const BackwardResult& b) {
  for (auto [name, x, y] : {std::tuple{"dq", &a.dq, &b.dq}, {"dk", &a.dk, &b.dk}, {"dv", &a.dv, &b.dv}}) {
    if (x->size() != y->size()) return std::string(name) + ": sizes differ";
    for (size_t i = 0; i < x->size(); ++i) {
      if (std::memcmp(&(*x)[i], &(*y)[i], sizeof(float)) != 0) {
        return std::string(name) + "[" + std::to_string(i) + "]: " + std::to_string((*x)[i]) + " vs " +
               std::to_string((*y)[i]);
      }
    }
  }
  return "";
}

TEST(TiledBackward, GradientsAreBitIdenticalForEveryTileSizeAndThreadCount) {
  SKIP_WITHOUT_BACKWARD_KERNELS();
  const std::vector<KernelOptions> options{
      {.q_block = 0, .k_block = 0, .threads = 2},   {.q_block = 0, .k_block = 0, .threads = 3},
      {.q_block = 1, .k_block = 1, .threads = 2},   {.q_block = 7, .k_block = 5, .threads = 3},
      {.q_block = 0, .k_block = 16, .threads = 1},  {.q_block = 13, .k_block = 33, .threads = 2},
      {.q_block = 96, .k_block = 64, .threads = 3}, {.q_block = 5, .k_block = 1000, .threads = 2},
      {.q_block = 1000, .k_block = 7, .threads = 1},
  };
  for (const KernelInfo* kernel : backward_kernels()) {
    for (const Problem& p : threading_problems(*kernel)) {
      const oracle::ForwardValues fv = oracle::forward_for_backward(p);
      const BackwardResult reference = run_backward(*kernel, p, fv.o, fv.lse, KernelOptions{.threads = 1});
      for (const KernelOptions& o : options) {
        EXPECT_EQ(bit_difference(run_backward(*kernel, p, fv.o, fv.lse, o), reference), "")
            << kernel->name << " " << options_id(o);
      }
    }
  }
}

// The clean problem, and the same with NaN in every K and V slot no query sees (past each batch's
// valid length, outside every window, key column 30 that the shared mask hides from every row)
// and in dO of every row that sees no key (batch 1 has valid length 0; the mask hides every key
// of row 2 of batch 0), as far as the kernel declares those features.
struct PoisonCase {
  Problem clean, poisoned;
  int64_t hidden_keys = 0, empty_rows = 0;
};

PoisonCase poison_case(const KernelInfo& kernel) {
  AttentionSpec spec = shape_only({2, 4, 2, 6, 70, 16, 8});
  spec.has_valid_keys = true;
  spec.window_left = 40;
  spec.window_right = 3;
  spec.mask = MaskKind::shared;
  spec = within_capabilities(kernel, spec);
  PoisonCase c;
  Problem& p = c.clean;
  p = make_random_problem(spec, kernel.dtype, 41);
  add_random_d_out(p, 42);
  const AttentionShape& s = spec.shape;
  if (spec.has_valid_keys) p.valid_keys = {66, 0};
  if (spec.mask == MaskKind::shared) {
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t i = 0; i < s.q_len; ++i) p.mask[(b * s.q_len + i) * s.kv_len + 30] = 0;
    }
    for (int64_t j = 0; j < s.kv_len; ++j) p.mask[2 * s.kv_len + j] = 0;
  }
  c.poisoned = p;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const VisibilityInputs vis = p.visibility();
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t j = 0; j < s.kv_len; ++j) {
      bool seen = false;
      for (int64_t h = 0; h < s.q_heads; ++h) {
        for (int64_t i = 0; i < s.q_len; ++i) seen |= key_visible(spec, vis, b, h, i, j);
      }
      if (seen) continue;
      ++c.hidden_keys;
      for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
        for (int64_t d = 0; d < s.head_dim; ++d) c.poisoned.k[k_offset(s, b, kvh, j) + d] = nan;
        for (int64_t e = 0; e < s.value_dim; ++e) c.poisoned.v[v_offset(s, b, kvh, j) + e] = nan;
      }
    }
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        bool any = false;
        for (int64_t j = 0; j < s.kv_len; ++j) any |= key_visible(spec, vis, b, h, i, j);
        if (any) continue;
        ++c.empty_rows;
        for (int64_t e = 0; e < s.value_dim; ++e) c.poisoned.d_out[o_offset(s, b, h, i) + e] = nan;
      }
    }
  }
  return c;
}

TEST(TiledBackward, NaNInHiddenKeysOrInDOfEmptyRowsChangesNoBit) {
  SKIP_WITHOUT_BACKWARD_KERNELS();
  int checked = 0;
  for (const KernelInfo* kernel : backward_kernels()) {
    const PoisonCase c = poison_case(*kernel);
    if (c.hidden_keys == 0 && c.empty_rows == 0) continue;  // declares none of padding, window, mask
    ++checked;
    const AttentionShape& s = c.clean.spec.shape;
    const oracle::ForwardValues fv = oracle::forward_for_backward(c.clean);
    for (const KernelOptions& o : {KernelOptions{}, KernelOptions{.q_block = 4, .k_block = 16, .threads = 2},
                                   KernelOptions{.q_block = 1, .k_block = 3, .threads = 3}}) {
      const BackwardResult clean = run_backward(*kernel, c.clean, fv.o, fv.lse, o);
      const BackwardResult poisoned = run_backward(*kernel, c.poisoned, fv.o, fv.lse, o);
      EXPECT_EQ(bit_difference(poisoned, clean), "") << kernel->name << " " << options_id(o);
      // Rows that see no key: dQ = 0; keys no row sees: dK = dV = 0.
      const VisibilityInputs vis = c.clean.visibility();
      for (int64_t b = 0; b < s.batch; ++b) {
        for (int64_t h = 0; h < s.q_heads; ++h) {
          for (int64_t i = 0; i < s.q_len; ++i) {
            bool any = false;
            for (int64_t j = 0; j < s.kv_len; ++j) any |= key_visible(c.clean.spec, vis, b, h, i, j);
            for (int64_t d = 0; !any && d < s.head_dim; ++d) {
              EXPECT_EQ(poisoned.dq[q_offset(s, b, h, i) + d], 0.0f) << kernel->name << " row " << b << "," << h << "," << i;
            }
          }
        }
        for (int64_t j = 0; j < s.kv_len; ++j) {
          bool seen = false;
          for (int64_t h = 0; h < s.q_heads; ++h) {
            for (int64_t i = 0; i < s.q_len; ++i) seen |= key_visible(c.clean.spec, vis, b, h, i, j);
          }
          for (int64_t kvh = 0; !seen && kvh < s.kv_heads; ++kvh) {
            for (int64_t d = 0; d < s.head_dim; ++d) EXPECT_EQ(poisoned.dk[k_offset(s, b, kvh, j) + d], 0.0f);
            for (int64_t e = 0; e < s.value_dim; ++e) EXPECT_EQ(poisoned.dv[v_offset(s, b, kvh, j) + e], 0.0f);
          }
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no selected backward kernel declares padding, a window or a mask";
}

}  // namespace
}  // namespace attncheck
