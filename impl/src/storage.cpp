#include "attncheck/storage.hpp"

#include <cmath>
#include <cstring>

namespace attncheck {

float round_to_dtype(DType t, float x) {
  switch (t) {
    case DType::f32: return x;
    case DType::f16: return round_to_f16(x);
    case DType::bf16: return round_to_bf16(x);
  }
  return x;
}

bool representable_in(DType t, float x) {
  if (std::isnan(x)) return true;
  return round_to_dtype(t, x) == x;
}

StorageBuffer::StorageBuffer(DType dtype, size_t elements)
    : dtype_(dtype), elements_(elements), bytes_(elements * dtype_size(dtype)) {}

StorageBuffer StorageBuffer::encode(DType dtype, std::span<const float> values) {
  StorageBuffer buffer(dtype, values.size());
  for (size_t i = 0; i < values.size(); ++i) buffer.set(i, values[i]);
  return buffer;
}

float StorageBuffer::get(size_t index) const {
  const std::byte* p = bytes_.data() + index * dtype_size(dtype_);
  switch (dtype_) {
    case DType::f32: {
      float value;
      std::memcpy(&value, p, sizeof value);
      return value;
    }
    case DType::f16: {
      float16 value;
      std::memcpy(&value.bits, p, 2);
      return to_float(value);
    }
    case DType::bf16: {
      bfloat16 value;
      std::memcpy(&value.bits, p, 2);
      return to_float(value);
    }
  }
  return 0;
}

void StorageBuffer::set(size_t index, float value) {
  std::byte* p = bytes_.data() + index * dtype_size(dtype_);
  switch (dtype_) {
    case DType::f32: std::memcpy(p, &value, 4); break;
    case DType::f16: {
      const float16 h = f16_from_float(value);
      std::memcpy(p, &h.bits, 2);
      break;
    }
    case DType::bf16: {
      const bfloat16 h = bf16_from_float(value);
      std::memcpy(p, &h.bits, 2);
      break;
    }
  }
}

std::vector<float> StorageBuffer::decode() const {
  std::vector<float> values(elements_);
  for (size_t i = 0; i < elements_; ++i) values[i] = get(i);
  return values;
}

}  // namespace attncheck
