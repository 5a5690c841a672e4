#include "attncheck/golden/canonical.hpp"

#include <algorithm>

#include "attncheck/random_problem.hpp"

namespace attncheck::golden {

using formats::ProblemFile;

namespace {

// The published worked examples these traces come from, by title and address (docs/golden.md).
constexpr const char* kSeed001 =
    "LYNX CORTEX, phase 15 (attention), theory 05: '05 — Full attention computation: length-4 sequence with numerical values', https://lynx-cortex.pages.dev/phase-15-attention/theory/05-worked-length-4-attention/";
constexpr const char* kSeed004 =
    "Math for LLMs, 'Attention Mechanism Math', theory notebook (theory.ipynb, web version), https://deepml.app/math-for-llms/15-Math-for-LLMs/03-Attention-Mechanism-Math/theory.ipynb";

AttentionShape shape(int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t q_len, int64_t kv_len,
                     int64_t head_dim, int64_t value_dim) {
  return AttentionShape{batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim};
}

// Values k/8 with k in [-8, 8]: exact in every storage dtype.
std::vector<float> eighths(size_t n, SplitMix64& rng) {
  std::vector<float> out(n);
  for (float& x : out) x = static_cast<float>(rng.below(17) - 8) / 8.0f;
  return out;
}

// A problem with q, k, v drawn from `seed`, padding lengths kv_len and masks all visible
// (callers set what their case needs).
ProblemFile filled(const AttentionSpec& spec, DType dtype, uint64_t seed) {
  ProblemFile file;
  file.problem = make_zero_problem(spec, dtype);
  SplitMix64 rng(seed);
  file.problem.q = eighths(file.problem.q.size(), rng);
  file.problem.k = eighths(file.problem.k.size(), rng);
  file.problem.v = eighths(file.problem.v.size(), rng);
  return file;
}

// The problem with an upstream gradient dO of eighths drawn from its own stream (`seed` + 1000),
// so that q, k and v stay those of the forward-only trace: the trace then carries its backward
// section.
ProblemFile with_d_out(ProblemFile file, uint64_t seed) {
  SplitMix64 rng(seed + 1000);
  file.problem.d_out = eighths(static_cast<size_t>(o_elements(file.problem.spec.shape)), rng);
  return file;
}

ProblemFile explicit_values(const AttentionSpec& spec, DType dtype, std::vector<float> q, std::vector<float> k,
                            std::vector<float> v) {
  ProblemFile file;
  file.problem = make_zero_problem(spec, dtype);
  file.problem.q = std::move(q);
  file.problem.k = std::move(k);
  file.problem.v = std::move(v);
  return file;
}

TraceSpec trace(std::string name, std::string description, std::string source, std::vector<std::string> covers,
                ProblemFile problem) {
  TraceSpec t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.source = std::move(source);
  t.covers = std::move(covers);
  t.problem = std::move(problem);
  return t;
}

void add_worked_examples(std::vector<TraceSpec>& out) {
  out.push_back(trace("seed001_length4_causal",
                      "The length-4 causal example \"I will work .\": Q = K = 0.5 X, V = X, d_k = 4; inputs are "
                      "the seed's decimals, read exactly by the oracle",
                      kSeed001, {"worked example", "causal", "exact decimal inputs"}, worked_example()));
  out.push_back(trace("seed001_length4_causal_backward_g3",
                      "The backward pass of the length-4 causal example, as the seed's chain: dL/dY[3] = g_3 at the "
                      "last position and 0 elsewhere, with g_3 = [1, -0.5, 0.25, -0.125] (the seed leaves g_3 "
                      "symbolic; chosen exact in every dtype); dA = dO V^T, dV = A^T dO, dS = softmax backward, "
                      "dQ = dS K / sqrt(d_k), dK = dS^T Q / sqrt(d_k)",
                      kSeed001, {"worked example", "backward", "causal", "exact decimal inputs", "zero dO rows"},
                      worked_example_backward(WorkedExampleDo::last_position)));
  out.push_back(trace("seed001_length4_causal_backward_dense",
                      "The backward pass of the length-4 causal example with a dense dO whose last row is the same "
                      "g_3 = [1, -0.5, 0.25, -0.125] and whose rows 0 to 2 are eighths",
                      kSeed001, {"worked example", "backward", "causal", "exact decimal inputs"},
                      worked_example_backward(WorkedExampleDo::dense)));
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 2, 2, 2, 2);
    out.push_back(trace("seed004_scaled_identity",
                        "Notebook demos 1, 11, 21: scaled attention with Q = K = I and V = [[10, 0], [0, 5]]",
                        kSeed004, {"worked example", "no mask", "default scale"},
                        explicit_values(spec, DType::f32, {1, 0, 0, 1}, {1, 0, 0, 1}, {10, 0, 0, 5})));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 4, 4, 4, 2);
    spec.causal = true;
    std::vector<float> eye(16, 0.0f);
    for (int i = 0; i < 4; ++i) eye[i * 4 + i] = 1;
    out.push_back(trace("seed004_causal_identity",
                        "Notebook demos 2, 12, 22: Q = K = I_4, V = arange(8).reshape(4, 2), causal (the notebook "
                        "adds -1e9; here future keys are invisible)",
                        kSeed004, {"worked example", "causal", "value_dim != head_dim"},
                        explicit_values(spec, DType::f32, eye, eye, {0, 1, 2, 3, 4, 5, 6, 7})));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 1, 3, 1, 3);
    spec.has_valid_keys = true;
    ProblemFile file = explicit_values(spec, DType::bf16, {1}, {2, 1, 5}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
    file.problem.valid_keys = {2};
    out.push_back(trace("seed004_padding",
                        "Notebook demos 6, 16: scores [2, 1, 5] with the third key padded, as attention with "
                        "q = [1], k = [2, 1, 5], d = 1 (scale 1) and V = I_3, so that O is the weight row",
                        kSeed004, {"worked example", "padding", "value_dim != head_dim"}, std::move(file)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 5, 5, 1, 1);
    spec.causal = true;
    spec.has_alibi = true;
    ProblemFile file = explicit_values(spec, DType::f16, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {1, 2, 3, 4, 5});
    file.problem.alibi_slopes = {0.25f};
    out.push_back(trace("seed004_alibi",
                        "Notebook demos 8, 18: alibi_bias(5, slope=-0.25) as attention with zero scores, ALiBi "
                        "slope 0.25 and a causal mask, so that the biased scores are the notebook's bias",
                        kSeed004, {"worked example", "alibi", "causal"}, std::move(file)));
  }
}

void add_canonical(std::vector<TraceSpec>& out) {
  const char* kCanonical = "canonical";
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    AttentionSpec spec;
    spec.shape = shape(1, 2, 2, 3, 6, 4, 4);
    spec.causal = true;
    const std::string d(dtype_name(dtype));
    out.push_back(trace("causal_lq_lt_lk_" + d,
                        "Causal, bottom-right aligned, with fewer queries than keys (3 against 6), stored as " + d +
                            "; the same values in every dtype",
                        kCanonical, {"causal", "lq<lk", "backward", d}, with_d_out(filled(spec, dtype, 1), 1)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(3, 1, 1, 2, 5, 4, 4);
    spec.has_valid_keys = true;
    ProblemFile file = filled(spec, DType::f16, 2);
    file.problem.valid_keys = {5, 0, 3};
    out.push_back(trace("padding_f16", "Per-batch valid key lengths 5, 0 and 3: batch 1 sees no key at all",
                        kCanonical, {"padding", "valid length 0", "fully masked row", "backward", "f16"},
                        with_d_out(std::move(file), 2)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 7, 7, 4, 4);
    spec.window_left = 2;
    spec.window_right = 1;
    spec.scale = 0.25;
    out.push_back(trace("window_bf16", "Sliding window two keys back and one ahead, not causal, scale 0.25",
                        kCanonical, {"sliding window", "custom scale", "backward", "bf16"},
                        with_d_out(filled(spec, DType::bf16, 3), 3)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 4, 7, 4, 4);
    spec.causal = true;
    spec.window_left = 2;
    out.push_back(trace("window_causal_f32", "Causal with a window of the current and two previous keys, Lq < Lk",
                        kCanonical, {"sliding window", "causal", "lq<lk", "backward", "f32"},
                        with_d_out(filled(spec, DType::f32, 4), 4)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(2, 2, 2, 3, 5, 4, 4);
    spec.mask = MaskKind::shared;
    ProblemFile file = filled(spec, DType::f32, 5);
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t i = 0; i < 3; ++i) {
        for (int64_t j = 0; j < 5; ++j) {
          const bool hidden_row = b == 1 && i == 2;  // one fully masked row
          file.problem.mask[(b * 3 + i) * 5 + j] = !hidden_row && (b * 7 + i * 3 + j * 5) % 4 != 0;
        }
      }
    }
    out.push_back(trace("mask_shared_f32", "A boolean mask shared by both heads, with one row that hides every key",
                        kCanonical, {"boolean mask (shared)", "fully masked row", "backward", "f32"},
                        with_d_out(std::move(file), 5)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 2, 2, 4, 4, 4, 4);
    spec.mask = MaskKind::per_head;
    ProblemFile file = filled(spec, DType::f16, 6);
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t i = 0; i < 4; ++i) {
        for (int64_t j = 0; j < 4; ++j) file.problem.mask[(h * 4 + i) * 4 + j] = (h * 5 + i * 3 + j) % 3 != 0;
      }
    }
    out.push_back(trace("mask_per_head_f16", "A boolean mask per head: the two heads see different keys", kCanonical,
                        {"boolean mask (per head)", "backward", "f16"}, with_d_out(std::move(file), 6)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 4, 2, 3, 5, 4, 3);
    spec.causal = true;
    out.push_back(trace("gqa_bf16", "Grouped-query attention: 4 query heads share 2 kv heads; value_dim 3", kCanonical,
                        {"gqa", "causal", "value_dim != head_dim", "backward", "bf16"},
                        with_d_out(filled(spec, DType::bf16, 7), 7)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(2, 3, 1, 2, 4, 4, 4);
    out.push_back(trace("mqa_f32", "Multi-query attention: 3 query heads read one kv head, two batches", kCanonical,
                        {"mqa", "backward", "f32"}, with_d_out(filled(spec, DType::f32, 8), 8)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 2, 2, 4, 6, 4, 4);
    spec.causal = true;
    spec.has_alibi = true;
    ProblemFile file = filled(spec, DType::f16, 9);
    file.problem.alibi_slopes = {0.5f, 0.25f};
    out.push_back(trace("alibi_f16", "ALiBi slopes 0.5 and 0.25 on a causal problem with Lq < Lk", kCanonical,
                        {"alibi", "causal", "lq<lk", "backward", "f16"}, with_d_out(std::move(file), 9)));
  }
  {
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 5, 3, 4, 4);
    spec.causal = true;
    out.push_back(trace("fully_masked_rows_bf16",
                        "Causal with more queries than keys (5 against 3): bottom-right alignment leaves queries 0 "
                        "and 1 with no key, so O = 0 and LSE = -inf there",
                        kCanonical, {"fully masked row", "causal", "lq>lk", "backward", "bf16"},
                        with_d_out(filled(spec, DType::bf16, 10), 10)));
  }
  {
    // Scores of 90 to 120, past f32 exp's overflow at 88.7, growing at the 64-key tile edge and
    // again after the 128-key one, where key 129 dominates the row (by 18 over most keys, 6
    // over key 127): a softmax or LSE without the max shift overflows here, and an online
    // softmax that does not rescale its running sum when the max grows is off by orders of
    // magnitude. Every value is exact in f32 (multiples of 1/16).
    AttentionSpec spec;
    spec.shape = shape(1, 1, 1, 2, 130, 2, 2);
    ProblemFile file = filled(spec, DType::f32, 12);
    file.problem.q = {16.0f, 0.0f, 15.0f, 1.0f};
    for (int64_t j = 0; j < 130; ++j) {
      // Key 127, the last of the first 128-key tile, keeps a weight near 1/300: a kernel that
      // drops a tile's last key is visibly off.
      const float first = j == 129  ? 10.5f
                          : j == 127 ? 10.0f
                          : j == 64  ? 9.75f
                                     : 8.0f + static_cast<float>(j % 16) / 16.0f;
      file.problem.k[2 * j] = first;
      file.problem.k[2 * j + 1] = static_cast<float>(j % 5) / 4.0f;
    }
    out.push_back(trace("large_logits_tile_edges_f32",
                        "Scores of 90 to 120 (past exp's f32 overflow at 88.7) over 130 keys; the row max grows at "
                        "key 64 and again at key 129, after the 128-key tile edge, which dominates the row; key 127 ends the first 128-key tile with a weight near 1/300",
                        kCanonical, {"large logits", "dominant key", "tile edges 64 and 128", "f32"},
                        std::move(file)));
  }
  {
    // A cache that grows one token per step: step s holds the first 5 + s tokens of one
    // sequence of keys and values and asks one new query.
    constexpr int64_t kFirst = 5, kSteps = 3, kCapacity = 8;
    AttentionSpec full_spec;
    full_spec.shape = shape(1, 4, 2, 1, kFirst + kSteps - 1, 4, 4);
    const ProblemFile full = filled(full_spec, DType::f16, 11);
    for (int64_t step = 0; step < kSteps; ++step) {
      AttentionSpec spec;
      spec.shape = shape(1, 4, 2, 1, kFirst + step, 4, 4);
      spec.causal = true;
      ProblemFile file = filled(spec, DType::f16, 12 + static_cast<uint64_t>(step));  // this step's query
      for (int64_t kvh = 0; kvh < 2; ++kvh) {
        for (int64_t j = 0; j < spec.shape.kv_len; ++j) {
          for (int64_t d = 0; d < 4; ++d) {
            file.problem.k[k_offset(spec.shape, 0, kvh, j) + d] = full.problem.k[k_offset(full_spec.shape, 0, kvh, j) + d];
            file.problem.v[v_offset(spec.shape, 0, kvh, j) + d] = full.problem.v[v_offset(full_spec.shape, 0, kvh, j) + d];
          }
        }
      }
      TraceSpec t = trace("decode_gqa_f16_step" + std::to_string(step),
                          "Decode step " + std::to_string(step) + " of 3: one new query against a cache of " +
                              std::to_string(spec.shape.kv_len) + " tokens (GQA, 4 query heads on 2 kv heads)",
                          kCanonical, {"decode", "kv cache", "gqa", "f16"}, std::move(file));
      t.decode = DecodeStep{"decode_gqa_f16", step, kCapacity};
      out.push_back(std::move(t));
    }
  }
}

}  // namespace

std::vector<TraceSpec> canonical_traces() {
  std::vector<TraceSpec> out;
  add_worked_examples(out);
  add_canonical(out);
  std::sort(out.begin(), out.end(), [](const TraceSpec& a, const TraceSpec& b) { return a.name < b.name; });
  return out;
}

}  // namespace attncheck::golden
