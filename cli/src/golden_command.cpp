// attncheck golden {verify, regen, errata, check}: the golden files of golden/ (docs/golden.md).
//
//   verify  compares every trace with the oracle and checks every published value; writes
//           nothing; exit 1 on any difference, 2 on a malformed file
//   regen   rewrites the traces from the oracle, all or nothing, and says what changed
//   errata  the published values that disagree with the oracle, with their likely causes
//   check   every selected kernel against every trace it can run, within its bound (backward
//           kernels also on every trace with a backward section, from both forward sources);
//           exit 1 when a run fails or throws, or a selected kernel ran on no trace
// verify, errata and check exit 2 when --dir is not an existing directory.
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "attncheck/cli/commands.hpp"
#include "attncheck/formats/results_json.hpp"
#include "attncheck/golden/kernel_check.hpp"
#include "attncheck/golden/published.hpp"
#include "attncheck/golden/regen.hpp"
#include "attncheck/registry.hpp"

#ifndef ATTNCHECK_DEFAULT_GOLDEN_DIR
#define ATTNCHECK_DEFAULT_GOLDEN_DIR "golden"
#endif

namespace attncheck::cli {
namespace {

namespace fs = std::filesystem;
using namespace golden;  // this command is the golden library's front end

// The golden directory when --dir is not given: the source tree's golden/ this binary was built
// from; where that is gone (an installed copy on another machine), the data installed beside the
// binary (<prefix>/share/attncheck/golden, for <prefix>/bin/attncheck); else the source path,
// which the missing-directory error then names.
std::string default_golden_dir() {
  std::error_code error;
  if (fs::is_directory(ATTNCHECK_DEFAULT_GOLDEN_DIR, error)) return ATTNCHECK_DEFAULT_GOLDEN_DIR;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "attncheck" / "golden";
    if (fs::is_directory(installed, error)) return installed.string();
  }
  return ATTNCHECK_DEFAULT_GOLDEN_DIR;
}

struct GoldenArgs {
  std::string dir = default_golden_dir();
  bool all = false;
  std::optional<std::string> json;  // check --json PATH
};


// verify, errata and check read --dir; a path that is not a directory is bad input (exit 2),
// never an empty golden set that "agrees" with the oracle because nothing was read. An empty
// directory that exists is read as one: verify then reports every trace missing, errata and
// check fail for having nothing to check.
void require_directory(const std::string& dir) {
  std::error_code error;
  const fs::file_status status = fs::status(dir, error);
  if (status.type() == fs::file_type::not_found) throw formats::InputError(dir, "", "no such directory (--dir)");
  if (error) throw formats::InputError(dir, "", "cannot read it (--dir): " + error.message());
  if (!fs::is_directory(status)) throw formats::InputError(dir, "", "not a directory (--dir)");
}

void run_verify(const GoldenArgs& args) {
  require_directory(args.dir);
  const VerifyReport report = verify_golden(args.dir);
  std::printf("attncheck golden verify: %s\n", args.dir.c_str());
  std::printf("  %d traces recomputed; %d published files, %d published values, %d recorded errata\n",
              report.traces_checked, report.published_files, report.published_values, report.errata);
  for (const std::string& line : report.malformed) std::printf("  MALFORMED %s\n", line.c_str());
  for (const std::string& line : report.differences) std::printf("  DIFFERS %s\n", line.c_str());
  if (!report.malformed.empty()) {
    std::printf("FAILED: %zu malformed golden files\n", report.malformed.size());
    throw ExitCode{kExitBadInput};
  }
  if (!report.differences.empty()) {
    std::printf("FAILED: %zu differences between the golden files and the oracle\n", report.differences.size());
    throw ExitCode{kExitCheckFailed};
  }
  std::printf("OK: every trace is the oracle's, every published value matches or is a recorded erratum\n");
}

void run_regen(const GoldenArgs& args) {
  RegenReport report;
  try {
    report = regenerate_traces(args.dir, [](const std::string& note) {
      std::fprintf(stderr, "attncheck golden regen: %s\n", note.c_str());
    });
  } catch (const std::runtime_error& e) {
    std::printf("attncheck golden regen: FAILED, no file changed: %s\n", e.what());
    throw ExitCode{kExitCheckFailed};
  }
  for (const std::string& leftover : report.removed_leftovers) {
    std::printf("removed   %s: left by an interrupted regen\n", leftover.c_str());
  }
  std::map<TraceFileStatus, int> counts;
  for (const RegenEntry& e : report.entries) {
    ++counts[e.status];
    const char* status = e.status == TraceFileStatus::unchanged ? "unchanged"
                         : e.status == TraceFileStatus::updated ? "updated  "
                                                                : "new      ";
    std::printf("%s %s", status, e.file.c_str());
    if (e.status == TraceFileStatus::updated) std::printf(": %zu differences", e.change_count);
    std::printf("\n");
    for (const std::string& change : e.changes) std::printf("    %s\n", change.c_str());
    if (e.change_count > e.changes.size()) std::printf("    ... and %zu more\n", e.change_count - e.changes.size());
  }
  for (const std::string& orphan : report.orphans) {
    std::printf("orphan    %s: no generator produces it; remove it (verify fails while it is there)\n",
                orphan.c_str());
  }
  std::printf("regen: %zu traces: %d unchanged, %d updated, %d new\n", report.entries.size(),
              counts[TraceFileStatus::unchanged], counts[TraceFileStatus::updated], counts[TraceFileStatus::created]);
}

void run_errata(const GoldenArgs& args) {
  require_directory(args.dir);
  int total = 0, errata = 0, failures = 0;
  std::deque<std::pair<PublishedFile, PublishedCheck>> checked;  // stable addresses: results point into files
  const fs::path published_dir = fs::path(args.dir) / "published";
  for (const fs::path& path : golden_json_files(published_dir)) {
    PublishedFile file = read_published_file(path.string());
    checked.emplace_back(std::move(file), PublishedCheck{});
    checked.back().second = check_published(checked.back().first);
    total += static_cast<int>(checked.back().second.results.size());
    errata += checked.back().second.errata();
    failures += checked.back().second.failures();
  }
  std::printf("Errata in the published worked examples: %d of %d published values disagree with the oracle\n",
              errata, total);
  std::printf("(a value with k decimals matches when within half a unit in its last place of the oracle's)\n");
  for (const auto& [file, check] : checked) {
    std::printf("\n%s\n  %s\n  seed: %s\n", fs::path(file.path).filename().c_str(), file.title.c_str(), file.source.c_str());
    int shown = 0;
    for (const QuantityResult& r : check.results) {
      const PublishedQuantity& q = *r.quantity;
      if (!args.all && r.verdict == Verdict::matches) continue;
      ++shown;
      std::printf("  %-40s %s\n", q.id.c_str(), verdict_name(r.verdict));
      std::printf("      where:     %s\n", q.where.c_str());
      std::printf("      %s %s", q.derived ? "derived:  " : "published:", q.published.c_str());
      if (q.relation) {
        std::printf(" (claims oracle %s %s)", q.relation->c_str(), q.published.c_str());
      } else if (q.tolerance) {
        std::printf(" (within %s, the publication's own tolerance)", q.tolerance->c_str());
      } else {
        std::printf(" (%d decimals)", q.decimals);
      }
      std::printf("\n      oracle:    %s   [%s]\n", r.oracle_text.c_str(), q.expr_text.c_str());
      if (q.erratum) {
        std::printf("      recorded:  %s\n      cause:     %s\n", q.erratum->oracle.c_str(), q.erratum->cause.c_str());
      }
    }
    if (shown == 0) std::printf("  (no errata)\n");
  }
  if (failures > 0) {
    std::printf("\nFAILED: %d published values disagree with their files (see `golden verify`)\n", failures);
    throw ExitCode{kExitCheckFailed};
  }
  if (total == 0) {
    std::printf("\nFAILED: no published values in %s: nothing was checked\n", published_dir.c_str());
    throw ExitCode{kExitCheckFailed};
  }
}

void run_check(const GoldenArgs& args) {
  require_directory(args.dir);
  if (args.json) formats::require_results_path(*args.json);
  const std::vector<const KernelInfo*> kernels = selected_kernels();
  const GoldenCheckReport report = check_golden_traces((fs::path(args.dir) / "traces").string(), kernels);
  int passed = 0, failed = 0, skipped = 0;
  for (const KernelTraceCheck& r : report.runs) {
    if (!r.ran()) {
      ++skipped;
      if (args.all) std::printf("%s\n", format_kernel_trace_check(r).c_str());
      continue;
    }
    (r.passed() ? passed : failed) += 1;
    std::printf("%s\n", format_kernel_trace_check(r).c_str());
  }
  // Per kernel: what it was checked on and why it was not checked on the rest, so a filter that
  // selects a kernel only some traces apply to is a pass that says what it covered.
  std::printf("\nper kernel (forward and decode runs):\n%s", report.summary.render().c_str());
  for (const oracle::KernelSummary& k : report.summary.rows()) {
    for (const auto& [reason, count] : k.skip_reasons) {
      std::printf("  %s skipped %lld: %s\n", k.kernel.c_str(), static_cast<long long>(count), reason.c_str());
    }
  }
  if (!report.backward_summary.rows().empty()) {
    std::printf("\nbackward runs (per kernel and source of the O and LSE handed over; %d traces with a backward "
                "section):\n%s",
                report.backward_traces, report.backward_summary.render().c_str());
    for (const golden::BackwardSummaryRow& k : report.backward_summary.rows()) {
      for (const auto& [reason, count] : k.skip_reasons) {
        std::printf("  %s (%s) skipped %lld: %s\n", k.kernel.c_str(), k.source.c_str(), static_cast<long long>(count),
                    reason.c_str());
      }
    }
  }
  std::printf("golden check: %d traces x %zu kernels: %d passed, %d failed, %d skipped (unsupported)\n",
              report.traces, kernels.size(), passed, failed, skipped);
  for (const std::string& failure : report.failures) std::printf("FAILED: %s\n", failure.c_str());
  if (args.json) {
    formats::write_results_file(*args.json, golden_check_json(report, kernels));
    std::printf("results JSON written to %s\n", args.json->c_str());
  }
  if (!report.passed()) throw ExitCode{kExitCheckFailed};
}

}  // namespace

void add_golden_command(CLI::App& app) {
  CLI::App* golden = app.add_subcommand("golden", "golden files: published worked examples and oracle traces");
  golden->require_subcommand(1);
  auto add = [&](const char* name, const char* help) {
    auto args = std::make_shared<GoldenArgs>();
    CLI::App* cmd = golden->add_subcommand(name, help);
    cmd->add_option("--dir", args->dir, "the golden directory (holds traces/ and published/)")->capture_default_str();
    return std::make_pair(cmd, args);
  };
  {
    auto [cmd, args] = add("verify", "compare every trace and published value with the oracle; writes nothing");
    cmd->callback([args] { run_verify(*args); });
  }
  {
    auto [cmd, args] = add("regen", "rewrite the traces from the oracle (all or nothing) and print what changed");
    cmd->callback([args] { run_regen(*args); });
  }
  {
    auto [cmd, args] = add("errata", "report the published values that disagree with the oracle");
    cmd->add_flag("--all", args->all, "list every published value, not only the errata");
    cmd->callback([args] { run_errata(*args); });
  }
  {
    auto [cmd, args] = add("check", "check every selected kernel against every trace it supports");
    cmd->add_flag("--all", args->all, "also list the skipped (unsupported) pairs");
    cmd->add_option("--json", args->json,
                    "also write the results as JSON to this file (docs/file-formats.md, \"Results JSON\")");
    cmd->callback([args] { run_check(*args); });
  }
}

}  // namespace attncheck::cli
