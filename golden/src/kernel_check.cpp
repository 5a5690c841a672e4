#include "attncheck/golden/kernel_check.hpp"

#include <map>

#include "attncheck/run.hpp"

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
    return p;
  }
  try {
    validate(p);  // rejects values not exactly representable in dtype
  } catch (const SpecError&) {
    return std::nullopt;
  }
  return p;
}

// unsupported_feature() answers "forward" for a decode-only kernel before looking at the
// features; this asks about the features alone.
std::string missing_feature(const KernelInfo& kernel, const AttentionSpec& spec) {
  KernelInfo probe = kernel;
  if (probe.forward == nullptr) {
    probe.forward = [](const AttentionSpec&, const AttentionInputs&, const AttentionOutputs&, const KernelOptions&) {};
  }
  return unsupported_feature(probe, spec);
}

}  // namespace

std::vector<KernelTraceCheck> check_kernels_on_trace(const GoldenTrace& trace,
                                                     const std::vector<const KernelInfo*>& kernels) {
  std::vector<KernelTraceCheck> out;
  std::map<DType, std::optional<Problem>> problems;
  std::map<DType, oracle::OracleResult> references;
  for (const KernelInfo* kernel : kernels) {
    std::vector<std::string> entries;
    if (kernel->forward) entries.push_back("forward");
    if (kernel->decode && trace.spec.decode) entries.push_back("decode");
    if (entries.empty()) {  // a decode-only kernel and a trace that is no decode step: say so
      KernelTraceCheck result;
      result.trace = trace.spec.name;
      result.kernel = kernel->name;
      result.entry = "forward";
      result.skipped = "decode only, and the trace is not a decode step";
      out.push_back(std::move(result));
    }
    for (const std::string& entry : entries) {
      KernelTraceCheck result;
      result.trace = trace.spec.name;
      result.kernel = kernel->name;
      result.entry = entry;
      if (!problems.count(kernel->dtype)) problems[kernel->dtype] = problem_in(trace.spec.problem, kernel->dtype);
      const std::optional<Problem>& problem = problems[kernel->dtype];
      const std::string missing = problem ? missing_feature(*kernel, problem->spec) : "";
      if (!problem) {
        result.skipped = "inputs are not exact in " + std::string(dtype_name(kernel->dtype));
      } else if (!missing.empty()) {
        result.skipped = "does not support " + missing;
      } else {
        if (!references.count(kernel->dtype)) references[kernel->dtype] = oracle::forward(*problem);
        try {
          const KernelResult got = entry == "forward"
                                       ? run_kernel(*kernel, *problem)
                                       : run_decode(*kernel, *problem, trace.spec.decode->cache_capacity);
          result.check = oracle::check_kernel(*kernel, *problem, references[kernel->dtype], got);
        } catch (const std::exception& e) {
          result.error = e.what();
        } catch (...) {  // a kernel's own exception type: still this kernel's failure, not a crash
          result.error = "an exception that is not a std::exception";
        }
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
  return std::string(r.passed() ? "PASS " : "FAIL ") + what + ": " + oracle::format_kernel_check(r.check);
}

}  // namespace attncheck::golden
