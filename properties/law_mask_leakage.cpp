// Law 2, mask leakage: what a query cannot see has no effect on it, bit for bit.
//   - Setting every key and value a target query cannot see (future under causal, padded,
//     outside the window, masked out) to NaN, an infinity or a huge value leaves the O and LSE
//     rows of every query that cannot see them bit-identical.
//   - Masked weights are exactly zero: with identity values, O[c] == 0 for every invisible c.
//   - A query with no visible key returns +0 in every output element and LSE = -inf, even
//     when every key and value it cannot see is NaN.
//   - Causal prefix consistency: appending tokens (queries and keys) leaves the earlier rows
//     bit-identical (bottom-right alignment keeps their positions).
#include <rapidcheck.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "attncheck/random_problem.hpp"
#include "generators.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

enum class Planted : uint8_t { nan, plus_infinity, minus_infinity, plus_max, minus_max };

float planted_value(Planted p, DType dtype) {
  switch (p) {
    case Planted::nan: return std::numeric_limits<float>::quiet_NaN();
    case Planted::plus_infinity: return INFINITY;
    case Planted::minus_infinity: return -INFINITY;
    case Planted::plus_max: return static_cast<float>(max_finite(dtype));
    case Planted::minus_max: return static_cast<float>(-max_finite(dtype));
  }
  return 0;
}

const char* planted_name(Planted p) {
  switch (p) {
    case Planted::nan: return "NaN";
    case Planted::plus_infinity: return "+inf";
    case Planted::minus_infinity: return "-inf";
    case Planted::plus_max: return "+max";
    case Planted::minus_max: return "-max";
  }
  return "?";
}

bool masking_allowed(const KernelInfo& k) { return Features::of(k).any_masking(); }

// The first row whose O or LSE bits differ between two runs, among rows `keep` marks.
struct BitDifference {
  int64_t row = -1;
  std::string what;
};
BitDifference first_difference(const KernelResult& a, const KernelResult& b, const AttentionShape& s,
                               const std::vector<uint8_t>& keep, bool with_lse) {
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    if (!keep[row]) continue;
    const auto x = output_row(a, s, row), y = output_row(b, s, row);
    for (int64_t c = 0; c < s.value_dim; ++c) {
      if (!same_bits(x[c], y[c])) {
        return {row, "O row " + row_name(s, row) + " " + format_values(x) + " became " + format_values(y)};
      }
    }
    if (with_lse && !same_bits(a.lse[row], b.lse[row])) {
      return {row, "LSE " + row_name(s, row) + " " + format_values(std::span<const float>(a.lse).subspan(row, 1)) +
                       " became " + format_values(std::span<const float>(b.lse).subspan(row, 1))};
    }
  }
  return {};
}

void check_invisible_keys(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(masking_request(kernel));
  const Problem problem = draw_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  const int64_t target = *rc::gen::inRange<int64_t>(0, lse_elements(s)).as("target row");
  const Planted planted = *rc::gen::element(Planted::nan, Planted::plus_infinity, Planted::minus_infinity,
                                            Planted::plus_max, Planted::minus_max)
                               .as("planted value (0 NaN, 1 +inf, 2 -inf, 3 +max, 4 -max)");
  const RowIndex t = row_index(s, target);
  const int64_t kvh = kv_head_for(s, t.h);
  const std::vector<uint8_t> target_sees = visible_keys(problem, target);
  // Plant the value in every key and value row the target cannot see.
  Problem changed = problem;
  const float value = planted_value(planted, kernel.dtype);
  std::vector<int64_t> planted_keys;
  for (int64_t j = 0; j < s.kv_len; ++j) {
    if (target_sees[j]) continue;
    planted_keys.push_back(j);
    std::fill_n(&changed.k[k_offset(s, t.b, kvh, j)], s.head_dim, value);
    std::fill_n(&changed.v[v_offset(s, t.b, kvh, j)], s.value_dim, value);
  }
  // Rows that see none of the planted keys must not change at all.
  std::vector<uint8_t> unaffected(lse_elements(s), 1);
  const VisibilityInputs vis = problem.visibility();
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    const RowIndex r = row_index(s, row);
    if (r.b != t.b || kv_head_for(s, r.h) != kvh) continue;
    for (int64_t j : planted_keys) {
      if (key_visible(spec, vis, r.b, r.h, r.i, j)) unaffected[row] = 0;
    }
  }
  const KernelResult before = run_kernel(kernel, problem);
  const KernelResult after = run_kernel(kernel, changed);
  const BitDifference d = first_difference(before, after, s, unaffected, kernel.has(kLse));
  run.count("cases");
  run.count("planted keys", static_cast<int64_t>(planted_keys.size()));
  if (d.row >= 0) {
    const std::string what = std::string("setting the ") + std::to_string(planted_keys.size()) +
                             " keys and values row " + row_name(s, target) + " cannot see to " +
                             planted_name(planted) + " changed a row that cannot see them: " + d.what;
    // The law compares the kernel with itself on two problems; the failure file holds one, and
    // `attncheck trace` of it compares the kernel with the oracle. So the file gets the problem
    // on which the kernel's row breaks its bound: the one with the planted values, where a
    // NaN or infinity that got through shows; else the one before planting (a planted -max
    // can hide a leak, making the row right there while it was wrong before). When neither
    // breaks the bound the rows differ within it, and the planted problem is kept.
    if (row_within_bound(kernel, changed, after, d.row) && !row_within_bound(kernel, problem, before, d.row)) {
      run.fail(Witness{problem,
                       what + "; the file holds the problem before planting, where row " + row_name(s, d.row) +
                           " breaks its bound (with the planted values it does not)",
                       {d.row}, false},
               what);
    }
    run.fail(Witness{changed, what, {d.row}, false}, what);
  }
}

void check_masked_weights_zero(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = masking_request(kernel);
  request.limits.weights_as_values = true;
  // Identity values make V kv_len x kv_len per head, drawn and encoded whatever q_len is: long
  // cases stop at 5 x 64 + 1 keys, as in the weight laws of row_stochasticity.
  request.limits.max_long_kv_len = 5 * 64 + 1;
  const AttentionSpec spec = with_weight_outputs(draw_spec(request), kernel);
  Problem problem = draw_problem(spec, kernel.dtype);
  set_identity_values(problem);
  const KernelResult got = run_kernel(kernel, problem);
  const AttentionShape& s = spec.shape;
  run.count("cases");
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    const std::vector<uint8_t> sees = visible_keys(problem, row);
    const auto weights = output_row(got, s, row);
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (sees[j]) continue;
      run.count("invisible weights");
      if (weights[j] == 0.0f) continue;
      char what[160];
      std::snprintf(what, sizeof what, "the weight of invisible key %lld is %.9g, not 0",
                    static_cast<long long>(j), weights[j]);
      run.fail(Witness{problem, "row " + row_name(s, row) + ": " + what + "; weights " + format_values(weights),
                       {row}, false},
               what);
    }
  }
}

// Empties a batch entry (how = 1, padding) or a mask row (how = 3); other specs have their
// empty rows from causal or window alignment already.
void empty_some_rows(Problem& p, int how, int64_t which) {
  AttentionShape& s = p.spec.shape;
  if (how == 1 && p.spec.has_valid_keys) {  // a batch entry with no valid key
    p.valid_keys[which % s.batch] = 0;
  } else if (how == 3 && p.spec.mask != MaskKind::none) {  // a mask row of zeros
    const int64_t row = which % lse_elements(s);
    const RowIndex r = row_index(s, row);
    std::fill_n(&p.mask[mask_row_offset(p.spec, r.b, r.h, r.i)], s.kv_len, uint8_t{0});
  }
}

void check_empty_rows(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = masking_request(kernel);
  // Causal and window empty rows need more queries than keys: the first rows sit before key 0.
  request.limits.max_kv_len = 24;
  AttentionSpec spec = draw_spec(request);
  // A long case (kv_len across tile edges) keeps its lengths: rows before key 0 would make it
  // kv_len x kv_len. Its empty rows come from padding and mask rows, and its causal or window
  // rows must see exactly their keys across the edges.
  if (spec.shape.kv_len <= request.limits.max_kv_len && (spec.causal || spec.window_right != kUnboundedWindow) &&
      !spec.has_valid_keys && spec.mask == MaskKind::none) {
    spec.shape.q_len = spec.shape.kv_len + *rc::gen::inRange<int64_t>(1, 5).as("queries before key 0");
    if (spec.window_right == kUnboundedWindow && !spec.causal) spec.window_right = 0;
  }
  Problem problem = draw_problem(spec, kernel.dtype);
  empty_some_rows(problem, spec.has_valid_keys ? 1 : spec.mask != MaskKind::none ? 3 : 0,
                  *rc::gen::inRange<int64_t>(0, 1 << 20).as("which batch entry or row to empty"));
  const AttentionShape& s = spec.shape;
  // Poison every key and value no row of its (batch, kv head) can see.
  std::vector<uint8_t> seen(s.batch * s.kv_heads * s.kv_len, 0);
  std::vector<uint8_t> empty(lse_elements(s), 1);
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    const RowIndex r = row_index(s, row);
    const std::vector<uint8_t> sees = visible_keys(problem, row);
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!sees[j]) continue;
      seen[(r.b * s.kv_heads + kv_head_for(s, r.h)) * s.kv_len + j] = 1;
      empty[row] = 0;
    }
  }
  for (int64_t bh = 0; bh < s.batch * s.kv_heads; ++bh) {
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (seen[bh * s.kv_len + j]) continue;
      std::fill_n(&problem.k[(bh * s.kv_len + j) * s.head_dim], s.head_dim, std::numeric_limits<float>::quiet_NaN());
      std::fill_n(&problem.v[(bh * s.kv_len + j) * s.value_dim], s.value_dim, std::numeric_limits<float>::quiet_NaN());
    }
  }
  const KernelResult got = run_kernel(kernel, problem);
  run.count("cases");
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    if (!empty[row]) continue;
    run.count("empty rows");
    const auto o = output_row(got, s, row);
    bool zeros = true;
    for (float x : o) zeros = zeros && same_bits(x, 0.0f);
    const bool lse_ok = !kernel.has(kLse) || got.lse[row] == -INFINITY;
    if (!zeros || !lse_ok) {
      const std::string what = "row " + row_name(s, row) + " sees no key but O = " + format_values(o) +
                               ", LSE = " + format_values(std::span<const float>(got.lse).subspan(row, 1)) +
                               " (expected +0 everywhere and -inf)";
      run.fail(Witness{problem, what, {row}, false}, what);
    }
  }
}

std::string lse_text(const KernelResult& r, int64_t row) {
  return format_values(std::span<const float>(r.lse).subspan(row, 1));
}

void check_prefix(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  request.required.causal = true;
  const AttentionSpec spec = draw_spec(request);
  const int64_t extra = *rc::gen::inRange<int64_t>(1, 9).as("tokens appended");
  AttentionSpec longer_spec = spec;
  longer_spec.shape.q_len += extra;
  longer_spec.shape.kv_len += extra;
  // The longer problem's values; the shorter one is its prefix (first q_len queries, first
  // kv_len keys, the same valid lengths, the mask's top-left block).
  const Problem longer = draw_problem(longer_spec, kernel.dtype);
  Problem shorter = make_zero_problem(spec, kernel.dtype);
  const AttentionShape& s = spec.shape;
  const AttentionShape& l = longer_spec.shape;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        std::copy_n(&longer.q[q_offset(l, b, h, i)], s.head_dim, &shorter.q[q_offset(s, b, h, i)]);
        if (spec.mask != MaskKind::none && (spec.mask == MaskKind::per_head || h == 0)) {
          std::copy_n(&longer.mask[mask_row_offset(longer_spec, b, h, i)], s.kv_len,
                      &shorter.mask[mask_row_offset(spec, b, h, i)]);
        }
      }
    }
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      for (int64_t j = 0; j < s.kv_len; ++j) {
        std::copy_n(&longer.k[k_offset(l, b, kvh, j)], s.head_dim, &shorter.k[k_offset(s, b, kvh, j)]);
        std::copy_n(&longer.v[v_offset(l, b, kvh, j)], s.value_dim, &shorter.v[v_offset(s, b, kvh, j)]);
      }
    }
  }
  if (spec.has_valid_keys) {
    for (int64_t b = 0; b < s.batch; ++b) {
      shorter.valid_keys[b] = std::min<int32_t>(longer.valid_keys[b], static_cast<int32_t>(s.kv_len));
    }
  }
  Problem longer_same_lengths = longer;  // valid lengths must agree for the rows to be equal
  if (spec.has_valid_keys) {
    for (int64_t b = 0; b < s.batch; ++b) longer_same_lengths.valid_keys[b] = shorter.valid_keys[b];
  }
  shorter.alibi_slopes = longer.alibi_slopes;
  const KernelResult a = run_kernel(kernel, shorter);
  const KernelResult b = run_kernel(kernel, longer_same_lengths);
  run.count("cases");
  for (int64_t bb = 0; bb < s.batch; ++bb) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        const int64_t rs = flat_row(s, bb, h, i), rl = flat_row(l, bb, h, i);
        const auto x = output_row(a, s, rs), y = output_row(b, l, rl);
        bool same = !kernel.has(kLse) || same_bits(a.lse[rs], b.lse[rl]);
        for (int64_t c = 0; c < s.value_dim; ++c) same = same && same_bits(x[c], y[c]);
        if (!same) {
          const std::string what = "appending " + std::to_string(extra) + " tokens changed row " + row_name(s, rs) +
                                   ": O " + format_values(x) + " LSE " + lse_text(a, rs) + " became O " +
                                   format_values(y) + " LSE " + lse_text(b, rl);
          // As for the planted values: the file gets the problem on which the row breaks its
          // bound, the longer one unless only the shorter shows it.
          if (row_within_bound(kernel, longer_same_lengths, b, rl) && !row_within_bound(kernel, shorter, a, rs)) {
            run.fail(Witness{shorter, what + "; the file holds the shorter problem, where the row breaks its bound",
                             {rs}, false},
                     what);
          }
          run.fail(Witness{longer_same_lengths, what, {rl}, false}, what);
        }
      }
    }
  }
}

// A run must have exercised the law's subject at least once.
std::function<std::string(const LawRun&)> requires_count(std::string key) {
  return [key](const LawRun& run) {
    return run.count_of(key) > 0 ? std::string() : "no case had any " + key + " in " +
                                                      std::to_string(run.count_of("cases")) + " cases";
  };
}

Law make(const char* name, const char* statement, int cases, void (*check)(LawRun&), bool needs_causal = false) {
  Law law;
  law.family = "MaskLeakage";
  law.name = name;
  law.statement = statement;
  law.cases = cases;
  law.applies = [needs_causal](const KernelInfo& k) {
    return k.forward != nullptr && masking_allowed(k) && (!needs_causal || k.has(kCausal));
  };
  law.check_case = check;
  return law;
}

}  // namespace

std::vector<Law> mask_leakage_laws() {
  std::vector<Law> laws;
  laws.push_back(make("ChangingInvisibleKeysLeavesOutputBitIdentical",
                      "setting the keys and values a query cannot see to NaN, +-inf or +-max leaves the O and "
                      "LSE rows of every query that cannot see them bit-identical",
                      100, check_invisible_keys));
  laws.back().finish = requires_count("planted keys");
  laws.push_back(make("MaskedWeightsAreExactlyZero",
                      "with identity values, the output (weight) of every key a query cannot see is exactly 0",
                      100, check_masked_weights_zero));
  laws.back().finish = requires_count("invisible weights");
  laws.push_back(make("QueriesWithNoVisibleKeyReturnZerosAndMinusInfLse",
                      "a query that sees no key returns +0 in every element and LSE = -inf, with NaN in every "
                      "slot it cannot see",
                      100, check_empty_rows));
  laws.back().finish = requires_count("empty rows");
  laws.push_back(make("AppendingLaterTokensLeavesEarlierRowsUnchanged",
                      "under causal masking, appending queries and keys leaves the O and LSE rows of the "
                      "earlier queries bit-identical",
                      100, check_prefix, true));
  return laws;
}

}  // namespace attncheck::properties
