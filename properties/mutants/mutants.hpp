// Deliberately broken kernels, each with the laws that must reject it. They are never
// registered: only the meta-tests (properties/meta_test.cpp) see them. Each is the template of
// mutant_kernel-inl.hpp with one bug; its control is the same template without the bug, which
// every one of those laws must accept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attncheck/kernel.hpp"

namespace attncheck::mutants {

struct Mutant {
  KernelInfo kernel;
  std::string bug;                       // what is wrong, in one line
  std::string control;                   // the name of the same template without the bug
  std::vector<std::string> rejected_by;  // ids of the laws that must reject it
};

const std::vector<Mutant>& all_mutants();

// The bug-free template kernels: "control_tiled_f32", "control_single_block_f32",
// "control_tiled_f16", "control_single_block_f16" (tiled: 16-key blocks), "control_tiled128_f32"
// and "control_tiled256_f32"; then backward_controls().
const std::vector<KernelInfo>& all_controls();
const KernelInfo& control(std::string_view name);

// The backward mutants and their controls ("control_backward_f32", "control_backward_f16":
// the forward template's bug-free 16-key kernel with the backward template's; 16-key blocks),
// in backward_mutants.cpp. all_mutants() and all_controls() include them.
std::vector<Mutant> backward_mutants();
std::vector<KernelInfo> backward_controls();

}  // namespace attncheck::mutants
