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

// What a backward kernel returned, and the forward values it was handed.
struct BackwardResult {
  std::vector<float> dq, dk, dv;  // laid out as q, k, v; values of the storage dtype
  std::vector<float> o;           // the O handed to the kernel (storage dtype values)
  std::vector<float> lse;         // the LSE handed to the kernel (f32, -inf for an empty row)
};

// Runs a kernel's backward entry point on `problem` (which must carry d_out) with the forward
// values `o` (storage dtype values, laid out as O) and `lse` (f32) handed to it: dQ, dK, dV are
// red-zoned and NaN-prefilled as the forward's outputs. Where O and LSE come from is the
// caller's choice: the oracle's, rounded (oracle::forward_for_backward), or the kernel's own
// (run_backward_own_forward). Throws as run_kernel, and std::invalid_argument when the kernel
// has no backward or the problem no d_out.
BackwardResult run_backward(const KernelInfo& kernel, const Problem& problem, const std::vector<float>& o,
                            const std::vector<float>& lse, const KernelOptions& options = {});

// The same with O and LSE from the kernel's own forward (run_kernel with the same options):
// the pair a training step runs. The kernel must declare kLse.
BackwardResult run_backward_own_forward(const KernelInfo& kernel, const Problem& problem,
                                        const KernelOptions& options = {});

}  // namespace attncheck
