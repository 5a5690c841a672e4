#include "attncheck/oracle/metrics.hpp"

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "attncheck/half.hpp"

namespace attncheck::oracle {
namespace {

// Maps a sign-magnitude bit pattern to an integer line on which adjacent representable values
// are adjacent integers and -0 == +0.
int64_t ordinal(uint32_t bits, uint32_t sign_bit) {
  const int64_t magnitude = bits & (sign_bit - 1);
  return (bits & sign_bit) ? -magnitude : magnitude;
}

int64_t ordinal_in(float x, DType dtype) {
  switch (dtype) {
    case DType::f32: return ordinal(std::bit_cast<uint32_t>(x), 0x80000000u);
    case DType::f16: return ordinal(f16_from_float(x).bits, 0x8000u);
    case DType::bf16: return ordinal(bf16_from_float(x).bits, 0x8000u);
  }
  return 0;
}

}  // namespace

double ulp_distance(float a, float b, DType dtype) {
  if (std::isnan(a) || std::isnan(b)) return INFINITY;
  if (std::isinf(a) || std::isinf(b)) return a == b ? 0.0 : INFINITY;
  return static_cast<double>(std::llabs(ordinal_in(a, dtype) - ordinal_in(b, dtype)));
}

ErrorMetrics compare(std::span<const float> actual, std::span<const double> exact,
                     std::span<const float> rounded, DType dtype, double rel_floor,
                     std::span<const uint8_t> unjudged) {
  if (actual.size() != exact.size() || actual.size() != rounded.size() ||
      (!unjudged.empty() && unjudged.size() != actual.size())) {
    throw std::invalid_argument("compare: sizes differ");
  }
  if (rel_floor < 0) rel_floor = min_normal(dtype);
  ErrorMetrics m;
  m.count = static_cast<int64_t>(actual.size());
  double sum_ulp = 0, sum_sq_error = 0, sum_sq_exact = 0;
  int64_t finite_count = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!unjudged.empty() && unjudged[i]) {
      ++m.unjudged;
      continue;
    }
    const double a = actual[i], x = exact[i];
    const bool a_finite = std::isfinite(a), x_finite = std::isfinite(x);
    if (!a_finite || !x_finite) {
      if (!(std::isinf(a) && a == x)) {
        ++m.nonfinite_mismatches;
        if (std::isfinite(m.max_ulp)) m.worst_index = static_cast<int64_t>(i);  // first one
        m.max_ulp = INFINITY;
      }
      continue;
    }
    const double error = std::fabs(a - x);
    m.max_abs = std::max(m.max_abs, error);
    m.max_rel = std::max(m.max_rel, error / std::max(std::fabs(x), rel_floor));
    const double ulps = ulp_distance(actual[i], rounded[i], dtype);
    if (ulps > m.max_ulp || m.worst_index < 0) {
      m.max_ulp = ulps;
      m.worst_index = static_cast<int64_t>(i);
    }
    sum_ulp += ulps;
    ++finite_count;
    sum_sq_error += error * error;
    sum_sq_exact += x * x;
  }
  m.mean_ulp = finite_count > 0 ? sum_ulp / static_cast<double>(finite_count) : 0.0;
  if (sum_sq_exact > 0) {
    m.normwise_rel = std::sqrt(sum_sq_error / sum_sq_exact);
    m.nmse = sum_sq_error / sum_sq_exact;
  } else {
    m.normwise_rel = m.nmse = sum_sq_error > 0 ? INFINITY : 0.0;
  }
  if (m.nonfinite_mismatches > 0) {
    m.max_abs = m.max_rel = m.mean_ulp = m.normwise_rel = m.nmse = INFINITY;
  }
  m.bits = std::log2(1.0 + m.max_ulp);
  return m;
}

std::string format_metrics(const ErrorMetrics& m) {
  char text[256];
  std::snprintf(text, sizeof text,
                "max_ulp=%g mean_ulp=%.3g bits=%.2f max_abs=%.3g max_rel=%.3g norm_rel=%.3g nmse=%.3g",
                m.max_ulp, m.mean_ulp, m.bits, m.max_abs, m.max_rel, m.normwise_rel, m.nmse);
  std::string out(text);
  if (m.nonfinite_mismatches > 0) out += " nonfinite_mismatches=" + std::to_string(m.nonfinite_mismatches);
  if (m.unjudged > 0) out += " unjudged=" + std::to_string(m.unjudged) + " (read a non-finite input)";
  return out;
}

}  // namespace attncheck::oracle
