#include "attncheck/half.hpp"

#include <bit>
#include <cmath>

namespace attncheck {
namespace {

// A binary interchange format with `exponent_bits` exponent bits and `fraction_bits` stored
// fraction bits, in the low bits of a uint16_t.
template <int exponent_bits, int fraction_bits>
struct BinaryFormat {
  static constexpr int bias = (1 << (exponent_bits - 1)) - 1;
  static constexpr int min_exponent = 1 - bias;  // exponent of the smallest normal
  static constexpr int max_exponent = bias;
  static constexpr uint16_t sign_bit = uint16_t(1u << (exponent_bits + fraction_bits));
  static constexpr uint16_t exponent_mask = uint16_t(((1u << exponent_bits) - 1) << fraction_bits);
  static constexpr uint16_t quiet_bit = uint16_t(1u << (fraction_bits - 1));

  static float decode(uint16_t bits) {
    const bool negative = (bits & sign_bit) != 0;
    const int exponent_field = (bits & exponent_mask) >> fraction_bits;
    const uint32_t fraction = bits & ((1u << fraction_bits) - 1);
    float magnitude;
    if (exponent_field == (1 << exponent_bits) - 1) {
      magnitude = fraction == 0 ? INFINITY : NAN;
    } else if (exponent_field == 0) {
      magnitude = std::ldexp(static_cast<float>(fraction), min_exponent - fraction_bits);
    } else {
      magnitude = std::ldexp(static_cast<float>(fraction | (1u << fraction_bits)),
                             exponent_field - bias - fraction_bits);
    }
    return negative ? -magnitude : magnitude;
  }

  // Round-to-nearest-even by scaling |x| so that one unit of the target's last place becomes
  // 1.0, rounding to an integer with nearbyint (exact in double: the scaled value has at most
  // 53 significant bits), and scaling back. Scaling by powers of two is exact here because
  // the result stays far inside double's normal range.
  static uint16_t encode(double x) {
    const uint16_t sign = std::signbit(x) ? sign_bit : 0;
    if (std::isnan(x)) return uint16_t(sign | exponent_mask | quiet_bit);
    const double magnitude = std::fabs(x);
    if (std::isinf(magnitude)) return uint16_t(sign | exponent_mask);
    if (magnitude == 0) return sign;
    int exponent = std::ilogb(magnitude);  // floor(log2 |x|)
    if (exponent < min_exponent) exponent = min_exponent;  // subnormal spacing
    // Beyond twice the largest binade: certainly infinity.
    if (exponent > max_exponent + 1) return uint16_t(sign | exponent_mask);
    const int quantum_exponent = exponent - fraction_bits;
    const double units = std::nearbyint(std::ldexp(magnitude, -quantum_exponent));
    if (units == 0) return sign;
    const double rounded = std::ldexp(units, quantum_exponent);
    if (rounded >= std::ldexp(1.0, max_exponent + 1)) return uint16_t(sign | exponent_mask);
    const int rounded_exponent = std::ilogb(rounded);
    if (rounded_exponent < min_exponent) {
      return uint16_t(sign | static_cast<uint16_t>(units));  // subnormal: field 0
    }
    const uint32_t significand =
        static_cast<uint32_t>(std::ldexp(rounded, fraction_bits - rounded_exponent));
    const uint32_t exponent_field = static_cast<uint32_t>(rounded_exponent + bias);
    return uint16_t(sign | (exponent_field << fraction_bits) |
                    (significand & ((1u << fraction_bits) - 1)));
  }
};

using Binary16 = BinaryFormat<5, 10>;
using BFloat16 = BinaryFormat<8, 7>;

}  // namespace

float to_float(float16 h) { return Binary16::decode(h.bits); }

float to_float(bfloat16 h) {
  // bf16 is the top half of an f32: the conversion is a shift.
  return std::bit_cast<float>(static_cast<uint32_t>(h.bits) << 16);
}

float16 f16_from_double(double x) { return float16{Binary16::encode(x)}; }
bfloat16 bf16_from_double(double x) { return bfloat16{BFloat16::encode(x)}; }

}  // namespace attncheck
