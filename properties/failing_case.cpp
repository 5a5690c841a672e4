#include "failing_case.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "attncheck/formats/atomic_write.hpp"
#include "attncheck/formats/problem_file.hpp"
#include "attncheck/oracle/backward.hpp"
#include "attncheck/registry.hpp"
#include "gradient_tools.hpp"
#include "law_tools.hpp"

namespace attncheck::properties {
namespace {

// At most this many rows of a witness are printed.
constexpr size_t kMaxRowsShown = 4;

}  // namespace

std::string this_program(const std::string& fallback) {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? fallback : self.string();
}

std::string failure_dir() {
  if (const char* dir = std::getenv("ATTNCHECK_FAILURES"); dir != nullptr && *dir != '\0') return dir;
  return ATTNCHECK_DEFAULT_FAILURE_DIR;
}

namespace {

// A gradient law's witness: the dQ rows it names (or the first two), the oracle's and the
// kernel's with the oracle's O and LSE handed in, when the oracle's backward of the whole
// problem is cheap enough to run here (every row feeds dK and dV, so it cannot be sampled).
constexpr int64_t kMaxBackwardWitnessWork = 400000;

std::string describe_backward_rows(const KernelInfo& kernel, const Witness& witness) {
  const Problem& p = witness.problem;
  const AttentionShape& s = p.spec.shape;
  if (!p.has_d_out()) return "";
  if (lse_elements(s) * s.kv_len * (s.head_dim + s.value_dim) > kMaxBackwardWitnessWork) {
    return "  (the problem is too large to show the oracle's gradients here; trace --backward shows them)\n";
  }
  std::vector<int64_t> rows = witness.rows;
  if (rows.empty()) {
    for (int64_t r = 0; r < std::min<int64_t>(2, lse_elements(s)); ++r) rows.push_back(r);
  }
  if (rows.size() > kMaxRowsShown) rows.resize(kMaxRowsShown);
  std::string out;
  std::vector<double> exact;
  BackwardResult got;
  std::string error;
  try {
    exact = reals_f64(oracle::backward(p, oracle::BackwardOptions{}).dq);
    const oracle::ForwardValues forward = oracle::forward_for_backward(p);
    if (kernel.backward != nullptr) got = run_backward(kernel, p, forward.o, forward.lse);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) return "    backward threw: " + error + "\n";
  for (int64_t row : rows) {
    out += "  row " + row_name(s, row) + ", with the oracle's O and LSE:\n";
    out += "    oracle dQ = " + format_values(std::span<const double>(exact).subspan(row * s.head_dim, s.head_dim)) + "\n";
    if (!got.dq.empty()) {
      out += "    kernel dQ = " + format_values(std::span<const float>(got.dq).subspan(row * s.head_dim, s.head_dim)) + "\n";
    }
  }
  return out;
}

}  // namespace

std::string describe_witness(const KernelInfo& kernel, const Witness& witness) {
  const Problem& p = witness.problem;
  const AttentionShape& s = p.spec.shape;
  std::string out = "  problem: " + describe(p.spec) + ", dtype " + std::string(dtype_name(p.dtype)) + "\n";
  if (!witness.detail.empty()) out += "  " + witness.detail + "\n";
  if (witness.backward) return out + describe_backward_rows(kernel, witness);
  std::vector<int64_t> rows = witness.rows;
  if (rows.empty()) {
    for (int64_t r = 0; r < std::min<int64_t>(2, lse_elements(s)); ++r) rows.push_back(r);
  }
  if (rows.size() > kMaxRowsShown) rows.resize(kMaxRowsShown);
  // The oracle on the rows shown only: a long problem's every row would cost seconds.
  const oracle::OracleResult exact = oracle_rows(p, rows);
  const std::vector<double> o = oracle::outputs_f64(exact);
  const std::vector<double> lse = oracle::lse_f64(exact);
  KernelResult got;
  std::string kernel_error;
  try {
    got = run_entry(kernel, p, witness.through_decode);
  } catch (const std::exception& e) {
    kernel_error = e.what();
  }
  for (size_t n = 0; n < rows.size(); ++n) {
    const int64_t row = rows[n];
    out += "  row " + row_name(s, row) + ":\n";
    out += "    oracle O = " + format_values(std::span<const double>(o).subspan(n * s.value_dim, s.value_dim)) +
           ", LSE = " + format_values(std::span<const double>(lse).subspan(n, 1)) + "\n";
    if (kernel_error.empty()) {
      out += "    kernel O = " + format_values(output_row(got, s, row)) +
             ", LSE = " + format_values(std::span<const float>(got.lse).subspan(row, 1)) + "\n";
    }
  }
  if (!kernel_error.empty()) out += "    kernel threw: " + kernel_error + "\n";
  return out;
}

std::string shell_quote(std::string_view text) {
  const auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '/' || c == ':' || c == ',' || c == '+' || c == '@' || c == '%';
  };
  if (!text.empty() && std::all_of(text.begin(), text.end(), plain)) return std::string(text);
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

namespace {

// The problem file of a failing case: the problem the law ran the kernel on, plus what a reader
// of `attncheck trace` needs to find the bug in it, in the members of its format
// (formats/problem_file.hpp): the problem reader accepts them and reads the problem.
formats::Json failing_case_json(const Law& law, const KernelInfo& kernel, const Witness& witness, const std::string& name) {
  formats::Json json = formats::problem_to_json(witness.problem, name);
  json["format"] = formats::kFailingCaseFormat;
  const AttentionShape& s = witness.problem.spec.shape;
  formats::Json rows = formats::Json::array();
  std::string names;
  for (int64_t row : witness.rows) {
    const RowIndex r = row_index(s, row);
    rows.push_back({{"batch", r.b}, {"head", r.h}, {"query", r.i}});
    names += (names.empty() ? "" : ", ") + row_name(s, row);
  }
  json["failing_rows"] = rows;
  json["note"] = "Law " + law.id() + " failed for kernel " + kernel.name +
                 (witness.through_decode ? " (through its decode entry point)" : "") + " on this problem" +
                 (names.empty() ? "" : "; the bug shows in row " + names + " (batch, head, query)") + ": " +
                 witness.detail;
  return json;
}

}  // namespace

FailureReport write_failure_report(const Law& law, const KernelInfo& kernel, const LawOutcome& outcome,
                                   const std::string& program, const std::string& gtest_test) {
  FailureReport r;
  std::string& out = r.text;
  out = "Law " + law.id() + " failed for kernel " + kernel.name + ": " + law.statement + "\n";
  out += outcome.report + "\n";
  const std::string name = law.id() + "/" + kernel.name;
  // A kernel outside the registry (a mutant of the meta-tests) cannot be named to the CLI or
  // to ATTNCHECK_KERNELS: both refuse a name that matches no registered kernel.
  const bool registered = find_kernel(kernel.name) != nullptr;
  if (outcome.witness) {
    const std::string path = failure_dir() + "/" + law.id() + "." + kernel.name + ".json";
    try {
      formats::write_file_atomically(path, failing_case_json(law, kernel, *outcome.witness, name).dump(1) + "\n");
      r.file = path;
      out += "Minimal problem written to " + path + "\n";
    } catch (const std::exception& e) {
      r.file_error = e.what();
      out += "ERROR: the failing case could not be written, so there is no file to trace: " + r.file_error +
             "\n  (ATTNCHECK_FAILURES=" + (std::getenv("ATTNCHECK_FAILURES") ? std::getenv("ATTNCHECK_FAILURES") : "") +
             "; point it at a directory this process can create and write)\n";
    }
    out += describe_witness(kernel, *outcome.witness);
    if (!r.file.empty()) {
      // A gradient law's problem carries dO ("do"); trace --backward checks the kernel's gradients.
      r.trace_command = shell_quote(ATTNCHECK_CLI_PATH) + (registered ? " --kernel " + shell_quote(kernel.name) : "") +
                        " trace " + (outcome.witness->backward ? "--backward " : "") + shell_quote(r.file);
      out += std::string(outcome.witness->backward
                             ? "Trace the problem's backward (the oracle's gradients, then the kernel's against its bound):\n  "
                             : "Trace the problem (oracle ledger, then the kernel against its bound):\n  ") +
             r.trace_command + "\n";
      if (!registered) {
        out += "  (" + kernel.name + " is not registered, so trace shows the oracle's ledger and the registered "
               "kernels of its dtype)\n";
      }
    }
  }
  if (!outcome.replay_params.empty()) {
    r.replay_command = (registered ? "ATTNCHECK_KERNELS=" + shell_quote(kernel.name) + " " : std::string()) +
                       "RC_PARAMS=" + shell_quote(outcome.replay_params) + " " + shell_quote(program) +
                       " --gtest_filter=" + shell_quote(gtest_test.empty() ? name : gtest_test);
    out += "Replay the minimal case of the law:\n  " + r.replay_command + "\n";
  }
  return r;
}

std::string report_failure(const Law& law, const KernelInfo& kernel, const LawOutcome& outcome,
                           const std::string& program, const std::string& gtest_test) {
  return write_failure_report(law, kernel, outcome, program, gtest_test).text;
}

}  // namespace attncheck::properties
