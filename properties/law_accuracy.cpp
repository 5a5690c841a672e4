// Law 4, accuracy against the oracle, for O and LSE alike:
//   - every element within the a-priori bound of docs/error-model.md (oracle/error_bound.hpp);
//   - no worse than twice the dense kernel of the same dtype, plus an epsilon:
//       err_K[c] <= (2 rho_D + 1/2) B_D[c] + max(0, B_K[c] - B_D[c])
//     where err = |kernel - oracle|, B_D and B_K are the a-priori bounds for dense's and the
//     kernel's error traits, and rho_D = max_c err_D[c] / B_D[c] is dense's worst share of its
//     bound on the same problem. Epsilon is half of dense's bound plus what the kernel's own
//     declared traits (online softmax, weights rounded to storage) add to it. An f32 kernel
//     whose row sum is off by a relative 2^-20 fails it (meta_test.cpp): on small problems
//     dense is exact or nearly so and its bound is a few u, while 2^-20 is 16 u.
//   - decode kernels: the same bound through the decode entry point.
// Every run prints, pass or fail, max ULPs and bits of error per kernel, and checks that every
// declared feature was exercised with q_len != kv_len and head_dim != value_dim.
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

constexpr double kDenseEpsilon = 0.5;  // in units of dense's a-priori bound

// Features a kernel may declare, with the test of a spec that uses it.
struct FeatureUse {
  const char* name;
  uint32_t capability;
  bool (*used)(const AttentionSpec&);
};
constexpr FeatureUse kFeatureUses[] = {
    {"causal", kCausal, [](const AttentionSpec& s) { return s.causal; }},
    {"padding", kPadding, [](const AttentionSpec& s) { return s.has_valid_keys; }},
    {"window", kWindow,
     [](const AttentionSpec& s) {
       return s.window_left != kUnboundedWindow || s.window_right != kUnboundedWindow;
     }},
    {"mask", kBoolMask, [](const AttentionSpec& s) { return s.mask != MaskKind::none; }},
    {"alibi", kAlibi, [](const AttentionSpec& s) { return s.has_alibi; }},
    {"gqa", kGroupedQuery, [](const AttentionSpec& s) { return s.shape.kv_heads < s.shape.q_heads; }},
    {"scale", kCustomScale, [](const AttentionSpec& s) { return s.scale.has_value(); }},
};

// Counts features used with q_len != kv_len and, when the kernel can, head_dim != value_dim:
// the alignment of causal masks, windows and ALiBi depends on it.
void note_coverage(LawRun& run, const AttentionSpec& spec) {
  const AttentionShape& s = spec.shape;
  const bool value_dim_ok = s.head_dim != s.value_dim || !run.kernel().has(kValueDim);
  if (s.q_len == s.kv_len || !value_dim_ok) return;
  for (const FeatureUse& f : kFeatureUses) {
    if (f.used(spec)) run.count(std::string("covered ") + f.name);
  }
}

std::string coverage_gaps(const LawRun& run, int default_cases) {
  if (run.count_of("cases") < default_cases) return "";  // a short run (RC_PARAMS) is not judged
  std::string gaps;
  for (const FeatureUse& f : kFeatureUses) {
    if (run.kernel().has(f.capability) && run.count_of(std::string("covered ") + f.name) == 0) {
      gaps += std::string(gaps.empty() ? "" : ", ") + f.name;
    }
  }
  if (gaps.empty()) return "";
  return "features never exercised with q_len != kv_len and head_dim != value_dim in " +
         std::to_string(run.count_of("cases")) + " cases: " + gaps;
}

void tally(LawRun& run, const oracle::KernelCheck& c) {
  run.count("cases");
  run.note_max("O ulp", c.o_metrics.max_ulp);
  run.note_max("O bits", c.o_metrics.bits);
  run.note_max("ratio", c.o_bound.worst_ratio);
  if (c.checks_lse) {
    run.note_max("LSE ulp", c.lse_metrics.max_ulp);
    run.note_max("LSE bits", c.lse_metrics.bits);
    run.note_max("ratio", c.lse_bound.worst_ratio);
  }
}

std::string accuracy_summary(const LawRun& run, const char* what) {
  char line[320];
  std::snprintf(line, sizeof line,
                "%s %s: O max_ulp %.4g bits %.2f, LSE max_ulp %.4g bits %.2f, worst error/bound %.3g "
                "over %lld cases",
                run.kernel().name.c_str(), what, run.max_of("O ulp"), run.max_of("O bits"),
                run.max_of("LSE ulp"), run.max_of("LSE bits"), run.max_of("ratio"),
                static_cast<long long>(run.count_of("cases")));
  std::string out = line;
  if (!run.kernel().has(kLse)) out += " (no LSE)";
  return out;
}

// The rows holding the worst O element and the worst LSE (flat rows of the problem; the
// check's indices count the checked rows `checked` only).
std::vector<int64_t> worst_rows(const oracle::KernelCheck& c, const AttentionShape& s,
                                const std::vector<int64_t>& checked) {
  std::vector<int64_t> rows;
  if (c.o_bound.worst_index >= 0) rows.push_back(checked[c.o_bound.worst_index / s.value_dim]);
  if (c.checks_lse && c.lse_bound.worst_index >= 0 &&
      (rows.empty() || rows[0] != checked[c.lse_bound.worst_index])) {
    rows.push_back(checked[c.lse_bound.worst_index]);
  }
  return rows;
}

void check_bound_case(LawRun& run, bool through_decode) {
  const KernelInfo& kernel = run.kernel();
  SpecRequest request = request_for(kernel);
  KernelOptions options;
  int64_t capacity = 0;
  if (through_decode) {
    // Decode: a few queries at the end of a cache, lengths up to past a 128-wide tile; long
    // cases hold caches of a few tiles or of 2047..2049 keys (flash-decoding's chunk edge).
    request.required.causal = true;
    request.limits.max_q_len = 4;
    request.limits.max_kv_len = 129;
    request.limits.max_long_q_len = 4;
    request.limits.decode_chunk = 2048;
  }
  const AttentionSpec spec = draw_spec(request);
  if (through_decode) {
    capacity = spec.shape.kv_len + *rc::gen::inRange<int64_t>(0, 10).as("cache slots past kv_len");
    options.kv_splits = *rc::gen::inRange<int64_t>(0, 5).as("kv_splits");
  }
  const Problem problem = draw_problem(spec, kernel.dtype);
  const KernelResult got = run_entry(kernel, problem, through_decode, options, capacity);
  // Every row of a short case; a sample of a long one (law_tools.hpp).
  const OracleRows exact = oracle_sampled(problem);
  const oracle::KernelCheck check =
      oracle::check_kernel(kernel, problem, exact.exact, got);  // it compares the rows exact holds
  tally(run, check);
  note_coverage(run, spec);
  if (!check.passed()) {
    run.fail(Witness{problem, oracle::format_kernel_check(check), worst_rows(check, spec.shape, exact.rows),
                     through_decode},
             "error exceeds the a-priori bound:\n    " + oracle::format_kernel_check(check));
  }
}

// Worst err / allowance, where allowance = (2 rho_D + eps) B_D + max(0, B_K - B_D).
struct DenseComparison {
  double dense_share = 0;  // rho_D
  double worst = 0;        // max err_K / allowance
  int64_t worst_index = -1;
};

DenseComparison compare_with_dense(std::span<const float> kernel, std::span<const float> dense,
                                   std::span<const double> exact, std::span<const double> bound_kernel,
                                   std::span<const double> bound_dense) {
  DenseComparison c;
  for (size_t i = 0; i < exact.size(); ++i) {
    c.dense_share = std::max(c.dense_share, error_ratio(dense[i], exact[i], bound_dense[i]));
  }
  for (size_t i = 0; i < exact.size(); ++i) {
    const double allowance = (2 * c.dense_share + kDenseEpsilon) * bound_dense[i] +
                             std::max(0.0, bound_kernel[i] - bound_dense[i]);
    const double ratio = error_ratio(kernel[i], exact[i], allowance);
    if (ratio > c.worst || c.worst_index < 0) {
      c.worst = ratio;
      c.worst_index = static_cast<int64_t>(i);
    }
  }
  return c;
}

std::string describe_comparison(const char* what, const DenseComparison& c, std::span<const float> kernel,
                                std::span<const float> dense, std::span<const double> exact) {
  char text[400];
  const size_t i = static_cast<size_t>(std::max<int64_t>(c.worst_index, 0));
  std::snprintf(text, sizeof text,
                "%s[%lld]: kernel %.9g, dense %.9g, oracle %.17g; kernel error / allowance %.3g "
                "(dense's worst error/bound rho_D = %.3g)",
                what, static_cast<long long>(c.worst_index), kernel.empty() ? 0.0 : kernel[i],
                dense.empty() ? 0.0 : dense[i], exact.empty() ? 0.0 : exact[i], c.worst, c.dense_share);
  return text;
}

void check_dense_case(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const KernelInfo& dense = *dense_kernel(kernel.dtype);
  const AttentionSpec spec = draw_spec(request_for(kernel));
  const Problem problem = draw_problem(spec, kernel.dtype);
  const OracleRows sampled = oracle_sampled(problem);  // every row of a short case
  const KernelResult got = select_rows(run_kernel(kernel, problem), spec.shape, sampled.rows);
  const KernelResult ref = select_rows(run_kernel(dense, problem), spec.shape, sampled.rows);
  const oracle::OracleResult& exact = sampled.exact;
  const oracle::ErrorBound bound_k = oracle::a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  const oracle::ErrorBound bound_d = oracle::a_priori_bound(problem, exact, dense.error, kernel.dtype);
  const std::vector<double> o_exact = oracle::outputs_f64(exact);
  const DenseComparison o = compare_with_dense(got.o, ref.o, o_exact, bound_k.output, bound_d.output);
  run.count("cases");
  run.note_max("O ratio", o.worst);
  run.note_max("O rho_D", o.dense_share);
  std::string failure;
  std::vector<int64_t> rows;
  if (o.worst > 1) {
    failure = describe_comparison("O", o, got.o, ref.o, o_exact);
    rows.push_back(sampled.rows[o.worst_index / spec.shape.value_dim]);
  }
  if (kernel.has(kLse)) {
    const std::vector<double> lse_exact = oracle::lse_f64(exact);
    const DenseComparison l = compare_with_dense(got.lse, ref.lse, lse_exact, bound_k.lse, bound_d.lse);
    run.note_max("LSE ratio", l.worst);
    if (l.worst > 1) {
      failure += (failure.empty() ? "" : "\n    ") + describe_comparison("LSE", l, got.lse, ref.lse, lse_exact);
      rows.push_back(sampled.rows[l.worst_index]);
    }
  }
  if (!failure.empty()) {
    run.fail(Witness{problem, failure, rows, false},
             "error exceeds twice dense's plus epsilon:\n    " + failure);
  }
}

std::string dense_summary(const LawRun& run) {
  char line[256];
  std::snprintf(line, sizeof line,
                "%s vs %s: worst error / allowance O %.3g, LSE %.3g (dense's worst error/bound %.3g) over "
                "%lld cases",
                run.kernel().name.c_str(), std::string("dense_").append(dtype_name(run.kernel().dtype)).c_str(),
                run.max_of("O ratio"), run.max_of("LSE ratio"), run.max_of("O rho_D"),
                static_cast<long long>(run.count_of("cases")));
  return line;
}

}  // namespace

std::vector<Law> accuracy_laws() {
  std::vector<Law> laws;
  {
    Law law;
    law.family = "Accuracy";
    law.name = "OutputAndLseWithinAPrioriBound";
    law.statement =
        "every element of O and LSE lies within the a-priori per-element bound of docs/error-model.md";
    law.cases = 60;
    law.applies = [](const KernelInfo& k) { return k.forward != nullptr; };
    law.check_case = [](LawRun& run) { check_bound_case(run, false); };
    law.finish = [cases = law.cases](const LawRun& run) { return coverage_gaps(run, cases); };
    law.summary = [](const LawRun& run) { return accuracy_summary(run, "accuracy"); };
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "Accuracy";
    law.name = "ErrorAtMostTwiceDensePlusEpsilon";
    law.statement =
        "|K - oracle| <= (2 rho_D + 1/2) B_dense + max(0, B_K - B_dense) per element, for O and LSE, "
        "where rho_D is the dense kernel's worst error/bound on the same problem";
    law.cases = 60;
    law.applies = [](const KernelInfo& k) {
      return k.forward != nullptr && dense_kernel(k.dtype) != nullptr && !is_dense_reference(k);
    };
    law.check_case = check_dense_case;
    law.summary = dense_summary;
    laws.push_back(law);
  }
  {
    Law law;
    law.family = "Accuracy";
    law.name = "DecodeWithinAPrioriBound";
    law.statement =
        "through the decode entry point (cache with NaN slots past kv_len, any kv_splits), every element "
        "of O and LSE lies within the a-priori bound";
    law.cases = 60;
    law.applies = [](const KernelInfo& k) { return k.decode != nullptr; };
    law.check_case = [](LawRun& run) { check_bound_case(run, true); };
    law.summary = [](const LawRun& run) { return accuracy_summary(run, "decode accuracy"); };
    laws.push_back(law);
  }
  return laws;
}

}  // namespace attncheck::properties
