// What the suite prints and writes when a law fails: the minimal problem as a JSON file that
// `attncheck trace` reads, the oracle's and the kernel's values of the rows at fault, and the
// commands that replay the case (the law through RC_PARAMS, the problem through the CLI).
#pragma once

#include <string>
#include <string_view>

#include "attncheck/kernel.hpp"
#include "law.hpp"

namespace attncheck::properties {

// This program's path (/proc/self/exe), or `fallback` where that cannot be read: the
// replay commands name it.
std::string this_program(const std::string& fallback);

// $ATTNCHECK_FAILURES when set, else <build>/properties/failures.
std::string failure_dir();

// `text` quoted for a POSIX shell: unchanged when it is made only of characters no shell
// treats specially, else in single quotes (a ' inside written as '\''). The printed commands
// quote every path and value, so a failure directory with blanks still works when pasted. ('='
// is quoted too: an unquoted first word with one would be read as an assignment.)
std::string shell_quote(std::string_view text);

// What report_failure() wrote and printed.
struct FailureReport {
  std::string text;            // the whole report
  std::string file;            // the failing case's problem file; "" when nothing was written
  std::string file_error;      // why the file could not be written ("" when it was, or no witness)
  std::string trace_command;   // "" when there is no file to trace
  std::string replay_command;  // "" when rapidcheck gave no reproduce string
};

// Writes the witness of a failed outcome to failure_dir()/<law id>.<kernel>.json, with the
// rows at fault named in it ("failing_rows", "note"), and returns the report. `program` is the
// test binary's path and `gtest_test` the test's full name (default "<law id>/<kernel>", the
// name properties_tests gives it), for the replay command. When the file cannot be written
// (ATTNCHECK_FAILURES a file, or a place that cannot be written) the report says so as an
// error and prints no trace command for a file that does not exist.
FailureReport write_failure_report(const Law& law, const KernelInfo& kernel, const LawOutcome& outcome,
                                   const std::string& program, const std::string& gtest_test = "");
std::string report_failure(const Law& law, const KernelInfo& kernel, const LawOutcome& outcome,
                           const std::string& program, const std::string& gtest_test = "");

// The report's middle part alone: the witness's rows, oracle against kernel.
std::string describe_witness(const KernelInfo& kernel, const Witness& witness);

}  // namespace attncheck::properties
