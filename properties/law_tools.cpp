#include "law_tools.hpp"

#include <bit>
#include <cmath>
#include <cstdio>

#include "attncheck/formats/decimal_text.hpp"
#include "attncheck/registry.hpp"

namespace attncheck::properties {

oracle::OracleResult oracle_rows(const Problem& problem) {
  oracle::OracleOptions options;
  options.keep_intermediates = false;
  return oracle::forward(problem, options);
}

KernelResult run_entry(const KernelInfo& kernel, const Problem& problem, bool through_decode,
                       const KernelOptions& options, int64_t capacity) {
  return through_decode ? run_decode(kernel, problem, capacity, options)
                        : run_kernel(kernel, problem, options);
}

bool supports(const KernelInfo& kernel, const AttentionSpec& spec, bool through_decode) {
  // unsupported_feature() reports a missing forward entry first; decode needs the rest.
  const bool causal_ok = !spec.causal || kernel.has(kCausal) || through_decode;
  const bool window = spec.window_left != kUnboundedWindow || spec.window_right != kUnboundedWindow;
  return causal_ok && (!spec.has_valid_keys || kernel.has(kPadding)) && (!window || kernel.has(kWindow)) &&
         (spec.mask == MaskKind::none || kernel.has(kBoolMask)) && (!spec.has_alibi || kernel.has(kAlibi)) &&
         (spec.shape.kv_heads == spec.shape.q_heads || kernel.has(kGroupedQuery)) &&
         (spec.shape.value_dim == spec.shape.head_dim || kernel.has(kValueDim)) &&
         (!spec.scale || kernel.has(kCustomScale)) &&
         (through_decode ? kernel.decode != nullptr : kernel.forward != nullptr);
}

AttentionSpec with_weight_outputs(AttentionSpec spec, const KernelInfo& kernel) {
  spec.shape.value_dim = spec.shape.kv_len;
  if (!kernel.has(kValueDim)) spec.shape.head_dim = spec.shape.kv_len;
  return spec;
}

void set_identity_values(Problem& p) {
  const AttentionShape& s = p.spec.shape;
  for (int64_t bh = 0; bh < s.batch * s.kv_heads; ++bh) {
    for (int64_t j = 0; j < s.kv_len; ++j) {
      for (int64_t c = 0; c < s.value_dim; ++c) p.v[(bh * s.kv_len + j) * s.value_dim + c] = j == c ? 1.0f : 0.0f;
    }
  }
}

std::vector<uint8_t> visible_keys(const Problem& p, int64_t flat) {
  const RowIndex r = row_index(p.spec.shape, flat);
  const VisibilityInputs vis = p.visibility();
  std::vector<uint8_t> visible(p.spec.shape.kv_len);
  for (int64_t j = 0; j < p.spec.shape.kv_len; ++j) visible[j] = key_visible(p.spec, vis, r.b, r.h, r.i, j);
  return visible;
}

bool row_within_bound(const KernelInfo& kernel, const Problem& problem, const KernelResult& got, int64_t flat) {
  const oracle::OracleResult exact = oracle_rows(problem);
  const oracle::ErrorBound bound = oracle::a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  const std::vector<double> o = oracle::outputs_f64(exact);
  const int64_t d = problem.spec.shape.value_dim;
  for (int64_t c = flat * d; c < (flat + 1) * d; ++c) {
    if (error_ratio(got.o[c], o[c], bound.output[c]) > 1) return false;
  }
  if (!kernel.has(kLse)) return true;
  return error_ratio(got.lse[flat], oracle::lse_f64(exact)[flat], bound.lse[flat]) <= 1;
}

const KernelInfo* dense_kernel(DType dtype) {
  return find_kernel("dense_" + std::string(dtype_name(dtype)));
}

bool is_dense_reference(const KernelInfo& kernel) { return dense_kernel(kernel.dtype) == &kernel; }

double error_ratio(float actual, double exact, double bound) {
  const double a = actual;
  if (a == exact) return 0;  // equal infinities too
  if (!std::isfinite(a) || !std::isfinite(exact)) return INFINITY;
  const double error = std::fabs(a - exact);
  return bound > 0 ? error / bound : INFINITY;
}

bool same_bits(float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); }

int64_t flat_row(const AttentionShape& s, int64_t b, int64_t h, int64_t i) {
  return (b * s.q_heads + h) * s.q_len + i;
}

RowIndex row_index(const AttentionShape& s, int64_t flat) {
  RowIndex r;
  r.i = flat % s.q_len;
  r.h = (flat / s.q_len) % s.q_heads;
  r.b = flat / (s.q_len * s.q_heads);
  return r;
}

std::string row_name(const AttentionShape& s, int64_t flat) {
  const RowIndex r = row_index(s, flat);
  return "(b=" + std::to_string(r.b) + ",h=" + std::to_string(r.h) + ",i=" + std::to_string(r.i) + ")";
}

std::span<const float> output_row(const KernelResult& r, const AttentionShape& s, int64_t flat) {
  return std::span<const float>(r.o).subspan(flat * s.value_dim, s.value_dim);
}

std::string format_values(std::span<const float> values, size_t limit) {
  std::string out = "[";
  for (size_t i = 0; i < values.size() && i < limit; ++i) {
    if (i > 0) out += ", ";
    out += formats::float_to_decimal(values[i]);
  }
  if (values.size() > limit) out += ", ...";
  return out + "]";
}

std::string format_values(std::span<const double> values, size_t limit) {
  std::string out = "[";
  for (size_t i = 0; i < values.size() && i < limit; ++i) {
    if (i > 0) out += ", ";
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", values[i]);
    out += text;
  }
  if (values.size() > limit) out += ", ...";
  return out + "]";
}

}  // namespace attncheck::properties
