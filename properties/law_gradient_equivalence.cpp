// Gradient law 7, equivalences between ways of computing the same gradients (issue 18):
//   - Tile sizes: for any q_block and k_block (1 to past the lengths) the backward gives the bits
//     of its default tiles. Unlike the forward, whose online softmax rescales per tile, a
//     backward recomputes P from the LSE handed in, so no tile-dependent rescaling enters; every
//     dQ element sums its keys and every dK and dV element its rows in one fixed order, and a
//     kernel that keeps that order changes no bit with its tiles (kernel.hpp asks it for threads;
//     this law holds backward kernels to it for tiles too).
//   - Thread counts: at fixed tiles, every thread count gives the same bits (kernel.hpp).
//   - Grouped-query: see law_gradient_bounds.cpp's GQA law (it needs the gradient bound).
// The forward values are handed, the same to every run compared (the kernel's own forward with
// kLse, else the oracle's), so only the backward is on trial. Long cases reach 769 keys.
#include <rapidcheck.h>

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
  return laws;
}

}  // namespace attncheck::properties
