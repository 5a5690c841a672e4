// The kernels' vector primitives behind kernel_math.hpp, dispatched like the kernels
// themselves so the tests measure exactly the code the kernels run.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/kernel_math.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "kernel_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::kernels::HWY_NAMESPACE {

void FastExpArray(const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(FastExpV(df, hn::LoadU(df, x + i)), df, y + i);
  for (; i < n; ++i) y[i] = FastExp::Scalar(x[i]);
}

template <typename T>
void RoundArray(const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(RoundToStorage<T>(df, hn::LoadU(df, x + i)), df, y + i);
  HWY_ALIGN float lanes[64];
  if (i < n) {  // the tail through a full vector, so it is rounded by the same code
    for (size_t j = 0; j < N; ++j) lanes[j] = i + j < n ? x[i + j] : 0.0f;
    hn::Store(RoundToStorage<T>(df, hn::Load(df, lanes)), df, lanes);
    for (size_t j = 0; i + j < n; ++j) y[i + j] = lanes[j];
  }
}
void RoundToF16Array(const float* x, float* y, size_t n) { RoundArray<float16>(x, y, n); }
void RoundToBf16Array(const float* x, float* y, size_t n) { RoundArray<bfloat16>(x, y, n); }

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace attncheck::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cmath>

#include "attncheck/kernel_math.hpp"

namespace attncheck {
namespace kernels {
namespace {

HWY_EXPORT(FastExpArray);
HWY_EXPORT(RoundToF16Array);
HWY_EXPORT(RoundToBf16Array);
HWY_EXPORT(TargetName);

void fast_exp_array(const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(FastExpArray)(x, y, n); }
void round_to_f16_array(const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(RoundToF16Array)(x, y, n); }
void round_to_bf16_array(const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(RoundToBf16Array)(x, y, n); }
const char* target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace
}  // namespace kernels

void fast_exp(const float* x, float* y, size_t n) { kernels::fast_exp_array(x, y, n); }

float fast_exp(float x) {
  float y = 0;
  fast_exp(&x, &y, 1);
  return y;
}

void libm_exp(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

void round_weights_to_storage(DType storage, const float* x, float* y, size_t n) {
  switch (storage) {
    case DType::f32: std::copy(x, x + n, y); return;
    case DType::f16: kernels::round_to_f16_array(x, y, n); return;
    case DType::bf16: kernels::round_to_bf16_array(x, y, n); return;
  }
}

std::string simd_target_name() { return kernels::target_name(); }

}  // namespace attncheck
#endif  // HWY_ONCE
