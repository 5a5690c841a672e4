// What the suite prints and writes when a law fails: the minimal problem as a JSON file that
// `attncheck trace` reads, the oracle's and the kernel's values of the rows at fault, and the
// commands that replay the case (the law through RC_PARAMS, the problem through the CLI).
#pragma once

#include <string>

#include "attncheck/kernel.hpp"
#include "law.hpp"

namespace attncheck::properties {

// $ATTNCHECK_FAILURES when set, else <build>/properties/failures.
std::string failure_dir();

// Writes text to path through a temporary file and a rename, so a reader never sees half a
// file; creates the directory. Throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& text);

// Writes the witness of a failed outcome to failure_dir()/<law id>.<kernel>.json and returns
// the report. `program` is the test binary's path, for the replay command.
std::string report_failure(const Law& law, const KernelInfo& kernel, const LawOutcome& outcome,
                           const std::string& program);

// The report's middle part alone: the witness's rows, oracle against kernel.
std::string describe_witness(const KernelInfo& kernel, const Witness& witness);

}  // namespace attncheck::properties
