#include "row_magnitudes.hpp"

#include <cmath>
#include <stdexcept>

namespace attncheck::oracle {

RowMagnitudes row_magnitudes(const Problem& problem, const RowTrace& row) {
  const AttentionShape& s = problem.spec.shape;
  if (row.weighted_values.size() != static_cast<size_t>(s.value_dim)) {
    throw std::invalid_argument("error bound: oracle rows lack their weighted value magnitudes");
  }
  const int64_t kvh = kv_head_for(s, row.head);
  const double scale = effective_scale(problem.spec);
  const float* query = &problem.q[q_offset(s, row.batch, row.head, row.query)];
  const VisibilityInputs visibility = problem.visibility();
  RowMagnitudes m;
  // Computed with the row by the oracle, which has the weights at hand; the row need not keep
  // them (OracleOptions::keep_intermediates).
  m.weighted_values = row.weighted_values;
  m.visible = static_cast<double>(row.visible_count);
  for (int64_t j = 0; j < s.kv_len; ++j) {
    // Visibility is recomputed from the problem, so the row need not keep it either.
    if (!key_visible(problem.spec, visibility, row.batch, row.head, row.query, j)) continue;
    const float* key = &problem.k[k_offset(s, row.batch, kvh, j)];
    double products = 0;
    for (int64_t d = 0; d < s.head_dim; ++d) products += std::fabs(double(query[d]) * double(key[d]));
    m.max_products = std::max(m.max_products, scale * products);
    if (problem.spec.has_alibi) {
      m.max_bias = std::max(m.max_bias, std::fabs(double(problem.alibi_slopes[row.head]) *
                                                  double(alibi_distance(s, row.query, j))));
    }
  }
  // |s_j| <= scale*sum|q k| + |bias|, and |s_j - m| <= |s_j| + |m|.
  m.max_score = m.max_products + m.max_bias;
  if (row.visible_count > 0) {
    m.max_shift = m.max_score + std::fabs(round_to_f64(row.row_max));
    m.log_sum = std::log(round_to_f64(row.row_sum));
    m.lse = round_to_f64(row.lse);
  }
  return m;
}

}  // namespace attncheck::oracle
