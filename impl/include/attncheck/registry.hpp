// The kernel registry: the one list every test, property, golden check, benchmark and CLI
// command iterates. Built-in and out-of-tree kernels register the same way:
//
//   ATTNCHECK_REGISTER_KERNEL(my_kernel, ([] {
//     attncheck::KernelInfo k;
//     k.name = "my_kernel_f32"; k.dtype = attncheck::DType::f32; ...
//     return k;
//   }()));
//
// Kernels are compiled into an object library, so no linker drops their registration.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attncheck/kernel.hpp"

namespace attncheck {

// Adds a kernel; throws std::logic_error on a duplicate name or a kernel without an entry
// point. Returns true so it can initialise a static.
bool register_kernel(KernelInfo kernel);

// Every registered kernel, sorted by name.
const std::vector<KernelInfo>& all_kernels();
const KernelInfo* find_kernel(std::string_view name);

// Kernels selected for this run: all, unless a filter is set. The filter is a comma-separated
// list of names or glob patterns ('*' and '?'), from set_kernel_filter() (the CLI's --kernel)
// or else the ATTNCHECK_KERNELS environment variable. A filter that matches nothing throws,
// so a typo never turns into a run that checks nothing.
std::vector<const KernelInfo*> selected_kernels();
void set_kernel_filter(std::string filter);
// Back to the default: ATTNCHECK_KERNELS if set, else every kernel.
void reset_kernel_filter();
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace attncheck

#define ATTNCHECK_CONCAT_INNER(a, b) a##b
#define ATTNCHECK_CONCAT(a, b) ATTNCHECK_CONCAT_INNER(a, b)
#define ATTNCHECK_REGISTER_KERNEL(id, ...)                                    \
  [[maybe_unused]] static const bool ATTNCHECK_CONCAT(attncheck_registered_, id) = \
      ::attncheck::register_kernel(__VA_ARGS__)
