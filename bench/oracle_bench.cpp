// Cost of the MPFR oracle. Checks no reference: it measures how much oracle work a test can
// afford. Counters: scores per second (q.k dot products of length D) and the ratio to a plain
// scalar f32 dense loop over the same problem, measured in the same binary.
#include <benchmark/benchmark.h>

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

void BM_Oracle(benchmark::State& state) {
  const Problem p = one_head(state.range(0), state.range(1));
  const unsigned bits = static_cast<unsigned>(state.range(2));
  oracle::PrecisionScope scope(bits);
  const oracle::OracleProblem exact = oracle::from_problem(p);
  const oracle::OracleOptions options{.precision_bits = bits, .keep_intermediates = false, .rows = {}};
  for (auto _ : state) {
    oracle::OracleResult r = oracle::forward(exact, options);
    benchmark::DoNotOptimize(r.rows.data());
  }
  const double scores = static_cast<double>(state.range(0) * state.range(0));
  state.counters["scores_per_s"] = benchmark::Counter(scores, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Oracle)
    ->ArgNames({"L", "D", "bits"})
    ->Args({128, 64, 128})
    ->Args({128, 64, 256})
    ->Args({32, 64, 128})
    ->Unit(benchmark::kMillisecond);

// The same attention in scalar f32: the baseline the oracle's cost is a multiple of.
void BM_ScalarF32(benchmark::State& state) {
  const Problem p = one_head(state.range(0), state.range(1));
  const int64_t n = state.range(0), d = state.range(1);
  std::vector<float> scores(n), out(d);
  for (auto _ : state) {
    for (int64_t i = 0; i < n; ++i) {
      float m = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        float dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += p.q[i * d + c] * p.k[j * d + c];
        scores[j] = dot * 0.125f;
        m = std::max(m, scores[j]);
      }
      float sum = 0;
      std::fill(out.begin(), out.end(), 0.0f);
      for (int64_t j = 0; j < n; ++j) {
        const float e = std::exp(scores[j] - m);
        sum += e;
        for (int64_t c = 0; c < d; ++c) out[c] += e * p.v[j * d + c];
      }
      benchmark::DoNotOptimize(out.data());
      benchmark::DoNotOptimize(sum);
    }
  }
  const double score_count = static_cast<double>(n * n);
  state.counters["scores_per_s"] = benchmark::Counter(score_count, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ScalarF32)->ArgNames({"L", "D"})->Args({128, 64})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
