// The backward golden data: seed 001's worked example checked claim by claim against what its
// traces hold, the backward ledger, the strict reader of a trace's backward section, the
// canonical set's coverage, exact-decimal dO, and backward kernels against the traces (the
// reference passes from both forward sources; a backward that forgets the scale fails).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <sstream>

#include "attncheck/formats/problem_file.hpp"
#include "attncheck/golden/canonical.hpp"
#include "attncheck/golden/kernel_check.hpp"
#include "attncheck/golden/regen.hpp"
#include "attncheck/golden/trace.hpp"
#include "attncheck/oracle/backward_ledger.hpp"
#include "attncheck/registry.hpp"
#include "golden_test_support.hpp"

namespace attncheck::golden {
namespace {

using testing::expect_trace_error;
using testing::spec_named;

using formats::InputError;
using formats::Json;
using formats::parse_json_text;
using formats::read_json_file;

// ---- seed 001, claim by claim, on the values the traces hold ----

using Matrix = std::vector<std::vector<double>>;

double f64(const Json& pair) { return pair.is_null() ? 0.0 : std::stod(pair[0].get<std::string>()); }

// The seed's worked example as its trace holds it: inputs, weights, and the backward chain.
struct Seed001 {
  Matrix q, k, v, d_out, p, o, dp, ds, dq, dk, dv;
  std::vector<double> delta;
  std::vector<std::vector<bool>> dp_null;
};

Matrix decimals(const Json& rows) {  // q, k, v, do: [1][1][4][4] of decimal strings
  Matrix out;
  for (const Json& row : rows[0][0]) {
    out.emplace_back();
    for (const Json& x : row) out.back().push_back(std::stod(x.get<std::string>()));
  }
  return out;
}

Seed001 read_seed001(const std::string& name) {
  const Json j = read_json_file((testing::golden_source_dir() / "traces" / (name + ".json")).string());
  Seed001 s;
  s.q = decimals(j["q"]);
  s.k = decimals(j["k"]);
  s.v = decimals(j["v"]);
  s.d_out = decimals(j["do"]);
  for (const Json& row : j["forward"]["rows"]) {
    s.p.emplace_back();
    s.o.emplace_back();
    for (const Json& x : row["weights"]) s.p.back().push_back(f64(x));
    for (const Json& x : row["output"]) s.o.back().push_back(f64(x));
  }
  for (const Json& row : j["backward"]["rows"]) {
    s.dp.emplace_back();
    s.ds.emplace_back();
    s.dq.emplace_back();
    s.dp_null.emplace_back();
    for (const Json& x : row["dp"]) {
      s.dp.back().push_back(f64(x));
      s.dp_null.back().push_back(x.is_null());
    }
    for (const Json& x : row["ds"]) s.ds.back().push_back(f64(x));
    for (const Json& x : row["dq"]) s.dq.back().push_back(f64(x));
    s.delta.push_back(f64(row["delta"]));
  }
  for (const Json& key : j["backward"]["keys"]) {
    s.dk.emplace_back();
    s.dv.emplace_back();
    for (const Json& x : key["dk"]) s.dk.back().push_back(f64(x));
    for (const Json& x : key["dv"]) s.dv.back().push_back(f64(x));
  }
  return s;
}

constexpr double kTolerance = 1e-15;  // the pinned f64s carry half an ulp each; sums of four
constexpr double kScale = 0.5;        // 1 / sqrt(d_k), d_k = 4

void expect_shape(const Matrix& m, size_t rows, size_t columns, const char* what) {
  ASSERT_EQ(m.size(), rows) << what;
  for (const auto& row : m) EXPECT_EQ(row.size(), columns) << what;
}

// Every claim the seed makes about the backward pass ("Backward gradient — through softmax",
// its shape table and "What the numerical example shows").
void check_seed_claims(const Seed001& s) {
  // The shape table: dL/dY, dL/dA, dL/dV, dL/dS, dL/dQ, dL/dK are all (4, 4).
  expect_shape(s.d_out, 4, 4, "dL/dY");
  expect_shape(s.dp, 4, 4, "dL/dA");
  expect_shape(s.dv, 4, 4, "dL/dV");
  expect_shape(s.ds, 4, 4, "dL/dS");
  expect_shape(s.dq, 4, 4, "dL/dQ");
  expect_shape(s.dk, 4, 4, "dL/dK");
  for (size_t i = 0; i < 4; ++i) {
    double ds_sum = 0, ds_abs = 0;
    for (size_t j = 0; j < 4; ++j) {
      // The causal mask zeros future contributions: no dA computed, dS = 0 for j > i.
      EXPECT_EQ(s.dp_null[i][j], j > i) << i << "," << j;
      if (j > i) {
        EXPECT_EQ(s.ds[i][j], 0.0) << i << "," << j;
        continue;
      }
      // dL/dA = (dL/dY) V^T.
      double dp = 0;
      for (size_t c = 0; c < 4; ++c) dp += s.d_out[i][c] * s.v[j][c];
      EXPECT_NEAR(s.dp[i][j], dp, kTolerance) << "dA[" << i << "][" << j << "]";
      ds_sum += s.ds[i][j];
      ds_abs += std::abs(s.ds[i][j]);
    }
    // dL/dS = softmax_backward(A, dL/dA) = A * (dA - rowsum(dA * A)), the Jacobian
    // diag(A_i) - A_i A_i^T applied to row i.
    double d = 0;
    for (size_t j = 0; j <= i; ++j) d += s.p[i][j] * s.dp[i][j];
    EXPECT_NEAR(s.delta[i], d, kTolerance) << "D[" << i << "]";
    double d_from_o = 0;
    for (size_t c = 0; c < 4; ++c) d_from_o += s.d_out[i][c] * s.o[i][c];
    EXPECT_NEAR(s.delta[i], d_from_o, kTolerance) << "D[" << i << "] = dO . O";
    for (size_t j = 0; j <= i; ++j) {
      double jacobian = 0;  // (diag(A_i) - A_i A_i^T) dA_i, entry j
      for (size_t l = 0; l <= i; ++l) jacobian += ((j == l ? s.p[i][j] : 0.0) - s.p[i][j] * s.p[i][l]) * s.dp[i][l];
      EXPECT_NEAR(s.ds[i][j], jacobian, kTolerance) << "dS[" << i << "][" << j << "]";
    }
    // A row of dS sums to zero (softmax's Jacobian annihilates constants).
    EXPECT_NEAR(ds_sum, 0.0, kTolerance * (1 + ds_abs)) << "row " << i << " of dS";
    // Row 0 sees only itself: A_0 = [1], so dS_0 = 0 whatever dL/dY[0] is.
    if (i == 0) {
      EXPECT_EQ(s.ds[0][0], 0.0);
    }
  }
  for (size_t a = 0; a < 4; ++a) {
    for (size_t c = 0; c < 4; ++c) {
      // dL/dQ = (dL/dS) K / sqrt(d_k) and dL/dK = (dL/dS)^T Q / sqrt(d_k): the 1/sqrt(d_k)
      // survives backward, once in each.
      double ds_k = 0, ds_t_q = 0, a_t_do = 0;
      for (size_t b = 0; b < 4; ++b) {
        ds_k += s.ds[a][b] * s.k[b][c];
        ds_t_q += s.ds[b][a] * s.q[b][c];
        a_t_do += s.p[b][a] * s.d_out[b][c];
      }
      EXPECT_NEAR(s.dq[a][c], kScale * ds_k, kTolerance) << "dQ[" << a << "][" << c << "]";
      EXPECT_NEAR(s.dk[a][c], kScale * ds_t_q, kTolerance) << "dK[" << a << "][" << c << "]";
      // dL/dV = A^T (dL/dY), with no scale.
      EXPECT_NEAR(s.dv[a][c], a_t_do, kTolerance) << "dV[" << a << "][" << c << "]";
    }
  }
}

TEST(Seed001Backward, TheLastPositionGradientG3ObeysEveryClaimOfTheSeed) {
  const Seed001 s = read_seed001("seed001_length4_causal_backward_g3");
  check_seed_claims(s);
  const std::vector<double> g3 = {1, -0.5, 0.25, -0.125};  // attncheck's choice (canonical.hpp)
  EXPECT_EQ(s.d_out[3], g3);
  for (size_t i = 0; i < 3; ++i) {
    // dL/dY[i] = 0 for i < 3: those rows pass no gradient back (dA, dS, dQ all zero).
    EXPECT_EQ(s.d_out[i], std::vector<double>(4, 0.0));
    EXPECT_EQ(s.dq[i], std::vector<double>(4, 0.0)) << "dQ row " << i;
    for (size_t j = 0; j <= i; ++j) EXPECT_EQ(s.dp[i][j], 0.0);
    EXPECT_EQ(s.ds[i], std::vector<double>(4, 0.0)) << "dS row " << i;
  }
  for (size_t j = 0; j < 4; ++j) {
    // Only row 3 flows back: dV[j] = A[3][j] g_3, and dK[j] = scale dS[3][j] Q[3], which is 0
    // in the columns where Q[3] = 0.5 X[3] = [0, 0, 0, 0.10] is.
    for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(s.dv[j][c], s.p[3][j] * g3[c], kTolerance);
    for (size_t c = 0; c < 3; ++c) EXPECT_EQ(s.dk[j][c], 0.0);
    EXPECT_NEAR(s.dk[j][3], kScale * s.ds[3][j] * 0.10, kTolerance);
  }
}

TEST(Seed001Backward, TheDenseGradientObeysEveryClaimOfTheSeed) {
  const Seed001 s = read_seed001("seed001_length4_causal_backward_dense");
  check_seed_claims(s);
  EXPECT_EQ(s.d_out[3], (std::vector<double>{1, -0.5, 0.25, -0.125}));
  for (size_t i = 1; i < 4; ++i) EXPECT_NE(s.dq[i], std::vector<double>(4, 0.0)) << "row " << i;
}

TEST(Seed001Backward, ForgettingTheScaleInForwardLosesItInBackward) {
  // "If you forget to scale in forward, you lose this factor in backward too": with scale 1
  // the gradients are those of another function, and the oracle's differ from the trace's.
  formats::ProblemFile file = worked_example_backward(WorkedExampleDo::last_position);
  oracle::BackwardOptions options;
  const oracle::Gradients scaled = formats::run_backward_oracle(file, options);
  file.problem.spec.scale = 1.0;
  file.scale_text = "1";
  const oracle::Gradients unscaled = formats::run_backward_oracle(file, options);
  oracle::PrecisionScope scope(options.precision_bits);
  const double ratio = oracle::round_to_f64(unscaled.dk[15] / scaled.dk[15]);
  EXPECT_GT(std::abs(ratio - 1), 0.5) << ratio;  // not a rounding difference: another gradient
}

// ---- the ledger ----

std::string ledger_text(WorkedExampleDo which, const oracle::LedgerOptions& options) {
  const formats::ProblemFile file = worked_example_backward(which);
  oracle::BackwardOptions backward;
  backward.keep_intermediates = true;
  const oracle::Gradients g = formats::run_backward_oracle(file, backward);
  oracle::PrecisionScope scope(backward.precision_bits);
  std::ostringstream out;
  oracle::print_backward_ledger(out, g, formats::oracle_d_out(file), formats::scale_ledger_text(file, options.digits),
                                options);
  return out.str();
}

TEST(BackwardLedger, ShowsEveryStepAndWhereTheScaleEnters) {
  const std::string text = ledger_text(WorkedExampleDo::last_position, {});
  for (const char* step :
       {"Step B1. upstream gradient dO", "Step B2. dP = dO V^T", "Step B3. D = rowsum(dO * O) | cross-check sum_j P_ij dP_ij",
        "Step B4. dS = P * (dP - D)", "Step B4b. row sum of dS", "Step B5. dQ = scale * (dS K), scale = 1/sqrt(4) = 0.5",
        "Step B6. dK = scale * (dS^T Q), scale = 1/sqrt(4) = 0.5", "Step B7. dV = P^T dO (no scale",
        "i=3   |      1   -0.5   0.25 -0.125 |", "0.0460028", "0.103831 0.103831"}) {
    EXPECT_NE(text.find(step), std::string::npos) << step << "\n" << text;
  }
}

TEST(BackwardLedger, CutsLongTablesAtTheForwardLedgersLimits) {
  oracle::LedgerOptions options;
  options.max_rows = 2;
  options.max_columns = 3;
  const std::string text = ledger_text(WorkedExampleDo::dense, options);
  EXPECT_NE(text.find("... (1 more)"), std::string::npos) << text;
  EXPECT_NE(text.find("... (2 more rows)"), std::string::npos) << text;
  EXPECT_EQ(text.find("i=2 "), std::string::npos) << text;
  EXPECT_EQ(text.find("j=3 "), std::string::npos) << text;
}

TEST(BackwardLedger, RefusesGradientsWithoutIntermediatesAndADoOfAnotherLength) {
  const formats::ProblemFile file = worked_example_backward(WorkedExampleDo::dense);
  const oracle::Gradients bare = formats::run_backward_oracle(file, {});
  oracle::PrecisionScope scope(oracle::kDefaultPrecisionBits);
  std::ostringstream out;
  EXPECT_THROW(oracle::print_backward_ledger(out, bare, formats::oracle_d_out(file), "0.5", {}), std::invalid_argument);
  oracle::BackwardOptions keep;
  keep.keep_intermediates = true;
  const oracle::Gradients kept = formats::run_backward_oracle(file, keep);
  EXPECT_THROW(oracle::print_backward_ledger(out, kept, std::vector<oracle::Real>(3), "0.5", {}), std::invalid_argument);
}

TEST(BackwardLedger, ARowThatSeesNoKeySaysSo) {
  const auto specs = canonical_traces();
  for (const TraceSpec& t : specs) {
    if (t.name != "padding_f16") continue;
    oracle::BackwardOptions options;
    options.keep_intermediates = true;
    const oracle::Gradients g = formats::run_backward_oracle(t.problem, options);
    oracle::PrecisionScope scope(options.precision_bits);
    std::ostringstream out;
    oracle::print_backward_ledger(out, g, formats::oracle_d_out(t.problem), "0.5", {});
    EXPECT_NE(out.str().find("(i=0 sees no key: O = 0 by definition, no gradient flows through it)"), std::string::npos)
        << out.str();
    return;
  }
  FAIL() << "no padding_f16 trace";
}

// ---- exact-decimal dO ----

TEST(ExactDecimalDo, TheOracleReadsDoFromItsDecimalText) {
  formats::ProblemFile file = worked_example_backward(WorkedExampleDo::last_position);
  file.do_text[12] = "0.1";  // not a binary fraction: f32 holds 0.100000001490116...
  file.problem.d_out[12] = oracle::decimal_to_dtype("0.1", DType::f32);
  oracle::PrecisionScope scope(oracle::kDefaultPrecisionBits);
  const std::vector<oracle::Real> exact = formats::oracle_d_out(file);
  EXPECT_EQ(oracle::to_decimal(exact[12], 30), oracle::to_decimal(oracle::parse_decimal("0.1"), 30));
  EXPECT_NE(exact[12], oracle::Real(file.problem.d_out[12]));
  // dV[0] = A[3][0] dO[3]: from the exact 0.1.
  const oracle::Gradients g = formats::run_backward_oracle(file, {});
  const oracle::Gradients from_float = oracle::backward(file.problem, oracle::BackwardOptions{});
  EXPECT_NE(g.dv[0], from_float.dv[0]);
}

// ---- the reader ----



TEST(BackwardTraceReader, NamesTheFieldOfEveryInconsistency) {
  // padding_f16: valid lengths 5, 0, 3; 2 queries per batch; batch 1 (rows 2, 3; keys 5 to 9)
  // sees nothing; batch 2 (rows 4, 5) hides keys 3 and 4.
  const std::string padding = "padding_f16";
  const Json one = Json::array({"1", "1"});
  expect_trace_error(padding, [](Json& j) { j.erase("backward"); }, "do");
  expect_trace_error(padding, [](Json& j) { j.erase("do"); }, "backward");
  expect_trace_error(padding, [](Json& j) { j["version"] = 1; }, "backward");
  expect_trace_error(padding, [](Json& j) { j["version"] = 3; }, "version");
  expect_trace_error(padding, [&](Json& j) { j["backward"]["rows"][4]["dp"][4] = one; }, "backward.rows[4].dp[4]");
  expect_trace_error(padding, [](Json& j) { j["backward"]["rows"][4]["dp"][0] = nullptr; }, "backward.rows[4].dp[0]");
  expect_trace_error(padding, [&](Json& j) { j["backward"]["rows"][4]["ds"][3] = one; }, "backward.rows[4].ds[3]");
  expect_trace_error(padding, [&](Json& j) { j["backward"]["rows"][2]["dq"][1] = one; }, "backward.rows[2].dq[1]");
  expect_trace_error(padding, [&](Json& j) { j["backward"]["rows"][3]["delta"] = one; }, "backward.rows[3].delta");
  expect_trace_error(padding, [](Json& j) { j["backward"]["rows"][0]["dq"][0] = Json::array({"0.5", "0.25"}); },
                     "backward.rows[0].dq[0][1]");
  expect_trace_error(padding, [](Json& j) { j["backward"]["rows"][1]["i"] = 0; }, "backward.rows[1]");
  expect_trace_error(padding, [](Json& j) { j["backward"]["rows"][0]["dK"] = Json::array(); }, "backward.rows[0].dK");
  expect_trace_error(padding, [](Json& j) { j["backward"]["rows"].erase(5); }, "backward.rows");
  expect_trace_error(padding, [&](Json& j) { j["backward"]["keys"][5]["dk"][0] = one; }, "backward.keys[5].dk[0]");
  expect_trace_error(padding, [&](Json& j) { j["backward"]["keys"][13]["dv"][2] = one; }, "backward.keys[13].dv[2]");
  expect_trace_error(padding, [](Json& j) { j["backward"]["keys"][1]["j"] = 0; }, "backward.keys[1]");
  expect_trace_error(padding, [](Json& j) { j["backward"]["keys"][0]["dv"].erase(0); }, "backward.keys[0].dv");
  expect_trace_error(padding, [](Json& j) { j["backward"].erase("keys"); }, "backward.keys");
  expect_trace_error("mqa_f32", [](Json& j) { j["do"][0][0][0][0] = "x"; }, "do[0]");
}

// ---- coverage ----

TEST(BackwardTraces, CoverEveryRequiredFeatureInEveryDtype) {
  std::set<std::string> seen;
  for (const TraceSpec& t : canonical_traces()) {
    const Problem& p = t.problem.problem;
    if (!p.has_d_out()) continue;
    const AttentionSpec& s = p.spec;
    const AttentionShape& sh = s.shape;
    seen.insert(std::string(dtype_name(p.dtype)));
    if (s.causal && sh.q_len < sh.kv_len) seen.insert("causal lq<lk");
    if (s.has_valid_keys) seen.insert("padding");
    if (s.window_left >= 0 || s.window_right >= 0) seen.insert("window");
    if (s.mask != MaskKind::none) seen.insert("mask");
    if (sh.kv_heads > 1 && sh.kv_heads < sh.q_heads) seen.insert("gqa");
    if (sh.kv_heads == 1 && sh.q_heads > 1) seen.insert("mqa");
    if (s.has_alibi) seen.insert("alibi");
    for (int64_t b = 0; b < sh.batch; ++b) {
      for (int64_t i = 0; i < sh.q_len; ++i) {
        if (visible_key_range(s, p.visibility(), b, i).empty()) seen.insert("fully masked row");
      }
    }
    if (t.source.find("LYNX CORTEX") != std::string::npos) seen.insert("seed 001");
  }
  for (const char* required : {"f32", "f16", "bf16", "causal lq<lk", "padding", "window", "mask", "gqa", "mqa",
                               "alibi", "fully masked row", "seed 001"}) {
    EXPECT_TRUE(seen.count(required)) << "no backward trace has " << required;
  }
}

// ---- kernels ----

const KernelInfo& dense_f32() {
  const KernelInfo* k = find_kernel("dense_f32");
  if (!k) throw std::runtime_error("dense_f32 is not registered");
  return *k;
}

// dense_f32's backward without the scale in dQ: "forget to scale ... you lose this factor".
void unscaled_dq_backward(const AttentionSpec& spec, const BackwardInputs& in, const BackwardOutputs& out,
                          const KernelOptions& options) {
  dense_f32().backward(spec, in, out, options);
  const float undo = static_cast<float>(1.0 / effective_scale(spec));
  for (int64_t n = 0; n < q_elements(spec.shape); ++n) static_cast<float*>(out.dq)[n] *= undo;
}

struct Tally {
  int ran = 0, failed = 0, backward_ran = 0, backward_failed = 0;
};

Tally run_on_every_trace(const KernelInfo& kernel) {
  Tally t;
  for (const auto& path : golden_json_files(testing::golden_source_dir() / "traces")) {
    for (const KernelTraceCheck& r : check_kernels_on_trace(read_trace_file(path.string()), {&kernel})) {
      if (!r.ran()) continue;
      ++(r.backward ? t.backward_ran : t.ran);
      if (!r.passed()) ++(r.backward ? t.backward_failed : t.failed);
    }
  }
  return t;
}

TEST(BackwardKernelCheck, TheReferenceBackwardPassesEveryBackwardTraceFromBothSources) {
  const Tally t = run_on_every_trace(dense_f32());
  EXPECT_EQ(t.backward_ran, 2 * 14);  // 14 traces with a backward section, two forward sources
  EXPECT_EQ(t.backward_failed, 0);
}

TEST(BackwardKernelCheck, ABackwardThatForgetsTheScaleInDqFails) {
  KernelInfo k = dense_f32();
  k.name = "unscaled_dq_f32";
  k.backward = unscaled_dq_backward;
  const Tally t = run_on_every_trace(k);
  EXPECT_EQ(t.failed, 0);                       // its forward is dense_f32's
  EXPECT_GE(t.backward_failed, 2 * 12) << t.backward_ran;  // every trace whose dQ is not all 0
}

TEST(BackwardKernelCheck, GoldenCheckFailsABackwardKernelCheckedOnNoTrace) {
  testing::ScratchDir dir;
  std::filesystem::create_directories(dir.path() / "traces");
  std::filesystem::copy_file(testing::golden_source_dir() / "traces" / "decode_gqa_f16_step0.json",
                             dir.path() / "traces" / "decode_gqa_f16_step0.json");
  const GoldenCheckReport report = check_golden_traces((dir.path() / "traces").string(), {&dense_f32()});
  EXPECT_FALSE(report.passed());
  bool named = false;
  for (const std::string& f : report.failures) named = named || f.find("dense_f32's backward was checked on no trace") != std::string::npos;
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace attncheck::golden
