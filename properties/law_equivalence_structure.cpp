// Law 5, structural equivalences: relations between problems whose exact outputs are equal
// (or related linearly), checked on one kernel. Where the two runs compute the same rows in
// a possibly different order, they may differ by rounding: the tolerance is the sum of both
// runs' a-priori bounds. Where only other rows' data changes, nothing may change at all.
//   - GQA equals MHA with each KV head repeated for its query heads (2B).
//   - Multi-head equals one run per head (2B).
//   - Batch entries are independent: new data (NaN included) in the other entries leaves an
//     entry bit-identical.
//   - Permuting keys and values together (no causal, window, ALiBi or padding, whose
//     positions matter; mask columns permuted alike) leaves O and LSE unchanged (2B).
//   - Permuting queries (no causal, window or ALiBi; mask rows permuted alike) permutes the O
//     and LSE rows and nothing else (2B).
//   - Adding one vector c to every key of a (batch, kv head) shifts each row's scores by
//     scale * q.c and leaves O unchanged (B + B'). Keys and c lie on a grid where k + c is
//     exact in the dtype.
//   - O is linear in V: O(a V1 + b V2) = a O(V1) + b O(V2) within B3 + |a| B1 + |b| B2, with
//     V1, V2 on a grid where a V1 + b V2 is exact; LSE does not depend on V at all (bits).
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "attncheck/random_problem.hpp"
#include "attncheck/storage.hpp"
#include "generators.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

// A run with the a-priori bounds of the rows checked: every row of a short case, a sample of
// a long one (law_tools.hpp), or the rows given (so two related problems check the same rows).
struct Bounded {
  KernelResult got;
  OracleRows checked;
  oracle::ErrorBound bound;
  double o_bound(int64_t flat, int64_t c, int64_t value_dim) const {
    return bound.output[checked.slot[flat] * value_dim + c];
  }
  double lse_bound(int64_t flat) const { return bound.lse[checked.slot[flat]]; }
};

Bounded run_bounded(const KernelInfo& kernel, const Problem& problem, std::vector<int64_t> rows = {}) {
  Bounded r;
  r.got = run_kernel(kernel, problem);
  r.checked = rows.empty() ? oracle_sampled(problem) : oracle_on(problem, std::move(rows));
  r.bound = oracle::a_priori_bound(problem, r.checked.exact, kernel.error, kernel.dtype);
  return r;
}

// Row `ra` of run a against row `rb` of run b, two computations of the same exact row: O within
// twice the bound of that row (row `bound_row` of `bounds`) element by element, and LSE too
// when the kernel writes it. Returns "" or what differs.
std::string compare_rows(const KernelInfo& kernel, const KernelResult& a, const AttentionShape& sa, int64_t ra,
                         const KernelResult& b, const AttentionShape& sb, int64_t rb, const Bounded& bounds,
                         int64_t bound_row, LawRun& run) {
  const auto x = output_row(a, sa, ra), y = output_row(b, sb, rb);
  double worst = 0;
  for (int64_t c = 0; c < sa.value_dim; ++c) {
    worst = std::max(worst, error_ratio(x[c], y[c], 2 * bounds.o_bound(bound_row, c, sa.value_dim)));
  }
  if (kernel.has(kLse)) worst = std::max(worst, error_ratio(a.lse[ra], b.lse[rb], 2 * bounds.lse_bound(bound_row)));
  run.note_max("difference / tolerance", worst);
  if (worst <= 1) return "";
  char ratio[64];
  std::snprintf(ratio, sizeof ratio, " (difference / tolerance %.3g)", worst);
  return "O " + format_values(x) + " LSE " + format_values(std::span<const float>(a.lse).subspan(ra, 1)) +
         " against O " + format_values(y) + " LSE " + format_values(std::span<const float>(b.lse).subspan(rb, 1)) + ratio;
}

void check_gqa(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  request.required.grouped_query = true;
  const AttentionSpec spec = draw_spec(request);
  const Problem gqa = draw_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  AttentionSpec mha_spec = spec;
  mha_spec.shape.kv_heads = s.q_heads;
  Problem mha = make_zero_problem(mha_spec, kernel.dtype);
  mha.valid_keys = gqa.valid_keys;
  mha.mask = gqa.mask;
  mha.alibi_slopes = gqa.alibi_slopes;
  mha.q = gqa.q;
  const AttentionShape& m = mha_spec.shape;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      std::copy_n(&gqa.k[k_offset(s, b, kvh, 0)], s.kv_len * s.head_dim, &mha.k[k_offset(m, b, h, 0)]);
      std::copy_n(&gqa.v[v_offset(s, b, kvh, 0)], s.kv_len * s.value_dim, &mha.v[v_offset(m, b, h, 0)]);
    }
  }
  const Bounded a = run_bounded(kernel, gqa);
  const KernelResult b = run_kernel(kernel, mha);
  run.count("cases");
  for (int64_t row : a.checked.rows) {
    const std::string d = compare_rows(kernel, a.got, s, row, b, m, row, a, row, run);
    if (!d.empty()) {
      const std::string what = "row " + row_name(s, row) + " with grouped KV heads: " + d + " with repeated KV heads";
      run.fail(Witness{gqa, what, {row}, false}, what);
    }
  }
}

void check_per_head(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  AttentionSpec spec = draw_spec(request_for(kernel));
  if (spec.shape.q_heads == 1) spec.shape.q_heads = spec.shape.kv_heads = 2;  // several heads
  const Problem full = draw_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  const Bounded a = run_bounded(kernel, full);
  run.count("cases");
  for (int64_t h = 0; h < s.q_heads; ++h) {
    AttentionSpec one_spec = spec;
    one_spec.shape.q_heads = one_spec.shape.kv_heads = 1;
    Problem one = make_zero_problem(one_spec, kernel.dtype);
    const AttentionShape& o = one_spec.shape;
    one.valid_keys = full.valid_keys;
    if (spec.has_alibi) one.alibi_slopes = {full.alibi_slopes[h]};
    const int64_t kvh = kv_head_for(s, h);
    for (int64_t b = 0; b < s.batch; ++b) {
      std::copy_n(&full.q[q_offset(s, b, h, 0)], s.q_len * s.head_dim, &one.q[q_offset(o, b, 0, 0)]);
      std::copy_n(&full.k[k_offset(s, b, kvh, 0)], s.kv_len * s.head_dim, &one.k[k_offset(o, b, 0, 0)]);
      std::copy_n(&full.v[v_offset(s, b, kvh, 0)], s.kv_len * s.value_dim, &one.v[v_offset(o, b, 0, 0)]);
      if (spec.mask != MaskKind::none) {
        std::copy_n(&full.mask[mask_row_offset(spec, b, h, 0)], s.q_len * s.kv_len,
                    &one.mask[mask_row_offset(one_spec, b, 0, 0)]);
      }
    }
    const KernelResult b = run_kernel(kernel, one);
    for (int64_t bb = 0; bb < s.batch; ++bb) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        const int64_t row = flat_row(s, bb, h, i), one_row = flat_row(o, bb, 0, i);
        if (!a.checked.has(row)) continue;
        const std::string d = compare_rows(kernel, a.got, s, row, b, o, one_row, a, row, run);
        if (!d.empty()) {
          const std::string what = "row " + row_name(s, row) + " in the multi-head run: " + d + " when head " +
                                   std::to_string(h) + " runs alone";
          run.fail(Witness{full, what, {row}, false}, what);
        }
      }
    }
  }
}

void check_batch_independence(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  AttentionSpec spec = draw_spec(request_for(kernel));
  if (spec.shape.batch == 1) spec.shape.batch = 2;
  const Problem problem = draw_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  const int64_t kept = *rc::gen::inRange<int64_t>(0, s.batch).as("batch entry kept");
  const bool poison = *rc::gen::arbitrary<bool>().as("other entries get NaN");
  // Everything of the other entries is redrawn: tensors, valid lengths, mask rows.
  const Problem fresh = make_problem(spec, kernel.dtype, ValueKind::normal,
                                     *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("new data seed"));
  Problem changed = problem;
  for (int64_t b = 0; b < s.batch; ++b) {
    if (b == kept) continue;
    const auto copy_range = [&](std::vector<float>& to, const std::vector<float>& from, int64_t per_batch) {
      for (int64_t x = b * per_batch; x < (b + 1) * per_batch; ++x) {
        to[x] = poison && x % 3 == 0 ? std::numeric_limits<float>::quiet_NaN() : from[x];
      }
    };
    copy_range(changed.q, fresh.q, s.q_heads * s.q_len * s.head_dim);
    copy_range(changed.k, fresh.k, s.kv_heads * s.kv_len * s.head_dim);
    copy_range(changed.v, fresh.v, s.kv_heads * s.kv_len * s.value_dim);
    if (spec.has_valid_keys) changed.valid_keys[b] = fresh.valid_keys[b];
    if (spec.mask != MaskKind::none) {
      const int64_t per_batch = mask_elements(spec) / s.batch;
      std::copy_n(&fresh.mask[b * per_batch], per_batch, &changed.mask[b * per_batch]);
    }
  }
  const KernelResult a = run_kernel(kernel, problem), c = run_kernel(kernel, changed);
  run.count("cases");
  for (int64_t h = 0; h < s.q_heads; ++h) {
    for (int64_t i = 0; i < s.q_len; ++i) {
      const int64_t row = flat_row(s, kept, h, i);
      const auto x = output_row(a, s, row), y = output_row(c, s, row);
      bool same = !kernel.has(kLse) || same_bits(a.lse[row], c.lse[row]);
      for (int64_t v = 0; v < s.value_dim; ++v) same = same && same_bits(x[v], y[v]);
      if (!same) {
        const std::string what = "row " + row_name(s, row) + " changed when the other batch entries' data changed" +
                                 std::string(poison ? " (partly to NaN)" : "") + ": O " + format_values(x) +
                                 " became " + format_values(y);
        run.fail(Witness{changed, what, {row}, false}, what);
      }
    }
  }
}

// A permutation of [0, n) from a seed (Fisher-Yates with SplitMix64).
std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng.below(i + 1)]);
  return p;
}

SpecRequest position_free_request(const KernelInfo& kernel, bool keys) {
  SpecRequest request = request_for(kernel);
  request.allowed.causal = false;
  request.allowed.window = false;
  request.allowed.alibi = false;
  if (keys) request.allowed.padding = false;  // padding keeps a prefix of the keys
  return request;
}

void check_key_permutation(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(position_free_request(kernel, true));
  const Problem problem = draw_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  const std::vector<int64_t> pi =
      permutation(s.kv_len, *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("permutation seed"));
  Problem permuted = problem;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      for (int64_t j = 0; j < s.kv_len; ++j) {
        std::copy_n(&problem.k[k_offset(s, b, kvh, j)], s.head_dim, &permuted.k[k_offset(s, b, kvh, pi[j])]);
        std::copy_n(&problem.v[v_offset(s, b, kvh, j)], s.value_dim, &permuted.v[v_offset(s, b, kvh, pi[j])]);
      }
    }
  }
  if (spec.mask != MaskKind::none) {
    for (int64_t r = 0; r < mask_elements(spec) / s.kv_len; ++r) {
      for (int64_t j = 0; j < s.kv_len; ++j) permuted.mask[r * s.kv_len + pi[j]] = problem.mask[r * s.kv_len + j];
    }
  }
  const Bounded a = run_bounded(kernel, problem);
  const KernelResult b = run_kernel(kernel, permuted);
  run.count("cases");
  for (int64_t row : a.checked.rows) {
    const std::string d = compare_rows(kernel, a.got, s, row, b, s, row, a, row, run);
    if (!d.empty()) {
      const std::string what = "row " + row_name(s, row) + ": " + d + " after permuting keys and values";
      run.fail(Witness{permuted, what, {row}, false}, what);
    }
  }
}

void check_query_permutation(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(position_free_request(kernel, false));
  const Problem problem = draw_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  const std::vector<int64_t> sigma =
      permutation(s.q_len, *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("permutation seed"));
  Problem permuted = problem;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        std::copy_n(&problem.q[q_offset(s, b, h, i)], s.head_dim, &permuted.q[q_offset(s, b, h, sigma[i])]);
        if (spec.mask != MaskKind::none && (spec.mask == MaskKind::per_head || h == 0)) {
          std::copy_n(&problem.mask[mask_row_offset(spec, b, h, i)], s.kv_len,
                      &permuted.mask[mask_row_offset(spec, b, h, sigma[i])]);
        }
      }
    }
  }
  const Bounded a = run_bounded(kernel, problem);
  const KernelResult b = run_kernel(kernel, permuted);
  run.count("cases");
  for (int64_t bb = 0; bb < s.batch; ++bb) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        const int64_t row = flat_row(s, bb, h, i), moved = flat_row(s, bb, h, sigma[i]);
        if (!a.checked.has(row)) continue;
        const std::string d = compare_rows(kernel, a.got, s, row, b, s, moved, a, row, run);
        if (!d.empty()) {
          const std::string what = "row " + row_name(s, row) + ": " + d + " at its permuted place " + row_name(s, moved);
          run.fail(Witness{permuted, what, {moved}, false}, what);
        }
      }
    }
  }
}

// Grid step and largest |shift| for which k + c (|k| <= 4) is exact in the dtype.
double grid_step(DType dtype) { return dtype == DType::bf16 ? 0.5 : 0.0625; }
double max_key_shift(DType dtype) { return dtype == DType::f32 ? 1024.0 : 124.0; }

float on_grid(float x, double step, double limit) {
  return static_cast<float>(std::clamp(std::nearbyint(x / step) * step, -limit, limit));
}

void check_key_shift(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(request_for(kernel));
  // No large_logits or subnormals: the keys are moved onto a grid in [-4, 4] below, which would
  // undo them. near_exp_overflow scales only q, so its scores near 88.7 survive the grid.
  Problem problem = draw_problem(spec, kernel.dtype,
                                 {ValueKind::normal, ValueKind::uniform, ValueKind::ties, ValueKind::outliers,
                                  ValueKind::near_exp_overflow});
  const double step = grid_step(kernel.dtype);
  for (float& k : problem.k) k = on_grid(k, step, 4.0);
  const AttentionShape& s = spec.shape;
  // |c_d| up to 2^octave, on the grid: shrinking moves toward small shifts.
  const int max_octave = static_cast<int>(std::log2(max_key_shift(kernel.dtype)));
  const int octave = *rc::gen::inRange(0, max_octave + 1).as("shift magnitude, log2");
  SplitMix64 rng(*rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("shift seed"));
  Problem shifted = problem;
  for (int64_t bh = 0; bh < s.batch * s.kv_heads; ++bh) {
    std::vector<float> c(s.head_dim);
    for (float& x : c) {
      x = on_grid(static_cast<float>(rng.uniform(-1.0, 1.0) * std::exp2(octave)), step, max_key_shift(kernel.dtype));
    }
    for (int64_t j = 0; j < s.kv_len; ++j) {
      for (int64_t d = 0; d < s.head_dim; ++d) {
        float& k = shifted.k[(bh * s.kv_len + j) * s.head_dim + d];
        k += c[d];  // exact: both on the grid, the sum within the dtype's significand
      }
    }
  }
  const Bounded a = run_bounded(kernel, problem);
  const Bounded b = run_bounded(kernel, shifted, a.checked.rows);
  run.count("cases");
  for (int64_t row : a.checked.rows) {
    const auto x = output_row(a.got, s, row), y = output_row(b.got, s, row);
    for (int64_t c = 0; c < s.value_dim; ++c) {
      const double ratio =
          error_ratio(y[c], x[c], a.o_bound(row, c, s.value_dim) + b.o_bound(row, c, s.value_dim));
      run.note_max("difference / tolerance", ratio);
      if (ratio > 1) {
        const std::string what = "row " + row_name(s, row) + ": O " + format_values(x) +
                                 " became " + format_values(y) + " after adding one vector (|c| <= 2^" +
                                 std::to_string(octave) + ") to every key";
        run.fail(Witness{shifted, what, {row}, false}, what);
      }
    }
  }
}

void check_linearity(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(request_for(kernel));
  const Problem base = draw_problem(spec, kernel.dtype);
  const double step = grid_step(kernel.dtype);
  const int alpha = *rc::gen::inRange(-3, 4).as("a");
  const int beta = *rc::gen::inRange(-3, 4).as("b");
  SplitMix64 rng(*rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("second values seed"));
  Problem p1 = base, p2 = base, p3 = base;
  for (size_t i = 0; i < base.v.size(); ++i) {
    p1.v[i] = on_grid(base.v[i], step, 4.0);
    p2.v[i] = on_grid(static_cast<float>(rng.normal()), step, 4.0);
    p3.v[i] = static_cast<float>(alpha * p1.v[i] + beta * p2.v[i]);  // exact on the grid
  }
  const Bounded r1 = run_bounded(kernel, p1);
  const Bounded r2 = run_bounded(kernel, p2, r1.checked.rows), r3 = run_bounded(kernel, p3, r1.checked.rows);
  const AttentionShape& s = spec.shape;
  run.count("cases");
  for (int64_t e = 0; e < o_elements(s); ++e) {
    const int64_t flat = e / s.value_dim, c = e % s.value_dim;
    if (!r1.checked.has(flat)) continue;
    const double combined = alpha * double(r1.got.o[e]) + beta * double(r2.got.o[e]);
    const double tolerance = r3.o_bound(flat, c, s.value_dim) + std::abs(alpha) * r1.o_bound(flat, c, s.value_dim) +
                             std::abs(beta) * r2.o_bound(flat, c, s.value_dim) + 0x1p-50 * std::fabs(combined);
    const double ratio = error_ratio(r3.got.o[e], combined, tolerance);
    run.note_max("difference / tolerance", ratio);
    if (ratio > 1) {
      const int64_t row = e / s.value_dim;
      char what[300];
      std::snprintf(what, sizeof what,
                    "O[%lld] of row %s: O(%d V1 + %d V2) = %.9g but %d O(V1) + %d O(V2) = %.17g (tolerance %.3g)",
                    static_cast<long long>(e % s.value_dim), row_name(s, row).c_str(), alpha, beta, r3.got.o[e],
                    alpha, beta, combined, tolerance);
      run.fail(Witness{p3, what, {row}, false}, what);
    }
  }
  if (kernel.has(kLse)) {
    for (int64_t row = 0; row < lse_elements(s); ++row) {
      if (same_bits(r1.got.lse[row], r2.got.lse[row]) && same_bits(r1.got.lse[row], r3.got.lse[row])) continue;
      char what[200];
      std::snprintf(what, sizeof what, "LSE of row %s depends on V: %.9g, %.9g, %.9g for V1, V2, a V1 + b V2",
                    row_name(s, row).c_str(), r1.got.lse[row], r2.got.lse[row], r3.got.lse[row]);
      run.fail(Witness{p3, what, {row}, false}, what);
    }
  }
}

Law make(const char* name, const char* statement, void (*check)(LawRun&),
         bool (*applies)(const KernelInfo&) = [](const KernelInfo& k) { return k.forward != nullptr; }) {
  Law law;
  law.family = "Equivalence";
  law.name = name;
  law.statement = statement;
  law.cases = 40;
  law.applies = applies;
  law.check_case = check;
  return law;
}

}  // namespace

std::vector<Law> structural_equivalence_laws() {
  std::vector<Law> laws;
  laws.push_back(make("GroupedQueryEqualsMultiHeadWithRepeatedKvHeads",
                      "grouped-query attention equals multi-head attention with each KV head repeated for its "
                      "query heads, within twice the a-priori bound, for O and LSE",
                      check_gqa,
                      [](const KernelInfo& k) { return k.forward != nullptr && k.has(kGroupedQuery); }));
  laws.push_back(make("MultiHeadEqualsPerHeadRuns",
                      "each head of a multi-head run equals that head run alone, within twice the a-priori bound",
                      check_per_head));
  laws.push_back(make("BatchEntriesAreIndependent",
                      "new data (NaN included) in the other batch entries leaves an entry's O and LSE bit-identical",
                      check_batch_independence));
  laws.push_back(make("PermutingKeysAndValuesTogetherLeavesOutputUnchanged",
                      "without causal, window, ALiBi or padding, permuting keys, values and mask columns alike "
                      "leaves O and LSE unchanged within twice the a-priori bound",
                      check_key_permutation));
  laws.push_back(make("PermutingQueriesPermutesOutputRows",
                      "without causal, window or ALiBi, permuting the queries (and mask rows) permutes the O and LSE "
                      "rows alike and changes nothing else, within twice the a-priori bound",
                      check_query_permutation));
  laws.push_back(make("AddingOneVectorToEveryKeyLeavesOutputUnchanged",
                      "adding one vector to every key of a head leaves O unchanged within the two runs' a-priori "
                      "bounds",
                      check_key_shift));
  laws.push_back(make("OutputIsLinearInValues",
                      "O(a V1 + b V2) = a O(V1) + b O(V2) within B3 + |a| B1 + |b| B2, and LSE does not depend on "
                      "V (bit-identical)",
                      check_linearity));
  return laws;
}

}  // namespace attncheck::properties
