// The magnitudes of one row's data that every error bound is made of (docs/error-model.md):
// the largest scale * sum_d |q_d k_jd| and |ALiBi bias| over visible keys, and per value column
// the weighted magnitude sum_j w_j |v_jc|. Shared by the oracle's self-check and the kernels'
// a-priori bounds, which differ only in the unit roundoff and the operations they count.
#pragma once

#include <vector>

#include "attncheck/oracle/oracle.hpp"

namespace attncheck::oracle {

struct RowMagnitudes {
  double max_products = 0;  // max_j scale * sum_d |q_d k_jd|
  double max_bias = 0;      // max_j |slope * distance_j|
  double max_score = 0;     // >= max_j |s_j|
  double max_shift = 0;     // >= max_j |s_j - m|
  std::vector<double> weighted_values;  // [value_dim]: sum_j w_j |v_jc|
  double visible = 0;       // n
  double log_sum = 0;       // log of the row sum
  double lse = 0;
};

// row must come from forward() on problem (with or without its intermediates).
RowMagnitudes row_magnitudes(const Problem& problem, const RowTrace& row);

// Higham's gamma_n = n u / (1 - n u).
inline double gamma_n(double n, double u) { return n * u / (1 - n * u); }

}  // namespace attncheck::oracle
