// Deterministic random problems for tests, benchmarks and the CLI: the same seed gives the
// same values on every platform (own generator and transforms, no std:: distributions,
// whose output is implementation-defined).
#pragma once

#include <cstdint>

#include "attncheck/problem.hpp"

namespace attncheck {

// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and fully specified.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();           // [0, 1), 53 random bits
  double uniform(double lo, double hi);
  double normal();            // standard normal, Box-Muller
  int64_t below(int64_t n);   // [0, n)

 private:
  uint64_t state_;
};

enum class ValueDistribution : uint8_t { normal, uniform };

// Fills q, k, v from the distribution (rounded to dtype), valid lengths uniformly in
// [0, kv_len], a mask with about three quarters visible, and slopes 2^(-8(h+1)/q_heads) (the
// ALiBi paper's geometric sequence), as the spec asks.
Problem make_random_problem(const AttentionSpec& spec, DType dtype, uint64_t seed,
                            ValueDistribution distribution = ValueDistribution::normal);

// Sets problem.d_out to standard normal values rounded to the problem's dtype, from its own
// stream (the same seed gives the same dO whatever the problem's other values are).
void add_random_d_out(Problem& problem, uint64_t seed);

}  // namespace attncheck
