// The dense reference backward (dense-inl.hpp) against the oracle's gradients, through both
// of the harness's sources of O and LSE (the oracle's, rounded; the kernel's own forward).
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "attncheck/oracle/backward.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/registry.hpp"
#include "attncheck/run.hpp"

namespace attncheck::oracle {
namespace {

// Grouped-query, causal with fewer queries than keys, value_dim != head_dim, padding with an
// empty batch entry (valid length 0: every row of it sees no key).
Problem gradient_problem() {
  AttentionSpec spec;
  spec.shape = AttentionShape{2, 4, 2, 3, 7, 5, 3};
  spec.causal = true;
  spec.has_valid_keys = true;
  Problem p = make_random_problem(spec, DType::f32, 11);
  p.valid_keys = {7, 0};
  return p;
}

// The dense reference backward, handed the oracle's rounded O and LSE, lands near the oracle's
// gradients (a coarse sanity bound; the per-element a-priori bound is check_backward's).
TEST(DenseBackward, AgreesWithTheOracleNormwise) {
  for (const char* name : {"dense_f32", "dense_f16", "dense_bf16"}) {
    const KernelInfo& kernel = *find_kernel(name);
    Problem p = gradient_problem();
    p.dtype = kernel.dtype;
    round_inputs_to_dtype(p);
    add_random_d_out(p, 9);
    const ForwardValues fv = forward_for_backward(p);
    const BackwardResult got = run_backward(kernel, p, fv.o, fv.lse);
    const Gradients exact = backward(p, BackwardOptions{});
    const double tolerance = kernel.dtype == DType::f32 ? 1e-5 : kernel.dtype == DType::f16 ? 1e-2 : 5e-2;
    for (auto [g, e] : {std::pair{&got.dq, &exact.dq}, {&got.dk, &exact.dk}, {&got.dv, &exact.dv}}) {
      double diff = 0, norm = 0;
      for (size_t i = 0; i < g->size(); ++i) {
        const double x = static_cast<double>((*e)[i]);
        diff += ((*g)[i] - x) * ((*g)[i] - x);
        norm += x * x;
      }
      EXPECT_LT(std::sqrt(diff), tolerance * std::sqrt(norm) + 1e-30) << name;
    }
    // Batch 1 sees no key: its dQ, dK and dV are exactly zero.
    const AttentionShape& s = p.spec.shape;
    for (int64_t e = q_elements(s) / 2; e < q_elements(s); ++e) EXPECT_EQ(got.dq[e], 0.0f) << name;
    for (int64_t e = k_elements(s) / 2; e < k_elements(s); ++e) EXPECT_EQ(got.dk[e], 0.0f) << name;
    // The kernel's own forward feeds the same backward: for the dense kernel both give O and
    // LSE within a few ULPs, so the gradients agree to the same coarse tolerance.
    const BackwardResult own = run_backward_own_forward(kernel, p);
    for (size_t e = 0; e < own.dq.size(); ++e) {
      EXPECT_NEAR(own.dq[e], got.dq[e], tolerance * 10 * (1 + std::abs(got.dq[e]))) << name;
    }
  }
}

}  // namespace
}  // namespace attncheck::oracle
