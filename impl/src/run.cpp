#include "attncheck/run.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "attncheck/storage.hpp"

namespace attncheck {
namespace {

// Elements of red zone on each side of an output. The fill is a signalling-free byte pattern
// no kernel writes by accident.
constexpr size_t kRedZone = 64;
constexpr std::byte kFill{0xA5};

// An output buffer with red zones around it.
class FencedBuffer {
 public:
  FencedBuffer(size_t elements, size_t element_size)
      : element_size_(element_size),
        bytes_((elements + 2 * kRedZone) * element_size, kFill) {}
  void* data() { return bytes_.data() + kRedZone * element_size_; }
  void check(const std::string& what, const std::string& kernel) const {
    const size_t zone = kRedZone * element_size_;
    for (size_t i = 0; i < zone; ++i) {
      if (bytes_[i] != kFill) {
        throw RedZoneViolation(kernel + " wrote before the start of " + what);
      }
      if (bytes_[bytes_.size() - 1 - i] != kFill) {
        throw RedZoneViolation(kernel + " wrote past the end of " + what);
      }
    }
  }

 private:
  size_t element_size_;
  std::vector<std::byte> bytes_;
};

}  // namespace

KernelResult run_kernel(const KernelInfo& kernel, const Problem& problem,
                        const KernelOptions& options) {
  if (problem.dtype != kernel.dtype) {
    throw std::invalid_argument(kernel.name + " stores " + std::string(dtype_name(kernel.dtype)) +
                                ", the problem is " + std::string(dtype_name(problem.dtype)));
  }
  const std::string missing = unsupported_feature(kernel, problem.spec);
  if (!missing.empty()) {
    throw std::invalid_argument(kernel.name + " does not support " + missing);
  }
  validate(problem);
  const AttentionShape& s = problem.spec.shape;
  const StorageBuffer q = StorageBuffer::encode(kernel.dtype, problem.q);
  const StorageBuffer k = StorageBuffer::encode(kernel.dtype, problem.k);
  const StorageBuffer v = StorageBuffer::encode(kernel.dtype, problem.v);
  FencedBuffer o(o_elements(s), dtype_size(kernel.dtype));
  FencedBuffer lse(lse_elements(s), sizeof(float));
  // Outputs start as NaN so a kernel that forgets an element cannot pass by accident.
  StorageBuffer nan_row(kernel.dtype, 1);
  nan_row.set(0, std::numeric_limits<float>::quiet_NaN());
  for (int64_t i = 0; i < o_elements(s); ++i) {
    std::memcpy(static_cast<std::byte*>(o.data()) + i * dtype_size(kernel.dtype), nan_row.data(),
                dtype_size(kernel.dtype));
  }
  float* lse_data = static_cast<float*>(lse.data());
  for (int64_t i = 0; i < lse_elements(s); ++i) lse_data[i] = std::numeric_limits<float>::quiet_NaN();

  const AttentionInputs inputs{q.data(), k.data(), v.data(), problem.visibility()};
  const AttentionOutputs outputs{o.data(), kernel.has(kLse) ? lse_data : nullptr};
  kernel.forward(problem.spec, inputs, outputs, options);
  o.check("O", kernel.name);
  lse.check("LSE", kernel.name);

  KernelResult result;
  StorageBuffer o_view(kernel.dtype, o_elements(s));
  std::memcpy(o_view.data(), o.data(), o_elements(s) * dtype_size(kernel.dtype));
  result.o = o_view.decode();
  result.lse.assign(lse_data, lse_data + lse_elements(s));
  return result;
}

}  // namespace attncheck
