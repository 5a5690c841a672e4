// Cost of the MPFR oracle. Checks no reference: it measures how much oracle work a test can
// afford. Counters: scores per second (one score = a q.k dot product of length D plus its
// share of softmax and P.V) and x_scalar_f32, the oracle's time over a plain scalar f32 loop on
// the same problem, both measured in this run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "attncheck/oracle/oracle.hpp"
#include "attncheck/random_problem.hpp"

namespace {

using namespace attncheck;

Problem one_head(int64_t length, int64_t dim) {
  AttentionSpec spec;
  spec.shape = {1, 1, 1, length, length, dim, dim};
  return make_random_problem(spec, DType::f32, 1);
}

// The same attention in scalar f32: the baseline the oracle's cost is a multiple of.
void scalar_f32_attention(const Problem& p, std::vector<float>& scores, std::vector<float>& out) {
  const int64_t n = p.spec.shape.q_len, d = p.spec.shape.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int64_t i = 0; i < n; ++i) {
    float m = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      float dot = 0;
      for (int64_t c = 0; c < d; ++c) dot += p.q[i * d + c] * p.k[j * d + c];
      scores[j] = dot * scale;
      m = std::max(m, scores[j]);
    }
    float sum = 0;
    std::fill(out.begin(), out.end(), 0.0f);
    for (int64_t j = 0; j < n; ++j) {
      const float e = std::exp(scores[j] - m);
      sum += e;
      for (int64_t c = 0; c < d; ++c) out[c] += e * p.v[j * d + c];
    }
    for (float& x : out) x /= sum;
    benchmark::DoNotOptimize(out.data());
  }
}

// Seconds per scalar f32 run of the problem: the best of several, measured in this process
// so the oracle's cost is reported as a ratio within one run.
double scalar_f32_seconds(const Problem& p) {
  std::vector<float> scores(p.spec.shape.kv_len), out(p.spec.shape.value_dim);
  double best = INFINITY;
  for (int rep = 0; rep < 20; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    scalar_f32_attention(p, scores, out);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void BM_ScalarF32(benchmark::State& state) {
  const Problem p = one_head(state.range(0), state.range(1));
  std::vector<float> scores(p.spec.shape.kv_len), out(p.spec.shape.value_dim);
  for (auto _ : state) scalar_f32_attention(p, scores, out);
  const double score_count = static_cast<double>(state.range(0) * state.range(0));
  state.counters["scores_per_s"] = benchmark::Counter(score_count, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ScalarF32)->ArgNames({"L", "D"})->Args({128, 64})->Unit(benchmark::kMillisecond);

void BM_Oracle(benchmark::State& state) {
  const Problem p = one_head(state.range(0), state.range(1));
  const unsigned bits = static_cast<unsigned>(state.range(2));
  oracle::PrecisionScope scope(bits);
  const oracle::OracleProblem exact = oracle::from_problem(p);
  oracle::OracleOptions options;  // not designated: OracleOptions grows, and -Wextra flags omitted members
  options.precision_bits = bits;
  options.keep_intermediates = false;
  std::chrono::steady_clock::duration total{};
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    oracle::OracleResult r = oracle::forward(exact, options);
    total += std::chrono::steady_clock::now() - start;
    benchmark::DoNotOptimize(r.rows.data());
  }
  const double scores = static_cast<double>(state.range(0) * state.range(0));
  state.counters["scores_per_s"] = benchmark::Counter(scores, benchmark::Counter::kIsIterationInvariantRate);
  // Oracle seconds per scalar-f32 second on the same problem, both measured in this run.
  const double oracle_seconds = state.iterations() > 0
      ? std::chrono::duration<double>(total).count() / static_cast<double>(state.iterations()) : 0.0;
  state.counters["x_scalar_f32"] = oracle_seconds / scalar_f32_seconds(p);
}
BENCHMARK(BM_Oracle)
    ->ArgNames({"L", "D", "bits"})
    ->Args({128, 64, 128})
    ->Args({128, 64, 256})
    ->Args({32, 64, 128})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
