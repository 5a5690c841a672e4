#include "attncheck/tensor_allocator.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace attncheck {
namespace {

constexpr size_t kCacheLine = 64;
constexpr size_t kHugePage = size_t{2} << 20;

size_t alignment_for(size_t bytes) { return bytes >= kHugePage ? kHugePage : kCacheLine; }

}  // namespace

void* allocate_tensor_bytes(size_t bytes) {
  const size_t alignment = alignment_for(bytes);
  void* p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(alignment));
#if defined(MADV_HUGEPAGE)
  // Advice only: where transparent huge pages are off this is a no-op, and a failure changes
  // nothing but speed.
  if (alignment == kHugePage) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void free_tensor_bytes(void* p, size_t bytes) noexcept {
  ::operator delete(p, std::align_val_t(alignment_for(bytes)));
}

}  // namespace attncheck
