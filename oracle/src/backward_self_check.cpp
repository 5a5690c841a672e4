// The oracle's gradients checked against themselves at twice the precision (rounding) and
// against finite differences of the forward along random directions (calculus).
// Derivation of the self-check's bound: docs/error-model.md, "The oracle's own gradient error".
// With e = 2^-p, per row of n visible keys, the forward's weight error rel_w and output error
// E_O (self_check.cpp's formulas), and P = w:
//   E_D   = sum_c |dO_c| E_O,c + gamma(Dv) sum_c |dO_c O_c|
//   E_dP  = gamma(Dv) sum_c |dO_c v_jc|,  E_P = rel_w P
//   E_dS  = E_P (|dP - D| + E_dP + E_D) + P (E_dP + E_D) + gamma(2) (P + E_P)(|dP - D| + E_dP + E_D)
//   dQ_d: scale (sum_j E_dS |k_jd| + gamma(n + 2) sum_j (|dS| + E_dS) |k_jd|)
//   dK_jd: the same over the N rows that see key j, with |q_d|; dV_jc: sum E_P |dO_c| +
//   gamma(N) sum (P + E_P) |dO_c|; the cross-check sum_j P dP: sum_j (E_P |dP| + P E_dP) +
//   gamma(n) sum_j (P + E_P)(|dP| + E_dP)
// all times 1.01 for second-order terms.
#include "attncheck/oracle/backward_self_check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "attncheck/random_problem.hpp"
#include "row_magnitudes.hpp"

namespace attncheck::oracle {
namespace {

constexpr double kSecondOrder = 1.01;

struct SelfBound {
  std::vector<double> dq, dk, dv, delta, cross;  // cross: |D - sum_j P_j dP_j| allowed
};

// `g` is the 2p result (the magnitudes), e the claimed unit roundoff.
SelfBound gradient_self_bound(const Problem& problem, const Gradients& g, double e) {
  const AttentionSpec& spec = problem.spec;
  const AttentionShape& s = spec.shape;
  const VisibilityInputs visibility = problem.visibility();
  const int64_t D = s.head_dim, Dv = s.value_dim;
  const double scale = effective_scale(spec);
  SelfBound bound;
  bound.dq.assign(static_cast<size_t>(q_elements(s)), 0.0);
  std::vector<double> dk_error(static_cast<size_t>(k_elements(s)), 0.0), dk_size(dk_error.size(), 0.0);
  std::vector<double> dv_error(static_cast<size_t>(v_elements(s)), 0.0), dv_size(dv_error.size(), 0.0);
  std::vector<int64_t> key_rows(static_cast<size_t>(s.batch * s.kv_heads * s.kv_len), 0);
  std::vector<double> dq_error(D), dq_size(D);
  for (size_t r = 0; r < g.rows.size(); ++r) {
    const RowTrace& row = g.forward.rows[r];
    const BackwardRow& brow = g.rows[r];
    if (row.visible_count == 0) {
      bound.delta.push_back(0);
      bound.cross.push_back(0);
      continue;
    }
    const int64_t b = row.batch, h = row.head, i = row.query, kvh = kv_head_for(s, h);
    const int64_t q0 = q_offset(s, b, h, i), o0 = o_offset(s, b, h, i);
    // The forward's error at e (self_check.cpp, docs/error-model.md "The oracle's own error").
    const RowMagnitudes m = row_magnitudes(problem, row);
    const double n = m.visible;
    const double score_error = gamma_n(double(D + 3), e) * m.max_products + 2 * e * m.max_bias + e * m.max_score;
    const double rel_w = 2 * (2 * score_error + e * m.max_shift + e) + gamma_n(n - 1, e) + e;
    double delta_error = 0, delta_magnitude = 0;
    for (int64_t c = 0; c < Dv; ++c) {
      const double grad = std::fabs(double(problem.d_out[o0 + c]));
      delta_error += grad * (rel_w + gamma_n(n, e)) * m.weighted_values[c];
      delta_magnitude += grad * std::fabs(round_to_f64(row.output[c]));
    }
    delta_error += gamma_n(double(Dv), e) * delta_magnitude;
    const double delta = round_to_f64(brow.delta);
    double cross_error = 0, cross_size = 0;
    std::fill(dq_error.begin(), dq_error.end(), 0.0);
    std::fill(dq_size.begin(), dq_size.end(), 0.0);
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!key_visible(spec, visibility, b, h, i, j)) continue;
      const int64_t k0 = k_offset(s, b, kvh, j), v0 = v_offset(s, b, kvh, j);
      double dp_magnitude = 0;
      for (int64_t c = 0; c < Dv; ++c) {
        dp_magnitude += std::fabs(double(problem.d_out[o0 + c]) * double(problem.v[v0 + c]));
      }
      const double dp_error = gamma_n(double(Dv), e) * dp_magnitude;
      const double p = round_to_f64(row.weights[j]);
      const double p_error = rel_w * p;
      const double dp = round_to_f64(brow.dp[j]);
      const double diff = std::fabs(dp - delta) + dp_error + delta_error;
      const double ds_error =
          p_error * diff + p * (dp_error + delta_error) + gamma_n(2, e) * (p + p_error) * diff;
      const double ds_size = std::fabs(round_to_f64(brow.ds[j])) + ds_error;
      cross_error += p_error * std::fabs(dp) + p * dp_error;
      cross_size += (p + p_error) * (std::fabs(dp) + dp_error);
      for (int64_t d = 0; d < D; ++d) {
        const double kd = std::fabs(double(problem.k[k0 + d])), qd = std::fabs(double(problem.q[q0 + d]));
        dq_error[d] += ds_error * kd;
        dq_size[d] += ds_size * kd;
        dk_error[k0 + d] += ds_error * qd;
        dk_size[k0 + d] += ds_size * qd;
      }
      for (int64_t c = 0; c < Dv; ++c) {
        const double grad = std::fabs(double(problem.d_out[o0 + c]));
        dv_error[v0 + c] += p_error * grad;
        dv_size[v0 + c] += (p + p_error) * grad;
      }
      ++key_rows[static_cast<size_t>((b * s.kv_heads + kvh) * s.kv_len + j)];
    }
    for (int64_t d = 0; d < D; ++d) {
      bound.dq[q0 + d] = kSecondOrder * scale * (dq_error[d] + gamma_n(n + 2, e) * dq_size[d]);
    }
    bound.delta.push_back(kSecondOrder * delta_error);
    // Both D and its cross-check approximate the same exact value.
    bound.cross.push_back(kSecondOrder * (delta_error + cross_error + gamma_n(n, e) * cross_size));
  }
  bound.dk.assign(dk_error.size(), 0.0);
  bound.dv.assign(dv_error.size(), 0.0);
  for (size_t key = 0; key < key_rows.size(); ++key) {
    const double rows = static_cast<double>(key_rows[key]);
    if (rows == 0) continue;
    for (int64_t d = 0; d < D; ++d) {
      const size_t x = key * static_cast<size_t>(D) + static_cast<size_t>(d);
      bound.dk[x] = kSecondOrder * scale * (dk_error[x] + gamma_n(rows + 2, e) * dk_size[x]);
    }
    for (int64_t c = 0; c < Dv; ++c) {
      const size_t x = key * static_cast<size_t>(Dv) + static_cast<size_t>(c);
      bound.dv[x] = kSecondOrder * (dv_error[x] + gamma_n(rows, e) * dv_size[x]);
    }
  }
  return bound;
}

bool all_finite(const std::vector<float>& xs) {
  return std::all_of(xs.begin(), xs.end(), [](float x) { return std::isfinite(x); });
}

}  // namespace

BackwardSelfCheck backward_self_check(const Problem& problem, unsigned precision_bits) {
  return backward_self_check(problem, precision_bits, precision_bits);
}

BackwardSelfCheck backward_self_check(const Problem& problem, unsigned precision_bits, unsigned claimed_bits) {
  BackwardOptions low;
  low.precision_bits = precision_bits;
  low.keep_intermediates = true;  // D and its cross-check, and the weights for the bound
  BackwardOptions high = low;
  high.precision_bits = 2 * precision_bits;
  const Gradients at_p = backward(problem, low);
  const Gradients at_2p = backward(problem, high);
  PrecisionScope scope(2 * precision_bits);
  const double e = std::ldexp(1.0, -static_cast<int>(claimed_bits));
  const SelfBound bound = gradient_self_bound(problem, at_2p, e);
  BackwardSelfCheck check;
  check.min_guaranteed_bits = std::numeric_limits<double>::infinity();
  Real diff;
  const auto consider = [&](const Real& x, const Real& y, double limit, bool guarantee, const char* name,
                            size_t index) {
    diff = x - y;
    const double observed = std::fabs(round_to_f64(diff));
    const double ratio = limit > 0 ? observed / limit : (observed > 0 ? INFINITY : 0.0);
    if (ratio > check.worst_ratio || check.worst_where.empty()) {
      check.worst_ratio = std::max(check.worst_ratio, ratio);
      check.worst_where = std::string(name) + "[" + std::to_string(index) + "]";
    }
    const double magnitude = std::fabs(round_to_f64(y));
    if (guarantee && magnitude > 0 && limit > 0) {
      check.min_guaranteed_bits = std::min(check.min_guaranteed_bits, -std::log2(limit / magnitude));
    }
  };
  for (size_t x = 0; x < at_p.dq.size(); ++x) consider(at_p.dq[x], at_2p.dq[x], bound.dq[x], true, "dQ", x);
  for (size_t x = 0; x < at_p.dk.size(); ++x) consider(at_p.dk[x], at_2p.dk[x], bound.dk[x], true, "dK", x);
  for (size_t x = 0; x < at_p.dv.size(); ++x) consider(at_p.dv[x], at_2p.dv[x], bound.dv[x], true, "dV", x);
  for (size_t r = 0; r < at_p.rows.size(); ++r) {
    consider(at_p.rows[r].delta, at_2p.rows[r].delta, bound.delta[r], false, "D, row", r);
    consider(at_p.rows[r].delta, at_p.rows[r].delta_from_weights, bound.cross[r], false, "D-cross, row", r);
  }
  check.passed = check.worst_ratio <= 1.0;
  return check;
}

DirectionalCheck directional_derivative_check(const Problem& problem, const Gradients& gradients, uint64_t seed) {
  if (!problem.has_d_out()) throw std::invalid_argument("directional_derivative_check: the problem has no d_out");
  if (!all_finite(problem.q) || !all_finite(problem.k) || !all_finite(problem.v) || !all_finite(problem.d_out)) {
    throw std::invalid_argument("directional_derivative_check: a non-finite input has no derivative");
  }
  if (gradients.dq.size() != problem.q.size() || gradients.dk.size() != problem.k.size() ||
      gradients.dv.size() != problem.v.size()) {
    throw std::invalid_argument("directional_derivative_check: the gradients do not match the problem's shape");
  }
  const std::vector<double> d_out(problem.d_out.begin(), problem.d_out.end());
  PrecisionScope scope(kDirectionalBits);
  const OracleProblem base = from_problem(problem);
  SplitMix64 rng(seed);
  OracleProblem up = base, down = base;
  const Real h = ldexp(Real(1), kDirectionalStepExponent);
  Real analytic = 0, magnitude = 0, step;
  for (auto [tensor, grad] : {std::pair{&OracleProblem::q, &gradients.dq}, std::pair{&OracleProblem::k, &gradients.dk},
                              std::pair{&OracleProblem::v, &gradients.dv}}) {
    for (size_t x = 0; x < grad->size(); ++x) {
      const Real direction = rng.normal();
      analytic += (*grad)[x] * direction;
      magnitude += abs((*grad)[x] * direction);
      step = h * direction;
      (up.*tensor)[x] += step;
      (down.*tensor)[x] -= step;
    }
  }
  const Real fd = (weighted_output_sum(up, d_out, kDirectionalBits) - weighted_output_sum(down, d_out, kDirectionalBits)) /
                  (2 * h);
  DirectionalCheck check;
  check.finite_difference = round_to_f64(fd);
  check.analytic = round_to_f64(analytic);
  check.magnitude = round_to_f64(magnitude);
  const double error = round_to_f64(abs(fd - analytic));
  check.digits = error == 0 ? 100.0 : check.magnitude > 0 ? -std::log10(error / check.magnitude) : 0.0;
  return check;
}

}  // namespace attncheck::oracle
