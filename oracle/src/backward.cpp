#include "attncheck/oracle/backward.hpp"

#include <stdexcept>
#include <string>

#include "attncheck/semantics.hpp"

namespace attncheck::oracle {

namespace {

void require_length(const AttentionSpec& spec, const std::vector<double>& d_out) {
  if (static_cast<int64_t>(d_out.size()) != o_elements(spec.shape)) {
    throw std::invalid_argument("oracle::backward: d_out holds " + std::to_string(d_out.size()) +
                                " values, O has " + std::to_string(o_elements(spec.shape)));
  }
}

// The problem's inputs as Reals, whichever form the OracleProblem holds them in.
std::vector<Real> reals(const std::vector<Real>& exact, const std::vector<float>& stored) {
  if (!exact.empty()) return exact;
  return std::vector<Real>(stored.begin(), stored.end());
}

// d_out as Reals (exact doubles, or exact decimals read at the working precision).
Gradients backward_impl(const OracleProblem& problem, const std::vector<Real>& d_out, unsigned precision_bits,
                        bool keep_intermediates) {
  const AttentionSpec& spec = problem.spec;
  const AttentionShape& s = spec.shape;
  OracleOptions options;
  options.precision_bits = precision_bits;
  options.keep_intermediates = true;  // the weights of every key
  const OracleResult fwd = forward(problem, options);
  PrecisionScope scope(precision_bits);
  const std::vector<Real> q = reals(problem.q, problem.q_stored), k = reals(problem.k, problem.k_stored),
                          v = reals(problem.v, problem.v_stored);
  Gradients g;
  g.spec = spec;
  g.precision_bits = precision_bits;
  g.dq.assign(q.size(), Real(0));
  g.dk.assign(k.size(), Real(0));
  g.dv.assign(v.size(), Real(0));
  Real d_dot_o, dp, ds, t;
  for (const RowTrace& row : fwd.rows) {
    BackwardRow* kept = nullptr;
    if (keep_intermediates) {
      g.rows.push_back(BackwardRow{row.batch, row.head, row.query, {}, {}, Real(0), Real(0)});
      kept = &g.rows.back();
    }
    if (row.visible_count == 0) continue;  // O = 0 by definition: no gradient flows
    const int64_t kvh = kv_head_for(s, row.head);
    const int64_t o0 = o_offset(s, row.batch, row.head, row.query);
    const int64_t q0 = q_offset(s, row.batch, row.head, row.query);
    d_dot_o = 0;
    for (int64_t c = 0; c < s.value_dim; ++c) d_dot_o += d_out[o0 + c] * row.output[c];
    if (kept != nullptr) {
      kept->dp.assign(s.kv_len, Real(0));
      kept->ds.assign(s.kv_len, Real(0));
      kept->delta = d_dot_o;
    }
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!row.visible[j]) continue;
      const Real& p = row.weights[j];
      const int64_t v0 = v_offset(s, row.batch, kvh, j), k0 = k_offset(s, row.batch, kvh, j);
      dp = 0;
      for (int64_t c = 0; c < s.value_dim; ++c) {
        dp += d_out[o0 + c] * v[v0 + c];
        g.dv[v0 + c] += p * d_out[o0 + c];
      }
      ds = p * (dp - d_dot_o);
      if (kept != nullptr) {
        kept->dp[j] = dp;
        kept->ds[j] = ds;
        kept->delta_from_weights += p * dp;
      }
      t = problem.scale * ds;
      for (int64_t d = 0; d < s.head_dim; ++d) {
        g.dq[q0 + d] += t * k[k0 + d];
        g.dk[k0 + d] += t * q[q0 + d];
      }
    }
  }
  if (keep_intermediates) g.forward = fwd;
  return g;
}

// Doubles are exact as Reals at any precision >= 53 bits.
Gradients backward_impl(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits,
                        bool keep_intermediates) {
  require_length(problem.spec, d_out);
  PrecisionScope scope(precision_bits);
  const std::vector<Real> exact(d_out.begin(), d_out.end());
  return backward_impl(problem, exact, precision_bits, keep_intermediates);
}

}  // namespace

Gradients backward(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits) {
  return backward_impl(problem, d_out, precision_bits, false);
}

Gradients backward(const OracleProblem& problem, const std::vector<Real>& d_out, const BackwardOptions& options) {
  if (static_cast<int64_t>(d_out.size()) != o_elements(problem.spec.shape)) {
    throw std::invalid_argument("oracle::backward: d_out holds " + std::to_string(d_out.size()) +
                                " values, O has " + std::to_string(o_elements(problem.spec.shape)));
  }
  return backward_impl(problem, d_out, options.precision_bits, options.keep_intermediates);
}

Gradients backward(const Problem& problem, const std::vector<double>& d_out, unsigned precision_bits) {
  require_length(problem.spec, d_out);
  PrecisionScope scope(precision_bits);
  return backward_impl(from_problem(problem), d_out, precision_bits, false);
}

Gradients backward(const Problem& problem, const BackwardOptions& options) {
  if (!problem.has_d_out()) throw std::invalid_argument("oracle::backward: the problem has no upstream gradient (do)");
  const std::vector<double> d_out(problem.d_out.begin(), problem.d_out.end());
  require_length(problem.spec, d_out);
  PrecisionScope scope(options.precision_bits);
  return backward_impl(from_problem(problem), d_out, options.precision_bits, options.keep_intermediates);
}

ForwardValues forward_for_backward(const Problem& problem, unsigned precision_bits) {
  OracleOptions options;
  options.precision_bits = precision_bits;
  options.keep_intermediates = false;
  const OracleResult result = forward(problem, options);
  return ForwardValues{outputs_in(result, problem.dtype), lse_f32(result)};
}

Real weighted_output_sum(const OracleProblem& problem, const std::vector<double>& d_out, unsigned precision_bits) {
  require_length(problem.spec, d_out);
  OracleOptions options;
  options.precision_bits = precision_bits;
  options.keep_intermediates = false;
  const OracleResult fwd = forward(problem, options);
  PrecisionScope scope(precision_bits);
  const AttentionShape& s = problem.spec.shape;
  Real sum = 0;
  for (const RowTrace& row : fwd.rows) {
    const int64_t o0 = o_offset(s, row.batch, row.head, row.query);
    for (int64_t c = 0; c < s.value_dim; ++c) sum += Real(d_out[o0 + c]) * row.output[c];
  }
  return sum;
}

}  // namespace attncheck::oracle
