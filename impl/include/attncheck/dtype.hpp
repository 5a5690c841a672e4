// Storage data types for Q, K, V and O. Accumulation is always f32 (see docs/error-model.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace attncheck {

enum class DType : uint8_t { f32, f16, bf16 };

inline constexpr DType kAllDTypes[] = {DType::f32, DType::f16, DType::bf16};

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
  }
  return "?";
}

constexpr std::optional<DType> parse_dtype(std::string_view name) {
  for (DType t : kAllDTypes) {
    if (dtype_name(t) == name) return t;
  }
  return std::nullopt;
}

constexpr size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }

// Significand bits including the implicit one: the precision p of the binary format.
constexpr int significand_bits(DType t) {
  switch (t) {
    case DType::f32: return 24;
    case DType::f16: return 11;
    case DType::bf16: return 8;
  }
  return 0;
}

// Unit roundoff u = 2^-p of round-to-nearest (Higham, ch. 2).
constexpr double unit_roundoff(DType t) {
  double u = 1.0;
  for (int i = 0; i < significand_bits(t); ++i) u *= 0.5;
  return u;
}

// Largest finite value and smallest positive normal value of each format.
constexpr double max_finite(DType t) {
  switch (t) {
    case DType::f32: return 3.4028234663852886e38;
    case DType::f16: return 65504.0;
    case DType::bf16: return 3.3895313892515355e38;
  }
  return 0;
}
constexpr double min_normal(DType t) {
  switch (t) {
    case DType::f32: return 1.1754943508222875e-38;
    case DType::f16: return 6.103515625e-05;
    case DType::bf16: return 1.1754943508222875e-38;
  }
  return 0;
}

}  // namespace attncheck
