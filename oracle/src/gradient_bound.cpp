// The a-priori bound of a backward kernel's dQ, dK, dV and the reach of non-finite inputs.
// Derivation: docs/error-model.md, "Backward bounds", items B1-B9 (the comments below name them).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "attncheck/oracle/gradient_check.hpp"
#include "row_magnitudes.hpp"

namespace attncheck::oracle {
namespace {

// The bound is evaluated in double from oracle values rounded to double (relative error 2^-53
// each, a few hundred operations per element): this factor covers that evaluation, nothing
// of the kernel's. Every second-order term of the kernel's error is kept explicitly (B5).
constexpr double kEvaluation = 1 + 0x1p-30;

// B8. Gradual underflow (as the forward's item 8): an f32 product whose result is subnormal is
// off by up to 2^-150 absolute, an exp of k ULPs by up to k 2^-149; a value stored in f16 or
// bf16 by up to half that type's smallest subnormal.
constexpr double kF32Underflow = 0x1p-150;
double storage_underflow(DType dtype) {
  return dtype == DType::f16 ? 0x1p-25 : dtype == DType::bf16 ? 0x1p-134 : 0.0;
}

void require_intermediates(const Problem& problem, const Gradients& exact) {
  const AttentionShape& s = problem.spec.shape;
  const size_t rows = static_cast<size_t>(lse_elements(s));
  if (!(exact.spec.shape == s) || exact.rows.size() != rows || exact.forward.rows.size() != rows) {
    throw std::invalid_argument(
        "gradient bound: the exact gradients lack their intermediates (backward() with keep_intermediates = true on "
        "this problem)");
  }
  for (size_t r = 0; r < rows; ++r) {
    const RowTrace& row = exact.forward.rows[r];
    if (row.visible_count == 0) continue;
    if (static_cast<int64_t>(row.weights.size()) != s.kv_len ||
        static_cast<int64_t>(exact.rows[r].dp.size()) != s.kv_len) {
      throw std::invalid_argument("gradient bound: row " + std::to_string(r) +
                                  " of the exact gradients lacks its weights or dP");
    }
  }
}

bool all_finite(const std::vector<float>& xs) {
  return std::all_of(xs.begin(), xs.end(), [](float x) { return std::isfinite(x); });
}

}  // namespace

GradientBound a_priori_gradient_bound(const Problem& problem, const Gradients& exact, const BackwardResult& handed,
                                      const ErrorTraits& traits, DType dtype) {
  if (!problem.has_d_out()) throw std::invalid_argument("gradient bound: the problem has no upstream gradient (do)");
  require_intermediates(problem, exact);
  const AttentionSpec& spec = problem.spec;
  const AttentionShape& s = spec.shape;
  if (static_cast<int64_t>(handed.o.size()) != o_elements(s) ||
      static_cast<int64_t>(handed.lse.size()) != lse_elements(s)) {
    throw std::invalid_argument("gradient bound: the handed O or LSE does not match the problem's shape");
  }
  const double u = unit_roundoff(DType::f32);  // the arithmetic is f32
  // The final rounding to storage (B7); an f32 kernel stores its f32 values as they are.
  const double u_storage = dtype == DType::f32 ? 0.0 : unit_roundoff(dtype);
  // Rounding P and dS to storage before their products (weights_rounded_to_storage, B6).
  const double u_operand = traits.weights_rounded_to_storage ? u_storage : 0.0;
  const double operand_underflow = traits.weights_rounded_to_storage ? storage_underflow(dtype) : 0.0;
  const double k_exp = traits.exp_max_ulp;
  const double scale = effective_scale(spec);
  const double scale_underflow = std::max(1.0, scale);
  const VisibilityInputs visibility = problem.visibility();
  const int64_t D = s.head_dim, Dv = s.value_dim;

  // Per key element: the error carried in by the rows (sum_r E_r |x_r|), the magnitude of what
  // is summed (sum_r |x_r^computed|), and per key the number of rows that see it.
  std::vector<double> dk_error(static_cast<size_t>(k_elements(s)), 0.0), dk_size(dk_error.size(), 0.0);
  // sum_r |Q_rd| per key element, and per row sum_j |K_jd|: a product scale * dS that
  // underflows (B8) is off by 2^-150 before it multiplies Q_rd or K_jd.
  std::vector<double> dk_factor_sum(dk_error.size(), 0.0);
  std::vector<double> dv_error(static_cast<size_t>(v_elements(s)), 0.0), dv_size(dv_error.size(), 0.0);
  std::vector<int64_t> key_rows(static_cast<size_t>(s.batch * s.kv_heads * s.kv_len), 0);
  GradientBound bound;
  bound.dq.assign(static_cast<size_t>(q_elements(s)), 0.0);

  std::vector<double> dq_error(D), dq_size(D), dq_factor_sum(D), abs_query(D), abs_grad(Dv);
  for (size_t r = 0; r < exact.rows.size(); ++r) {
    const RowTrace& row = exact.forward.rows[r];
    const BackwardRow& brow = exact.rows[r];
    if (row.visible_count == 0) continue;  // no gradient flows: the exact zeros are required
    const int64_t b = row.batch, h = row.head, i = row.query, kvh = kv_head_for(s, h);
    const int64_t q0 = q_offset(s, b, h, i), o0 = o_offset(s, b, h, i);
    const float* query = &problem.q[q0];
    const float* grad_out = &problem.d_out[o0];
    const double lse = round_to_f64(row.lse);
    // B2. The handed LSE's actual error.
    const double lse_error = std::fabs(double(handed.lse[lse_offset(s, b, h, i)]) - lse);
    // B4. D = dO . O_handed: an f32 dot of length Dv, plus the handed O's actual error.
    double delta_error = Dv * kF32Underflow, query_sum = 0;
    {
      double magnitude = 0, handed_error = 0;
      for (int64_t c = 0; c < Dv; ++c) {
        abs_grad[c] = std::fabs(double(grad_out[c]));
        const double o_handed = handed.o[o0 + c];
        magnitude += abs_grad[c] * std::fabs(o_handed);
        handed_error += abs_grad[c] * std::fabs(o_handed - round_to_f64(row.output[c]));
      }
      delta_error += gamma_n(double(Dv), u) * magnitude + handed_error;
    }
    for (int64_t d = 0; d < D; ++d) {
      abs_query[d] = std::fabs(double(query[d]));
      query_sum += abs_query[d];
    }
    const double delta = round_to_f64(brow.delta);
    const double slope = spec.has_alibi ? double(problem.alibi_slopes[h]) : 0.0;
    std::fill(dq_error.begin(), dq_error.end(), 0.0);
    std::fill(dq_size.begin(), dq_size.end(), 0.0);
    std::fill(dq_factor_sum.begin(), dq_factor_sum.end(), 0.0);
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!key_visible(spec, visibility, b, h, i, j)) continue;
      const int64_t k0 = k_offset(s, b, kvh, j), v0 = v_offset(s, b, kvh, j);
      const float* key = &problem.k[k0];
      const float* value = &problem.v[v0];
      // B1. The recomputed score: an f32 dot of length D times the f32-rounded scale (D + 2
      // roundings per product), the ALiBi product and the sum.
      double products = 0, key_sum = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double kd = std::fabs(double(key[d]));
        products += abs_query[d] * kd;
        key_sum += kd;
      }
      const double a = scale * products;
      const double bias = std::fabs(slope * double(alibi_distance(s, i, j)));
      double score_error = gamma_n(double(D + 3), u) * a + gamma_n(2, u) * bias + (D + 3) * kF32Underflow;
      if (traits.dot_flushes_subnormals) {
        // The forward's item 9, per key: a flushed input, product or sum loses < 2^-126 each.
        score_error += scale * 0x1p-126 * (query_sum + key_sum + 2.0 * double(D));
      }
      // B2. P = exp(s - LSE_handed): the argument's error, the subtraction's rounding, then an
      // exp of k ULPs (relative 2ku): |P^ - P| <= P (e^{E_x} (1 + 2ku) - 1) + underflow.
      const double shift = std::fabs(round_to_f64(row.biased[j]) - lse);
      const double arg_error = score_error + lse_error + u * (shift + score_error + lse_error);
      const double p = round_to_f64(row.weights[j]);
      double p_error = p * (std::expm1(arg_error) + 2 * k_exp * u * std::exp(arg_error)) +
                       (2 * k_exp + 1) * kF32Underflow;
      // An argument error that overflows (logits near 2^100 whose f32 rounding moves the
      // argument by 2^76) leaves P^ unbounded, even where the f64 P underflowed to 0 (0 * inf).
      if (!std::isfinite(p_error)) p_error = std::numeric_limits<double>::infinity();
      // B3. dP = dO . V[j], an f32 dot of length Dv.
      double dp_magnitude = 0;
      for (int64_t c = 0; c < Dv; ++c) dp_magnitude += abs_grad[c] * std::fabs(double(value[c]));
      const double dp_error = gamma_n(double(Dv), u) * dp_magnitude + Dv * kF32Underflow;
      // B5. dS = P^ (dP^ - D^), two roundings, with every product of errors kept:
      //   |dS^ - dS| <= E_P |dP^ - D^| + P (E_dP + E_D) + gamma(2) |P^| |dP^ - D^| + 2^-150.
      const double diff = std::fabs(round_to_f64(brow.dp[j]) - delta);
      const double diff_computed = diff + dp_error + delta_error;  // >= |dP^ - D^|
      const double p_computed = p + p_error;                         // >= |P^|
      double ds_error = p_error * diff_computed + p * (dp_error + delta_error) +
                        gamma_n(2, u) * p_computed * diff_computed + kF32Underflow;
      double ds_computed = std::fabs(round_to_f64(brow.ds[j])) + ds_error;
      // B6. P and dS rounded to storage before their products.
      if (traits.weights_rounded_to_storage) {
        p_error += u_operand * p_computed + operand_underflow;
        ds_error += u_operand * ds_computed + operand_underflow;
      }
      const double p_used = p + p_error;
      ds_computed = std::fabs(round_to_f64(brow.ds[j])) + ds_error;
      // B7 (dQ, dK, dV): the sums; here what each term carries in, and its size.
      for (int64_t d = 0; d < D; ++d) {
        const double kd = std::fabs(double(key[d]));
        dq_error[d] += ds_error * kd;
        dq_size[d] += ds_computed * kd;
        dq_factor_sum[d] += kd;
        dk_error[k0 + d] += ds_error * abs_query[d];
        dk_size[k0 + d] += ds_computed * abs_query[d];
        dk_factor_sum[k0 + d] += abs_query[d];
      }
      for (int64_t c = 0; c < Dv; ++c) {
        dv_error[v0 + c] += p_error * abs_grad[c];
        dv_size[v0 + c] += p_used * abs_grad[c];
      }
      ++key_rows[static_cast<size_t>((b * s.kv_heads + kvh) * s.kv_len + j)];
    }
    // B7. dQ = scale sum_j dS_j K[j] over the row's n keys, in any order: each term has n - 1
    // additions, its product and the scale's rounding and product: gamma(n + 2). B8: up to 2n + 1
    // products (dS K, and the scale's on each or on the sum), or scale dS underflowing before K.
    const double n = static_cast<double>(row.visible_count);
    for (int64_t d = 0; d < D; ++d) {
      bound.dq[q0 + d] = scale * (dq_error[d] + gamma_n(n + 2, u) * dq_size[d]) +
                         ((2 * n + 1) * scale_underflow + dq_factor_sum[d]) * kF32Underflow;
    }
  }
  // B7. dK and dV sum over the N rows (query heads of the group, queries) that see the key.
  bound.dk.assign(dk_error.size(), 0.0);
  bound.dv.assign(dv_error.size(), 0.0);
  for (size_t key = 0; key < key_rows.size(); ++key) {
    const double rows = static_cast<double>(key_rows[key]);
    if (rows == 0) continue;  // no query sees it: exactly zero required
    for (int64_t d = 0; d < D; ++d) {
      const size_t e = key * static_cast<size_t>(D) + static_cast<size_t>(d);
      bound.dk[e] = scale * (dk_error[e] + gamma_n(rows + 2, u) * dk_size[e]) +
                    ((2 * rows + 1) * scale_underflow + dk_factor_sum[e]) * kF32Underflow;
    }
    for (int64_t c = 0; c < Dv; ++c) {
      const size_t e = key * static_cast<size_t>(Dv) + static_cast<size_t>(c);
      bound.dv[e] = dv_error[e] + gamma_n(rows, u) * dv_size[e] + rows * kF32Underflow;
    }
  }
  // B7. The final rounding to storage: half an ulp of the computed value, or half the smallest
  // subnormal. B9: the evaluation factor.
  const auto finish = [&](std::vector<double>& bounds, const std::vector<Real>& values) {
    for (size_t e = 0; e < bounds.size(); ++e) {
      double x = bounds[e];
      if (x == 0) continue;  // an exact zero is required
      if (u_storage > 0) x += u_storage * (std::fabs(round_to_f64(values[e])) + x) + storage_underflow(dtype);
      bounds[e] = kEvaluation * x;
    }
  };
  finish(bound.dq, exact.dq);
  finish(bound.dk, exact.dk);
  finish(bound.dv, exact.dv);
  return bound;
}

GradientReach non_finite_gradient_reach(const Problem& problem) {
  if (!problem.has_d_out()) throw std::invalid_argument("non_finite_gradient_reach: the problem has no upstream gradient (do)");
  GradientReach reach;
  if (all_finite(problem.q) && all_finite(problem.k) && all_finite(problem.v) && all_finite(problem.d_out)) {
    return reach;  // the usual case
  }
  const AttentionSpec& spec = problem.spec;
  const AttentionShape& s = spec.shape;
  const VisibilityInputs visibility = problem.visibility();
  reach.dq.assign(static_cast<size_t>(q_elements(s)), 0);
  reach.dk.assign(static_cast<size_t>(k_elements(s)), 0);
  reach.dv.assign(static_cast<size_t>(v_elements(s)), 0);
  const auto finite = [](const float* x, int64_t n) { return std::all_of(x, x + n, [](float y) { return std::isfinite(y); }); };
  std::vector<int64_t> keys;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kvh = kv_head_for(s, h);
      for (int64_t i = 0; i < s.q_len; ++i) {
        keys.clear();
        for (int64_t j = 0; j < s.kv_len; ++j) {
          if (key_visible(spec, visibility, b, h, i, j)) keys.push_back(j);
        }
        if (keys.empty()) continue;  // reads nothing
        const float* grad_out = &problem.d_out[o_offset(s, b, h, i)];
        bool scores = !finite(&problem.q[q_offset(s, b, h, i)], s.head_dim);  // every P of the row
        bool values = false;                                                  // O, so D, so every dS
        for (int64_t j : keys) {
          scores = scores || !finite(&problem.k[k_offset(s, b, kvh, j)], s.head_dim);
          values = values || !finite(&problem.v[v_offset(s, b, kvh, j)], s.value_dim);
        }
        const bool upstream = !finite(grad_out, s.value_dim);  // every dP, and D
        if (!(scores || values || upstream)) continue;
        // Every dS of the row: its dQ and the dK of every key it sees.
        std::fill_n(&reach.dq[q_offset(s, b, h, i)], s.head_dim, uint8_t{1});
        for (int64_t j : keys) {
          std::fill_n(&reach.dk[k_offset(s, b, kvh, j)], s.head_dim, uint8_t{1});
          uint8_t* dv = &reach.dv[v_offset(s, b, kvh, j)];
          for (int64_t c = 0; c < s.value_dim; ++c) dv[c] |= scores || !std::isfinite(grad_out[c]);
        }
      }
    }
  }
  return reach;
}

}  // namespace attncheck::oracle
