// Running a registered kernel on a Problem: encode the inputs in the kernel's dtype, fence
// the outputs with red zones, call it, check the fences, decode the outputs.
#pragma once

#include <stdexcept>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/problem.hpp"

namespace attncheck {

struct KernelResult {
  std::vector<float> o;    // [batch, q_heads, q_len, value_dim], values of the storage dtype
  std::vector<float> lse;  // [batch, q_heads, q_len]; NaN-filled when the kernel lacks kLse
};

// Thrown when a kernel writes outside its outputs.
class RedZoneViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws std::invalid_argument when the kernel cannot run the problem (dtype differs or an
// undeclared feature is needed), and RedZoneViolation when it overruns an output.
KernelResult run_kernel(const KernelInfo& kernel, const Problem& problem,
                        const KernelOptions& options = {});

// Runs a kernel's decode entry point on a problem: K and V are copied into a cache of
// `capacity` >= kv_len positions per kv head, whose slots past kv_len hold NaN (a kernel that
// reads them poisons its output). capacity 0 means kv_len + 7.
KernelResult run_decode(const KernelInfo& kernel, const Problem& problem, int64_t capacity = 0,
                        const KernelOptions& options = {});

}  // namespace attncheck
