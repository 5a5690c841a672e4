// attncheck summary DIR [--json PATH]: the property suite's run, read back from the result files
// its tests wrote with ATTNCHECK_RESULTS_DIR=DIR (formats/law_results.hpp): per kernel, laws
// held and failed, cases, worst bits of O and LSE, worst error / bound, the laws it failed.
// Exit 1 when a law failed or the directory holds no result (nothing was checked), 2 when DIR is
// not a directory or a file in it is not a law result.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "attncheck/cli/commands.hpp"
#include "attncheck/formats/law_results.hpp"
#include "attncheck/formats/results_json.hpp"

namespace attncheck::cli {
namespace {

struct SummaryArgs {
  std::string dir;
  std::optional<std::string> json;
};

void run_summary(const SummaryArgs& args) {
  if (args.json) formats::require_results_path(*args.json);
  std::error_code error;
  if (!std::filesystem::is_directory(args.dir, error)) {
    throw formats::InputError(args.dir, "", "not a directory (the ATTNCHECK_RESULTS_DIR of a property run)");
  }
  const std::vector<formats::LawResult> results = formats::read_law_results(args.dir);
  std::printf("attncheck summary: %s: %zu law results\n\n%s", args.dir.c_str(), results.size(),
              formats::render_law_summary(results).c_str());
  int failed = 0;
  for (const formats::LawResult& r : results) failed += r.passed ? 0 : 1;
  if (args.json) {
    formats::write_results_file(*args.json, formats::law_summary_json(results));
    std::printf("results JSON written to %s\n", args.json->c_str());
  }
  if (results.empty()) {
    std::printf("FAILED: no law results in %s: nothing was checked (run the suite with %s=%s)\n", args.dir.c_str(),
                formats::kResultsDirVariable, args.dir.c_str());
    throw ExitCode{kExitCheckFailed};
  }
  if (failed > 0) {
    std::printf("FAILED: %d of %zu law runs failed\n", failed, results.size());
    throw ExitCode{kExitCheckFailed};
  }
}

}  // namespace

void add_summary_command(CLI::App& app) {
  auto args = std::make_shared<SummaryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "summary", "per-kernel table of a property run whose tests wrote their results to ATTNCHECK_RESULTS_DIR");
  cmd->add_option("dir", args->dir, "the run's ATTNCHECK_RESULTS_DIR")->required();
  cmd->add_option("--json", args->json, "also write the summary as JSON to this file");
  cmd->callback([args] { run_summary(*args); });
}

}  // namespace attncheck::cli
