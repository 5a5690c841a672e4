// Scalar loads and stores of storage-dtype elements as f32, for portable kernel code.
#pragma once

#include "attncheck/half.hpp"

namespace attncheck {

inline float load_element(const float* p) { return *p; }
inline float load_element(const float16* p) { return to_float(*p); }
inline float load_element(const bfloat16* p) { return to_float(*p); }

inline void store_element(float* p, float x) { *p = x; }
inline void store_element(float16* p, float x) { *p = f16_from_float(x); }
inline void store_element(bfloat16* p, float x) { *p = bf16_from_float(x); }

// The f32 value x becomes when written to storage type T and read back.
template <typename T>
float round_through(float x) {
  T stored;
  store_element(&stored, x);
  return load_element(&stored);
}

}  // namespace attncheck
