// Tensors in a storage dtype, and the conversions between them and float values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "attncheck/dtype.hpp"
#include "attncheck/half.hpp"
#include "attncheck/tensor_allocator.hpp"

namespace attncheck {

// The value x takes when stored in dtype t (round to nearest even), as a float.
float round_to_dtype(DType t, float x);
// True iff x is stored exactly in dtype t (NaN counts as representable).
bool representable_in(DType t, float x);

// A contiguous tensor in a storage dtype. Kernels receive data() as `const float*`,
// `const float16*` or `const bfloat16*` according to dtype().
class StorageBuffer {
 public:
  StorageBuffer() = default;
  StorageBuffer(DType dtype, size_t elements);
  // Rounds each value to dtype.
  static StorageBuffer encode(DType dtype, std::span<const float> values);

  DType dtype() const { return dtype_; }
  size_t size() const { return elements_; }
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }

  float get(size_t index) const;
  void set(size_t index, float value);  // rounds to dtype
  std::vector<float> decode() const;

 private:
  DType dtype_ = DType::f32;
  size_t elements_ = 0;
  std::vector<std::byte, TensorAllocator<std::byte>> bytes_;
};

}  // namespace attncheck
