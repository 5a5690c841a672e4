#include "gradient_tools.hpp"

#include <rapidcheck.h>

#include <cmath>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/random_problem.hpp"
#include "law_tools.hpp"

namespace attncheck::properties {

bool has_backward(const KernelInfo& kernel) { return kernel.backward != nullptr && kernel.has(kBackward); }

AttentionSpec draw_gradient_spec(SpecRequest request, const KernelInfo& kernel) {
  if (kernel.has(kValueDim)) request.required.value_dim = true;
  AttentionSpec spec = draw_spec(request);
  AttentionShape& s = spec.shape;
  if (s.q_len == s.kv_len) s.q_len = s.q_len > 1 ? s.q_len - 1 : 2;
  if (kernel.has(kValueDim) && s.value_dim == s.head_dim) s.value_dim = s.head_dim > 1 ? s.head_dim - 1 : 2;
  return spec;
}

Problem draw_gradient_problem(const AttentionSpec& spec, DType dtype, std::initializer_list<ValueKind> kinds) {
  Problem problem = draw_problem(spec, dtype, kinds);
  add_random_d_out(problem, *rc::gen::noShrink(rc::gen::arbitrary<uint64_t>()).as("dO seed"));
  return problem;
}

HandedForward handed_forward(const KernelInfo& kernel, const Problem& problem, ForwardSource source) {
  HandedForward f;
  f.source = source;
  if (source == ForwardSource::kernel) {
    KernelResult r = run_kernel(kernel, problem);
    f.o = std::move(r.o);
    f.lse = std::move(r.lse);
  } else {
    oracle::ForwardValues v = oracle::forward_for_backward(problem);
    f.o = std::move(v.o);
    f.lse = std::move(v.lse);
  }
  return f;
}

HandedForward handed_forward(const KernelInfo& kernel, const Problem& problem) {
  return handed_forward(kernel, problem, kernel.has(kLse) ? ForwardSource::kernel : ForwardSource::oracle);
}

BackwardResult run_with(const KernelInfo& kernel, const Problem& problem, const HandedForward& forward,
                        const KernelOptions& options) {
  return run_backward(kernel, problem, forward.o, forward.lse, options);
}

BoundedGradients bounded_backward(const KernelInfo& kernel, const Problem& problem, const HandedForward& forward,
                                  const KernelOptions& options) {
  BoundedGradients g;
  g.exact = oracle::backward(problem, oracle::BackwardOptions{.keep_intermediates = true});
  g.got = run_with(kernel, problem, forward, options);
  g.bound = oracle::a_priori_gradient_bound(problem, g.exact, g.got, kernel.error, kernel.dtype);
  return g;
}

double gamma_f64(int64_t n) {
  const double nu = static_cast<double>(n) * 0x1p-53;
  return nu / (1 - nu);
}

double residual_ratio(double actual, double expected, double tolerance) {
  if (actual == expected) return 0.0;
  if (std::isnan(tolerance)) return tolerance;
  if (std::isnan(actual) || std::isnan(expected) || tolerance == 0) return INFINITY;
  return std::fabs(actual - expected) / tolerance;
}

SpecRequest bounded_request(const KernelInfo& kernel) {
  SpecRequest request = request_for(kernel);
  request.limits.max_q_len = 24;
  request.limits.max_kv_len = 40;
  request.limits.max_dim = 24;
  request.limits.max_work = 12000;
  request.limits.max_long_work = 24000;  // e.g. 769 keys x 8 rows x (1 + 2) dims
  request.limits.max_long_q_len = 48;
  request.limits.max_long_dim = 4;
  return request;
}

namespace {

std::string element_name(const char* tensor, const char* head, const char* pos, const char* col, int64_t heads,
                         int64_t len, int64_t dim, int64_t index) {
  const int64_t d = index % dim, j = index / dim % len, h = index / dim / len % heads, b = index / dim / len / heads;
  return std::string(tensor) + "[b=" + std::to_string(b) + "," + head + "=" + std::to_string(h) + "," + pos + "=" +
         std::to_string(j) + "," + col + "=" + std::to_string(d) + "]";
}

}  // namespace

std::string dq_name(const AttentionShape& s, int64_t index) {
  return element_name("dQ", "h", "i", "d", s.q_heads, s.q_len, s.head_dim, index);
}
std::string dk_name(const AttentionShape& s, int64_t index) {
  return element_name("dK", "g", "j", "d", s.kv_heads, s.kv_len, s.head_dim, index);
}
std::string dv_name(const AttentionShape& s, int64_t index) {
  return element_name("dV", "g", "j", "c", s.kv_heads, s.kv_len, s.value_dim, index);
}

GradientDifference first_gradient_difference(const BackwardResult& a, const BackwardResult& b,
                                             const AttentionShape& s) {
  const auto scan = [](const std::vector<float>& x, const std::vector<float>& y) -> int64_t {
    for (size_t e = 0; e < x.size(); ++e) {
      if (!same_bits(x[e], y[e])) return static_cast<int64_t>(e);
    }
    return -1;
  };
  const auto said = [](const std::string& name, float x, float y) {
    return name + " " + format_values(std::span<const float>(&x, 1)) + " became " +
           format_values(std::span<const float>(&y, 1));
  };
  GradientDifference d;
  if (const int64_t e = scan(a.dq, b.dq); e >= 0) {
    d.what = said(dq_name(s, e), a.dq[e], b.dq[e]);
    d.flat_row = e / s.head_dim;
  } else if (const int64_t e2 = scan(a.dk, b.dk); e2 >= 0) {
    d.what = said(dk_name(s, e2), a.dk[e2], b.dk[e2]);
  } else if (const int64_t e3 = scan(a.dv, b.dv); e3 >= 0) {
    d.what = said(dv_name(s, e3), a.dv[e3], b.dv[e3]);
  }
  return d;
}

std::vector<double> reals_f64(const std::vector<oracle::Real>& values) {
  std::vector<double> out(values.size());
  for (size_t e = 0; e < values.size(); ++e) out[e] = oracle::round_to_f64(values[e]);
  return out;
}

bool has_non_finite_input(const Problem& problem) {
  for (const std::vector<float>* t : {&problem.q, &problem.k, &problem.v, &problem.d_out}) {
    for (float x : *t) {
      if (!std::isfinite(x)) return true;
    }
  }
  return false;
}

std::vector<uint8_t> empty_rows(const Problem& problem) {
  const AttentionShape& s = problem.spec.shape;
  std::vector<uint8_t> empty(lse_elements(s), 1);
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    for (uint8_t seen : visible_keys(problem, row)) {
      if (seen) {
        empty[row] = 0;
        break;
      }
    }
  }
  return empty;
}

std::vector<uint8_t> unseen_keys(const Problem& problem) {
  const AttentionShape& s = problem.spec.shape;
  std::vector<uint8_t> unseen(s.batch * s.kv_heads * s.kv_len, 1);
  for (int64_t row = 0; row < lse_elements(s); ++row) {
    const RowIndex r = row_index(s, row);
    const std::vector<uint8_t> seen = visible_keys(problem, row);
    const int64_t base = (r.b * s.kv_heads + kv_head_for(s, r.h)) * s.kv_len;
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (seen[j]) unseen[base + j] = 0;
    }
  }
  return unseen;
}

}  // namespace attncheck::properties
