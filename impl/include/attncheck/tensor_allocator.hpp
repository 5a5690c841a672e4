// The allocator of every tensor buffer (StorageBuffer, hence KvCache): cache-line aligned, so
// a row whose byte length is a multiple of 64 never straddles cache lines (the vector loads
// of the kernels split otherwise: glibc returns large blocks 16 bytes past a page boundary);
// and blocks of 2 MiB or more are aligned to 2 MiB and, on Linux, advised as transparent huge
// pages before their first touch, as an inference engine would allocate a KV cache: streaming
// a cache through 4 KiB pages costs a page walk every 4 KiB, and the hardware prefetchers stop
// at every 4 KiB boundary.
#pragma once

#include <cstddef>
#include <new>

namespace attncheck {

// Raw storage: aligned as above; `bytes` may be 0. Throws std::bad_alloc.
void* allocate_tensor_bytes(size_t bytes);
void free_tensor_bytes(void* p, size_t bytes) noexcept;

template <typename T>
struct TensorAllocator {
  using value_type = T;
  TensorAllocator() = default;
  template <typename U>
  TensorAllocator(const TensorAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(allocate_tensor_bytes(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { free_tensor_bytes(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const TensorAllocator<U>&) const noexcept { return true; }
};

}  // namespace attncheck
