// IEEE binary16 (f16) and bfloat16 (bf16) storage types.
//
// Conversions to float are exact. Conversions from float and double round to nearest, ties to
// even, in one step (a double is never rounded to float first, which could round twice), and
// are right for NaN (stays a quiet NaN with the sign kept), infinities, subnormals, and
// overflow (a value at or beyond max + half an ulp becomes infinity). The tests check all
// 65,536 bit patterns of each type against MPFR's rounding.
#pragma once

#include <cstdint>

namespace attncheck {

struct float16 {
  uint16_t bits = 0;
  friend bool operator==(float16, float16) = default;
};
struct bfloat16 {
  uint16_t bits = 0;
  friend bool operator==(bfloat16, bfloat16) = default;
};

float to_float(float16 h);
float to_float(bfloat16 h);
float16 f16_from_double(double x);
bfloat16 bf16_from_double(double x);
// float -> double is exact, so these round exactly once.
inline float16 f16_from_float(float x) { return f16_from_double(x); }
inline bfloat16 bf16_from_float(float x) { return bf16_from_double(x); }

// The value x rounds to in each storage type, as a float.
inline float round_to_f16(float x) { return to_float(f16_from_float(x)); }
inline float round_to_bf16(float x) { return to_float(bf16_from_float(x)); }

}  // namespace attncheck
