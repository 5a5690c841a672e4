// Verdicts a kernel engineer can trust (issue 15): no law "holds" after checking nothing, the
// printed seed and replay commands reproduce what they claim, a failure file holds the problem
// the kernel failed on and names the row, and an environment value the suite cannot read
// stops the run instead of running something else.
//
// Some tests run the test programs through /bin/sh, as a person pasting a printed command
// would: properties_tests (ATTNCHECK_PROPERTIES_TESTS), this binary, and the CLI.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "attncheck/formats/problem_file.hpp"
#include "attncheck/registry.hpp"
#include "env_knobs.hpp"
#include "failing_case.hpp"
#include "law_tools.hpp"
#include "laws.hpp"
#include "mutants/mutants.hpp"

namespace attncheck::properties {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets, for nullopt) an environment variable for the life of the guard.
class EnvGuard {
 public:
  EnvGuard(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Ran {
  int status = -1;  // the exit status, -1 when killed by a signal
  std::string output;
};

// `command` through /bin/sh (popen), stdout and stderr together. The knobs under test are
// cleared first, so whatever the environment of ctest holds, each run sees only what its
// command sets.
Ran run_shell(const std::string& command) {
  const std::string full =
      "unset RC_PARAMS ATTNCHECK_SOAK ATTNCHECK_KERNELS ATTNCHECK_FAILURES GTEST_TOTAL_SHARDS GTEST_SHARD_INDEX; " +
      command + " 2>&1";
  Ran ran;
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return ran;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) ran.output.append(buffer, n);
  const int raw = ::pclose(pipe);
  ran.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return ran;
}

const mutants::Mutant& mutant_named(const std::string& name) {
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    if (m.kernel.name == name) return m;
  }
  throw std::invalid_argument("no mutant " + name);
}

const KernelInfo& registered(const char* name) {
  const KernelInfo* k = find_kernel(name);
  if (k == nullptr) throw std::invalid_argument(std::string("no kernel ") + name);
  return *k;
}

const char* const kLeakLaw = "MaskLeakage.ChangingInvisibleKeysLeavesOutputBitIdentical";
// A cheap law with a summary line that depends on every case drawn (maxima of errors).
const char* const kSummaryTest = "Accuracy.OutputAndLseWithinAPrioriBound/dense_f32";

// A fresh directory under the system's temporary one; removed by the caller.
fs::path temporary_dir(const std::string& tag) {
  const fs::path dir = fs::temp_directory_path() / ("attncheck-verdict-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// ---- 1. A law that checked no case fails, and says why -------------------------------------

// Today RC_PARAMS=max_success=0 let most laws print "holds, 0 cases". Every law, on a kernel
// it applies to, must fail and name the source of the zero.
TEST(Verdict, ZeroCasesFromRcParamsFailEveryLaw) {
  EnvGuard soak("ATTNCHECK_SOAK", std::nullopt);
  EnvGuard params("RC_PARAMS", "max_success=0");
  int laws = 0;
  for (const Law& law : all_laws()) {
    // The registered kernels, then the mutants' bug-free controls: a law may apply to no
    // registered kernel yet (GradientAccuracy.NormwiseErrorAtMostTwiceDensePlusFloor needs a
    // backward other than dense's), and must still fail after 0 cases.
    std::vector<const KernelInfo*> kernels;
    for (const KernelInfo& k : all_kernels()) kernels.push_back(&k);
    for (const KernelInfo& k : mutants::all_controls()) kernels.push_back(&k);
    for (const KernelInfo* candidate : kernels) {
      const KernelInfo& kernel = *candidate;
      if (!law.applies(kernel)) continue;
      const LawOutcome outcome = check_law(law, kernel);
      EXPECT_FALSE(outcome.passed) << law.id() << " on " << kernel.name << " passed after 0 cases";
      EXPECT_EQ(outcome.checked, 0) << law.id();
      EXPECT_NE(outcome.report.find("no case was checked: RC_PARAMS max_success=0 asks for 0 cases"),
                std::string::npos)
          << law.id() << ": " << outcome.report;
      ++laws;
      break;
    }
  }
  EXPECT_EQ(laws, static_cast<int>(all_laws().size()));  // every law found a kernel to run on
}

TEST(Verdict, ZeroCasesFromSoakOrTheLawItselfFail) {
  EnvGuard params("RC_PARAMS", std::nullopt);
  const Law& law = find_law(kLeakLaw);
  const KernelInfo& kernel = registered("dense_f32");
  {
    EnvGuard soak("ATTNCHECK_SOAK", "0");
    const LawOutcome outcome = check_law(law, kernel);
    EXPECT_FALSE(outcome.passed);
    EXPECT_NE(outcome.report.find("no case was checked: ATTNCHECK_SOAK=0 asks for 0 cases"), std::string::npos)
        << outcome.report;
  }
  EnvGuard soak("ATTNCHECK_SOAK", std::nullopt);
  Law zero = law;
  zero.cases = 0;
  const LawOutcome outcome = check_law(zero, kernel);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.report.find("this law's default case count asks for 0 cases"), std::string::npos)
      << outcome.report;
  // The control: the same law with its own count holds, so the failures above are the zero's.
  EXPECT_TRUE(check_law(law, kernel, 5).passed);
}

// A law whose every case rapidcheck discards (RC_PRE false) checked nothing either.
TEST(Verdict, EveryCaseDiscardedIsAFailureThatSaysNothingWasChecked) {
  Law law;
  law.family = "Verdict";
  law.name = "DiscardsEverything";
  law.statement = "a law whose precondition never holds";
  law.cases = 5;
  law.applies = [](const KernelInfo&) { return true; };
  law.check_case = [](LawRun&) { RC_PRE(false); };
  const LawOutcome outcome = check_law(law, registered("dense_f32"));
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.checked, 0);
  EXPECT_NE(outcome.report.find("no case was checked: rapidcheck discarded every case"), std::string::npos)
      << outcome.report;
}

// A failure of the leak law against a mutant that leaks through the causal mask, reported with
// this binary as the replay program, into `dir`.
struct LeakFailure {
  LawOutcome outcome;
  FailureReport report;
};
LeakFailure leak_failure(const std::string& dir, const char* mutant = "future_token_leak_f32") {
  EnvGuard failures("ATTNCHECK_FAILURES", dir);
  const Law& law = find_law(kLeakLaw);
  const mutants::Mutant& m = mutant_named(mutant);
  LeakFailure f;
  f.outcome = check_law(law, m.kernel, 500);
  f.report = write_failure_report(law, m.kernel, f.outcome, this_program("properties_meta_tests"),
                                  "LawRejectsMutant.MaskLeakage/ChangingInvisibleKeysLeavesOutputBitIdentical/" +
                                      std::string(mutant));
  return f;
}

// rapidcheck answers a reproduce= that names other tests with "success, 0 cases"; a replay
// command run without its --gtest_filter would then report every other law as holding.
TEST(Verdict, ReproduceForAnotherTestChecksNothingAndFails) {
  const fs::path dir = temporary_dir("reproduce");
  const LeakFailure f = leak_failure(dir.string());
  ASSERT_FALSE(f.outcome.passed);
  ASSERT_FALSE(f.outcome.replay_params.empty());
  const Ran ran = run_shell("RC_PARAMS=" + shell_quote(f.outcome.replay_params) + " " +
                            shell_quote(ATTNCHECK_PROPERTIES_TESTS) + " --gtest_filter=" + kSummaryTest);
  EXPECT_NE(ran.status, 0) << ran.output;
  EXPECT_NE(ran.output.find("no case was checked: RC_PARAMS reproduce= replays only"), std::string::npos)
      << ran.output;
  EXPECT_EQ(ran.output.find(": holds,"), std::string::npos) << ran.output;
  fs::remove_all(dir);
}

// ---- 2. The printed seed reproduces the cases ---------------------------------------------

std::string line_starting(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  return text.substr(at, text.find('\n', at) - at);
}

// rapidcheck printed "Using configuration: seed=<its own random seed>", which is not the seed
// the laws use; copying it reproduced nothing. Now the only seed printed is the law's, and
// RC_PARAMS="seed=<it>" draws the same cases: the summary (maxima over every case) is the same,
// while another seed gives another summary (so the comparison can tell cases apart).
TEST(Verdict, PrintedSeedIsTheOneUsedAndReproducesTheCases) {
  const std::string program = shell_quote(ATTNCHECK_PROPERTIES_TESTS) + " --gtest_filter=" + kSummaryTest;
  const Ran first = run_shell("RC_PARAMS=max_success=12 " + program);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_EQ(first.output.find("Using configuration"), std::string::npos) << first.output;
  // (A plain search, not <regex>: GCC 12 warns falsely inside std::regex under the sanitizers.)
  const std::string seed_prefix = "Accuracy.OutputAndLseWithinAPrioriBound: holds, 12 cases, seed ";
  const size_t at = first.output.find(seed_prefix);
  ASSERT_NE(at, std::string::npos) << first.output;
  const size_t digits = at + seed_prefix.size();
  const std::string seed = first.output.substr(digits, first.output.find_first_not_of("0123456789", digits) - digits);
  ASSERT_FALSE(seed.empty()) << first.output;
  const std::string summary = line_starting(first.output, "  dense_f32 accuracy:");
  ASSERT_FALSE(summary.empty()) << first.output;

  const Ran again = run_shell("RC_PARAMS='max_success=12 seed=" + seed + "' " + program);
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("holds, 12 cases, seed " + seed), std::string::npos) << again.output;
  EXPECT_EQ(line_starting(again.output, "  dense_f32 accuracy:"), summary);

  const std::string other = std::to_string(std::stoull(seed) + 1);
  const Ran different = run_shell("RC_PARAMS='max_success=12 seed=" + other + "' " + program);
  ASSERT_EQ(different.status, 0) << different.output;
  EXPECT_NE(line_starting(different.output, "  dense_f32 accuracy:"), summary);
}

// ---- 3. The failure file of a law that plants values -------------------------------------

// The leak law compares the kernel with itself, with and without planted NaN / inf / max in the
// keys a row cannot see. Its file must hold the problem on which the kernel's row is wrong
// against the oracle, name that row, and `attncheck trace` of it must show the row in the
// oracle's ledger. That problem is the planted one when what got through is the planted value
// (`expect_planted`); when the planted value hides the leak (padded_key_counted_f32: a planted
// +inf key scores -inf and gets weight 0, so the row is right there) it is the one before
// planting, and the note says so.
// `expect_planted` unset: either, as the minimal case has it, but the file and the note agree
// (future_token_leak_f32: when the minimal row sees no key at all, a planted +-inf in the key it
// leaks to makes it right again, so the file holds the problem before planting).
void check_leak_failure_file(const char* mutant_name, std::optional<bool> expect_planted) {
  SCOPED_TRACE(mutant_name);
  const fs::path dir = temporary_dir(std::string("file-") + mutant_name);
  const LeakFailure f = leak_failure(dir.string(), mutant_name);
  ASSERT_FALSE(f.outcome.passed);
  ASSERT_TRUE(f.outcome.witness.has_value());
  ASSERT_FALSE(f.report.file.empty()) << f.report.text;
  const Witness& witness = *f.outcome.witness;
  ASSERT_FALSE(witness.rows.empty());

  const formats::ProblemFile file = formats::read_problem_file(f.report.file);
  const Problem& p = file.problem;
  EXPECT_EQ(p.spec, witness.problem.spec);
  // The planted values are in the file: generated values are finite and far below the largest
  // finite value, planted ones are NaN, an infinity or +-max.
  const double max = max_finite(p.dtype);
  int planted = 0;
  for (const std::vector<float>* t : {&p.k, &p.v}) {
    for (float x : *t) planted += !std::isfinite(x) || std::fabs(x) == max;
  }
  const std::string note_before = "the file holds the problem before planting";
  if (!expect_planted) expect_planted = planted > 0;
  if (*expect_planted) {
    EXPECT_GT(planted, 0) << "the file holds the problem before the values were planted";
    EXPECT_EQ(witness.detail.find(note_before), std::string::npos) << witness.detail;
  } else {
    EXPECT_EQ(planted, 0);
    EXPECT_NE(witness.detail.find(note_before), std::string::npos) << witness.detail;
  }

  // The file names the rows, and on that problem the mutant's row breaks its bound while the
  // dense kernel's does not: the file shows the bug, not just a difference between two runs.
  std::ifstream in(f.report.file);
  const formats::Json json = formats::Json::parse(in);
  ASSERT_TRUE(json.contains("failing_rows")) << json.dump(1);
  ASSERT_EQ(json["failing_rows"].size(), witness.rows.size());
  ASSERT_TRUE(json.contains("note"));
  const mutants::Mutant& mutant = mutant_named(mutant_name);
  const KernelInfo& dense = registered("dense_f32");
  const AttentionShape& s = p.spec.shape;
  for (size_t n = 0; n < witness.rows.size(); ++n) {
    const RowIndex r = row_index(s, witness.rows[n]);
    EXPECT_EQ(json["failing_rows"][n]["batch"].get<int64_t>(), r.b);
    EXPECT_EQ(json["failing_rows"][n]["head"].get<int64_t>(), r.h);
    EXPECT_EQ(json["failing_rows"][n]["query"].get<int64_t>(), r.i);
    EXPECT_NE(json["note"].get<std::string>().find(row_name(s, witness.rows[n])), std::string::npos);
    EXPECT_FALSE(row_within_bound(mutant.kernel, p, run_kernel(mutant.kernel, p), witness.rows[n]))
        << "the mutant's row " << row_name(s, witness.rows[n]) << " is right on the file's problem";
    EXPECT_TRUE(row_within_bound(dense, p, run_kernel(dense, p), witness.rows[n]));
  }

  // `attncheck trace FILE` (the printed command: the mutant is not registered, so no --kernel)
  // shows the row: the ledger of its (batch, head) has the row in its output table.
  ASSERT_FALSE(f.report.trace_command.empty());
  const Ran trace = run_shell(f.report.trace_command);
  EXPECT_NE(trace.status, 2) << trace.output;  // 2: the CLI could not read the file
  const RowIndex r = row_index(s, witness.rows.front());
  const std::string head = "batch " + std::to_string(r.b) + ", query head " + std::to_string(r.h) + " (";
  const size_t section = trace.output.find(head);
  ASSERT_NE(section, std::string::npos) << trace.output;
  const size_t output_table = trace.output.find("Step 5. output O = weights V", section);
  ASSERT_NE(output_table, std::string::npos) << trace.output;
  char label[32];
  std::snprintf(label, sizeof label, "    i=%-3lld |", static_cast<long long>(r.i));
  const size_t next_section = trace.output.find("\nbatch ", output_table);
  const size_t row_line = trace.output.find(label, output_table);
  EXPECT_TRUE(row_line != std::string::npos && row_line < next_section)
      << "row " << label << " not in the trace:\n" << trace.output;
  fs::remove_all(dir);
}

TEST(Verdict, LeakFailureFileHoldsTheProblemTheKernelFailsOnAndNamesTheRow) {
  check_leak_failure_file("future_token_leak_f32", std::nullopt);
  check_leak_failure_file("masked_nan_times_zero_f32", true);
  check_leak_failure_file("padded_key_counted_f32", false);
}

// ---- 4. Printed commands are shell-quoted; an unwritable directory is an error -------------

TEST(Verdict, ShellQuoteRoundTripsThroughSh) {
  for (const std::string& text : std::vector<std::string>{"plain/path-1.json", "with space", "it's", "$HOME `id` \"q\" \\ ; * ?", "a=b", ""}) {
    const Ran ran = run_shell("printf '%s' " + shell_quote(text));
    EXPECT_EQ(ran.output, text) << shell_quote(text);
  }
}

// A failure directory with blanks and a quote in its name: the printed trace command reads the
// file, and the printed replay command, run through /bin/sh, replays the minimal case (this
// binary's rejection test, reproducing one case: the same minimal case as in process).
TEST(Verdict, PrintedCommandsWorkFromADirectoryWithSpaces) {
  const fs::path dir = temporary_dir("quoting") / "failure dir with 'spaces'";
  const LeakFailure f = leak_failure(dir.string());
  ASSERT_FALSE(f.outcome.passed);
  ASSERT_FALSE(f.report.file.empty()) << f.report.text;
  ASSERT_TRUE(fs::exists(f.report.file));
  std::printf("%s", f.report.text.c_str());  // what a person would see and paste
  EXPECT_NE(f.report.text.find(f.report.trace_command), std::string::npos);
  EXPECT_NE(f.report.text.find(f.report.replay_command), std::string::npos);

  const Ran trace = run_shell(f.report.trace_command);
  EXPECT_NE(trace.status, 2) << f.report.trace_command << "\n" << trace.output;
  EXPECT_NE(trace.output.find("attncheck trace: " + std::string(kLeakLaw)), std::string::npos) << trace.output;

  const Ran replay = run_shell(f.report.replay_command);
  EXPECT_EQ(replay.status, 0) << f.report.replay_command << "\n" << replay.output;
  EXPECT_NE(replay.output.find("rejects future_token_leak_f32"), std::string::npos) << replay.output;
  EXPECT_NE(replay.output.find("minimal case: " + f.outcome.witness->detail.substr(0, 300)), std::string::npos)
      << "expected: " << f.outcome.witness->detail << "\n" << replay.output;
  fs::remove_all(dir.parent_path());
}

// ATTNCHECK_FAILURES naming a file, or a place nothing can be written: the report says the case
// could not be written and prints no trace command for a file that does not exist.
TEST(Verdict, UnwritableFailureDirectoryIsAnErrorNotACommand) {
  const fs::path dir = temporary_dir("unwritable");
  const fs::path file = dir / "a-file";
  std::ofstream(file) << "not a directory\n";
  for (const std::string& target : {file.string(), std::string("/proc/attncheck-not-writable")}) {
    const LeakFailure f = leak_failure(target);
    ASSERT_FALSE(f.outcome.passed);
    EXPECT_TRUE(f.report.file.empty()) << target;
    EXPECT_FALSE(f.report.file_error.empty()) << target;
    EXPECT_TRUE(f.report.trace_command.empty()) << target;
    EXPECT_NE(f.report.text.find("ERROR: the failing case could not be written"), std::string::npos) << f.report.text;
    EXPECT_NE(f.report.text.find("ATTNCHECK_FAILURES=" + target), std::string::npos) << f.report.text;
    EXPECT_EQ(f.report.text.find("Trace the problem"), std::string::npos) << f.report.text;
    EXPECT_EQ(f.report.text.find("Minimal problem written"), std::string::npos) << f.report.text;
  }
  fs::remove_all(dir);
}

// ---- 5. Numeric knobs are whole numbers in range, or the run stops ------------------------

TEST(EnvKnobs, OnlyWholeNumbersInRangeParse) {
  EXPECT_EQ(parse_whole_number("X", "0", 0, 10), 0u);
  EXPECT_EQ(parse_whole_number("X", "007", 0, 10), 7u);
  EXPECT_EQ(parse_whole_number("X", "1000000", 0, kMaxCases), 1000000u);
  EXPECT_EQ(parse_whole_number("X", "18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
  for (const char* bad : {"2.5", "1e4", "4294967297", "99999999999", "-1", "+3", " 5", "5 ", "", "0x10", "1000001",
                          "18446744073709551616"}) {
    try {
      parse_whole_number("ATTNCHECK_SOAK", bad, 0, kMaxCases);
      ADD_FAILURE() << "'" << bad << "' parsed";
    } catch (const KnobError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("ATTNCHECK_SOAK=") + bad + ":"), std::string::npos) << e.what();
    }
  }
}

TEST(EnvKnobs, RcParamsNumbersAreCheckedAsRapidcheckSplitsThem) {
  {
    EnvGuard params("RC_PARAMS", " max_success = 12  seed='34' reproduce=\"x y\" noshrink");
    const RcNumbers n = rc_numbers();
    EXPECT_EQ(n.max_success, 12);
    EXPECT_EQ(n.seed, 34u);
    EXPECT_FALSE(n.max_size.has_value());
  }
  for (const char* bad : {"max_success=2.5", "seed=-1", "max_size=1e4", "max_discard_ratio=4294967297",
                          "max_success=99999999999", "seed='unclosed"}) {
    EnvGuard params("RC_PARAMS", bad);
    EXPECT_THROW(rc_numbers(), KnobError) << bad;
    EXPECT_NE(knob_errors().find("RC_PARAMS"), std::string::npos) << bad;
  }
}

// Today ATTNCHECK_SOAK=2.5 ran 2 cases, 1e4 ran 1, 4294967297 ran 1, and 99999999999 died with
// bad_alloc inside a law. Each now stops properties_tests before any test, exit 2, naming the
// variable and the value; a malformed RC_PARAMS number does the same.
TEST(EnvKnobs, MalformedValuesStopPropertiesTests) {
  const std::string program = shell_quote(ATTNCHECK_PROPERTIES_TESTS) + " --gtest_filter=" + kSummaryTest;
  for (const char* value : {"2.5", "1e4", "4294967297", "99999999999"}) {
    const Ran ran = run_shell(std::string("ATTNCHECK_SOAK=") + value + " " + program);
    EXPECT_EQ(ran.status, 2) << value << "\n" << ran.output;
    EXPECT_NE(ran.output.find(std::string("ATTNCHECK_SOAK=") + value + ": "), std::string::npos) << ran.output;
    EXPECT_EQ(ran.output.find("holds"), std::string::npos) << ran.output;
  }
  const Ran rc = run_shell("RC_PARAMS=max_success=2.5 " + program);
  EXPECT_EQ(rc.status, 2) << rc.output;
  EXPECT_NE(rc.output.find("RC_PARAMS max_success=2.5: "), std::string::npos) << rc.output;
  // The control: a whole number runs and holds.
  const Ran good = run_shell("ATTNCHECK_SOAK=3 " + program);
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_NE(good.output.find("holds, 3 cases"), std::string::npos) << good.output;
}

// This binary refuses the same way (its global setup fails, so no test runs).
TEST(EnvKnobs, MalformedValueStopsTheMetaTests) {
  const Ran ran = run_shell("ATTNCHECK_SOAK=2.5 " + shell_quote(this_program("properties_meta_tests")) +
                            " --gtest_filter=MetaTest.MutantsStayOutOfTheRegistry");
  EXPECT_NE(ran.status, 0) << ran.output;
  EXPECT_NE(ran.output.find("ATTNCHECK_SOAK=2.5: "), std::string::npos) << ran.output;
}

}  // namespace
}  // namespace attncheck::properties
