// Error metrics of a kernel's output against the oracle.
//
//   max_abs       max_i |a_i - x_i|
//   max_rel       max_i |a_i - x_i| / max(|x_i|, rel_floor); rel_floor defaults to the smallest
//                 normal number of the dtype, so exact zeros do not divide by zero
//   max_ulp       max_i distance in ULPs of the dtype between a_i and round(x_i), the correctly
//                 rounded oracle value: the count of representable values between them
//   mean_ulp      the mean of those distances
//   bits          log2(1 + max_ulp): bits of the significand in error
//   normwise_rel  ||a - x||_2 / ||x||_2
//   nmse          sum (a_i - x_i)^2 / sum x_i^2 (ggml's max_nmse_err measure)
// where a is the kernel's output and x the oracle's exact value (its f64 rounding is used for
// the absolute measures, enough at any storage precision here).
// Non-finite values: equal infinities (LSE = -inf) are 0 ULPs apart; any other disagreement in
// finiteness (NaN, a lone infinity) is counted in nonfinite_mismatches and makes every measure
// infinite, so it can never pass a bound. Elements marked in `unjudged` (the outputs a
// non-finite input reaches: docs/semantics.md, "Non-finite inputs") are left out of every
// measure and counted.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "attncheck/dtype.hpp"

namespace attncheck::oracle {

struct ErrorMetrics {
  double max_abs = 0;
  double max_rel = 0;
  double max_ulp = 0;
  double mean_ulp = 0;
  double bits = 0;
  double normwise_rel = 0;
  double nmse = 0;
  int64_t worst_index = -1;  // index of max_ulp
  int64_t count = 0;
  int64_t nonfinite_mismatches = 0;
  int64_t unjudged = 0;  // elements left out: they read a non-finite input
};

// Distance in ULPs between two values of dtype (both must be exactly representable in it):
// the number of representable values from a to b. +0 and -0 are 0 apart; infinite when
// exactly one of them is NaN or their finiteness differs.
double ulp_distance(float a, float b, DType dtype);

// actual: kernel values; exact: oracle values rounded to f64; rounded: oracle values
// correctly rounded to dtype. All the same length; `unjudged`, when not empty, too (nonzero:
// leave the element out).
ErrorMetrics compare(std::span<const float> actual, std::span<const double> exact,
                     std::span<const float> rounded, DType dtype, double rel_floor = -1,
                     std::span<const uint8_t> unjudged = {});

// "max_ulp=1 mean_ulp=0.12 bits=1.00 max_abs=5.96e-08 max_rel=1.2e-07 norm_rel=3.1e-08 nmse=9.6e-16"
std::string format_metrics(const ErrorMetrics& m);

}  // namespace attncheck::oracle
