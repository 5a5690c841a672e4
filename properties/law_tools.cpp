#include "law_tools.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "attncheck/random_problem.hpp"

#include "attncheck/formats/decimal_text.hpp"
#include "attncheck/registry.hpp"

namespace attncheck::properties {

oracle::OracleResult oracle_rows(const Problem& problem, const std::vector<int64_t>& rows, bool per_key) {
  oracle::OracleOptions options;
  options.keep_intermediates = per_key;
  options.rows = rows;
  return oracle::forward(problem, options);
}

std::vector<int64_t> rows_to_check(const Problem& problem, int64_t min_rows) {
  const AttentionShape& s = problem.spec.shape;
  const int64_t total = lse_elements(s);
  const int64_t per_row = std::max<int64_t>(1, s.kv_len * (s.head_dim + s.value_dim));
  std::vector<int64_t> rows;
  if (total * per_row <= kAllRowsWork) {
    rows.resize(total);
    for (int64_t r = 0; r < total; ++r) rows[r] = r;
    return rows;
  }
  const int64_t wanted = std::min(total, std::clamp<int64_t>(kAllRowsWork / per_row, min_rows, 8));
  const auto add = [&](int64_t r) {
    if (static_cast<int64_t>(rows.size()) < wanted && std::find(rows.begin(), rows.end(), r) == rows.end()) {
      rows.push_back(r);
    }
  };
  add(flat_row(s, s.batch - 1, s.q_heads - 1, s.q_len - 1));
  add(flat_row(s, 0, 0, s.q_len - 1));
  add(0);
  // The rest from the values: the same problem samples the same rows.
  uint64_t seed = 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(total);
  for (size_t n = 0; n < problem.q.size() && n < 64; ++n) seed = seed * 0x100000001b3ull ^ std::bit_cast<uint32_t>(problem.q[n]);
  SplitMix64 rng(seed);
  while (static_cast<int64_t>(rows.size()) < wanted) add(rng.below(total));
  std::sort(rows.begin(), rows.end());
  return rows;
}

OracleRows oracle_on(const Problem& problem, std::vector<int64_t> rows) {
  OracleRows r;
  r.slot.assign(lse_elements(problem.spec.shape), -1);
  for (size_t n = 0; n < rows.size(); ++n) r.slot[rows[n]] = static_cast<int64_t>(n);
  r.exact = oracle_rows(problem, rows);
  r.rows = std::move(rows);
  return r;
}

OracleRows oracle_sampled(const Problem& problem, int64_t min_rows) {
  return oracle_on(problem, rows_to_check(problem, min_rows));
}

KernelResult select_rows(const KernelResult& result, const AttentionShape& s, const std::vector<int64_t>& rows) {
  KernelResult out;
  out.o.reserve(rows.size() * s.value_dim);
  for (int64_t r : rows) {
    const auto row = output_row(result, s, r);
    out.o.insert(out.o.end(), row.begin(), row.end());
    if (!result.lse.empty()) out.lse.push_back(result.lse[r]);
  }
  return out;
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
  const oracle::OracleResult exact = oracle_rows(problem, {flat});  // that row alone
  const oracle::ErrorBound bound = oracle::a_priori_bound(problem, exact, kernel.error, kernel.dtype);
  const std::vector<double> o = oracle::outputs_f64(exact);
  const int64_t d = problem.spec.shape.value_dim;
  for (int64_t c = 0; c < d; ++c) {
    if (error_ratio(got.o[flat * d + c], o[c], bound.output[c]) > 1) return false;
  }
  if (!kernel.has(kLse)) return true;
  return error_ratio(got.lse[flat], oracle::lse_f64(exact)[0], bound.lse[0]) <= 1;
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
