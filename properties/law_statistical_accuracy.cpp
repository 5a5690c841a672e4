// Law 5, statistical accuracy: alongside the worst-case a-priori bound, where a kernel's error
// sits among the errors its declared arithmetic makes (docs/error-model.md, "Statistical
// accuracy", derives it; docs/properties.md gives the calibration and the soak).
//
// A case is one problem with many rows (up to 96 sampled for the oracle) of 16 to 320 keys, with
// typical data (normal, uniform, one dominant key; default scale or 1/4..1 of it; no ALiBi).
// Every sampled row is also computed by two model kernels in the kernel's declared arithmetic
// (f32 scores in key order, max-shifted softmax, f32 sums, O rounded to storage, P rounded to
// storage when declared): `best` with a correctly rounded exp, `worst` with an exp off by the
// declared exp_max_ulp (up or down at random per key) and, when declared, online softmax
// rescaled at every new max. Errors are against the oracle, each divided by dense's a-priori
// bound of its element. Per case:
//   - RMS(kernel) / max(RMS(best), RMS(worst)) <= 2.5, for O and for LSE;
//   - bias: kernel - best, fitted as b O + eps cov_w(s, v) (O, relative; f32 O only) and as
//     b + eps mean_w(s) (LSE, absolute), eps a relative error common to every score, which the
//     declared arithmetic allows (the f32-rounded scale); |b| <= allowance + 5 SE, with
//     allowance 1 u for O and (2 exp_max_ulp + 1/2) u for LSE (a biased exp may move LSE).
// Over the run (at least 10 judged cases, f32 O): RMS(kernel) / RMS(best) >= 0.3: a kernel far
// more accurate than f32 arithmetic can be does not compute in the arithmetic it declares.
#include <rapidcheck.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "attncheck/oracle/error_bound.hpp"
#include "attncheck/random_problem.hpp"
#include "attncheck/storage.hpp"
#include "law_tools.hpp"
#include "laws.hpp"
#include "value_kinds.hpp"

namespace attncheck::properties {
namespace {

constexpr double kU = 0x1p-24;  // f32 unit roundoff: every statistic is in these units

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// ---------------------------------------------------------------- model kernels

enum class ModelExp { correctly_rounded, declared_worst };

struct ModelConfig {
  ModelExp exp = ModelExp::correctly_rounded;
  double exp_ulps = 0;   // declared_worst: how far off the exp is allowed to be
  bool online = false;   // online softmax, rescaled at every new max
  bool round_p = false;  // P rounded to storage before P.V
  DType dtype = DType::f32;
};

// ULP of an f32 value y > 0.
double f32_ulp(double y) {
  if (y < 0x1p-126) return 0x1p-149;
  int e = 0;
  std::frexp(y, &e);  // y = m 2^e, m in [0.5, 1)
  return std::ldexp(1.0, e - 24);
}

// exp in the model's arithmetic: correctly rounded (exp in double, rounded once to f32: right
// except within 2^-29 ULP of a tie), or the f32 value farthest from exp(x) within `exp_ulps`
// ULPs, up or down by a hash of (salt, x).
float model_exp(float x, const ModelConfig& m, uint64_t salt) {
  const double y = std::exp(static_cast<double>(x));
  if (m.exp == ModelExp::correctly_rounded || y == 0) return static_cast<float>(y);
  const double ulp = f32_ulp(y);
  const bool up = (mix64(salt ^ std::bit_cast<uint32_t>(x)) & 1) != 0;
  float f = static_cast<float>(up ? y + m.exp_ulps * ulp : y - m.exp_ulps * ulp);
  if (std::fabs(static_cast<double>(f) - y) > m.exp_ulps * ulp) f = std::nextafter(f, static_cast<float>(y));
  return f;
}

struct ModelRow {
  std::vector<float> o;
  float lse = 0;
  // Sensitivities to a relative error eps common to every score of the row (the scale rounded
  // to f32, or a constant folded into it): LSE moves by eps * mean_s, O_c by eps * cov_sv[c],
  // with mean_s = sum_j w_j s_j and cov_sv[c] = sum_j w_j s_j v_jc - mean_s O_c (in double).
  double mean_s = 0;
  std::vector<double> cov_sv;
};

// One row in the model's f32 arithmetic: scores as f32 dot products in key order, then the
// max-shifted softmax (dense: max first; online: rescaled at every new max), sums in key order,
// O = acc / l rounded to storage, LSE = m + log(l).
ModelRow model_row(const Problem& p, int64_t flat, const ModelConfig& m) {
  const AttentionSpec& spec = p.spec;
  const AttentionShape& s = spec.shape;
  const RowIndex r = row_index(s, flat);
  const VisibilityInputs vis = p.visibility();
  const KeyRange range = visible_key_range(spec, vis, r.b, r.i);
  const int64_t kvh = kv_head_for(s, r.h);
  const float scale = static_cast<float>(effective_scale(spec));
  const float slope = spec.has_alibi ? p.alibi_slopes[r.h] : 0.0f;
  const float* q = &p.q[q_offset(s, r.b, r.h, r.i)];
  std::vector<float> scores;
  std::vector<int64_t> keys;
  for (int64_t j = range.begin; j < range.end; ++j) {
    if (!key_visible(spec, vis, r.b, r.h, r.i, j)) continue;
    const float* k = &p.k[k_offset(s, r.b, kvh, j)];
    float dot = 0;
    for (int64_t d = 0; d < s.head_dim; ++d) dot += q[d] * k[d];
    float x = scale * dot;
    if (spec.has_alibi) x += -slope * static_cast<float>(alibi_distance(s, r.i, j));
    scores.push_back(x);
    keys.push_back(j);
  }
  ModelRow out;
  out.o.assign(s.value_dim, 0.0f);
  if (keys.empty()) {
    out.lse = -std::numeric_limits<float>::infinity();
    return out;
  }
  const uint64_t salt = mix64(static_cast<uint64_t>(flat) * 0x100000001B3ull);
  std::vector<float> acc(s.value_dim, 0.0f);
  float mx = -std::numeric_limits<float>::infinity();
  if (!m.online) {
    for (float x : scores) mx = std::max(mx, x);
  }
  float l = 0;
  for (size_t t = 0; t < keys.size(); ++t) {
    if (m.online && scores[t] > mx) {
      const float rescale = mx == -std::numeric_limits<float>::infinity()
                                ? 0.0f
                                : model_exp(mx - scores[t], m, salt ^ mix64(t + 1));
      l *= rescale;
      for (float& a : acc) a *= rescale;
      mx = scores[t];
    }
    const float e = model_exp(scores[t] - mx, m, salt ^ mix64(~t));
    l += e;
    const float pv = m.round_p ? round_to_dtype(m.dtype, e) : e;
    const float* v = &p.v[v_offset(s, r.b, kvh, keys[t])];
    for (int64_t c = 0; c < s.value_dim; ++c) acc[c] += pv * v[c];
  }
  for (int64_t c = 0; c < s.value_dim; ++c) out.o[c] = round_to_dtype(m.dtype, acc[c] / l);
  double top = -std::numeric_limits<double>::infinity(), total = 0;
  for (float x : scores) top = std::max(top, static_cast<double>(x));
  std::vector<double> w(scores.size());
  for (size_t t = 0; t < scores.size(); ++t) total += w[t] = std::exp(static_cast<double>(scores[t]) - top);
  std::vector<double> sv(s.value_dim, 0.0), ov(s.value_dim, 0.0);
  for (size_t t = 0; t < scores.size(); ++t) {
    w[t] /= total;
    out.mean_s += w[t] * scores[t];
    const float* v = &p.v[v_offset(s, r.b, kvh, keys[t])];
    for (int64_t c = 0; c < s.value_dim; ++c) {
      sv[c] += w[t] * scores[t] * v[c];
      ov[c] += w[t] * v[c];
    }
  }
  out.cov_sv.resize(s.value_dim);
  for (int64_t c = 0; c < s.value_dim; ++c) out.cov_sv[c] = sv[c] - out.mean_s * ov[c];
  out.lse = mx + std::log(l);
  return out;
}

// ---------------------------------------------------------------- the case

// A problem with many rows of moderate length, from one seed that does not shrink: a
// statistical case is a sample, and a smaller one says less, not more.
struct StatCase {
  Problem problem;
  std::vector<int64_t> rows;  // the rows the oracle computes
};

constexpr int64_t kSampleRows = 96;

StatCase draw_case(const KernelInfo& kernel) {
  const uint64_t seed =
      *rc::gen::noShrink(rc::gen::resize(100, rc::gen::arbitrary<uint64_t>())).as("case seed");
  SplitMix64 rng(seed);
  auto in = [&](int64_t lo, int64_t hi) { return lo + rng.below(hi - lo + 1); };
  auto flag = [&](int64_t per_sixteen) { return rng.below(16) < per_sixteen; };
  AttentionSpec spec;
  AttentionShape& s = spec.shape;
  s.batch = in(1, 2);
  s.kv_heads = in(1, 2);
  s.q_heads = s.kv_heads * (kernel.has(kGroupedQuery) ? in(1, 3) : 1);
  s.q_len = in(16, 64);
  static constexpr int64_t kEdges[] = {127, 128, 129, 255, 256, 257};
  s.kv_len = flag(4) ? kEdges[rng.below(6)] : in(16, 320);
  s.head_dim = in(4, 64);
  s.value_dim = kernel.has(kValueDim) && flag(8) ? in(4, 64) : s.head_dim;
  spec.causal = kernel.has(kCausal) && flag(6);
  spec.has_valid_keys = kernel.has(kPadding) && flag(4);
  if (kernel.has(kWindow) && flag(3)) spec.window_left = in(16, s.kv_len);
  if (kernel.has(kBoolMask) && flag(3)) spec.mask = flag(8) ? MaskKind::per_head : MaskKind::shared;
  // Custom scales from 1/4 to 1 times the default: scores keep a spread of a few units.
  if (kernel.has(kCustomScale) && flag(4)) {
    spec.scale = std::exp2(static_cast<double>(in(-16, 0)) / 8.0) / std::sqrt(static_cast<double>(s.head_dim));
  }
  static constexpr ValueKind kKinds[] = {ValueKind::normal, ValueKind::uniform, ValueKind::outliers};
  const ValueKind kind = kKinds[rng.below(3)];
  StatCase c;
  c.problem = make_problem(spec, kernel.dtype, kind, rng.next());
  const int64_t total = s.batch * s.q_heads * s.q_len;
  std::vector<int64_t> all(total);
  for (int64_t i = 0; i < total; ++i) all[i] = i;
  for (int64_t i = 0; i < std::min(total, kSampleRows); ++i) std::swap(all[i], all[i + rng.below(total - i)]);
  all.resize(std::min(total, kSampleRows));
  std::sort(all.begin(), all.end());
  c.rows = all;
  return c;
}

// ---------------------------------------------------------------- statistics

// The band (docs/error-model.md, "Statistical accuracy", derives it; docs/properties.md gives
// the calibration and the soak that measured its false-alarm rate).
constexpr double kRmsHigh = 2.5;       // per case: RMS error / declared-arithmetic model's
constexpr double kRmsLowPooled = 0.3;  // over the run, f32 O: RMS error / correctly rounded model's
constexpr int kPooledMinCases = 10;    // fewer cases: the pooled lower limit is not judged
constexpr double kBiasO = 1.0;         // allowed relative bias of O, in u
constexpr double kBiasLseSlack = 0.5;  // allowed LSE bias beyond the declared exp's 2 k u, in u
constexpr double kZ = 5.0;             // standard errors on top of the allowance
constexpr int64_t kMinRows = 8;        // fewer informative rows: the case is not judged

// Weighted least squares for y = b x + eps z + noise over rows independent of each other (a
// row's elements are not: they share its row sum), with a row-clustered (sandwich) standard
// error of b. x is the signature of the bias b sought; z that of a relative error eps common to
// every score (the f32-rounded scale, or a constant folded into it, which the declared
// arithmetic allows and a kernel need not round as the model does), fitted alongside so that it
// cannot pass for a bias. When z is (nearly) proportional to x, b alone is fitted.
struct BiasFit {
  struct Sums {
    double xx = 0, xz = 0, zz = 0, xy = 0, zy = 0;
    // The least noise y can have: both values are rounded to f32 at the end, so y is at least
    // as noisy as the difference of two independent roundings (variance ulp^2 / 6 each
    // element). Summed as w^2 sigma^2 [x z]^T [x z], a floor under the clustered variance,
    // which underestimates when the differences are a few whole ULPs (|LSE| of 30 has ULPs of
    // 32 u) in a few rows.
    double fxx = 0, fxz = 0, fzz = 0;
    void add_element(double w, double x, double z, double y, double sigma2) {
      xx += w * x * x;
      xz += w * x * z;
      zz += w * z * z;
      xy += w * x * y;
      zy += w * z * y;
      fxx += w * w * sigma2 * x * x;
      fxz += w * w * sigma2 * x * z;
      fzz += w * w * sigma2 * z * z;
    }
    void add(const Sums& o) {
      xx += o.xx;
      xz += o.xz;
      zz += o.zz;
      xy += o.xy;
      zy += o.zy;
      fxx += o.fxx;
      fxz += o.fxz;
      fzz += o.fzz;
    }
  };
  Sums total;
  std::vector<Sums> rows;
  void add_row(const Sums& r) {
    total.add(r);
    rows.push_back(r);
  }
  struct Result {
    double b = 0, se = 0;
  };
  Result fit() const {
    const Sums& t = total;
    if (!(t.xx > 0)) return {};
    const double det = t.xx * t.zz - t.xz * t.xz;
    Result r;
    if (!(t.zz > 0) || det <= 1e-6 * t.xx * t.zz) {
      r.b = t.xy / t.xx;
      double v = 0;
      for (const Sums& s : rows) v += (s.xy - r.b * s.xx) * (s.xy - r.b * s.xx);
      r.se = std::sqrt(std::max(v, t.fxx)) / t.xx;
      return r;
    }
    // [b, eps] = A^-1 g, A = [[xx, xz], [xz, zz]]; cov = A^-1 (sum_r u_r u_r^T) A^-1.
    r.b = (t.zz * t.xy - t.xz * t.zy) / det;
    const double eps = (t.xx * t.zy - t.xz * t.xy) / det;
    double m11 = 0, m12 = 0, m22 = 0;
    for (const Sums& s : rows) {
      const double u1 = s.xy - r.b * s.xx - eps * s.xz, u2 = s.zy - r.b * s.xz - eps * s.zz;
      m11 += u1 * u1;
      m12 += u1 * u2;
      m22 += u2 * u2;
    }
    const double i11 = t.zz / det, i12 = -t.xz / det;  // first row of A^-1
    const double sandwich = i11 * i11 * m11 + 2 * i11 * i12 * m12 + i12 * i12 * m22;
    const double floor = i11 * i11 * t.fxx + 2 * i11 * i12 * t.fxz + i12 * i12 * t.fzz;
    r.se = std::sqrt(std::max({0.0, sandwich, floor}));
    return r;
  }
};

struct CaseStats {
  // Sums of squared errors against the oracle, each divided by dense's a-priori bound of its
  // element (so that every element weighs alike): the kernel, the correctly rounded model, the
  // declared-worst model.
  double o_kernel = 0, o_best = 0, o_worst = 0;
  double l_kernel = 0, l_best = 0, l_worst = 0;
  BiasFit o_bias;  // kernel O - model O = b O + eps cov_w(s, v): b relative
  BiasFit l_bias;  // kernel LSE - model LSE = b + eps mean_w(s): b absolute
  int64_t rows = 0;
};

double ratio(double num, double den) { return den > 0 ? std::sqrt(num / den) : 0; }

// The limits a case breaks, one line each.
struct Verdict {
  std::string failures;
  void require(bool ok, const char* text) {
    if (!ok) failures += std::string(failures.empty() ? "" : "\n    ") + text;
  }
};

void check_case(LawRun& run) {
  const KernelInfo& kernel = run.kernel();
  const StatCase c = draw_case(kernel);
  const Problem& problem = c.problem;
  const AttentionShape& s = problem.spec.shape;
  const KernelResult got = run_kernel(kernel, problem);
  oracle::OracleOptions options;
  options.keep_intermediates = false;
  options.rows = c.rows;
  const oracle::OracleResult exact = oracle::forward(problem, options);
  const oracle::ErrorBound norm = oracle::a_priori_bound(problem, exact, ErrorTraits{}, kernel.dtype);
  const std::vector<double> o_exact = oracle::outputs_f64(exact);
  const std::vector<double> l_exact = oracle::lse_f64(exact);
  ModelConfig best;
  best.round_p = kernel.error.weights_rounded_to_storage;
  best.dtype = kernel.dtype;
  ModelConfig worst = best;
  worst.exp = ModelExp::declared_worst;
  worst.exp_ulps = kernel.error.exp_max_ulp;
  worst.online = kernel.error.online_softmax;
  const bool lse = kernel.has(kLse);
  const bool o_f32 = kernel.dtype == DType::f32;  // a 16-bit O is its storage rounding
  CaseStats st;
  const int64_t dv = s.value_dim;
  for (size_t t = 0; t < c.rows.size(); ++t) {
    const int64_t flat = c.rows[t];
    if (!std::isfinite(l_exact[t])) continue;  // no visible key: exactly +0 and -inf, other laws check it
    const ModelRow mb = model_row(problem, flat, best);
    const ModelRow mw = model_row(problem, flat, worst);
    const std::span<const float> ko = output_row(got, s, flat);
    BiasFit::Sums bias;
    for (int64_t col = 0; col < dv; ++col) {
      const size_t e = t * dv + col;
      const double n = norm.output[e], x = o_exact[e];
      if (!(n > 0)) continue;
      const double ek = (ko[col] - x) / n, eb = (mb.o[col] - x) / n, ew = (mw.o[col] - x) / n;
      st.o_kernel += ek * ek;
      st.o_best += eb * eb;
      st.o_worst += ew * ew;
      const double ulp = x == 0 ? 0x1p-149 : f32_ulp(std::fabs(x));
      bias.add_element(1 / (n * n), x, mb.cov_sv[col], static_cast<double>(ko[col]) - mb.o[col], ulp * ulp / 6);
    }
    st.o_bias.add_row(bias);
    ++st.rows;
    if (lse && norm.lse[t] > 0) {
      const double n = norm.lse[t], x = l_exact[t], k = got.lse[flat];
      const double ek = (k - x) / n, eb = (mb.lse - x) / n, ew = (mw.lse - x) / n;
      st.l_kernel += ek * ek;
      st.l_best += eb * eb;
      st.l_worst += ew * ew;
      const double w = 1 / std::max(1.0, x * x);  // LSE's own rounding grows with |LSE|
      const double ulp = x == 0 ? 0x1p-149 : f32_ulp(std::fabs(x));
      BiasFit::Sums row;
      row.add_element(w, 1, mb.mean_s, k - mb.lse, ulp * ulp / 6);
      st.l_bias.add_row(row);
    }
  }
  run.count("cases");
  if (st.rows < kMinRows || st.o_best <= 0) {
    run.count("cases not judged");
    return;
  }
  run.count("rows", st.rows);
  run.add("O kernel", st.o_kernel);
  run.add("O best", st.o_best);
  const double rho_o = ratio(st.o_kernel, std::max(st.o_best, st.o_worst));
  const BiasFit::Result fit_o = st.o_bias.fit();
  const double bias_o = fit_o.b / kU, se_o = fit_o.se / kU;
  run.note_max("rho O", rho_o);
  run.note_max("-rho O", -rho_o);
  Verdict v;
  char text[400];
  std::snprintf(text, sizeof text,
                "O: RMS error / model's %.3g (band <= %.3g)", rho_o, kRmsHigh);
  v.require(rho_o <= kRmsHigh, text);
  std::string numbers = text;
  if (o_f32) {
    const double allowed = kBiasO;
    const double excess = (std::fabs(bias_o) - allowed) / se_o;
    run.note_max("bias O excess", excess);
    run.note_max("|bias O|", std::fabs(bias_o));
    run.note_max("O allowance", allowed);
    std::snprintf(text, sizeof text, "O: relative bias against the model %.3g u +- %.3g u (band |bias| <= %.3g u + %.3g SE)",
                  bias_o, se_o, allowed, kZ);
    v.require(!(excess > kZ), text);
    numbers += std::string("; ") + text;
  }
  if (lse && st.l_best > 0) {
    const double rho_l = ratio(st.l_kernel, std::max(st.l_best, st.l_worst));
    const BiasFit::Result fit_l = st.l_bias.fit();
    const double bias_l = fit_l.b / kU, se_l = fit_l.se / kU;
    const double allowed = 2 * kernel.error.exp_max_ulp + kBiasLseSlack;
    const double excess = (std::fabs(bias_l) - allowed) / se_l;
    run.note_max("rho LSE", rho_l);
    run.note_max("-rho LSE", -rho_l);
    run.note_max("bias LSE excess", excess);
    run.note_max("|bias LSE|", std::fabs(bias_l));
    run.note_max("LSE allowance", allowed);
    std::snprintf(text, sizeof text, "LSE: RMS error / model's %.3g (band <= %.3g)", rho_l, kRmsHigh);
    v.require(rho_l <= kRmsHigh, text);
    numbers += std::string("; ") + text;
    std::snprintf(text, sizeof text, "LSE: bias against the model %.3g u +- %.3g u (band |bias| <= %.3g u + %.3g SE)",
                  bias_l, se_l, allowed, kZ);
    v.require(!(excess > kZ), text);
    numbers += std::string("; ") + text;
  }
  if (!v.failures.empty()) {
    std::vector<int64_t> shown(c.rows.begin(), c.rows.begin() + std::min<size_t>(c.rows.size(), 4));
    run.fail(Witness{problem, numbers, shown, false},
             "the error distribution over " + std::to_string(st.rows) + " rows of " + describe(problem.spec) +
                 " is outside its band:\n    " + v.failures);
  }
}

// Too good: over the whole run, an f32 O far more accurate than f32 arithmetic can make it.
std::string check_run(const LawRun& run) {
  if (run.kernel().dtype != DType::f32) return "";
  const int64_t judged = run.count_of("cases") - run.count_of("cases not judged");
  if (judged < kPooledMinCases) return "";
  const double pooled = ratio(run.sum_of("O kernel"), run.sum_of("O best"));
  if (pooled >= kRmsLowPooled) return "";
  char text[300];
  std::snprintf(text, sizeof text,
                "O's RMS error over %lld cases is %.3g of a correctly rounded f32 computation's (band >= %.3g): "
                "the kernel does not compute in the f32 arithmetic it declares",
                static_cast<long long>(judged), pooled, kRmsLowPooled);
  return text;
}

std::string summary(const LawRun& run) {
  const int64_t judged = run.count_of("cases") - run.count_of("cases not judged");
  char line[900];
  int n = std::snprintf(line, sizeof line,
                        "%s error distribution over %lld cases, %lld rows: O RMS/model %.3g..%.3g (<= %.3g)",
                        run.kernel().name.c_str(), static_cast<long long>(judged),
                        static_cast<long long>(run.count_of("rows")), -run.max_of("-rho O"), run.max_of("rho O"),
                        kRmsHigh);
  if (run.kernel().dtype == DType::f32) {
    n += std::snprintf(line + n, sizeof line - n, ", pooled vs correctly rounded %.3g (>= %.3g)",
                       ratio(run.sum_of("O kernel"), run.sum_of("O best")), kRmsLowPooled);
    n += std::snprintf(line + n, sizeof line - n,
                       ", |bias| <= %.3g u (allowance <= %.3g u; worst (|bias| - allowance) / SE %.3g, <= %.3g)",
                       run.max_of("|bias O|"), run.max_of("O allowance"), run.max_of("bias O excess"), kZ);
  }
  if (run.kernel().has(kLse)) {
    std::snprintf(line + n, sizeof line - n,
                  "; LSE RMS/model %.3g..%.3g (<= %.3g), |bias| <= %.3g u (allowance <= %.3g u; worst (|bias| - "
                  "allowance) / SE %.3g, <= %.3g)",
                  -run.max_of("-rho LSE"), run.max_of("rho LSE"), kRmsHigh, run.max_of("|bias LSE|"),
                  run.max_of("LSE allowance"), run.max_of("bias LSE excess"), kZ);
  }
  return line;
}

}  // namespace

std::vector<Law> statistical_accuracy_laws() {
  std::vector<Law> laws;
  Law law;
  law.family = "Accuracy";
  law.name = "ErrorDistributionWithinBandOfDeclaredArithmetic";
  // Its lengths are its own (16 to 320 keys, typical data): its job is the error's
  // distribution; the other laws hold the tile edges (LawRun::reach_gaps).
  law.reaches_tiles = false;
  law.statement =
      "over many rows, RMS error <= 2.5x that of a model computing in the kernel's declared arithmetic (O and "
      "LSE), no bias beyond the declared exp's, and (f32 O, over the run) RMS error >= 0.3x a correctly "
      "rounded f32 computation's";
  law.cases = 20;
  law.soak_cases = 2000;
  law.applies = [](const KernelInfo& k) { return k.forward != nullptr; };
  law.check_case = check_case;
  law.finish = check_run;
  law.summary = summary;
  laws.push_back(law);
  return laws;
}

}  // namespace attncheck::properties
