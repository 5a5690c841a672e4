// Per-target vector primitives of the optimized kernels: the fast exp, rounding to 16-bit
// storage, and widening / narrowing rows between the storage dtypes and f32. Included once per
// Highway target (see kernel_math.hpp for the stated accuracy of each).
#if defined(ATTNCHECK_KERNELS_KERNEL_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTNCHECK_KERNELS_KERNEL_MATH_INL_H_
#undef ATTNCHECK_KERNELS_KERNEL_MATH_INL_H_
#else
#define ATTNCHECK_KERNELS_KERNEL_MATH_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <type_traits>

#include "attncheck/element.hpp"
#include "attncheck/half.hpp"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Hardware f16 conversion (round to nearest even, Inf and NaN kept): F16C on Highway's AVX2
// and AVX3 targets, NEON on AArch64. Elsewhere Highway 1.0.3 converts f16 in software, which
// truncates when narrowing and turns Inf/NaN into finite values when widening, so those
// targets use the exact scalar conversions of half.hpp instead.
#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2) || (HWY_ARCH_ARM_A64 && HWY_TARGET == HWY_NEON)
inline constexpr bool kNativeF16 = true;
#else
inline constexpr bool kNativeF16 = false;
#endif

// ------------------------------------------------------------------ exp

// exp(x) for x <= 0 in 17 vector operations. Range reduction x = n ln2 + r, |r| <= ln2 / 2:
// n = round(x / ln 2) by the 1.5 * 2^23 shifter (whose low bits then hold n + 64), r by
// Cody-Waite with a two-part ln 2; exp(r) by Highway's contrib polynomial (its ExpPoly:
// r + r^2 P5(r), Estrin); the scaling adds n + 64 to the exponent field (always normal there)
// and multiplies by 2^-64, exact for normal results and one correct rounding for subnormal
// ones. Inputs below -104.5 are clamped (every exp there rounds to +0, as the clamped value
// does), which also keeps -inf out. Highway's own Exp uses the same reduction and polynomial
// but a saturating float-to-int conversion, two power-of-two products and a final select.
HWY_INLINE VF FastExpV(DF df, VF x) {
  const hn::RebindToUnsigned<DF> du;
  x = hn::Max(x, hn::Set(df, -104.5f));
  const VF shifter = hn::Set(df, 12582912.0f + 64.0f);  // 1.5 * 2^23 + 64
  const VF t = hn::MulAdd(x, hn::Set(df, 1.44269504088896341f), shifter);
  const VF n = hn::Sub(t, shifter);  // exact: an integer in [-151, 0]
  VF r = hn::MulAdd(n, hn::Set(df, -0.693145751953125f), x);
  r = hn::MulAdd(n, hn::Set(df, -1.428606765330187045e-6f), r);
  const VF y = hn::Add(hn::impl::ExpImpl<float>().ExpPoly(df, r), hn::Set(df, 1.0f));
  // bits(t) = bits(1.5 * 2^23) + 64 + n; shifted by 23 only (64 + n) << 23 survives (mod 2^32).
  const VF scaled = hn::BitCast(df, hn::Add(hn::BitCast(du, y), hn::ShiftLeft<23>(hn::BitCast(du, t))));
  return hn::Mul(scaled, hn::Set(df, 0x1p-64f));
}

// The two exps a kernel may use. kVectorized: evaluate a whole row with vector code.
struct FastExp {
  static constexpr bool kVectorized = true;
  static HWY_INLINE float Scalar(float x) {
    const DF df;
    return hn::GetLane(FastExpV(df, hn::Set(df, x)));
  }
};
struct LibmExp {
  static constexpr bool kVectorized = false;
  static HWY_INLINE float Scalar(float x) { return std::exp(x); }
};

// ------------------------------------------------------------------ rounding to storage

// Round to nearest even at bf16 precision on the bit pattern: adding 0x7FFF plus the kept
// lsb carries exactly when the dropped half is above (or at, for odd) one half.
HWY_INLINE VF RoundToBf16(DF df, VF x) {
  const hn::RebindToUnsigned<DF> du;
  const auto bits = hn::BitCast(du, x);
  const auto lsb = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u));
  const auto rounded = hn::Add(bits, hn::Add(hn::Set(du, 0x7FFFu), lsb));
  return hn::BitCast(df, hn::And(rounded, hn::Set(du, 0xFFFF0000u)));
}

// Round to nearest even at f16 precision, for x in [0, 65504]: normal f16 values keep 11
// significand bits (the same carry trick on 13 dropped bits); below 2^-14 the f16 grid is
// 2^-24, which is also the f32 grid on [0.5, 1), so x + 0.5 rounds there and - 0.5 is exact.
HWY_INLINE VF RoundToF16(DF df, VF x) {
  const hn::RebindToUnsigned<DF> du;
  const auto bits = hn::BitCast(du, x);
  const auto lsb = hn::And(hn::ShiftRight<13>(bits), hn::Set(du, 1u));
  const auto rounded = hn::And(hn::Add(bits, hn::Add(hn::Set(du, 0x0FFFu), lsb)), hn::Set(du, 0xFFFFE000u));
  const VF half = hn::Set(df, 0.5f);
  const VF subnormal = hn::Sub(hn::Add(x, half), half);
  return hn::IfThenElse(hn::Lt(x, hn::Set(df, 0x1p-14f)), subnormal, hn::BitCast(df, rounded));
}

template <typename T>
HWY_INLINE VF RoundToStorage(DF df, VF x) {
  if constexpr (std::is_same_v<T, float16>) return RoundToF16(df, x);
  else if constexpr (std::is_same_v<T, bfloat16>) return RoundToBf16(df, x);
  else return x;
}

// ------------------------------------------------------------------ widening and narrowing

// Lanes(d) elements of storage type T at p (unaligned), as f32 lanes. Exact.
template <class D, typename T>
HWY_INLINE hn::Vec<D> LoadWiden(D d, const T* HWY_RESTRICT p) {
  if constexpr (std::is_same_v<T, float>) {
    return hn::LoadU(d, p);
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    const hn::Rebind<hwy::bfloat16_t, D> dbf;
    return hn::PromoteTo(d, hn::LoadU(dbf, reinterpret_cast<const hwy::bfloat16_t*>(p)));
  } else if constexpr (kNativeF16) {
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
  } else {
    HWY_ALIGN float lanes[64];  // >= the lanes of any target
    for (size_t i = 0; i < hn::Lanes(d); ++i) lanes[i] = load_element(p + i);
    return hn::Load(d, lanes);
  }
}

// dst[0, n) = src[0, n) widened to f32.
template <typename T>
HWY_INLINE void WidenRow(const T* HWY_RESTRICT src, size_t n, float* HWY_RESTRICT dst) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(LoadWiden(df, src + i), df, dst + i);
  for (; i < n; ++i) dst[i] = load_element(src + i);
}

// dst[0, n) = src[0, n) rounded to T (nearest even; Inf and NaN kept), as store_element does.
template <typename T>
HWY_INLINE void NarrowRow(const float* HWY_RESTRICT src, size_t n, T* HWY_RESTRICT dst) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    const hn::Rebind<hwy::bfloat16_t, DF> dbf;
    const VF quiet_nan = hn::Set(df, std::numeric_limits<float>::quiet_NaN());
    for (; i + lanes <= n; i += lanes) {
      const VF x = hn::LoadU(df, src + i);
      // Already rounded, so DemoteTo's truncation to the upper 16 bits is exact.
      const VF rounded = hn::IfThenElse(hn::IsNaN(x), quiet_nan, RoundToBf16(df, x));
      hn::StoreU(hn::DemoteTo(dbf, rounded), dbf, reinterpret_cast<hwy::bfloat16_t*>(dst + i));
    }
  } else if constexpr (kNativeF16) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, src + i)), dh, reinterpret_cast<hwy::float16_t*>(dst + i));
    }
  }
  for (; i < n; ++i) store_element(dst + i, src[i]);
}

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
