#include <stdexcept>
#include <string>

#include "attncheck/kernel.hpp"

namespace attncheck {
namespace {

void require_non_negative(int64_t value, const char* field, const char* zero_means) {
  if (value < 0) {
    throw std::invalid_argument(std::string("KernelOptions.") + field + ": must be >= 0 (0 = " + zero_means +
                                "), got " + std::to_string(value));
  }
}

}  // namespace

void validate(const KernelOptions& options) {
  require_non_negative(options.q_block, "q_block", "the kernel's default");
  require_non_negative(options.k_block, "k_block", "the kernel's default");
  require_non_negative(options.threads, "threads", "all cores");
  require_non_negative(options.kv_splits, "kv_splits", "the kernel's default");
}

}  // namespace attncheck
