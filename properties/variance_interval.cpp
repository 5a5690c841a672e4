#include "variance_interval.hpp"

#include <array>
#include <cmath>
#include <stdexcept>

namespace attncheck::properties {
namespace {

constexpr int kMaxOrder = 12;  // moments of M up to the 12th: k = 1..6
using Table = std::array<long double, kMaxOrder + 1>;

// Binomial coefficients C(n, k) for n <= kMaxOrder.
long double binomial(int n, int k) {
  long double c = 1;
  for (int i = 1; i <= k; ++i) c = c * (n - k + i) / i;
  return c;
}

// Raw moments E Z^r of Z = (q.k)^2 / D.
Table raw_moments_of_z(int64_t d) {
  Table m{};
  for (int r = 0; r <= kMaxOrder; ++r) {
    long double chi = 1, double_factorial = 1;  // E (chi^2_D)^r and (2r - 1)!!
    for (int i = 0; i < r; ++i) {
      chi *= static_cast<long double>(d + 2 * i);
      double_factorial *= 2 * i + 1;
    }
    m[r] = chi * double_factorial / std::pow(static_cast<long double>(d), r);
  }
  return m;
}

// Cumulants from raw moments: kappa_r = m_r - sum_{j=1}^{r-1} C(r-1, j-1) kappa_j m_{r-j}.
Table cumulants(const Table& m) {
  Table kappa{};
  for (int r = 1; r <= kMaxOrder; ++r) {
    long double sum = m[r];
    for (int j = 1; j < r; ++j) sum -= binomial(r - 1, j - 1) * kappa[j] * m[r - j];
    kappa[r] = sum;
  }
  return kappa;
}

// Raw moments from cumulants: mu_r = sum_{j=1}^{r} C(r-1, j-1) kappa_j mu_{r-j}, mu_0 = 1.
Table moments(const Table& kappa) {
  Table mu{};
  mu[0] = 1;
  for (int r = 1; r <= kMaxOrder; ++r) {
    long double sum = 0;
    for (int j = 1; j <= r; ++j) sum += binomial(r - 1, j - 1) * kappa[j] * mu[r - j];
    mu[r] = sum;
  }
  return mu;
}

}  // namespace

VarianceInterval variance_interval(int64_t head_dim, int64_t samples, double delta) {
  if (head_dim < 1 || samples < 1 || !(delta > 0 && delta < 1)) {
    throw std::invalid_argument("variance_interval: needs head_dim >= 1, samples >= 1, 0 < delta < 1");
  }
  // S = sum_i (Z_i - 1): cumulant 1 is 0, cumulant r >= 2 is n times Z's.
  Table kappa = cumulants(raw_moments_of_z(head_dim));
  kappa[1] = 0;
  for (int r = 2; r <= kMaxOrder; ++r) kappa[r] *= static_cast<long double>(samples);
  const Table mu = moments(kappa);
  VarianceInterval best;
  best.half_width = INFINITY;
  for (int order = 2; order <= kMaxOrder; order += 2) {
    // E (M - 1)^order = E S^order / n^order.
    const long double central = mu[order] / std::pow(static_cast<long double>(samples), order);
    const double t = static_cast<double>(std::pow(central / delta, 1.0L / order));
    if (t < best.half_width) best = VarianceInterval{t, order};
  }
  return best;
}

}  // namespace attncheck::properties
