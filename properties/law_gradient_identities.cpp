// Gradient laws 1, 2, 3 and 5 (issue 18): identities the exact gradients satisfy, checked on a
// kernel's gradients within a tolerance derived from its a-priori per-element bound
// (oracle::a_priori_gradient_bound; docs/error-model.md, "Backward bounds"): if every element x
// of a kernel's gradient lies within B_x of the exact x*, a linear combination sum c_x x lies
// within sum |c_x| B_x of sum c_x x*, and the identity says what that is. The sums here are
// formed in double from the kernel's floats: products of two floats are exact in double, and a
// sum of n + 1 terms in any order is off by at most gamma_f64(n) times the sum of the terms'
// magnitudes (Higham), which each tolerance adds.
//
//   1. Softmax-Jacobian rows: sum_j dS_ij = sum_j P_ij (dP_ij - D_i) = D_i - D_i = 0, so per
//      (batch, kv head, column d): sum_j dK[j, d] = scale sum_rows Q[row, d] sum_j dS[row, j] = 0.
//      Tolerance: sum_j B_dK[j, d] + gamma(kv_len - 1) sum_j |dK[j, d]|.
//   2. sum_j P_ij = 1 for a row that sees a key, so per (batch, kv head, column c):
//      sum_j dV[j, c] = sum over the group's rows that see a key of dO[row, c].
//      Tolerance: sum_j B_dV[j, c] + gamma(kv_len - 1) sum_j |dV[j, c]| + gamma(rows - 1) sum |dO|.
//   3. <dQ, Q> = <dK, K> per (batch, kv head group): both are scale sum dS_ij (q_i . k_j), the
//      scores without bias (ALiBi's bias depends on neither Q nor K).
//      Tolerance: sum |Q| B_dQ + sum |K| B_dK + gamma(terms - 1) (sum |dQ Q| + sum |dK K|).
//   5. Linearity in dO (O and LSE fixed): G(a dO1 + b dO2) = a G(dO1) + b G(dO2). dO1 and dO2 are
//      multiples of 1/4 in [-15/4, 15/4] and a, b in {1, -1, 2, -2, 1/2}, so a dO1 + b dO2 is a
//      multiple of 1/8 below 2^7 in magnitude: exact in every dtype (bf16 keeps 8 bits).
//      Tolerance per element: B3 + |a| B1 + |b| B2 + 2^-53 |a G1 + b G2| (a G1 + b G2 is formed
//      in double: the scalings are exact, the sum rounds once).
// The oracle satisfies each identity to its working precision (gradient_oracle_test.cpp).
// Every law draws q_len != kv_len, head_dim != value_dim and dO, both regimes (the long one
// crosses the 64-, 128- and 256-key tile edges with few rows: the oracle computes every row),
// and hands the kernel's own forward (kLse) or the oracle's.
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gradient_tools.hpp"
#include "law_tools.hpp"
#include "laws.hpp"

namespace attncheck::properties {
namespace {

struct Case {
  Problem problem;
  BoundedGradients g;
};

Case draw_case(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  Case c;
  c.problem = draw_gradient_problem(draw_gradient_spec(bounded_request(kernel), kernel), kernel.dtype,
                                     ATTNCHECK_BOUNDED_VALUE_KINDS);
  c.g = bounded_backward(kernel, c.problem, handed_forward(kernel, c.problem));
  run.count("cases");
  return c;
}

// |value| / tolerance for a quantity whose exact value is `exact`, noted and failed above 1.
void judge(LawRun& run, const Problem& problem, double value, double exact, double tolerance,
           const std::string& what) {
  const double r = residual_ratio(value, exact, tolerance);
  run.note_max("|identity residual| / tolerance", r);
  if (!(r <= 1)) {
    char text[200];
    std::snprintf(text, sizeof text, ": %.17g, the identity says %.17g; tolerance %.3g (residual / tolerance %.3g)",
                  value, exact, tolerance, r);
    run.fail(Witness{problem, what + text, {}, false, true}, what + text);
  }
}

void check_key_sum(LawRun& run) {
  const Case c = draw_case(run);
  const AttentionShape& s = c.problem.spec.shape;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < s.kv_heads; ++g) {
      for (int64_t d = 0; d < s.head_dim; ++d) {
        double sum = 0, magnitude = 0, tolerance = 0;
        for (int64_t j = 0; j < s.kv_len; ++j) {
          const int64_t e = k_offset(s, b, g, j) + d;
          sum += c.g.got.dk[e];
          magnitude += std::fabs(c.g.got.dk[e]);
          tolerance += c.g.bound.dk[e];
        }
        tolerance += gamma_f64(s.kv_len - 1) * magnitude;
        judge(run, c.problem, sum, 0, tolerance,
              "sum over keys of dK[b=" + std::to_string(b) + ",g=" + std::to_string(g) + ",d=" + std::to_string(d) + "]");
      }
    }
  }
}

void check_value_sum(LawRun& run) {
  const Case c = draw_case(run);
  const Problem& p = c.problem;
  const AttentionShape& s = p.spec.shape;
  const std::vector<uint8_t> empty = empty_rows(p);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < s.kv_heads; ++g) {
      for (int64_t col = 0; col < s.value_dim; ++col) {
        double sum = 0, magnitude = 0, tolerance = 0, upstream = 0, upstream_magnitude = 0;
        for (int64_t j = 0; j < s.kv_len; ++j) {
          const int64_t e = v_offset(s, b, g, j) + col;
          sum += c.g.got.dv[e];
          magnitude += std::fabs(c.g.got.dv[e]);
          tolerance += c.g.bound.dv[e];
        }
        int64_t rows = 0;
        for (int64_t h = 0; h < s.q_heads; ++h) {
          if (kv_head_for(s, h) != g) continue;
          for (int64_t i = 0; i < s.q_len; ++i) {
            if (empty[flat_row(s, b, h, i)]) continue;
            const double x = p.d_out[o_offset(s, b, h, i) + col];
            upstream += x;
            upstream_magnitude += std::fabs(x);
            ++rows;
          }
        }
        tolerance += gamma_f64(s.kv_len - 1) * magnitude + gamma_f64(std::max<int64_t>(rows - 1, 0)) * upstream_magnitude;
        judge(run, p, sum, upstream, tolerance,
              "sum over keys of dV[b=" + std::to_string(b) + ",g=" + std::to_string(g) + ",c=" + std::to_string(col) +
                  "] against the sum of dO over the " + std::to_string(rows) + " rows that see a key");
      }
    }
  }
}

void check_inner_products(LawRun& run) {
  const Case c = draw_case(run);
  const Problem& p = c.problem;
  const AttentionShape& s = p.spec.shape;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < s.kv_heads; ++g) {
      double qside = 0, qmag = 0, kside = 0, kmag = 0, tolerance = 0;
      int64_t terms = 0;
      for (int64_t h = 0; h < s.q_heads; ++h) {
        if (kv_head_for(s, h) != g) continue;
        for (int64_t i = 0; i < s.q_len; ++i) {
          for (int64_t d = 0; d < s.head_dim; ++d) {
            const int64_t e = q_offset(s, b, h, i) + d;
            const double x = double(c.g.got.dq[e]) * p.q[e];  // exact in double
            qside += x;
            qmag += std::fabs(x);
            tolerance += std::fabs(p.q[e]) * c.g.bound.dq[e];
            ++terms;
          }
        }
      }
      for (int64_t j = 0; j < s.kv_len; ++j) {
        for (int64_t d = 0; d < s.head_dim; ++d) {
          const int64_t e = k_offset(s, b, g, j) + d;
          const double x = double(c.g.got.dk[e]) * p.k[e];
          kside += x;
          kmag += std::fabs(x);
          tolerance += std::fabs(p.k[e]) * c.g.bound.dk[e];
          ++terms;
        }
      }
      tolerance += gamma_f64(terms) * (qmag + kmag);
      judge(run, p, qside, kside, tolerance,
            "<dQ, Q> against <dK, K> for b=" + std::to_string(b) + ", kv head " + std::to_string(g));
    }
  }
}

void check_linearity(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  Problem p1 = draw_gradient_problem(draw_gradient_spec(bounded_request(kernel), kernel), kernel.dtype,
                                     ATTNCHECK_BOUNDED_VALUE_KINDS);
  Problem p2 = p1, p3 = p1;
  const std::vector<int> ks1 = *rc::gen::container<std::vector<int>>(p1.d_out.size(), rc::gen::inRange(-15, 16)).as("dO1 x 4");
  const std::vector<int> ks2 = *rc::gen::container<std::vector<int>>(p1.d_out.size(), rc::gen::inRange(-15, 16)).as("dO2 x 4");
  const double a = *rc::gen::element(1.0, -1.0, 2.0, -2.0, 0.5).as("a");
  const double b = *rc::gen::element(1.0, -1.0, 2.0, -2.0, 0.5).as("b");
  for (size_t e = 0; e < p1.d_out.size(); ++e) {
    p1.d_out[e] = static_cast<float>(ks1[e] / 4.0);
    p2.d_out[e] = static_cast<float>(ks2[e] / 4.0);
    p3.d_out[e] = static_cast<float>(a * ks1[e] / 4.0 + b * ks2[e] / 4.0);  // exact: see the top
  }
  const HandedForward forward = handed_forward(kernel, p1);  // O does not depend on dO
  const BoundedGradients g1 = bounded_backward(kernel, p1, forward), g2 = bounded_backward(kernel, p2, forward),
                         g3 = bounded_backward(kernel, p3, forward);
  run.count("cases");
  const AttentionShape& s = p1.spec.shape;
  const auto check = [&](const char* name, const std::vector<float>& x1, const std::vector<float>& x2,
                         const std::vector<float>& x3, const std::vector<double>& b1, const std::vector<double>& b2,
                         const std::vector<double>& b3, std::string (*element)(const AttentionShape&, int64_t)) {
    for (size_t e = 0; e < x3.size(); ++e) {
      const double combined = a * x1[e] + b * x2[e];
      const double tolerance = b3[e] + std::fabs(a) * b1[e] + std::fabs(b) * b2[e] + 0x1p-53 * std::fabs(combined);
      const double r = residual_ratio(x3[e], combined, tolerance);
      run.note_max("|G3 - a G1 - b G2| / tolerance", r);
      if (!(r <= 1)) {
        char text[300];
        std::snprintf(text, sizeof text, ": G(a dO1 + b dO2) = %.9g, a G(dO1) + b G(dO2) = %.17g (a = %g, b = %g); "
                      "tolerance %.3g (ratio %.3g)", x3[e], combined, a, b, tolerance, r);
        const std::string what = std::string(name) + " " + element(s, static_cast<int64_t>(e)) + text;
        run.fail(Witness{p3, what, {}, false, true}, what);
      }
    }
  };
  check("dQ", g1.got.dq, g2.got.dq, g3.got.dq, g1.bound.dq, g2.bound.dq, g3.bound.dq, dq_name);
  check("dK", g1.got.dk, g2.got.dk, g3.got.dk, g1.bound.dk, g2.bound.dk, g3.bound.dk, dk_name);
  check("dV", g1.got.dv, g2.got.dv, g3.got.dv, g1.bound.dv, g2.bound.dv, g3.bound.dv, dv_name);
}

Law make(const char* name, const char* statement, int cases, void (*check)(LawRun&)) {
  Law law;
  law.family = "GradientIdentities";
  law.name = name;
  law.statement = statement;
  law.cases = cases;
  law.applies = has_backward;
  law.check_case = check;
  law.summary = [](const LawRun& run) {
    char line[200];
    const double worst = std::max(run.max_of("|identity residual| / tolerance"), run.max_of("|G3 - a G1 - b G2| / tolerance"));
    std::snprintf(line, sizeof line, "%s: worst residual / tolerance %.3g over %lld cases", run.kernel().name.c_str(),
                  worst, static_cast<long long>(run.count_of("cases")));
    return std::string(line);
  };
  return law;
}

}  // namespace

std::vector<Law> gradient_identity_laws() {
  return {
      make("KeyGradientsSumToZeroOverKeys",
           "per (batch, kv head, column) sum_j dK_j = 0 (each row of dS sums to zero) within sum_j B_dK + the sum's "
           "rounding",
           30, check_key_sum),
      make("ValueGradientsSumToUpstreamGradientOverSeeingRows",
           "per (batch, kv head, column) sum_j dV_j = the sum of dO over the group's rows that see a key, within "
           "sum_j B_dV + the sums' rounding",
           30, check_value_sum),
      make("QueryAndKeyGradientInnerProductsAgree",
           "per (batch, kv head group) <dQ, Q> = <dK, K> within sum |Q| B_dQ + sum |K| B_dK + the sums' rounding", 30,
           check_inner_products),
      make("GradientsAreLinearInUpstreamGradient",
           "G(a dO1 + b dO2) = a G(dO1) + b G(dO2) element by element within B3 + |a| B1 + |b| B2, with the same O "
           "and LSE handed in",
           15, check_linearity),
  };
}

}  // namespace attncheck::properties
