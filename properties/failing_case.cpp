#include "failing_case.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include "attncheck/cli/problem_file.hpp"
#include "law_tools.hpp"

namespace attncheck::properties {
namespace {

// At most this many rows of a witness are printed.
constexpr size_t kMaxRowsShown = 4;

}  // namespace

std::string failure_dir() {
  if (const char* dir = std::getenv("ATTNCHECK_FAILURES"); dir != nullptr && *dir != '\0') return dir;
  return ATTNCHECK_DEFAULT_FAILURE_DIR;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code error;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), error);
  if (error) throw std::runtime_error(path + ": cannot create directory: " + error.message());
  const fs::path temporary = target.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(temporary.string() + ": cannot write");
  }
  fs::rename(temporary, target, error);
  if (error) {
    fs::remove(temporary, error);
    throw std::runtime_error(path + ": cannot rename the temporary file into place");
  }
}

std::string describe_witness(const KernelInfo& kernel, const Witness& witness) {
  const Problem& p = witness.problem;
  const AttentionShape& s = p.spec.shape;
  std::string out = "  problem: " + describe(p.spec) + ", dtype " + std::string(dtype_name(p.dtype)) + "\n";
  if (!witness.detail.empty()) out += "  " + witness.detail + "\n";
  std::vector<int64_t> rows = witness.rows;
  if (rows.empty()) {
    for (int64_t r = 0; r < std::min<int64_t>(2, lse_elements(s)); ++r) rows.push_back(r);
  }
  if (rows.size() > kMaxRowsShown) rows.resize(kMaxRowsShown);
  const oracle::OracleResult exact = oracle_rows(p);
  const std::vector<double> o = oracle::outputs_f64(exact);
  const std::vector<double> lse = oracle::lse_f64(exact);
  KernelResult got;
  std::string kernel_error;
  try {
    got = run_entry(kernel, p, witness.through_decode);
  } catch (const std::exception& e) {
    kernel_error = e.what();
  }
  for (int64_t row : rows) {
    out += "  row " + row_name(s, row) + ":\n";
    out += "    oracle O = " + format_values(std::span<const double>(o).subspan(row * s.value_dim, s.value_dim)) +
           ", LSE = " + format_values(std::span<const double>(lse).subspan(row, 1)) + "\n";
    if (kernel_error.empty()) {
      out += "    kernel O = " + format_values(output_row(got, s, row)) +
             ", LSE = " + format_values(std::span<const float>(got.lse).subspan(row, 1)) + "\n";
    }
  }
  if (!kernel_error.empty()) out += "    kernel threw: " + kernel_error + "\n";
  return out;
}

std::string report_failure(const Law& law, const KernelInfo& kernel, const LawOutcome& outcome,
                           const std::string& program) {
  std::string out = "Law " + law.id() + " failed for kernel " + kernel.name + ": " + law.statement + "\n";
  out += outcome.report + "\n";
  const std::string filter = law.id() + "/" + kernel.name;
  if (outcome.witness) {
    const std::string path = failure_dir() + "/" + law.id() + "." + kernel.name + ".json";
    try {
      const cli::Json json = cli::problem_to_json(outcome.witness->problem, filter);
      write_file_atomically(path, json.dump(1) + "\n");
      out += "Minimal problem written to " + path + "\n";
    } catch (const std::exception& e) {
      out += "Could not write the minimal problem: " + std::string(e.what()) + "\n";
    }
    out += describe_witness(kernel, *outcome.witness);
    out += "Trace the problem (oracle ledger, then the kernel against its bound):\n  " +
           std::string(ATTNCHECK_CLI_PATH) + " --kernel " + kernel.name + " trace " + path + "\n";
  }
  if (!outcome.replay_params.empty()) {
    out += "Replay the minimal case of the law:\n  ATTNCHECK_KERNELS=" + kernel.name + " RC_PARAMS=\"" +
           outcome.replay_params + "\" " + program + " --gtest_filter='" + filter + "'\n";
  }
  return out;
}

}  // namespace attncheck::properties
