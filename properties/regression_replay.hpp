// Replaying properties/regressions/: every problem file there, against one kernel, through
// the forward entry point and, for causal problems and decode kernels, the decode entry
// point, judged by the a-priori bound against the oracle of the stored values.
#pragma once

#include <string>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/oracle/kernel_check.hpp"

namespace attncheck::properties {

// The .json files of the regressions directory, sorted.
std::vector<std::string> regression_files();

struct Replay {
  std::string file;
  bool through_decode = false;
  oracle::KernelCheck check;
};

// Every file whose dtype the kernel stores and whose features it declares. A file that
// cannot be read throws formats::InputError naming the file and the field.
std::vector<Replay> replay_regressions(const KernelInfo& kernel);

}  // namespace attncheck::properties
