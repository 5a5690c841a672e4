// The acceptance interval of the scaling-variance law, with a proven false-failure bound.
//
// For q, k i.i.d. N(0, I_D), X = q.k has E X = 0 and Var X = D (Vaswani et al. 2017, note 4),
// so Z = X^2 / D has E Z = 1, and M = (1/n) sum_i Z_i estimates Var(X / sqrt(D)) = 1 from n
// independent samples. Markov's inequality on an even central moment of M,
//   P(|M - 1| >= t) <= E[(M - 1)^(2k)] / t^(2k),
// gives t = (E[(M - 1)^(2k)] / delta)^(1/(2k)); the interval takes the smallest t over
// k = 1..6. The moments are exact, not approximated: conditionally on k, X ~ N(0, |k|^2) and
// |k|^2 ~ chi^2_D, so E X^(2r) = (2r - 1)!! * D (D + 2) ... (D + 2r - 2); cumulants of Z follow
// from these raw moments, the sum's cumulants are n times Z's, and its moments follow from
// those. docs/properties.md gives the derivation and the numbers.
#pragma once

#include <cstdint>

namespace attncheck::properties {

struct VarianceInterval {
  double half_width = 0;  // t: |M - 1| < t except with probability at most delta
  int moment = 0;         // the order 2k of the moment that gave the smallest t
};

VarianceInterval variance_interval(int64_t head_dim, int64_t samples, double delta);

}  // namespace attncheck::properties
