// The oracle on cases whose answers are known in closed form, its full trace, and its
// self-check (which must pass at the precision used and fail when more bits are claimed).
#include "attncheck/oracle/oracle.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/random_problem.hpp"

namespace attncheck::oracle {
namespace {

Problem single_head(int64_t q_len, int64_t kv_len, int64_t dim, std::vector<float> q,
                    std::vector<float> k, std::vector<float> v) {
  AttentionSpec spec;
  spec.shape = {1, 1, 1, q_len, kv_len, dim, static_cast<int64_t>(v.size()) / kv_len};
  Problem p = make_zero_problem(spec, DType::f32);
  p.q = std::move(q);
  p.k = std::move(k);
  p.v = std::move(v);
  return p;
}

TEST(Oracle, EqualScoresGiveUniformWeightsAndTheMeanOfValues) {
  const Problem p = single_head(1, 2, 2, {1, 0}, {1, 0, 1, 0}, {2, 4});
  const OracleResult r = forward(p);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(round_to_f64(r.rows[0].weights[0]), 0.5);
  EXPECT_EQ(round_to_f64(r.rows[0].output[0]), 3.0);
  EXPECT_EQ(round_to_f64(r.rows[0].lse), 1 / std::sqrt(2.0) + std::log(2.0));
}

TEST(Oracle, MatchesTheClosedFormOfTheIdentityExample) {
  // Q = K = I, V = [[10, 0], [0, 5]], scale 1/sqrt(2): row 0 weights are
  // [e^a, 1] / (e^a + 1) with a = 1/sqrt(2).
  const Problem p = single_head(2, 2, 2, {1, 0, 0, 1}, {1, 0, 0, 1}, {10, 0, 0, 5});
  const OracleResult r = forward(p);
  const double a = 1 / std::sqrt(2.0);
  const double w0 = std::exp(a) / (std::exp(a) + 1);
  EXPECT_NEAR(round_to_f64(r.rows[0].weights[0]), w0, 1e-16);
  EXPECT_NEAR(round_to_f64(r.rows[0].output[0]), 10 * w0, 1e-15);
  EXPECT_NEAR(round_to_f64(r.rows[0].output[1]), 5 * (1 - w0), 1e-15);
  EXPECT_NEAR(round_to_f64(r.rows[1].output[1]), 5 * w0, 1e-15);
}

TEST(Oracle, RowWithNoVisibleKeyIsZeroWithMinusInfinityLse) {
  Problem p = single_head(3, 2, 2, {1, 2, 3, 4, 5, 6}, {1, 0, 0, 1}, {1, 2, 3, 4});
  p.spec.causal = true;  // q_len 3 > kv_len 2: row 0 sits at position -1
  const OracleResult r = forward(p);
  EXPECT_EQ(r.rows[0].visible_count, 0);
  EXPECT_EQ(round_to_f64(r.rows[0].lse), -INFINITY);
  EXPECT_EQ(round_to_f64(r.rows[0].output[0]), 0.0);
  EXPECT_EQ(r.rows[1].visible_count, 1);
  EXPECT_EQ(round_to_f64(r.rows[1].output[0]), 1.0);  // one key: its value row exactly
}

TEST(Oracle, TraceIntermediatesAreConsistent) {
  AttentionSpec spec;
  spec.shape = {1, 2, 1, 3, 5, 4, 3};
  spec.has_alibi = true;
  spec.causal = true;
  const Problem p = make_random_problem(spec, DType::f32, 5);
  PrecisionScope scope(128);
  const OracleResult r = forward(p);
  for (const RowTrace& row : r.rows) {
    Real weight_sum = 0;
    for (int64_t j = 0; j < spec.shape.kv_len; ++j) {
      if (!row.visible[j]) {
        EXPECT_EQ(round_to_f64(row.weights[j]), 0.0);
        EXPECT_EQ(round_to_f64(row.biased[j]), -INFINITY);
        continue;
      }
      const double scale = 0.5;  // 1/sqrt(4)
      EXPECT_EQ(round_to_f64(row.scaled[j]), round_to_f64(row.raw[j] * scale));
      EXPECT_LE(round_to_f64(row.biased[j]), round_to_f64(row.row_max));
      weight_sum += row.weights[j];
    }
    EXPECT_LT(std::fabs(round_to_f64(weight_sum - 1)), 1e-35);
    const Real lse_check = row.row_max + log(row.row_sum);
    EXPECT_EQ(round_to_f64(lse_check), round_to_f64(row.lse));
  }
}

TEST(Oracle, SampledRowsEqualTheSameRowsOfTheFullRun) {
  AttentionSpec spec;
  spec.shape = {2, 2, 2, 4, 6, 8, 8};
  spec.causal = true;
  const Problem p = make_random_problem(spec, DType::bf16, 9);
  const OracleResult all = forward(p);
  OracleOptions options;
  options.keep_intermediates = false;
  options.rows = {13, 2};
  const OracleResult some = forward(p, options);
  ASSERT_EQ(some.rows.size(), 2u);
  EXPECT_EQ(round_to_f64(some.rows[0].output[3]), round_to_f64(all.rows[13].output[3]));
  EXPECT_EQ(round_to_f64(some.rows[1].lse), round_to_f64(all.rows[2].lse));
  EXPECT_EQ(flat_row(spec.shape, 1, 1, 1), 13);
}

// The same bits, whatever the rows keep and whichever form the inputs take.
void expect_same_rows(const OracleResult& a, const OracleResult& b) {
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t r = 0; r < a.rows.size(); ++r) {
    EXPECT_EQ(a.rows[r].lse, b.rows[r].lse) << r;
    EXPECT_EQ(a.rows[r].row_sum, b.rows[r].row_sum) << r;
    EXPECT_EQ(a.rows[r].output, b.rows[r].output) << r;
    EXPECT_EQ(a.rows[r].weighted_values, b.rows[r].weighted_values) << r;
  }
}

AttentionSpec featureful_spec() {
  AttentionSpec spec;
  spec.shape = {2, 4, 2, 5, 7, 6, 3};
  spec.causal = true;
  spec.has_alibi = true;
  spec.has_valid_keys = true;
  return spec;
}

TEST(Oracle, StoredFloatsAndRealsGiveTheSameBits) {
  for (const DType dtype : {DType::f32, DType::bf16}) {
    const Problem p = make_random_problem(featureful_spec(), dtype, 21);
    for (const unsigned bits : {24u, 128u}) {  // 24: every product is rounded, in both forms alike
      OracleOptions options;
      options.precision_bits = bits;
      PrecisionScope scope(bits);
      expect_same_rows(forward(from_problem(p), options), forward(from_problem_stored(p), options));
    }
  }
}

TEST(Oracle, RowsKeepIntermediatesOnlyWhereAskedAndOnlyTheColumnsAsked) {
  const Problem p = make_random_problem(featureful_spec(), DType::f32, 22);
  const OracleResult full = forward(p);
  OracleOptions options;
  options.keep_intermediates = false;
  options.intermediate_rows = {3, 17};
  options.intermediate_columns = 4;
  const OracleResult lean = forward(p, options);
  expect_same_rows(full, lean);
  for (size_t r = 0; r < lean.rows.size(); ++r) {
    const RowTrace& row = lean.rows[r];
    if (r == 3 || r == 17) {
      ASSERT_TRUE(row.has_intermediates());
      ASSERT_EQ(row.weights.size(), 4u);
      for (size_t j = 0; j < 4; ++j) {
        EXPECT_EQ(row.visible[j], full.rows[r].visible[j]);
        EXPECT_EQ(row.raw[j], full.rows[r].raw[j]);
        EXPECT_EQ(row.biased[j], full.rows[r].biased[j]);
        EXPECT_EQ(row.exps[j], full.rows[r].exps[j]);
        EXPECT_EQ(row.weights[j], full.rows[r].weights[j]);
      }
    } else {
      EXPECT_FALSE(row.has_intermediates()) << r;
      EXPECT_TRUE(row.weights.empty() && row.visible.empty()) << r;
    }
  }
  options.intermediate_columns = 0;
  EXPECT_THROW(forward(p, options), std::invalid_argument);
}

TEST(Oracle, BoundsNeedNoIntermediates) {
  const Problem p = make_random_problem(featureful_spec(), DType::f32, 23);
  OracleOptions lean;
  lean.keep_intermediates = false;
  const ErrorTraits traits{.exp_max_ulp = 2.0, .weights_rounded_to_storage = false, .online_softmax = true};
  const ErrorBound with = a_priori_bound(p, forward(p), traits, DType::f32);
  const ErrorBound without = a_priori_bound(p, forward(p, lean), traits, DType::f32);
  EXPECT_EQ(with.output, without.output);
  EXPECT_EQ(with.lse, without.lse);
  // What the rows carry instead of their weights is the bounds' sum_j w_j |v_jc|, as computed
  // from the weights themselves.
  const AttentionShape& s = p.spec.shape;
  const OracleResult full = forward(p);
  for (const RowTrace& row : full.rows) {
    std::vector<double> expected(s.value_dim, 0.0);
    for (int64_t j = 0; j < s.kv_len; ++j) {
      if (!row.visible[j]) continue;
      const float* v = &p.v[v_offset(s, row.batch, kv_head_for(s, row.head), j)];
      for (int64_t c = 0; c < s.value_dim; ++c) expected[c] += round_to_f64(row.weights[j]) * std::fabs(double(v[c]));
    }
    EXPECT_EQ(row.weighted_values, expected);
  }
}

TEST(Oracle, ARowOutOfRangeIsRefusedBeforeAnyWork) {
  const Problem p = make_random_problem(featureful_spec(), DType::f32, 24);
  OracleOptions options;
  options.rows = {0, lse_elements(p.spec.shape)};
  int64_t computed = 0;
  options.on_row = [&](int64_t, int64_t) { ++computed; };
  EXPECT_THROW(forward(p, options), std::out_of_range);
  EXPECT_EQ(computed, 0);
  options.rows = {4, 1};
  std::vector<std::pair<int64_t, int64_t>> calls;
  options.on_row = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  forward(p, options);
  EXPECT_EQ(calls, (std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {2, 2}}));
}

// Problems that stress the oracle: large logits (cancellation in q.k), ALiBi, GQA, masks.
std::vector<Problem> stress_problems() {
  std::vector<Problem> problems;
  AttentionSpec spec;
  spec.shape = {1, 4, 2, 3, 9, 16, 8};
  spec.causal = true;
  spec.has_alibi = true;
  problems.push_back(make_random_problem(spec, DType::f32, 21));
  Problem large = make_random_problem(spec, DType::f32, 22);
  for (float& x : large.q) x *= 300.0f;  // logits in the thousands
  problems.push_back(large);
  AttentionSpec masked;
  masked.shape = {2, 2, 1, 4, 7, 8, 8};
  masked.mask = MaskKind::per_head;
  masked.has_valid_keys = true;
  masked.scale = 3.0;
  problems.push_back(make_random_problem(masked, DType::f16, 23));
  return problems;
}

TEST(OracleSelfCheck, PrecisionPAndTwoPAgreeWithinTheDerivedBound) {
  for (const Problem& p : stress_problems()) {
    for (unsigned bits : {64u, 128u}) {
      const SelfCheck check = self_check(p, bits);
      std::printf("self-check %s at %u bits: worst ratio %.3g at %s, >= %.1f bits guaranteed\n",
                  describe(p.spec).c_str(), bits, check.worst_ratio, check.worst_where.c_str(),
                  check.min_guaranteed_bits);
      EXPECT_TRUE(check.passed) << check.worst_where << " ratio " << check.worst_ratio;
      EXPECT_GT(check.min_guaranteed_bits, bits - 40.0);
    }
  }
}

TEST(OracleSelfCheck, FailsWhenTheResultClaimsMoreBitsThanItWasComputedWith) {
  for (const Problem& p : stress_problems()) {
    const SelfCheck check = self_check(p, 24, 96);
    EXPECT_FALSE(check.passed) << describe(p.spec) << " ratio " << check.worst_ratio;
  }
}

}  // namespace
}  // namespace attncheck::oracle
