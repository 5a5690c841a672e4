// attncheck trace [FILE.json]: the oracle's ledger of a problem, then each selected kernel's
// output with its error metrics and the a-priori bound, or why the kernel was skipped. Exit 1
// when a kernel exceeds its bound or throws, or when no selected kernel could run the problem
// (nothing was checked); --no-kernels asks for the ledger alone.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "attncheck/cli/commands.hpp"
#include "attncheck/formats/decimal_text.hpp"
#include "attncheck/formats/problem_file.hpp"
#include "attncheck/golden/canonical.hpp"
#include "attncheck/oracle/ledger.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/registry.hpp"

namespace attncheck::cli {
namespace {

using formats::ProblemFile;

struct TraceArgs {
  std::string file;
  int digits = 6;
  unsigned precision = oracle::kDefaultPrecisionBits;
  bool no_kernels = false;
};

// Runs every selected kernel that can run the problem and says why each other one was
// skipped. Returns false, after saying why, when a kernel exceeded its bound, threw, or when
// none ran: a trace that checked no kernel is not a pass.
bool check_kernels(const ProblemFile& file, const oracle::OracleResult& exact,
                   const std::vector<const KernelInfo*>& kernels) {
  std::vector<std::string> failures;
  int ran = 0;
  std::printf("Kernels (%s storage):\n", std::string(dtype_name(file.problem.dtype)).c_str());
  // The bound is derived for the stored inputs; with exact-decimal inputs the kernels see the
  // rounded values, so they are judged against the oracle of the stored values.
  const oracle::OracleResult stored =
      file.exact_decimal_inputs ? oracle::forward(file.problem) : oracle::OracleResult{};
  const oracle::OracleResult& reference = file.exact_decimal_inputs ? stored : exact;
  for (const KernelInfo* kernel : kernels) {
    const oracle::KernelRunCheck run = oracle::run_and_check(*kernel, file.problem, reference);
    if (!run.ran()) {
      std::printf("  %-24s skipped: %s\n", kernel->name.c_str(), run.skipped.c_str());
      continue;
    }
    ++ran;
    if (!run.error.empty()) {  // the other kernels still run
      std::printf("  %-24s FAIL: threw: %s\n", kernel->name.c_str(), run.error.c_str());
      failures.push_back("kernel " + kernel->name + " threw: " + run.error);
      continue;
    }
    std::printf("  %-24s %s\n", kernel->name.c_str(), oracle::format_kernel_check(run.check).c_str());
    std::printf("    O =");
    for (size_t i = 0; i < run.got.o.size() && i < 16; ++i) {
      std::printf(" %s", formats::float_to_decimal(run.got.o[i]).c_str());
    }
    std::printf(run.got.o.size() > 16 ? " ...\n" : "\n");
    if (!run.check.passed()) failures.push_back("kernel " + kernel->name + " exceeded its a-priori error bound");
  }
  if (ran == 0) {
    std::printf("\nFAILED: nothing was checked: none of the %zu selected kernels can run this problem "
                "(reasons above); select one with --kernel, or pass --no-kernels for the ledger only\n",
                kernels.size());
    return false;
  }
  if (!failures.empty()) {
    std::printf("\n");
    for (const std::string& failure : failures) std::printf("FAILED: %s\n", failure.c_str());
    return false;
  }
  return true;
}

void run_trace(const TraceArgs& args) {
  const ProblemFile file = args.file.empty() ? golden::worked_example() : formats::read_problem_file(args.file);
  // Selected before the oracle runs, so a bad ATTNCHECK_KERNELS stops the command at once.
  const std::vector<const KernelInfo*> kernels = args.no_kernels ? std::vector<const KernelInfo*>{} : selected_kernels();
  oracle::OracleOptions options;
  options.precision_bits = args.precision;
  const oracle::OracleResult exact = formats::run_oracle(file, options);
  std::printf("attncheck trace: %s\n", file.name.empty() ? args.file.c_str() : file.name.c_str());
  std::printf("  %s, dtype %s, inputs %s, oracle at %u bits, %d significant digits\n\n",
              describe(file.problem.spec).c_str(), std::string(dtype_name(file.problem.dtype)).c_str(),
              file.exact_decimal_inputs ? "exact decimals" : "stored values", exact.precision_bits, args.digits);
  oracle::PrecisionScope scope(args.precision);
  // The scale the oracle used: in stored mode the f64 the file's decimal was rounded to.
  const std::string scale_text = formats::scale_ledger_text(file, args.digits);
  oracle::print_ledger(std::cout, exact, scale_text, oracle::LedgerOptions{.digits = args.digits});
  std::cout.flush();
  if (args.no_kernels) return;
  if (!check_kernels(file, exact, kernels)) throw ExitCode{kExitCheckFailed};
}

}  // namespace

void add_trace_command(CLI::App& app) {
  auto args = std::make_shared<TraceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "print the oracle's step-by-step ledger of a problem, then check each kernel against it");
  cmd->add_option("file", args->file, "problem JSON file (default: the built-in worked example)");
  cmd->add_option("--digits", args->digits, "significant digits in the ledger")->check(CLI::Range(1, 60));
  cmd->add_option("--precision", args->precision, "oracle precision in bits")->check(CLI::Range(24, 4096));
  cmd->add_flag("--no-kernels", args->no_kernels, "print the ledger only (checks no kernel; exit 0)");
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace attncheck::cli
