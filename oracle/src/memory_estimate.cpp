#include "attncheck/oracle/memory_estimate.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace attncheck::oracle {
namespace {

// glibc's malloc on 64-bit: a request takes its size plus an 8-byte header, rounded up to 16,
// and at least 32 bytes. Every allocation the oracle makes is counted through this.
double chunk(double request) { return std::max(32.0, std::ceil((request + 8) / 16) * 16); }

// A vector of n elements of `size` bytes: one chunk (none when empty).
double vector_bytes(double n, double size) { return n > 0 ? chunk(n * size) : 0.0; }

// A Rational of a decimal read exactly: the mpq (numerator, denominator) and their limbs. A
// decimal of up to about 300 digits fits in 16 limbs each; worked examples have a handful.
constexpr double kRationalBytes = sizeof(Rational) + 2 * 160.0;

}  // namespace

double real_bytes(unsigned precision_bits) {
  PrecisionScope scope(precision_bits);
  const double limbs = std::ceil(scope.effective_bits() / 64.0);
  // MPFR allocates the limbs and one size word in one block (mpfr_init2).
  return sizeof(Real) + chunk(8 + 8 * limbs);
}

MemoryEstimate estimate_memory(const AttentionSpec& spec, const OracleOptions& options, InputForm inputs) {
  const AttentionShape& s = spec.shape;
  const double real = real_bytes(options.precision_bits);
  const double limbs_only = real - sizeof(Real);  // a Real that is a member, not a vector element
  MemoryEstimate e;

  const double tensors = double(q_elements(s)) + double(k_elements(s)) + double(v_elements(s));
  const double dot_inputs = double(q_elements(s)) + double(k_elements(s));
  e.input_bytes = inputs == InputForm::stored ? 3 * 32.0 + tensors * 4 + 3 * 16  // three vectors
                                              : tensors * real + 3 * 16;
  if (inputs == InputForm::exact_decimals) e.input_bytes += dot_inputs * kRationalBytes + 2 * 16;
  e.input_bytes += vector_bytes(double(s.q_heads), real) + vector_bytes(double(s.batch), 4) +
                   vector_bytes(double(mask_elements(spec)), 1) + limbs_only;  // slopes, valid keys, mask, scale

  e.rows = options.rows.empty() ? lse_elements(s) : static_cast<int64_t>(options.rows.size());
  const double rows = double(e.rows);
  const double dv = double(s.value_dim);
  // A row: the RowTrace in the result's vector, and on the heap its three per-row Reals' limbs,
  // its output (each Real's inline part and limbs: `real`) and its weighted_values.
  const double row_heap = 3 * limbs_only + vector_bytes(dv, real) + vector_bytes(dv, 8);
  e.row_bytes = vector_bytes(rows, sizeof(RowTrace)) + rows * row_heap;

  const double columns =
      double(options.intermediate_columns < 0 ? s.kv_len : std::min(s.kv_len, options.intermediate_columns));
  const double detailed = options.keep_intermediates
                              ? rows
                              : std::min(rows, double(options.intermediate_rows.size()));
  // visible, then raw, scaled, biased, exps and weights.
  e.intermediate_bytes = detailed * (vector_bytes(columns, 1) + 5 * vector_bytes(columns, real));

  const double kv = double(s.kv_len);
  e.workspace_bytes = vector_bytes(kv, 1) + 2 * vector_bytes(kv, real) + 2 * limbs_only +
                      vector_bytes(options.rows.empty() ? rows : 0.0, 8) +  // all rows, listed
                      2 * vector_bytes(double(options.intermediate_rows.size()), 8);
  // check_kernel: the kernel's compared O and LSE (floats), the oracle's in f64 and rounded to
  // the dtype, the bound (f64), and the row magnitudes' scratch.
  e.check_bytes = rows * (dv * (4 + 8 + 4 + 8) + (4 + 8 + 4 + 8)) + 8 * 32.0 + vector_bytes(dv, 8) * 3;

  e.kept_reals = static_cast<int64_t>(rows * (dv + 3) + detailed * 5 * columns);
  return e;
}

std::string format_bytes(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0 || bytes >= 100) {
    std::snprintf(text, sizeof text, "%.0f %s", bytes, units[unit]);
  } else {
    std::snprintf(text, sizeof text, "%.3g %s", bytes, units[unit]);
  }
  return text;
}

std::optional<double> parse_byte_size(const std::string& text) {
  // The number: digits with at most one '.', at least one digit, no sign or exponent (strtod
  // alone would take " 1e3", "inf" and "0x10").
  size_t end = 0;
  bool digit = false, dot = false;
  for (; end < text.size(); ++end) {
    const char c = text[end];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digit) return std::nullopt;
  std::string suffix = text.substr(end);
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double unit = 0;
  if (suffix.empty() || suffix == "b") {
    if (dot) return std::nullopt;  // a fraction of a byte
    unit = 1;
  } else {
    static const char* const names[] = {"k", "m", "g", "t"};
    double scale = 1024;
    for (const char* name : names) {
      if (suffix == name || suffix == std::string(name) + "ib" || suffix == std::string(name) + "b") unit = scale;
      scale *= 1024;
    }
    if (unit == 0) return std::nullopt;
  }
  const double value = std::strtod(text.substr(0, end).c_str(), nullptr) * unit;
  if (!(value >= 1) || !std::isfinite(value)) return std::nullopt;  // zero, or less than a byte
  return std::floor(value);
}

void require_within_limit(const AttentionSpec& spec, const MemoryEstimate& estimate, double limit,
                          const std::string& how_to_raise) {
  if (estimate.total() <= limit) return;
  const AttentionShape& s = spec.shape;
  char shape[200];
  std::snprintf(shape, sizeof shape, "B=%lld H=%lld (kv heads %lld) Lq=%lld Lk=%lld D=%lld Dv=%lld",
                static_cast<long long>(s.batch), static_cast<long long>(s.q_heads),
                static_cast<long long>(s.kv_heads), static_cast<long long>(s.q_len),
                static_cast<long long>(s.kv_len), static_cast<long long>(s.head_dim),
                static_cast<long long>(s.value_dim));
  const long long all_rows = static_cast<long long>(lse_elements(s));
  throw MemoryLimitError("the oracle of " + std::string(shape) + " on " + std::to_string(estimate.rows) + " of " +
                         std::to_string(all_rows) + " rows would need about " + format_bytes(estimate.total()) +
                         " (inputs " + format_bytes(estimate.input_bytes) + ", rows " +
                         format_bytes(estimate.row_bytes + estimate.check_bytes) + ", intermediates " +
                         format_bytes(estimate.intermediate_bytes) + "), more than the limit of " +
                         format_bytes(limit) + "; " + how_to_raise);
}

}  // namespace attncheck::oracle
