#include "attncheck/oracle/exp_accuracy.hpp"

#include <bit>
#include <cmath>
#include <utility>

#include "attncheck/oracle/real.hpp"

namespace attncheck::oracle {
namespace {

// Spacing of f32 values at the magnitude of the exact value e > 0 (2^-149 among subnormals).
double f32_ulp_at(double e) {
  if (e < 0x1p-126) return 0x1p-149;
  int exponent = 0;
  std::frexp(e, &exponent);  // e = m * 2^exponent, m in [0.5, 1)
  return std::ldexp(1.0, exponent - 24);
}

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

}  // namespace

double f32_ulp_error(float computed, double exact) { return std::fabs(double(computed) - exact) / f32_ulp_at(exact); }

std::vector<float> exp_sweep_inputs(uint32_t stride) {
  std::vector<float> xs;
  const uint32_t first = 0x80000000u;                      // -0
  const uint32_t last = std::bit_cast<uint32_t>(-104.0f);  // bits grow with magnitude
  for (uint64_t b = first; b <= last; b += stride == 0 ? 1 : stride) xs.push_back(from_bits(static_cast<uint32_t>(b)));
  for (const auto& [hi, lo] : {std::pair{-87.0f, -88.0f}, std::pair{-103.0f, -104.0f}, std::pair{-5.5f, -6.0f}}) {
    for (uint32_t b = std::bit_cast<uint32_t>(hi); b <= std::bit_cast<uint32_t>(lo); ++b) xs.push_back(from_bits(b));
  }
  return xs;
}

double mpfr_exp_ulp_error(float x, float y) {
  PrecisionScope scope(128);
  const Real exact = boost::multiprecision::exp(Real(x));
  const double e = round_to_f64(exact);
  const Real diff = abs(Real(y) - exact);
  return round_to_f64(diff) / f32_ulp_at(e);
}

ExpAccuracy measure_exp_accuracy(ExpFn exp, uint32_t stride) {
  const std::vector<float> xs = exp_sweep_inputs(stride);
  std::vector<float> ys(xs.size());
  exp(xs.data(), ys.data(), xs.size());
  ExpAccuracy a;
  double sum = 0;
  size_t worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double ulps = f32_ulp_error(ys[i], std::exp(double(xs[i])));
    // A NaN result is infinitely wrong: it must become the worst, not vanish from max().
    if (!(ulps <= a.max_ulp_double) || i == 0) {
      a.max_ulp_double = std::isnan(ulps) ? INFINITY : ulps;
      worst = i;
    }
    sum += std::isnan(ulps) ? INFINITY : ulps;
  }
  a.inputs = static_cast<int64_t>(xs.size());
  a.worst_x = xs[worst];
  a.mean_ulp = sum / double(xs.size());
  a.max_ulp = std::isfinite(a.max_ulp_double) ? mpfr_exp_ulp_error(xs[worst], ys[worst]) : a.max_ulp_double;
  return a;
}

}  // namespace attncheck::oracle
