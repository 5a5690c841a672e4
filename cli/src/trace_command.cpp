// attncheck trace [FILE.json]: the oracle's ledger of a problem, then each selected kernel's
// output with its error metrics and the a-priori bound, or why the kernel was skipped. Exit 1
// when a kernel exceeds its bound or throws, or when no selected kernel could run the problem
// (nothing was checked); --no-kernels asks for the ledger alone.
//
// Long problems: --rows checks a subset of rows (oracle/row_selection.hpp); the oracle keeps
// full intermediates only for the rows the ledger prints, so its memory grows with the rows
// checked, not with Lq x Lk; a problem whose estimate (oracle/memory_estimate.hpp) is over
// --oracle-memory-limit (or ATTNCHECK_ORACLE_MEMORY_LIMIT; 2 GiB) is refused before the oracle
// starts (exit 2); and a run longer than a second shows its progress on a terminal.
//
// --backward: the oracle's backward pass of a problem file that carries the upstream gradient
// "do" (the built-in example with the seed's g_3 when no file is given): the forward ledger,
// the backward ledger (oracle/backward_ledger.hpp), then each selected kernel's backward,
// checked with O and LSE from the oracle and from its own forward (golden/kernel_check.hpp).
// A file without "do" is bad input naming the file and the field (exit 2); exit 1 when a
// kernel fails or when nothing was checked (no selected kernel has a backward).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "attncheck/cli/commands.hpp"
#include "attncheck/formats/decimal_text.hpp"
#include "attncheck/formats/problem_file.hpp"
#include "attncheck/formats/results_json.hpp"
#include "attncheck/golden/canonical.hpp"
#include "attncheck/golden/backward_check.hpp"
#include "attncheck/oracle/backward_ledger.hpp"
#include "attncheck/oracle/ledger.hpp"
#include "attncheck/oracle/kernel_check.hpp"
#include "attncheck/oracle/memory_estimate.hpp"
#include "attncheck/oracle/progress.hpp"
#include "attncheck/oracle/row_selection.hpp"
#include "attncheck/oracle/summary_table.hpp"
#include "attncheck/registry.hpp"

namespace attncheck::cli {
namespace {

using formats::ProblemFile;

struct TraceArgs {
  std::string file;
  int digits = 6;
  unsigned precision = oracle::kDefaultPrecisionBits;
  bool no_kernels = false;
  bool backward = false;
  std::optional<std::string> rows;          // --rows SPEC; none: every row
  std::optional<std::string> memory_limit;  // --oracle-memory-limit SIZE; none: the environment or the default
  std::optional<std::string> json;          // --json PATH
  int64_t ledger_rows = oracle::LedgerOptions{}.max_rows;
  int64_t ledger_columns = oracle::LedgerOptions{}.max_columns;
};

constexpr const char* kMemoryLimitVariable = "ATTNCHECK_ORACLE_MEMORY_LIMIT";

// The limit from --oracle-memory-limit, else ATTNCHECK_ORACLE_MEMORY_LIMIT, else 2 GiB. A value
// that is not a size is bad input naming where it came from: a typo must not quietly fall
// back to the default.
double memory_limit(const TraceArgs& args) {
  const char* variable = std::getenv(kMemoryLimitVariable);
  const bool from_option = args.memory_limit.has_value();
  if (!from_option && (variable == nullptr || *variable == '\0')) return oracle::kDefaultMemoryLimit;
  const std::string text = from_option ? *args.memory_limit : variable;
  if (const std::optional<double> bytes = oracle::parse_byte_size(text)) return *bytes;
  throw std::invalid_argument((from_option ? "--oracle-memory-limit '" : std::string(kMemoryLimitVariable) + "='") +
                              text + "': not a size (a whole number of bytes, or a number with K, M, G or T, "
                              "binary: 4G, 512MiB, 1.5G)");
}

// Runs the oracle with a progress line on a terminal (progress.hpp).
oracle::OracleResult run_with_progress(const oracle::OracleProblem& problem, oracle::OracleOptions options,
                                       const char* label) {
  oracle::ProgressMeter meter(stderr, label, oracle::ProgressMeter::is_terminal(stderr));
  options.on_row = [&meter](int64_t done, int64_t total) { meter.update(done, total); };
  oracle::OracleResult result = oracle::forward(problem, options);
  meter.finish();
  return result;
}

// Runs every selected kernel that can run the problem and says why each other one was
// skipped; ends with the per-kernel summary table. Returns false, after saying why, when a
// kernel exceeded its bound or threw, or when nothing was checked: no kernel ran, or every
// output of those that ran read a non-finite input (so none was judged).
bool check_kernels(const ProblemFile& file, const oracle::OracleResult& exact, const oracle::OracleOptions& options,
                   const std::vector<const KernelInfo*>& kernels, formats::TraceResults& results,
                   oracle::SummaryTable& table) {
  std::vector<std::string>& failures = results.failures;
  int judged = 0;
  std::printf("Kernels (%s storage):\n", std::string(dtype_name(file.problem.dtype)).c_str());
  // The bound is derived for the stored inputs; with exact-decimal inputs the kernels see the
  // rounded values, so they are judged against the oracle of the stored values.
  oracle::OracleResult stored;
  if (file.exact_decimal_inputs) {
    oracle::OracleOptions checking = options;  // the same rows, without the ledger's intermediates
    checking.intermediate_rows.clear();
    oracle::PrecisionScope scope(checking.precision_bits);
    stored = run_with_progress(oracle::from_problem_stored(file.problem), checking, "oracle rows (stored values)");
  }
  const oracle::OracleResult& reference = file.exact_decimal_inputs ? stored : exact;
  for (const KernelInfo* kernel : kernels) {
    table.declare(kernel->name);
    oracle::KernelRunCheck run = oracle::run_and_check(*kernel, file.problem, reference);
    table.add(kernel->name, run);
    if (!run.ran()) {
      std::printf("  %-24s skipped: %s\n", kernel->name.c_str(), run.skipped.c_str());
    } else if (!run.error.empty()) {  // the other kernels still run
      ++judged;
      std::printf("  %-24s FAIL: threw: %s\n", kernel->name.c_str(), run.error.c_str());
      failures.push_back("kernel " + kernel->name + " threw: " + run.error);
    } else {
      std::printf("  %-24s %s\n", kernel->name.c_str(), oracle::format_kernel_check(run.check).c_str());
      std::printf("    O =");
      for (size_t i = 0; i < run.got.o.size() && i < 16; ++i) {
        std::printf(" %s", formats::float_to_decimal(run.got.o[i]).c_str());
      }
      std::printf(run.got.o.size() > 16 ? " ...\n" : "\n");
      if (run.check.judged() == 0) {
        std::printf("    not judged: every output read a non-finite input (docs/semantics.md)\n");
      } else {
        ++judged;
        if (!run.check.passed()) failures.push_back("kernel " + kernel->name + " exceeded its a-priori error bound");
      }
    }
    run.got = {};  // the JSON results keep the check, not the kernel's outputs
    results.kernels.emplace_back(kernel, std::move(run));
  }
  if (!kernels.empty()) std::printf("\nSummary:\n%s", table.render().c_str());
  if (judged == 0) {
    failures.push_back("nothing was checked: of the " + std::to_string(kernels.size()) +
                       " selected kernels none could run this problem, or every output read a non-finite input "
                       "(reasons above); select a kernel with --kernel, or pass --no-kernels for the ledger only");
  }
  if (!failures.empty()) {
    std::printf("\n");
    for (const std::string& failure : failures) std::printf("FAILED: %s\n", failure.c_str());
    return false;
  }
  return true;
}

// --rows SPEC, parsed; bad text is bad input naming the option.
oracle::RowSpec parse_rows(const std::string& text) {
  try {
    return oracle::parse_row_spec(text);
  } catch (const oracle::RowSpecError& e) {
    throw std::invalid_argument("--rows " + std::string(e.what()));
  }
}

// The rows --rows selects of the problem; a row past the last is bad input naming the option.
std::vector<int64_t> rows_selected(const oracle::RowSpec& spec, const AttentionShape& shape) {
  try {
    return oracle::select_rows(spec, shape);
  } catch (const oracle::RowSpecError& e) {
    throw std::invalid_argument("--rows: " + std::string(e.what()));
  }
}

// --json PATH: the results as JSON (formats/results_json.hpp), written atomically; a path that
// cannot be written is reported after the text output, as bad input naming the option.
void write_results(const std::string& path, const ProblemFile& file, const std::string& source,
                   const oracle::OracleResult& exact, formats::TraceResults results, const oracle::SummaryTable* table,
                   bool passed) {
  results.source = source.empty() ? file.name : source;
  results.problem = &file.problem;
  results.exact = &exact;
  results.summary = table;
  results.passed = passed;
  formats::write_results_file(path, formats::trace_results_json(results));
  std::printf("results JSON written to %s\n", path.c_str());
}

// trace --backward: the forward and backward ledgers of the oracle's gradients, then the
// selected kernels' backward passes.
void run_trace_backward(const TraceArgs& args) {
  if (args.rows) {
    throw std::invalid_argument("--rows cannot be used with --backward: dK and dV sum over every row, so the "
                                "backward oracle computes them all");
  }
  const double limit = memory_limit(args);
  if (args.json) formats::require_results_path(*args.json);
  const ProblemFile file = args.file.empty() ? golden::worked_example_backward(golden::WorkedExampleDo::last_position)
                                             : formats::read_problem_file(args.file);
  if (!file.problem.has_d_out()) {
    throw formats::InputError(args.file, "do",
                              "missing: trace --backward needs the upstream gradient dO = dL/dO, laid out as O "
                              "([batch, q_heads, q_len, value_dim]; docs/file-formats.md)");
  }
  const std::vector<const KernelInfo*> kernels = args.no_kernels ? std::vector<const KernelInfo*>{} : selected_kernels();
  const oracle::LedgerOptions ledger{.digits = args.digits, .max_rows = args.ledger_rows, .max_columns = args.ledger_columns};
  // The backward oracle keeps every row's intermediates (dK and dV need every row): the
  // forward's, and dP and dS per key, and the gradients.
  oracle::OracleOptions all_rows;
  all_rows.precision_bits = args.precision;
  all_rows.keep_intermediates = true;
  oracle::MemoryEstimate estimate = oracle::estimate_memory(
      file.problem.spec, all_rows,
      file.exact_decimal_inputs ? oracle::InputForm::exact_decimals : oracle::InputForm::reals);
  const AttentionShape& shape = file.problem.spec.shape;
  const double per_real = oracle::real_bytes(args.precision);
  estimate.intermediate_bytes += per_real * 2.0 * static_cast<double>(lse_elements(shape)) * static_cast<double>(shape.kv_len);
  estimate.row_bytes += per_real * static_cast<double>(q_elements(shape) + k_elements(shape) + v_elements(shape) +
                                                       o_elements(shape));
  oracle::require_within_limit(file.problem.spec, estimate, limit,
                               "raise the limit with --oracle-memory-limit SIZE (or " +
                                   std::string(kMemoryLimitVariable) + ")");
  oracle::BackwardOptions options;
  options.precision_bits = args.precision;
  options.keep_intermediates = true;
  const oracle::Gradients gradients = formats::run_backward_oracle(file, options);
  std::printf("attncheck trace --backward: %s\n", file.name.empty() ? args.file.c_str() : file.name.c_str());
  std::printf("  %s, dtype %s, inputs %s, oracle at %u bits, %d significant digits\n",
              describe(file.problem.spec).c_str(), std::string(dtype_name(file.problem.dtype)).c_str(),
              file.exact_decimal_inputs ? "exact decimals" : "stored values", gradients.precision_bits, args.digits);
  std::printf("  gradients of L = sum(dO * O) for the file's do\n\n");
  {
    oracle::PrecisionScope scope(args.precision);
    const std::string scale_text = formats::scale_ledger_text(file, args.digits);
    oracle::print_ledger(std::cout, gradients.forward, scale_text, ledger);
    oracle::print_backward_ledger(std::cout, gradients, formats::oracle_d_out(file), scale_text, ledger);
  }
  std::cout.flush();
  if (args.no_kernels) {
    if (args.json) {
      formats::write_results_file(*args.json, golden::trace_backward_results_json(
                                                  args.file.empty() ? file.name : args.file, file.problem, gradients, {}));
      std::printf("results JSON written to %s\n", args.json->c_str());
    }
    return;
  }
  // The kernels see the stored values: with exact-decimal inputs they are judged against the
  // oracle of those (as the forward trace does), whose bound is derived for them.
  oracle::Gradients stored;
  if (file.exact_decimal_inputs) stored = oracle::backward(file.problem, options);
  const oracle::Gradients& reference = file.exact_decimal_inputs ? stored : gradients;
  std::printf("Backward kernels (%s storage), O and LSE from the oracle and from the kernel's own forward:\n",
              std::string(dtype_name(file.problem.dtype)).c_str());
  const golden::BackwardTraceReport report = golden::check_backward_kernels(file.problem, reference, kernels);
  for (const KernelInfo* kernel : kernels) {
    if (kernel->backward == nullptr) std::printf("  %-24s skipped: no backward entry point\n", kernel->name.c_str());
  }
  for (const golden::BackwardKernelRun& r : report.runs) std::printf("  %s\n", golden::format_backward_run(r).c_str());
  if (!report.summary.rows().empty()) std::printf("\nSummary:\n%s", report.summary.render().c_str());
  if (!report.failures.empty()) {
    std::printf("\n");
    for (const std::string& failure : report.failures) std::printf("FAILED: %s\n", failure.c_str());
  }
  if (args.json) {
    formats::write_results_file(*args.json, golden::trace_backward_results_json(
                                                args.file.empty() ? file.name : args.file, file.problem, reference, report));
    std::printf("results JSON written to %s\n", args.json->c_str());
  }
  if (!report.passed()) throw ExitCode{kExitCheckFailed};
}

void run_trace(const TraceArgs& args) {
  if (args.backward) {
    run_trace_backward(args);
    return;
  }
  // The flags first: a bad --rows or limit is reported before a large file is read.
  const std::optional<oracle::RowSpec> row_spec =
      args.rows ? std::optional<oracle::RowSpec>(parse_rows(*args.rows)) : std::nullopt;
  const double limit = memory_limit(args);
  if (args.json) formats::require_results_path(*args.json);  // before the work
  const ProblemFile file = args.file.empty() ? golden::worked_example() : formats::read_problem_file(args.file);
  const AttentionShape& shape = file.problem.spec.shape;
  // Selected before the oracle runs, so a bad ATTNCHECK_KERNELS stops the command at once.
  const std::vector<const KernelInfo*> kernels = args.no_kernels ? std::vector<const KernelInfo*>{} : selected_kernels();
  const oracle::LedgerOptions ledger{.digits = args.digits, .max_rows = args.ledger_rows, .max_columns = args.ledger_columns};
  oracle::OracleOptions options;
  options.precision_bits = args.precision;
  if (row_spec) options.rows = rows_selected(*row_spec, shape);
  // Full intermediates for the rows and columns the ledger prints; the rest keep what the
  // checks need (OracleOptions).
  options.keep_intermediates = false;
  options.intermediate_rows = oracle::ledger_rows(shape, options.rows, ledger);
  options.intermediate_columns = ledger.max_columns;

  oracle::MemoryEstimate estimate = oracle::estimate_memory(
      file.problem.spec, options, file.exact_decimal_inputs ? oracle::InputForm::exact_decimals : oracle::InputForm::stored);
  if (file.exact_decimal_inputs && !args.no_kernels) {  // and the oracle of the stored values
    oracle::OracleOptions checking = options;
    checking.intermediate_rows.clear();
    const oracle::MemoryEstimate stored = oracle::estimate_memory(file.problem.spec, checking, oracle::InputForm::stored);
    estimate.input_bytes += stored.input_bytes;
    estimate.row_bytes += stored.row_bytes;
  }
  oracle::require_within_limit(file.problem.spec, estimate, limit,
                               "raise the limit with --oracle-memory-limit SIZE (or " +
                                   std::string(kMemoryLimitVariable) +
                                   "), or check a sample of the rows with --rows sample:64");

  oracle::OracleResult exact;
  {
    oracle::PrecisionScope scope(args.precision);
    exact = run_with_progress(
        file.exact_decimal_inputs ? formats::oracle_problem(file) : oracle::from_problem_stored(file.problem), options,
        "oracle rows");
  }
  std::printf("attncheck trace: %s\n", file.name.empty() ? args.file.c_str() : file.name.c_str());
  std::printf("  %s, dtype %s, inputs %s, oracle at %u bits, %d significant digits\n",
              describe(file.problem.spec).c_str(), std::string(dtype_name(file.problem.dtype)).c_str(),
              file.exact_decimal_inputs ? "exact decimals" : "stored values", exact.precision_bits, args.digits);
  const int64_t all_rows = lse_elements(shape);
  if (static_cast<int64_t>(exact.rows.size()) < all_rows) {
    std::printf("  rows: checking %zu of %lld (--rows %s)\n", exact.rows.size(), static_cast<long long>(all_rows),
                args.rows.value_or("").c_str());
  }
  std::printf("\n");
  oracle::PrecisionScope scope(args.precision);
  // The scale the oracle used: in stored mode the f64 the file's decimal was rounded to.
  const std::string scale_text = formats::scale_ledger_text(file, args.digits);
  oracle::print_ledger(std::cout, exact, scale_text, ledger);
  std::cout.flush();
  if (args.no_kernels) {
    if (args.json) write_results(*args.json, file, args.file, exact, {}, nullptr, true);
    return;
  }
  formats::TraceResults results;
  oracle::SummaryTable table;
  const bool passed = check_kernels(file, exact, options, kernels, results, table);
  if (args.json) write_results(*args.json, file, args.file, exact, std::move(results), &table, passed);
  if (!passed) throw ExitCode{kExitCheckFailed};
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
  cmd->add_flag("--backward", args->backward,
                "the backward pass: the file's \"do\" (dO = dL/dO) through the oracle's gradients, ledger and "
                "every kernel with a backward (default file: the built-in example with the seed's g_3)");
  cmd->add_option("--rows", args->rows,
                  "check only these rows (flat b*H*Lq + h*Lq + i): 0,5,100-120, or sample:N[:SEED] for N rows "
                  "chosen deterministically (ends, head ends, tile edges, then spread at random)");
  cmd->add_option("--oracle-memory-limit", args->memory_limit,
                  "refuse (exit 2) a problem whose oracle would need more than SIZE (4G, 512MiB; default: "
                  "ATTNCHECK_ORACLE_MEMORY_LIMIT, else 2GiB)");
  cmd->add_option("--json", args->json,
                  "also write the results as JSON to this file (docs/file-formats.md, \"Results JSON\"): the oracle's "
                  "O and LSE of the rows checked, each kernel's metrics, bound verdict and worst elements, the summary");
  cmd->add_option("--ledger-rows", args->ledger_rows, "rows per (batch, head) the ledger prints")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  cmd->add_option("--ledger-columns", args->ledger_columns, "keys the ledger's per-key tables print")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace attncheck::cli
