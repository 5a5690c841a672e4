#include "attncheck/golden/backward_check.hpp"

#include <algorithm>
#include <cstdio>

#include "attncheck/formats/results_json.hpp"

namespace attncheck::golden {

using formats::OrderedJson;
using formats::json_number;
using oracle::BackwardRunCheck;
using oracle::ForwardSource;

BackwardSummaryRow& BackwardSummary::row(const std::string& kernel, const std::string& source) {
  for (BackwardSummaryRow& r : rows_) {
    if (r.kernel == kernel && r.source == source) return r;
  }
  BackwardSummaryRow fresh;
  fresh.kernel = kernel;
  fresh.source = source;
  rows_.push_back(std::move(fresh));
  return rows_.back();
}

void BackwardSummary::declare(const std::string& kernel) {
  for (ForwardSource s : kForwardSources) row(kernel, oracle::forward_source_name(s));
}

void BackwardSummary::add(const std::string& kernel, ForwardSource source, const BackwardRunCheck& run) {
  BackwardSummaryRow& r = row(kernel, oracle::forward_source_name(source));
  if (!run.ran()) {
    ++r.skipped;
    ++r.skip_reasons[run.skipped];
    return;
  }
  if (!run.error.empty()) {
    ++r.checked;
    ++r.failed;
    ++r.threw;
    return;
  }
  const oracle::GradientCheck& c = run.check;
  if (c.judged() == 0) {
    ++r.unjudged;
    return;
  }
  ++r.checked;
  ++(c.passed() ? r.passed : r.failed);
  r.dq_max_ulp = std::max(r.dq_max_ulp, c.dq_metrics.max_ulp);
  r.dk_max_ulp = std::max(r.dk_max_ulp, c.dk_metrics.max_ulp);
  r.dv_max_ulp = std::max(r.dv_max_ulp, c.dv_metrics.max_ulp);
  r.worst_ratio = std::max({r.worst_ratio, c.dq_bound.worst_ratio, c.dk_bound.worst_ratio, c.dv_bound.worst_ratio});
}

std::vector<std::string> BackwardSummary::checked_nothing() const {
  std::vector<std::string> out;
  for (const BackwardSummaryRow& r : rows_) {
    if (r.checked == 0) out.push_back(r.kernel + " (" + r.source + ")");
  }
  return out;
}

std::string BackwardSummary::render() const {
  size_t width = 6;
  for (const BackwardSummaryRow& r : rows_) width = std::max(width, r.kernel.size());
  std::string out;
  char line[400];
  std::snprintf(line, sizeof line, "%-*s  %-14s %7s %6s %6s %7s %8s %10s %10s %10s %11s\n", static_cast<int>(width),
                "kernel", "O, LSE from", "checked", "passed", "failed", "skipped", "unjudged", "dQ max_ulp",
                "dK max_ulp", "dV max_ulp", "err/bound");
  out += line;
  for (const BackwardSummaryRow& r : rows_) {
    const bool any = r.checked > r.threw;
    auto number = [&](double x) {
      char text[32];
      if (!any) return std::string("-");
      std::snprintf(text, sizeof text, "%.3g", x);
      return std::string(text);
    };
    std::snprintf(line, sizeof line, "%-*s  %-14s %7lld %6lld %6lld %7lld %8lld %10s %10s %10s %11s\n",
                  static_cast<int>(width), r.kernel.c_str(), r.source.c_str(), static_cast<long long>(r.checked),
                  static_cast<long long>(r.passed), static_cast<long long>(r.failed), static_cast<long long>(r.skipped),
                  static_cast<long long>(r.unjudged), number(r.dq_max_ulp).c_str(), number(r.dk_max_ulp).c_str(),
                  number(r.dv_max_ulp).c_str(), number(r.worst_ratio).c_str());
    out += line;
  }
  return out;
}

std::string format_backward_run(const BackwardKernelRun& r) {
  const std::string what = r.kernel->name + " backward (" + oracle::forward_source_name(r.source) + ")";
  if (!r.run.ran()) return "skip " + what + ": " + r.run.skipped;
  if (!r.run.error.empty()) return "FAIL " + what + ": threw: " + r.run.error;
  if (r.run.check.judged() == 0) return "unjudged " + what + ": every gradient read a non-finite input";
  return std::string(r.run.passed() ? "PASS " : "FAIL ") + what + ": " + oracle::format_gradient_check(r.run.check);
}

std::vector<BackwardKernelRun> run_backward_kernels(const Problem& problem, const oracle::Gradients& exact,
                                                    const std::vector<const KernelInfo*>& kernels) {
  std::vector<BackwardKernelRun> out;
  for (const KernelInfo* kernel : kernels) {
    if (kernel->backward == nullptr) continue;
    for (ForwardSource source : kForwardSources) {
      BackwardKernelRun r;
      r.kernel = kernel;
      r.source = source;
      r.run = oracle::run_and_check_backward(*kernel, problem, exact, source);
      r.run.got = {};  // the check keeps what the results need
      out.push_back(std::move(r));
    }
  }
  return out;
}

BackwardTraceReport check_backward_kernels(const Problem& problem, const oracle::Gradients& exact,
                                           const std::vector<const KernelInfo*>& kernels) {
  BackwardTraceReport report;
  int with_backward = 0;
  for (const KernelInfo* k : kernels) {
    if (k->backward == nullptr) continue;
    ++with_backward;
    report.summary.declare(k->name);
  }
  report.runs = run_backward_kernels(problem, exact, kernels);
  int judged = 0;
  for (const BackwardKernelRun& r : report.runs) {
    report.summary.add(r.kernel->name, r.source, r.run);
    if (!r.run.ran()) continue;
    if (!r.run.error.empty()) {
      ++judged;
      report.failures.push_back("kernel " + r.kernel->name + " backward (" + oracle::forward_source_name(r.source) +
                                ") threw: " + r.run.error);
    } else if (r.run.check.judged() > 0) {
      ++judged;
      if (!r.run.check.passed()) {
        report.failures.push_back("kernel " + r.kernel->name + " backward (" + oracle::forward_source_name(r.source) +
                                  ") exceeded its a-priori gradient bound");
      }
    }
  }
  if (with_backward == 0) {
    report.failures.push_back("nothing was checked: none of the " + std::to_string(kernels.size()) +
                              " selected kernels has a backward entry point (kBackward); select one with --kernel, "
                              "or pass --no-kernels for the ledgers only");
  } else if (judged == 0) {
    report.failures.push_back("nothing was checked: no selected backward kernel could run this problem, or every "
                              "gradient read a non-finite input (reasons above)");
  }
  return report;
}

namespace {

// The worst element by its flat index in the gradient's layout (Q's, K's or V's).
OrderedJson bound_json(const oracle::BoundCheck& b) {
  OrderedJson j;
  j["within"] = b.passed();
  j["outside"] = b.outside;
  j["worst_ratio"] = json_number(b.worst_ratio);
  if (b.worst_index >= 0) {
    j["worst"] = OrderedJson{{"index", b.worst_index},
                             {"kernel", json_number(b.worst_actual)},
                             {"oracle", json_number(b.worst_exact)},
                             {"bound", json_number(b.worst_bound)}};
  }
  return j;
}

OrderedJson gradient_json(const oracle::ErrorMetrics& m, const oracle::BoundCheck& b) {
  OrderedJson j = formats::metrics_json(m);
  j["bound"] = bound_json(b);
  return j;
}

OrderedJson values_json(const std::vector<oracle::Real>& values) {
  OrderedJson out = OrderedJson::array();
  for (const oracle::Real& x : values) out.push_back(json_number(oracle::round_to_f64(x)));
  return out;
}

}  // namespace

OrderedJson backward_run_json(const BackwardKernelRun& r) {
  OrderedJson j;
  j["name"] = r.kernel->name;
  j["dtype"] = std::string(dtype_name(r.kernel->dtype));
  j["forward_source"] = oracle::forward_source_name(r.source);
  if (!r.run.ran()) {
    j["status"] = "skipped";
    j["reason"] = r.run.skipped;
    return j;
  }
  if (!r.run.error.empty()) {
    j["status"] = "error";
    j["reason"] = r.run.error;
    return j;
  }
  const oracle::GradientCheck& c = r.run.check;
  j["status"] = c.judged() == 0 ? "unjudged" : c.passed() ? "pass" : "fail";
  if (c.judged() == 0) j["reason"] = "every gradient read a non-finite input (docs/semantics.md)";
  j["handed_nonfinite_rows"] = c.handed_nonfinite_rows;
  j["dq"] = gradient_json(c.dq_metrics, c.dq_bound);
  j["dk"] = gradient_json(c.dk_metrics, c.dk_bound);
  j["dv"] = gradient_json(c.dv_metrics, c.dv_bound);
  return j;
}

OrderedJson backward_summary_json(const BackwardSummary& summary) {
  OrderedJson out = OrderedJson::array();
  for (const BackwardSummaryRow& r : summary.rows()) {
    OrderedJson j;
    j["kernel"] = r.kernel;
    j["forward_source"] = r.source;
    j["checked"] = r.checked;
    j["passed"] = r.passed;
    j["failed"] = r.failed;
    j["threw"] = r.threw;
    j["unjudged"] = r.unjudged;
    j["skipped"] = r.skipped;
    OrderedJson reasons = OrderedJson::object();
    for (const auto& [reason, count] : r.skip_reasons) reasons[reason] = count;
    j["skip_reasons"] = reasons;
    const bool any = r.checked > r.threw;
    j["dq_max_ulp"] = any ? json_number(r.dq_max_ulp) : OrderedJson(nullptr);
    j["dk_max_ulp"] = any ? json_number(r.dk_max_ulp) : OrderedJson(nullptr);
    j["dv_max_ulp"] = any ? json_number(r.dv_max_ulp) : OrderedJson(nullptr);
    j["worst_ratio"] = any ? json_number(r.worst_ratio) : OrderedJson(nullptr);
    out.push_back(j);
  }
  return out;
}

OrderedJson trace_backward_results_json(const std::string& source, const Problem& p, const oracle::Gradients& exact,
                                        const BackwardTraceReport& report) {
  const AttentionShape& s = p.spec.shape;
  OrderedJson doc;
  doc["format"] = "attncheck-trace-backward-results";
  doc["version"] = formats::kResultsJsonVersion;
  doc["problem"] = OrderedJson{{"source", source},
                               {"spec", describe(p.spec)},
                               {"dtype", std::string(dtype_name(p.dtype))},
                               {"shape",
                                {{"batch", s.batch},
                                 {"q_heads", s.q_heads},
                                 {"kv_heads", s.kv_heads},
                                 {"q_len", s.q_len},
                                 {"kv_len", s.kv_len},
                                 {"head_dim", s.head_dim},
                                 {"value_dim", s.value_dim}}}};
  {
    oracle::PrecisionScope scope(exact.precision_bits);
    doc["oracle"] = OrderedJson{{"precision_bits", exact.precision_bits},
                                {"dq", values_json(exact.dq)},
                                {"dk", values_json(exact.dk)},
                                {"dv", values_json(exact.dv)}};
  }
  OrderedJson kernels = OrderedJson::array();
  for (const BackwardKernelRun& r : report.runs) kernels.push_back(backward_run_json(r));
  doc["kernels"] = kernels;
  doc["summary"] = backward_summary_json(report.summary);
  doc["verdict"] = report.passed() ? "pass" : "fail";
  doc["failures"] = report.failures;
  return doc;
}

}  // namespace attncheck::golden
