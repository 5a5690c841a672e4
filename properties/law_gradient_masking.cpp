// Gradient law 4, masking (issue 18): what no query sees gets no gradient, bit for bit.
//   - Keys no query row of their kv head sees (padded, outside every window, hidden by the mask
//     from every row) get dK = dV = 0 exactly, and a query row that sees no key gets dQ = 0
//     exactly (semantics.md, "Backward": such a row's O = 0 is a definition, not a function of
//     Q, K and V).
//   - Planting NaN, an infinity or the dtype's largest finite value in those keys and values, and
//     in dO of the rows that see no key, changes no bit of dQ, dK or dV.
// Both are exact: a correct backward never reads what it must not see, so no rounding enters.
// The forward values handed to both runs are the same (the kernel's own forward of the clean
// problem with kLse, else the oracle's), so only the backward is on trial. One case in four is
// long (up to 769 keys: the generators' tile edges); no oracle runs for a kernel with kLse.
#include <rapidcheck.h>

#include <cmath>
#include <limits>

#include "attncheck/random_problem.hpp"
#include "gradient_tools.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

// masking_request() (generators.hpp) with a small work budget: the backward runs twice, the
// oracle maybe once.
SpecRequest gradient_masking_request(const KernelInfo& kernel) {
  SpecRequest request = masking_request(kernel);
  request.limits.max_long_work = int64_t{1} << 18;
  return request;
}

// With a mask, some key columns are hidden from every query row of a batch entry (a random
// mask hides a column from all rows only by chance), so cases have keys no query sees.
void hide_mask_columns(Problem& problem) {
  const AttentionSpec& spec = problem.spec;
  if (spec.mask == MaskKind::none) return;
  const AttentionShape& s = spec.shape;
  SplitMix64 rng(*rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("seed of the hidden mask columns"));
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (rng.below(4) != 0) continue;
      for (int64_t h = 0; h < (spec.mask == MaskKind::per_head ? s.q_heads : 1); ++h) {
        for (int64_t i = 0; i < s.q_len; ++i) problem.mask[mask_row_offset(spec, b, h, i) + j] = 0;
      }
    }
  }
}

struct MaskingCase {
  Problem problem;
  std::vector<uint8_t> unseen;  // [batch, kv_heads, kv_len]
  std::vector<uint8_t> empty;   // [rows]
  HandedForward forward;
};

MaskingCase draw_masking_case(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  MaskingCase c;
  c.problem = draw_gradient_problem(draw_gradient_spec(gradient_masking_request(kernel), kernel), kernel.dtype);
  hide_mask_columns(c.problem);
  c.unseen = unseen_keys(c.problem);
  c.empty = empty_rows(c.problem);
  c.forward = handed_forward(kernel, c.problem);
  run.count("cases");
  int64_t unseen = 0, empty = 0;
  for (uint8_t u : c.unseen) unseen += u;
  for (uint8_t e : c.empty) empty += e;
  run.count("unseen keys", unseen);
  run.count("empty rows", empty);
  if (unseen > 0) run.count("cases with unseen keys");
  if (empty > 0) run.count("cases with empty rows");
  return c;
}

bool is_zero(float x) { return x == 0.0f; }  // +0 or -0; NaN is not

void check_zero_gradient(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const MaskingCase c = draw_masking_case(run);
  const AttentionShape& s = c.problem.spec.shape;
  const BackwardResult got = run_with(kernel, c.problem, c.forward);
  for (int64_t key = 0; key < static_cast<int64_t>(c.unseen.size()); ++key) {
    if (!c.unseen[key]) continue;
    for (int64_t d = 0; d < s.head_dim; ++d) {
      if (!is_zero(got.dk[key * s.head_dim + d])) {
        const std::string what = "no query sees this key, yet " + dk_name(s, key * s.head_dim + d) + " = " +
                                 format_values(std::span<const float>(&got.dk[key * s.head_dim + d], 1));
        run.fail(Witness{c.problem, what, {}, false, true}, what);
      }
    }
    for (int64_t col = 0; col < s.value_dim; ++col) {
      if (!is_zero(got.dv[key * s.value_dim + col])) {
        const std::string what = "no query sees this key, yet " + dv_name(s, key * s.value_dim + col) + " = " +
                                 format_values(std::span<const float>(&got.dv[key * s.value_dim + col], 1));
        run.fail(Witness{c.problem, what, {}, false, true}, what);
      }
    }
  }
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    if (!c.empty[row]) continue;
    for (int64_t d = 0; d < s.head_dim; ++d) {
      if (!is_zero(got.dq[row * s.head_dim + d])) {
        const std::string what = "row " + row_name(s, row) + " sees no key, yet " + dq_name(s, row * s.head_dim + d) +
                                 " = " + format_values(std::span<const float>(&got.dq[row * s.head_dim + d], 1));
        run.fail(Witness{c.problem, what, {row}, false, true}, what);
      }
    }
  }
}

void check_poison(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const MaskingCase c = draw_masking_case(run);
  const AttentionShape& s = c.problem.spec.shape;
  const int planted_kind = *rc::gen::inRange(0, 5).as("planted value (0 NaN, 1 +inf, 2 -inf, 3 +max, 4 -max)");
  const float max = static_cast<float>(max_finite(kernel.dtype));
  const float planted[] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY, max, -max};
  const float value = planted[planted_kind];
  Problem poisoned = c.problem;
  for (int64_t key = 0; key < static_cast<int64_t>(c.unseen.size()); ++key) {
    if (!c.unseen[key]) continue;
    std::fill_n(&poisoned.k[key * s.head_dim], s.head_dim, value);
    std::fill_n(&poisoned.v[key * s.value_dim], s.value_dim, value);
  }
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    if (c.empty[row]) std::fill_n(&poisoned.d_out[row * s.value_dim], s.value_dim, value);
  }
  const BackwardResult clean = run_with(kernel, c.problem, c.forward);
  const BackwardResult dirty = run_with(kernel, poisoned, c.forward);
  const GradientDifference diff = first_gradient_difference(clean, dirty, s);
  if (!diff.empty()) {
    const std::string what = "with the unseen keys and values and the dO of rows that see no key set to " +
                             format_values(std::span<const float>(&value, 1)) + ": " + diff.what;
    std::vector<int64_t> rows;
    if (diff.flat_row >= 0) rows.push_back(diff.flat_row);
    run.fail(Witness{poisoned, what, rows, false, true}, what);
  }
}

// A full run that never drew a key no query sees, or a row that sees none, did not test the law.
// Only padding, a window or a mask can hide a key from every row: bottom-right causal masking
// shows every key to the last row. So a kernel that declares causal masking alone (a partial
// kernel users write) is held to empty rows only, never to a case it cannot be given.
std::string reach_of_masking(const LawRun& run, int default_cases) {
  if (run.count_of("cases") < default_cases) return "";
  const Features f = Features::of(run.kernel());
  const bool can_hide_keys = f.padding || f.window || f.mask;
  std::string gaps;
  if (can_hide_keys && run.count_of("cases with unseen keys") == 0) gaps += "no case had a key that no query sees";
  if (run.count_of("cases with empty rows") == 0) gaps += std::string(gaps.empty() ? "" : "; ") + "no case had a row that sees no key";
  return gaps;
}

std::string masking_summary(const LawRun& run) {
  return run.kernel().name + ": " + std::to_string(run.count_of("unseen keys")) + " unseen keys in " +
         std::to_string(run.count_of("cases with unseen keys")) + " cases, " +
         std::to_string(run.count_of("empty rows")) + " rows that see no key in " +
         std::to_string(run.count_of("cases with empty rows")) + " cases, of " +
         std::to_string(run.count_of("cases"));
}

bool applies(const KernelInfo& k) { return has_backward(k) && Features::of(k).any_masking(); }

}  // namespace

std::vector<Law> gradient_masking_laws() {
  std::vector<Law> laws;
  {
    Law law;
    law.family = "GradientMasking";
    law.name = "KeysNoQuerySeesGetExactlyZeroGradient";
    law.statement = "a key no query row of its kv head sees gets dK = dV = 0 exactly, and a row that sees no key "
                    "gets dQ = 0 exactly";
    law.cases = 40;
    law.applies = applies;
    law.check_case = check_zero_gradient;
    law.finish = [cases = law.cases](const LawRun& run) { return reach_of_masking(run, cases); };
    law.summary = masking_summary;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "GradientMasking";
    law.name = "PoisonInUnseenKeysAndEmptyRowsChangesNoGradientBit";
    law.statement = "NaN, +-inf or +-max planted in the keys and values no query sees and in dO of the rows that "
                    "see no key changes no bit of dQ, dK or dV";
    law.cases = 40;
    law.applies = applies;
    law.check_case = check_poison;
    law.finish = [cases = law.cases](const LawRun& run) { return reach_of_masking(run, cases); };
    law.summary = masking_summary;
    laws.push_back(law);
  }
  return laws;
}

}  // namespace attncheck::properties
