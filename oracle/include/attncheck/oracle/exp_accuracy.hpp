// How accurate an exp is, in f32 ULPs of the exact result, over softmax's whole input range
// [-104, 0] (below -104 every exp rounds to 0 in f32). This is the measurement behind
// ErrorTraits::exp_max_ulp: a kernel that exposes its exp (KernelInfo::exp) is held to its
// declaration by the suite and by `attncheck exp-accuracy`.
//
// Reference: exp in double (glibc, < 1 double ulp, i.e. ~2^-29 f32 ulp: enough to measure f32
// ULPs to 1e-8); the worst input is confirmed by MPFR at 128 bits. ULPs are those of the exact
// value's f32 binade (2^-149 among subnormals).
#pragma once

#include <cstdint>
#include <vector>

#include "attncheck/kernel.hpp"

namespace attncheck::oracle {

// Every `stride`-th float of [-104, -0] by bit pattern, plus every float of [-88, -87] (exp
// crosses into subnormals at -87.34), [-104, -103] (into zero at -103.97) and [-6, -5.5]
// (where the exhaustive sweep found fast_exp's worst case on every target). stride 1 is every
// float of the range (~1.1e9 inputs); the default 127 takes ~9e6.
std::vector<float> exp_sweep_inputs(uint32_t stride = 127);

// The error of `computed` as an approximation of `exact` (> 0), in f32 ULPs at exact.
double f32_ulp_error(float computed, double exact);

struct ExpAccuracy {
  double max_ulp = 0;        // the worst error, confirmed by MPFR
  float worst_x = 0;         // where it occurs
  double max_ulp_double = 0; // the same error against the double reference (agrees to ~1e-8)
  double mean_ulp = 0;
  int64_t inputs = 0;
};

// Runs `exp` over exp_sweep_inputs(stride) and measures it.
ExpAccuracy measure_exp_accuracy(ExpFn exp, uint32_t stride = 127);

// The error of exp(x) computed as y, against MPFR's exp at 128 bits.
double mpfr_exp_ulp_error(float x, float y);

}  // namespace attncheck::oracle
