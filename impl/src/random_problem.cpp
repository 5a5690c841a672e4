#include "attncheck/random_problem.hpp"

#include <cmath>

#include "attncheck/storage.hpp"

namespace attncheck {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double SplitMix64::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double SplitMix64::normal() {
  // Box-Muller; 1 - uniform() lies in (0, 1], so the log is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  return radius * std::cos(2.0 * M_PI * uniform());
}

int64_t SplitMix64::below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

Problem make_random_problem(const AttentionSpec& spec, DType dtype, uint64_t seed,
                            ValueDistribution distribution) {
  Problem p = make_zero_problem(spec, dtype);
  SplitMix64 rng(seed);
  auto draw = [&] {
    return static_cast<float>(distribution == ValueDistribution::normal ? rng.normal()
                                                                        : rng.uniform(-1.0, 1.0));
  };
  for (auto* tensor : {&p.q, &p.k, &p.v}) {
    for (float& x : *tensor) x = draw();
  }
  round_inputs_to_dtype(p);
  if (spec.has_valid_keys) {
    for (int32_t& n : p.valid_keys) n = static_cast<int32_t>(rng.below(spec.shape.kv_len + 1));
  }
  if (spec.mask != MaskKind::none) {
    for (uint8_t& m : p.mask) m = rng.below(4) != 0;
  }
  if (spec.has_alibi) {
    for (int64_t h = 0; h < spec.shape.q_heads; ++h) {
      p.alibi_slopes[h] = std::exp2(-8.0f * static_cast<float>(h + 1) / static_cast<float>(spec.shape.q_heads));
    }
  }
  return p;
}

}  // namespace attncheck

namespace attncheck {

void add_random_d_out(Problem& problem, uint64_t seed) {
  // A stream of its own: dO must not shift when the problem's other draws change.
  SplitMix64 rng(seed ^ 0x64d0'9a7b'1c3e'5f21ull);
  problem.d_out.resize(o_elements(problem.spec.shape));
  for (float& x : problem.d_out) x = round_to_dtype(problem.dtype, static_cast<float>(rng.normal()));
}

}  // namespace attncheck
