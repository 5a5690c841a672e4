#include "attncheck/golden/kernel_check.hpp"

#include <map>
#include <optional>


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
