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

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "attncheck/kernel.hpp"

namespace attncheck {

// A declaration the registry refuses, or a registry that refused one. The message names the
// kernel and the field: "kernel 'my_f32': error.exp_max_ulp = inf: ...".
class RegistrationError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws RegistrationError when `kernel` cannot join the registry as it is now: an empty or
// unfilterable name (only letters, digits, '_', '.', '-'), a name already registered, no entry
// point, an unknown dtype or capability bit, kDecode without a decode function, kBackward
// without a backward function, a backward without a forward, or ErrorTraits that make the a-priori bound
// meaningless (exp_max_ulp not finite, negative, or above kMaxDeclaredExpUlp).
void validate_registration(const KernelInfo& kernel);

// The largest exp error a kernel may declare, in f32 ULPs (2^16, a relative error of 2^-8):
// beyond it the bound of docs/error-model.md grows past ~1% of max|V| and no longer tells a
// correct kernel from a wrong one.
inline constexpr double kMaxDeclaredExpUlp = 65536.0;

// Adds a kernel. It runs during static initialisation, where an exception would abort the
// program before main, so it never throws: a kernel that validate_registration() refuses is
// left out and its reason recorded. Every later use of the registry (all_kernels() and all
// that call it) then throws RegistrationError listing every reason, which the CLI reports with
// exit 2 and the test programs before running any test. Returns true so it can initialise a
// static.
bool register_kernel(KernelInfo kernel) noexcept;

// The reasons of the registrations refused so far, in order.
std::vector<std::string> registration_errors();

// Every registered kernel, sorted by name. Throws RegistrationError if a registration was
// refused.
const std::vector<KernelInfo>& all_kernels();
const KernelInfo* find_kernel(std::string_view name);

// Kernels selected for this run: all but the explicit-only ones, unless a filter is set. The
// filter is a comma-separated list of names or glob patterns ('*' and '?'), from
// set_kernel_filter() (the CLI's --kernel) or else the ATTNCHECK_KERNELS environment variable
// (when set, even to ""). Every entry must select at least one kernel, and an empty filter or
// an empty entry is refused, so a typo never turns into a run that checks less than asked:
// each is a std::invalid_argument naming the entry. An explicit-only kernel is selected only
// by an entry that is its exact name.
std::vector<const KernelInfo*> selected_kernels();
// True when `kernel` is among selected_kernels().
bool is_selected(const KernelInfo& kernel);
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
