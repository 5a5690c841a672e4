#include "attncheck/golden/kernel_check.hpp"

#include <filesystem>
#include <map>
#include <optional>

#include "attncheck/formats/results_json.hpp"
#include "attncheck/golden/regen.hpp"

namespace attncheck::golden {

using formats::ProblemFile;

namespace {

// The problem as a kernel of `dtype` sees it, or std::nullopt when its inputs are not exact
// in that dtype.
std::optional<Problem> problem_in(const ProblemFile& file, DType dtype) {
  Problem p = file.problem;
  p.dtype = dtype;
  if (file.exact_decimal_inputs) {
    oracle::PrecisionScope scope(oracle::kDefaultPrecisionBits);
    auto round_all = [&](const std::vector<std::string>& texts, std::vector<float>& out) {
      for (size_t n = 0; n < texts.size(); ++n) out[n] = oracle::round_to_dtype(oracle::parse_decimal(texts[n]), dtype);
    };
    round_all(file.q_text, p.q);
    round_all(file.k_text, p.k);
    round_all(file.v_text, p.v);
    if (file.do_text.size() == p.d_out.size()) round_all(file.do_text, p.d_out);
    return p;
  }
  try {
    validate(p);  // rejects values not exactly representable in dtype
  } catch (const SpecError&) {
    return std::nullopt;
  }
  return p;
}

}  // namespace

std::vector<KernelTraceCheck> check_kernels_on_trace(const GoldenTrace& trace,
                                                     const std::vector<const KernelInfo*>& kernels) {
  std::vector<KernelTraceCheck> out;
  std::map<DType, std::optional<Problem>> problems;
  std::map<DType, oracle::OracleResult> references;
  std::map<DType, oracle::Gradients> gradients;
  for (const KernelInfo* kernel : kernels) {
    std::vector<std::string> entries;
    if (kernel->forward) entries.push_back("forward");
    if (kernel->decode && trace.spec.decode) entries.push_back("decode");
    if (entries.empty()) {  // a decode-only kernel and a trace that is no decode step: say so
      KernelTraceCheck result;
      result.trace = trace.spec.name;
      result.kernel = kernel->name;
      result.entry = "forward";
      result.shape = trace.spec.problem.problem.spec.shape;
      result.skipped = "decode only, and the trace is not a decode step";
      out.push_back(std::move(result));
    }
    for (const std::string& entry : entries) {
      KernelTraceCheck result;
      result.trace = trace.spec.name;
      result.kernel = kernel->name;
      result.entry = entry;
      result.shape = trace.spec.problem.problem.spec.shape;
      if (!problems.count(kernel->dtype)) problems[kernel->dtype] = problem_in(trace.spec.problem, kernel->dtype);
      const std::optional<Problem>& problem = problems[kernel->dtype];
      const bool decode = entry == "decode";
      if (!problem) {
        result.skipped = "inputs are not exact in " + std::string(dtype_name(kernel->dtype));
      } else if (std::string why = oracle::skip_reason(*kernel, *problem, decode); !why.empty()) {
        result.skipped = std::move(why);
      } else {
        if (!references.count(kernel->dtype)) references[kernel->dtype] = oracle::forward(*problem);
        const oracle::KernelRunCheck run = oracle::run_and_check(
            *kernel, *problem, references[kernel->dtype], decode, decode ? trace.spec.decode->cache_capacity : 0);
        result.error = run.error;
        result.check = run.check;
      }
      out.push_back(std::move(result));
    }
    if (kernel->backward == nullptr || !trace.spec.problem.problem.has_d_out()) continue;
    for (oracle::ForwardSource source : kForwardSources) {
      KernelTraceCheck result;
      result.trace = trace.spec.name;
      result.kernel = kernel->name;
      result.entry = std::string("backward (") + oracle::forward_source_name(source) + ")";
      result.shape = trace.spec.problem.problem.spec.shape;
      result.backward = true;
      result.source = source;
      if (!problems.count(kernel->dtype)) problems[kernel->dtype] = problem_in(trace.spec.problem, kernel->dtype);
      const std::optional<Problem>& problem = problems[kernel->dtype];
      if (!problem) {
        result.skipped = "inputs are not exact in " + std::string(dtype_name(kernel->dtype));
      } else if (std::string why = oracle::backward_skip_reason(*kernel, *problem, source); !why.empty()) {
        result.skipped = std::move(why);
      } else {
        if (!gradients.count(kernel->dtype)) {
          oracle::BackwardOptions options;
          options.keep_intermediates = true;
          gradients[kernel->dtype] = oracle::backward(*problem, options);
        }
        const oracle::BackwardRunCheck run =
            oracle::run_and_check_backward(*kernel, *problem, gradients[kernel->dtype], source);
        result.error = run.error;
        result.gradients = run.check;
      }
      out.push_back(std::move(result));
    }
  }
  return out;
}

std::string format_kernel_trace_check(const KernelTraceCheck& r) {
  const std::string what = r.trace + " x " + r.kernel + " " + r.entry;
  if (!r.ran()) return "skip " + what + ": " + r.skipped;
  if (!r.error.empty()) return "FAIL " + what + ": threw: " + r.error;
  if (r.backward) {
    if (r.judged() == 0) return "unjudged " + what + ": every gradient read a non-finite input";
    return std::string(r.passed() ? "PASS " : "FAIL ") + what + ": " + oracle::format_gradient_check(r.gradients);
  }
  return std::string(r.passed() ? "PASS " : "FAIL ") + what + ": " + oracle::format_kernel_check(r.check);
}

GoldenCheckReport check_golden_traces(const std::string& traces_dir, const std::vector<const KernelInfo*>& kernels) {
  GoldenCheckReport report;
  report.traces_dir = traces_dir;
  for (const KernelInfo* k : kernels) {
    report.summary.declare(k->name);
    if (k->backward != nullptr) report.backward_summary.declare(k->name);
  }
  const std::vector<std::filesystem::path> files = golden_json_files(traces_dir);
  report.traces = static_cast<int>(files.size());
  int failed = 0;
  for (const std::filesystem::path& path : files) {
    const GoldenTrace trace = read_trace_file(path.string());
    if (trace.spec.problem.problem.has_d_out()) ++report.backward_traces;
    for (KernelTraceCheck& r : check_kernels_on_trace(trace, kernels)) {
      if (r.backward) {
        oracle::BackwardRunCheck run;
        run.skipped = r.skipped;
        run.error = r.error;
        run.check = r.gradients;
        report.backward_summary.add(r.kernel, r.source, run);
      } else if (!r.ran()) {
        report.summary.add_skipped(r.kernel, r.skipped);
      } else if (!r.error.empty()) {
        report.summary.add_error(r.kernel);
      } else {
        report.summary.add_check(r.kernel, r.check);
      }
      failed += r.passed() ? 0 : 1;
      report.runs.push_back(std::move(r));
    }
  }
  for (const std::string& name : report.summary.checked_nothing()) {
    report.failures.push_back("kernel " + name + " was checked on no trace (reasons above)");
  }
  for (const KernelInfo* k : kernels) {  // a backward kernel whose backward ran on no trace, from either source
    if (k->backward == nullptr) continue;
    bool checked = false;
    for (const BackwardSummaryRow& row : report.backward_summary.rows()) checked = checked || (row.kernel == k->name && row.checked > 0);
    if (!checked) {
      report.failures.push_back("kernel " + k->name + "'s backward was checked on no trace (of " +
                                std::to_string(report.backward_traces) + " with a backward section; reasons above)");
    }
  }
  if (failed > 0) report.failures.push_back(std::to_string(failed) + " kernel runs failed (FAIL lines above)");
  if (files.empty()) report.failures.push_back("no traces in " + traces_dir + ": nothing was checked");
  return report;
}

formats::OrderedJson golden_check_json(const GoldenCheckReport& report, const std::vector<const KernelInfo*>& kernels) {
  using formats::OrderedJson;
  OrderedJson runs = OrderedJson::array();
  for (const KernelTraceCheck& r : report.runs) {
    const KernelInfo* kernel = nullptr;
    for (const KernelInfo* k : kernels) {
      if (k->name == r.kernel) kernel = k;
    }
    if (kernel == nullptr) continue;  // every run is of a selected kernel
    if (r.backward) {
      BackwardKernelRun run{kernel, r.source, {r.skipped, r.error, {}, r.gradients}};
      OrderedJson j = backward_run_json(run);
      OrderedJson out{{"trace", r.trace}, {"entry", r.entry}};
      for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = it.value();
      runs.push_back(out);
      continue;
    }
    oracle::KernelRunCheck run;
    run.skipped = r.skipped;
    run.error = r.error;
    run.check = r.check;
    // Trace problems are small; the shape locates the worst element.
    OrderedJson j = formats::kernel_run_json(*kernel, run, r.shape);
    OrderedJson out{{"trace", r.trace}, {"entry", r.entry}};
    for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = it.value();
    runs.push_back(out);
  }
  OrderedJson doc;
  doc["format"] = "attncheck-golden-check-results";
  doc["version"] = formats::kResultsJsonVersion;
  doc["traces_dir"] = report.traces_dir;
  doc["traces"] = report.traces;
  doc["runs"] = runs;
  doc["summary"] = formats::summary_json(report.summary);
  doc["backward_traces"] = report.backward_traces;
  doc["backward_summary"] = backward_summary_json(report.backward_summary);
  doc["verdict"] = report.passed() ? "pass" : "fail";
  doc["failures"] = report.failures;
  return doc;
}

}  // namespace attncheck::golden
