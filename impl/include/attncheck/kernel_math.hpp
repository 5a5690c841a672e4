// The vector arithmetic the optimized kernels (tiled_*, decode_*) share, exported so that its
// accuracy is measured directly by impl/tests/kernel_math_test.cpp rather than inferred.
//
// fast_exp: Cody-Waite range reduction with a two-part ln 2, Highway's contrib exp polynomial
// (degree 7, Estrin), and scaling by an exponent-field add plus one product that keeps
// subnormal results (kernel_math-inl.h, FastExpV). Valid range [-inf, 0], which is all a
// max-shifted softmax ever evaluates; results below 2^-150 round to +0.
// Max error: kFastExpMaxUlp f32 ULPs (ULP of the exact result; 2^-149 for subnormal results),
// measured against MPFR over every float in [-104, 0] on every compiled SIMD target (the test
// samples densely by default; ATTNCHECK_EXHAUSTIVE=1 sweeps every float).
//
// round_weights_to_storage: the weights P rounded to f16 or bf16 (round to nearest, ties to
// even, f16 subnormals included), returned as floats, for the kernels that round P before P.V.
// Defined for finite non-negative inputs, the only ones a softmax produces.
#pragma once

#include <cstddef>
#include <string>

#include "attncheck/dtype.hpp"

namespace attncheck {

// Measured by kernel_math_test over every float in [-104, 0] (ATTNCHECK_EXHAUSTIVE=1,
// 2026-11-26, against double exp confirmed by MPFR at the worst input): 1.0316 ULP on AVX2
// (FMA) at x = -5.88269186, 0.9872 on SSE4 and SCALAR (no FMA: Highway's MulAdd is a product
// and a sum there) at x = -5.8857646; Highway documents 1 ULP for the polynomial. Declared
// rounded up; the kernels put it in ErrorTraits::exp_max_ulp. The test fails if any target
// exceeds it or the worst falls below 0.8 of it (a stale declaration).
inline constexpr double kFastExpMaxUlp = 1.04;

// y[i] = fast_exp(x[i]) on the best SIMD target the CPU supports (or the one a test forces).
void fast_exp(const float* x, float* y, size_t n);
float fast_exp(float x);

// y[i] = std::exp(x[i]) (libm's expf, element by element), as the dense and exact-exp kernels
// compute their weights.
void libm_exp(const float* x, float* y, size_t n);

// y[i] = x[i] rounded to `storage` (f16 or bf16; f32 copies), as the P-rounding kernels do.
void round_weights_to_storage(DType storage, const float* x, float* y, size_t n);

// Name of the Highway target the kernels dispatch to right now ("AVX2", "EMU128", ...).
std::string simd_target_name();

}  // namespace attncheck
