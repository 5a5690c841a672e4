// Gradient law 7, equivalences between ways of computing the same gradients (issue 18):
//   - Tile sizes: for any q_block and k_block (1 to past the lengths) the backward gives the bits
//     of its default tiles. Unlike the forward, whose online softmax rescales per tile, a
//     backward recomputes P from the LSE handed in, so no tile-dependent rescaling enters; every
//     dQ element sums its keys and every dK and dV element its rows in one fixed order, and a
//     kernel that keeps that order changes no bit with its tiles (kernel.hpp asks it for threads;
//     this law holds backward kernels to it for tiles too).
//   - Thread counts: at fixed tiles, every thread count gives the same bits (kernel.hpp).
//   - Grouped-query: the backward of a GQA problem equals that of the MHA problem whose every
//     query head has its own copy of its group's K and V, with dK and dV summed over the group.
//     Which parts are bitwise: dQ of a row reads only its own query, dO, O, LSE and its group's
//     keys and values, which are the same numbers in both problems, and the tile law above holds
//     a kernel to sum a row's keys in an order no other row changes, so dQ must be bit-identical.
//     dK and dV are not: the GQA kernel adds the group's heads into one f32 sum and rounds once,
//     while the MHA run rounds each head's sum to the dtype before the group sum (formed here in
//     double), so they agree within B_GQA + sum over the group of B_MHA + gamma(group - 1) times
//     the sum of the MHA magnitudes (the a-priori bounds of both runs: both are within theirs of
//     the same exact value).
// The forward values are handed, the same to every run compared (the kernel's own forward with
// kLse, else the oracle's), so only the backward is on trial. Long cases reach 769 keys.
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gradient_tools.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

SpecRequest tiles_request(const KernelInfo& kernel) {
  SpecRequest request = request_for(kernel);
  request.limits.max_kv_len = 72;  // a few 16- to 64-key tiles; long cases cross 64..256
  request.limits.max_q_len = 40;
  request.limits.max_long_work = int64_t{1} << 18;
  return request;
}

std::string options_text(const KernelOptions& o) {
  return "q_block " + std::to_string(o.q_block) + ", k_block " + std::to_string(o.k_block) + ", threads " +
         std::to_string(o.threads);
}

void compare_runs(LawRun& run, const Problem& problem, const HandedForward& forward, const KernelOptions& a,
                  const KernelOptions& b) {
  const KernelInfo& kernel = run.kernel();
  const BackwardResult x = run_with(kernel, problem, forward, a);
  const BackwardResult y = run_with(kernel, problem, forward, b);
  run.count("cases");
  const GradientDifference diff = first_gradient_difference(x, y, problem.spec.shape);
  if (!diff.empty()) {
    const std::string what = "from (" + options_text(a) + ") to (" + options_text(b) + "): " + diff.what;
    std::vector<int64_t> rows;
    if (diff.flat_row >= 0) rows.push_back(diff.flat_row);
    run.fail(Witness{problem, what, rows, false, true}, what);
  }
}

void check_tiles(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_gradient_spec(tiles_request(kernel), kernel);
  const Problem problem = draw_gradient_problem(spec, kernel.dtype);
  const HandedForward forward = handed_forward(kernel, problem);
  KernelOptions tiles;
  tiles.q_block = *rc::gen::inRange<int64_t>(1, spec.shape.q_len + 3).as("q_block");
  tiles.k_block = *rc::gen::inRange<int64_t>(1, spec.shape.kv_len + 3).as("k_block");
  tiles.threads = 1;
  KernelOptions defaults;
  defaults.threads = 1;
  compare_runs(run, problem, forward, defaults, tiles);
}

void check_threads(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const AttentionSpec spec = draw_gradient_spec(tiles_request(kernel), kernel);
  const Problem problem = draw_gradient_problem(spec, kernel.dtype);
  const HandedForward forward = handed_forward(kernel, problem);
  KernelOptions one;
  one.q_block = *rc::gen::inRange<int64_t>(0, spec.shape.q_len + 3).as("q_block (0: default)");
  one.k_block = *rc::gen::inRange<int64_t>(0, spec.shape.kv_len + 3).as("k_block (0: default)");
  one.threads = 1;
  KernelOptions many = one;
  many.threads = *rc::gen::inRange(2, 9).as("threads compared with 1");
  compare_runs(run, problem, forward, one, many);
}

// The MHA problem of a GQA one: each query head gets its own copy of its group's K and V.
Problem repeated_kv_heads(const Problem& gqa) {
  AttentionSpec spec = gqa.spec;
  const AttentionShape& s = gqa.spec.shape;
  spec.shape.kv_heads = s.q_heads;
  Problem mha = make_zero_problem(spec, gqa.dtype);
  mha.q = gqa.q;
  mha.d_out = gqa.d_out;
  mha.valid_keys = gqa.valid_keys;
  mha.mask = gqa.mask;  // shared: [batch, q_len, kv_len]; per head: [batch, q_heads, ...]: both unchanged
  mha.alibi_slopes = gqa.alibi_slopes;
  const AttentionShape& m = spec.shape;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t g = kv_head_for(s, h);
      std::copy_n(&gqa.k[k_offset(s, b, g, 0)], s.kv_len * s.head_dim, &mha.k[k_offset(m, b, h, 0)]);
      std::copy_n(&gqa.v[v_offset(s, b, g, 0)], s.kv_len * s.value_dim, &mha.v[v_offset(m, b, h, 0)]);
    }
  }
  return mha;
}

void check_gqa(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = bounded_request(kernel);
  request.required.grouped_query = true;
  const AttentionSpec spec = draw_gradient_spec(request, kernel);
  const Problem gqa = draw_gradient_problem(spec, kernel.dtype, ATTNCHECK_BOUNDED_VALUE_KINDS);
  const Problem mha = repeated_kv_heads(gqa);
  const HandedForward forward = handed_forward(kernel, gqa);  // the same forward values for both
  const BoundedGradients g = bounded_backward(kernel, gqa, forward), m = bounded_backward(kernel, mha, forward);
  const AttentionShape& s = spec.shape;
  const AttentionShape& ms = mha.spec.shape;
  run.count("cases");
  if (s.q_heads > s.kv_heads) run.count("cases with groups");
  for (size_t e = 0; e < g.got.dq.size(); ++e) {
    if (!same_bits(g.got.dq[e], m.got.dq[e])) {
      const std::string what = dq_name(s, static_cast<int64_t>(e)) + ": GQA " +
                               format_values(std::span<const float>(&g.got.dq[e], 1)) + ", MHA with repeated K/V " +
                               format_values(std::span<const float>(&m.got.dq[e], 1)) + " (dQ must be bit-identical)";
      run.fail(Witness{gqa, what, {static_cast<int64_t>(e) / s.head_dim}, false, true}, what);
    }
  }
  const int64_t group = s.q_heads / s.kv_heads;
  const auto summed = [&](const char* name, const std::vector<float>& x, const std::vector<double>& bx,
                          const std::vector<float>& y, const std::vector<double>& by, int64_t dim,
                          std::string (*element)(const AttentionShape&, int64_t)) {
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
        for (int64_t j = 0; j < s.kv_len; ++j) {
          for (int64_t d = 0; d < dim; ++d) {
            const int64_t e = ((b * s.kv_heads + kvh) * s.kv_len + j) * dim + d;
            double sum = 0, magnitude = 0, tolerance = bx[e];
            for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
              const int64_t f = ((b * ms.kv_heads + h) * s.kv_len + j) * dim + d;
              sum += y[f];
              magnitude += std::fabs(y[f]);
              tolerance += by[f];
            }
            tolerance += gamma_f64(group - 1) * magnitude;
            const double r = residual_ratio(x[e], sum, tolerance);
            run.note_max("|GQA - sum of MHA| / tolerance", r);
            if (!(r <= 1)) {
              char text[200];
              std::snprintf(text, sizeof text, ": GQA %.9g, sum over the group of the MHA run's %.17g, tolerance %.3g",
                            x[e], sum, tolerance);
              const std::string what = std::string(name) + " " + element(s, e) + text;
              run.fail(Witness{gqa, what, {}, false, true}, what);
            }
          }
        }
      }
    }
  };
  summed("dK", g.got.dk, g.bound.dk, m.got.dk, m.bound.dk, s.head_dim, dk_name);
  summed("dV", g.got.dv, g.bound.dv, m.got.dv, m.bound.dv, s.value_dim, dv_name);
}

}  // namespace

std::vector<Law> gradient_equivalence_laws() {
  std::vector<Law> laws;
  {
    Law law;
    law.family = "GradientEquivalence";
    law.name = "TileSizesNeverChangeGradientBits";
    law.statement = "with the same O and LSE handed in, any q_block and k_block give the bits of the default tiles "
                    "in dQ, dK and dV";
    law.cases = 40;
    law.applies = has_backward;
    law.check_case = check_tiles;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "GradientEquivalence";
    law.name = "ThreadCountNeverChangesGradientBits";
    law.statement = "at fixed tile sizes and the same O and LSE, every thread count gives bit-identical dQ, dK, dV";
    law.cases = 40;
    law.applies = has_backward;
    law.check_case = check_threads;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "GradientEquivalence";
    law.name = "GroupedQueryGradientsEqualMultiHeadGradientsSummedOverGroup";
    law.statement = "GQA backward = MHA backward with each kv head repeated for its query heads: dQ bit-identical, "
                    "dK and dV equal to the MHA ones summed over the group within B_GQA + sum B_MHA";
    law.cases = 25;
    law.applies = [](const KernelInfo& k) { return has_backward(k) && k.has(kGroupedQuery); };
    law.check_case = check_gqa;
    law.finish = [cases = law.cases](const LawRun& run) -> std::string {
      if (run.count_of("cases") < cases || run.count_of("cases with groups") > 0) return "";
      return "no case had a group of two or more query heads";
    };
    laws.push_back(law);
  }
  return laws;
}

}  // namespace attncheck::properties
