// Law 1, row-stochasticity: each output row is a convex combination of the visible value rows.
//   - the weights, read out through identity values (value_dim = kv_len, V = I, so O = weights),
//     sum to one within the sum of their a-priori bounds;
//   - with V all ones the output is one, within the a-priori bound;
//   - every output element lies in [min_j v_jc - B_c, max_j v_jc + B_c] over the visible keys j,
//     B_c its a-priori bound (the exact output lies in the hull; the computed one within B_c).
// Rows with no visible key must be exactly zero (checked in full by the mask-leakage laws).
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "attncheck/storage.hpp"
#include "generators.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

// Relative error of summing at most a few hundred doubles, far above 2^-53 * n.
constexpr double kDoubleSumSlack = 1e-13;

// The kernel's result and, for the rows checked (every row of a short case, a sample of a
// long one: law_tools.hpp), the oracle and the bounds; r.exact.rows[n] and the bounds' entry n
// belong to flat row r.checked.rows[n].
struct Run {
  Problem problem;
  KernelResult got;
  OracleRows checked;
  oracle::ErrorBound bound;
};

Run run_with_bounds(const KernelInfo& kernel, Problem problem, int64_t min_rows = 2) {
  Run r{std::move(problem), {}, {}, {}};
  r.got = run_kernel(kernel, r.problem);
  r.checked = oracle_sampled(r.problem, min_rows);
  r.bound = oracle::a_priori_bound(r.problem, r.checked.exact, kernel.error, kernel.dtype);
  return r;
}

std::string row_detail(const Run& r, int64_t row, const std::string& what) {
  const AttentionShape& s = r.problem.spec.shape;
  return "row " + row_name(s, row) + ": " + what + "; kernel row " + format_values(output_row(r.got, s, row));
}

void check_weights_sum_to_one(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  request.limits.weights_as_values = true;
  // The oracle's cost per row grows with kv_len^2 here (kv_len output columns): long cases
  // stop at 5 x 64 + 1 keys (every edge of 64, 128 and 256 up to 257 and 320) and check one row.
  request.limits.max_long_kv_len = 5 * 64 + 1;
  const AttentionSpec spec = with_weight_outputs(draw_spec(request), kernel);
  Problem problem = draw_problem(spec, kernel.dtype);
  set_identity_values(problem);
  const Run r = run_with_bounds(kernel, std::move(problem), 1);
  const AttentionShape& s = spec.shape;
  for (size_t n = 0; n < r.checked.rows.size(); ++n) {
    const oracle::RowTrace& row = r.checked.exact.rows[n];
    const int64_t flat = r.checked.rows[n];
    const auto weights = output_row(r.got, s, flat);
    double sum = 0, tolerance = 0;
    for (int64_t c = 0; c < s.value_dim; ++c) {
      sum += weights[c];
      tolerance += r.bound.output[n * s.value_dim + c];
    }
    const double expected = row.visible_count > 0 ? 1.0 : 0.0;
    tolerance += kDoubleSumSlack;
    run.note_max("sum error / tolerance", std::fabs(sum - expected) / tolerance);
    if (!(std::fabs(sum - expected) <= tolerance)) {  // NaN fails too
      char what[200];
      std::snprintf(what, sizeof what, "weights sum to %.17g, expected %g within %.3g", sum, expected, tolerance);
      run.fail(Witness{r.problem, row_detail(r, flat, what), {flat}, false}, what);
    }
  }
}

void check_ones_give_one(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(request_for(kernel));
  Problem problem = draw_problem(spec, kernel.dtype);
  std::fill(problem.v.begin(), problem.v.end(), 1.0f);
  const Run r = run_with_bounds(kernel, std::move(problem));
  const AttentionShape& s = spec.shape;
  for (size_t n = 0; n < r.checked.rows.size(); ++n) {
    const oracle::RowTrace& row = r.checked.exact.rows[n];
    const int64_t flat = r.checked.rows[n];
    const double expected = row.visible_count > 0 ? 1.0 : 0.0;
    for (int64_t c = 0; c < s.value_dim; ++c) {
      const int64_t e = flat * s.value_dim + c;
      const double ratio = error_ratio(r.got.o[e], expected, r.bound.output[n * s.value_dim + c]);
      run.note_max("error / bound", ratio);
      if (ratio > 1) {
        char what[200];
        std::snprintf(what, sizeof what, "O[%lld] = %.9g with V all ones, expected %g within %.3g",
                      static_cast<long long>(c), r.got.o[e], expected, r.bound.output[n * s.value_dim + c]);
        run.fail(Witness{r.problem, row_detail(r, flat, what), {flat}, false}, what);
      }
    }
  }
}

void check_convex_hull(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_spec(request_for(kernel));
  // Shifted values make whole columns one-signed, where shrinking outputs toward 0 shows.
  const Problem base = draw_problem(spec, kernel.dtype);
  Problem problem = base;
  const float offset = *rc::gen::element(0.0f, 2.0f, -2.0f).as("value offset");
  for (float& v : problem.v) v = round_to_dtype(kernel.dtype, v + offset);
  const Run r = run_with_bounds(kernel, std::move(problem));
  const AttentionShape& s = spec.shape;
  for (size_t n = 0; n < r.checked.rows.size(); ++n) {
    const oracle::RowTrace& row = r.checked.exact.rows[n];
    if (row.visible_count == 0) continue;
    const int64_t flat = r.checked.rows[n];
    const int64_t kvh = kv_head_for(s, row.head);
    const std::vector<uint8_t> visible = visible_keys(r.problem, flat);
    for (int64_t c = 0; c < s.value_dim; ++c) {
      double lo = INFINITY, hi = -INFINITY;
      for (int64_t j = 0; j < s.kv_len; ++j) {
        if (!visible[j]) continue;
        const double v = r.problem.v[v_offset(s, row.batch, kvh, j) + c];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      const int64_t e = flat * s.value_dim + c;
      const double o = r.got.o[e], b = r.bound.output[n * s.value_dim + c];
      if (!(o >= lo - b && o <= hi + b)) {
        char what[240];
        std::snprintf(what, sizeof what, "O[%lld] = %.9g outside the visible values' range [%.9g, %.9g] widened by %.3g",
                      static_cast<long long>(c), o, lo, hi, b);
        run.fail(Witness{r.problem, row_detail(r, flat, what), {flat}, false}, what);
      }
    }
  }
}

Law make(const char* name, const char* statement, void (*check)(LawRun&)) {
  Law law;
  law.family = "RowStochasticity";
  law.name = name;
  law.statement = statement;
  law.cases = 40;
  law.applies = [](const KernelInfo& k) { return k.forward != nullptr; };
  law.check_case = check;
  return law;
}

}  // namespace

std::vector<Law> row_stochasticity_laws() {
  std::vector<Law> laws;
  laws.push_back(make("WeightsSumToOneOverVisibleKeys",
                      "with identity values the output row (the weights) sums to 1 within the sum of its "
                      "a-priori bounds (0 exactly for a row with no visible key)",
                      check_weights_sum_to_one));
  laws.push_back(make("OutputIsOneWhenValuesAreOnes",
                      "with V all ones every output element is 1 within its a-priori bound",
                      check_ones_give_one));
  laws.push_back(make("OutputLiesInConvexHullOfVisibleValues",
                      "every output element lies within the range of the visible value rows, widened by its "
                      "a-priori bound",
                      check_convex_hull));
  return laws;
}

}  // namespace attncheck::properties
