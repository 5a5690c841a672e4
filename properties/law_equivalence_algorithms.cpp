// Law 5, equivalences between algorithms computing the same attention:
//   - Any tile sizes (q_block, k_block from 1 to past the lengths, 0 = the kernel's default)
//     and thread counts: the kernel stays within its a-priori bound, so it agrees with the
//     dense kernel of its dtype within B_K + B_dense, which is checked too.
//   - The thread count never changes a bit (kernel.hpp's contract), at fixed tile sizes.
//   - Decode with a KV cache filled token by token equals causal prefill row by row: step t
//     decodes query t against a cache holding tokens 0..t (NaN in the slots past them), and
//     must agree with row t of the causal prefill (the kernel's forward, or dense) within
//     B_decode + B_prefill.
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "attncheck/oracle/kernel_check.hpp"
#include "generators.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

// Worst |a - b| / (bound_a + bound_b) over a row range, with its index.
struct Agreement {
  double worst = 0;
  int64_t index = -1;
};
Agreement agreement(std::span<const float> a, std::span<const float> b, std::span<const double> bound_a,
                    std::span<const double> bound_b) {
  Agreement g;
  for (size_t i = 0; i < a.size(); ++i) {
    const double ratio = error_ratio(a[i], static_cast<double>(b[i]), bound_a[i] + bound_b[i]);
    if (ratio > g.worst || g.index < 0) {
      g.worst = ratio;
      g.index = static_cast<int64_t>(i);
    }
  }
  return g;
}

KernelOptions draw_tiles(const AttentionShape& s) {
  KernelOptions options;
  options.q_block = *rc::gen::inRange<int64_t>(0, s.q_len + 3).as("q_block (0: default)");
  options.k_block = *rc::gen::inRange<int64_t>(0, s.kv_len + 3).as("k_block (0: default)");
  options.threads = *rc::gen::inRange(0, 4).as("threads (0: default)");
  return options;
}

void check_tiles(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const KernelInfo& dense = *dense_kernel(kernel.dtype);
  SpecRequest request = request_for(kernel);
  request.limits.max_kv_len = 72;  // a few 16- to 64-key tiles fit; long cases cross 64..256
  request.limits.max_q_len = 24;
  const AttentionSpec spec = draw_spec(request);
  const Problem problem = draw_problem(spec, kernel.dtype);
  const KernelOptions options = draw_tiles(spec.shape);
  const OracleRows sampled = oracle_sampled(problem);  // every row of a short case
  const KernelResult full = run_kernel(kernel, problem, options);
  const oracle::OracleResult& exact = sampled.exact;
  // check_kernel picks the rows `exact` holds out of the whole result; the comparison with
  // dense below reads the sampled rows, compacted in the same order.
  const oracle::KernelCheck check = oracle::check_kernel(kernel, problem, exact, full);
  const KernelResult got = select_rows(full, spec.shape, sampled.rows);
  const KernelResult ref = select_rows(run_kernel(dense, problem), spec.shape, sampled.rows);
  const oracle::ErrorBound bound_k = oracle::a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  const oracle::ErrorBound bound_d = oracle::a_priori_bound(problem, exact, dense.error, kernel.dtype);
  Agreement o = agreement(got.o, ref.o, bound_k.output, bound_d.output);
  Agreement l;
  if (kernel.has(kLse)) l = agreement(got.lse, ref.lse, bound_k.lse, bound_d.lse);
  run.count("cases");
  run.note_max("error / bound", std::max(check.o_bound.worst_ratio, check.lse_bound.worst_ratio));
  run.note_max("|K - dense| / (B_K + B_dense)", std::max(o.worst, l.worst));
  if (!check.passed() || o.worst > 1 || l.worst > 1) {
    char head[200];
    std::snprintf(head, sizeof head, "q_block %lld, k_block %lld, threads %d: |K - dense| / (B_K + B_dense) = %.3g (O), %.3g (LSE)",
                  static_cast<long long>(options.q_block), static_cast<long long>(options.k_block), options.threads,
                  o.worst, l.worst);
    const std::string what = std::string(head) + "\n    " + oracle::format_kernel_check(check);
    std::vector<int64_t> rows;
    if (o.index >= 0) rows.push_back(sampled.rows[o.index / spec.shape.value_dim]);
    if (l.index >= 0 && l.worst > 1) rows.push_back(sampled.rows[l.index]);
    run.fail(Witness{problem, what, rows, false}, what);
  }
}

void check_threads(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  request.limits.max_kv_len = 129;
  request.limits.max_work = 400000;  // no oracle here
  const AttentionSpec spec = draw_spec(request);
  const Problem problem = draw_problem(spec, kernel.dtype);
  KernelOptions one = draw_tiles(spec.shape);
  one.threads = 1;
  KernelOptions many = one;
  many.threads = *rc::gen::inRange(2, 9).as("threads compared with 1");
  const KernelResult a = run_kernel(kernel, problem, one), b = run_kernel(kernel, problem, many);
  const AttentionShape& s = spec.shape;
  run.count("cases");
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    const auto x = output_row(a, s, row), y = output_row(b, s, row);
    bool same = !kernel.has(kLse) || same_bits(a.lse[row], b.lse[row]);
    for (int64_t c = 0; c < s.value_dim; ++c) same = same && same_bits(x[c], y[c]);
    if (!same) {
      const std::string what = "row " + row_name(s, row) + " with 1 thread: O " + format_values(x) + " LSE " +
                               format_values(std::span<const float>(a.lse).subspan(row, 1)) + "; with " +
                               std::to_string(many.threads) + " threads: O " + format_values(y) + " LSE " +
                               format_values(std::span<const float>(b.lse).subspan(row, 1));
      run.fail(Witness{problem, what, {row}, false}, what);
    }
  }
}

void check_decode(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const KernelInfo& prefill_kernel = kernel.forward != nullptr ? kernel : *dense_kernel(kernel.dtype);
  SpecRequest request = request_for(kernel);
  request.required.causal = true;
  request.allowed.padding = false;  // the cache holds exactly the tokens so far
  request.allowed.mask = false;     // a mask's layout depends on kv_len at every step
  request.limits.max_q_len = 24;
  request.limits.max_kv_len = 24;
  request.limits.max_work = 30000;
  request.limits.max_long_kv_len = 2 * 256 + 1;  // the prefill is kv_len x kv_len
  request.limits.max_long_q_len = 1;  // budget for one row per token, see below
  request.limits.max_long_work = int64_t{1} << 17;
  request.limits.max_long_dim = 8;
  AttentionSpec spec = draw_spec(request);
  // Prefill: one query per token. Long cases keep the long kv_len (a few tiles), so the
  // decode steps checked near the end run caches across tile edges.
  if (spec.shape.kv_len > request.limits.max_kv_len) {
    spec.shape.q_len = spec.shape.kv_len;
    // The budget was drawn for one row per token; a prefill of kv_len rows keeps one batch
    // entry and at most two query heads (of one kv head) to stay as cheap.
    spec.shape.batch = 1;
    spec.shape.q_heads = std::min<int64_t>(spec.shape.q_heads / spec.shape.kv_heads, 2);
    spec.shape.kv_heads = 1;
  } else {
    spec.shape.kv_len = spec.shape.q_len;
  }
  const Problem prefill = draw_problem(spec, kernel.dtype);
  const int64_t spare = *rc::gen::inRange<int64_t>(0, 10).as("cache slots past the last token");
  KernelOptions options;
  options.kv_splits = *rc::gen::inRange<int64_t>(0, 5).as("kv_splits");
  const KernelResult full = run_kernel(prefill_kernel, prefill);
  const AttentionShape& s = spec.shape;
  // Steps checked: every one of a short case; of a long one, the last two (caches across the
  // most tile edges), the first, and the steps of the rows rows_to_check samples.
  std::vector<int64_t> steps;
  if (lse_elements(s) * s.kv_len * (s.head_dim + s.value_dim) <= kAllRowsWork) {
    for (int64_t t = 0; t < s.q_len; ++t) steps.push_back(t);
  } else {
    steps = {0, s.q_len - 2, s.q_len - 1};
    for (int64_t r : rows_to_check(prefill)) steps.push_back(row_index(s, r).i);
    std::sort(steps.begin(), steps.end());
    steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  }
  std::vector<int64_t> rows;  // every (batch, head) of each step
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t t : steps) rows.push_back(flat_row(s, b, h, t));
    }
  }
  std::sort(rows.begin(), rows.end());
  const OracleRows exact = oracle_on(prefill, rows);
  const oracle::ErrorBound bound_decode = oracle::a_priori_bound(prefill, exact.exact, kernel.error, kernel.dtype);
  const oracle::ErrorBound bound_prefill =
      oracle::a_priori_bound(prefill, exact.exact, prefill_kernel.error, kernel.dtype);
  const int64_t capacity = s.kv_len + spare;
  run.count("cases");
  for (int64_t t : steps) {
    // Step t: query t against tokens 0..t.
    AttentionSpec step_spec = spec;
    step_spec.shape.q_len = 1;
    step_spec.shape.kv_len = t + 1;
    Problem step = make_zero_problem(step_spec, kernel.dtype);
    step.alibi_slopes = prefill.alibi_slopes;
    const AttentionShape& d = step_spec.shape;
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.q_heads; ++h) {
        std::copy_n(&prefill.q[q_offset(s, b, h, t)], s.head_dim, &step.q[q_offset(d, b, h, 0)]);
      }
      for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
        std::copy_n(&prefill.k[k_offset(s, b, kvh, 0)], (t + 1) * s.head_dim, &step.k[k_offset(d, b, kvh, 0)]);
        std::copy_n(&prefill.v[v_offset(s, b, kvh, 0)], (t + 1) * s.value_dim, &step.v[v_offset(d, b, kvh, 0)]);
      }
    }
    const KernelResult got = run_decode(kernel, step, capacity, options);
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.q_heads; ++h) {
        const int64_t row = flat_row(s, b, h, t), step_row = flat_row(d, b, h, 0);
        const int64_t slot = exact.slot[row];  // where the row's bounds are
        const auto span_o = [&](const std::vector<double>& v) {
          return std::span<const double>(v).subspan(slot * s.value_dim, s.value_dim);
        };
        Agreement o = agreement(output_row(got, d, step_row), output_row(full, s, row), span_o(bound_decode.output),
                                span_o(bound_prefill.output));
        Agreement l;
        if (kernel.has(kLse) && prefill_kernel.has(kLse)) {
          l = agreement(std::span<const float>(got.lse).subspan(step_row, 1),
                        std::span<const float>(full.lse).subspan(row, 1),
                        std::span<const double>(bound_decode.lse).subspan(slot, 1),
                        std::span<const double>(bound_prefill.lse).subspan(slot, 1));
        }
        run.note_max("|decode - prefill| / (B_decode + B_prefill)", std::max(o.worst, l.worst));
        if (o.worst > 1 || l.worst > 1) {
          const std::string what =
              "decode step " + std::to_string(t) + " (cache capacity " + std::to_string(capacity) + ", kv_splits " +
              std::to_string(options.kv_splits) + ") row " + row_name(s, row) + ": decode O " +
              format_values(output_row(got, d, step_row)) + " LSE " +
              format_values(std::span<const float>(got.lse).subspan(step_row, 1)) + "; prefill (" +
              prefill_kernel.name + ") O " + format_values(output_row(full, s, row)) + " LSE " +
              format_values(std::span<const float>(full.lse).subspan(row, 1));
          run.fail(Witness{step, what, {step_row}, true}, what);
        }
      }
    }
  }
}

}  // namespace

std::vector<Law> algorithm_equivalence_laws() {
  std::vector<Law> laws;
  {
    Law law;
    law.family = "Equivalence";
    law.name = "AnyTileSizesAgreeWithDenseWithinBound";
    law.statement =
        "for any q_block, k_block and thread count the kernel is within its a-priori bound and within "
        "B_K + B_dense of the dense kernel, element by element, for O and LSE";
    law.cases = 60;
    law.applies = [](const KernelInfo& k) {
      return k.forward != nullptr && dense_kernel(k.dtype) != nullptr && !is_dense_reference(k);
    };
    law.check_case = check_tiles;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "Equivalence";
    law.name = "ThreadCountNeverChangesBits";
    law.statement = "at fixed tile sizes, every thread count gives bit-identical O and LSE";
    law.cases = 60;
    law.applies = [](const KernelInfo& k) { return k.forward != nullptr; };
    law.check_case = check_threads;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "Equivalence";
    law.name = "DecodeTokenByTokenEqualsCausalPrefill";
    law.statement =
        "decoding query t against a cache filled with tokens 0..t equals row t of the causal prefill within "
        "B_decode + B_prefill, for O and LSE";
    law.cases = 40;
    law.applies = [](const KernelInfo& k) {
      return k.decode != nullptr && (k.forward != nullptr || dense_kernel(k.dtype) != nullptr);
    };
    law.check_case = check_decode;
    laws.push_back(law);
  }
  return laws;
}

}  // namespace attncheck::properties
