#include "value_kinds.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "attncheck/random_problem.hpp"
#include "attncheck/storage.hpp"

namespace attncheck::properties {
namespace {

// A random subnormal of dtype, either sign: a nonzero significand below the implicit bit.
float random_subnormal(DType dtype, SplitMix64& rng) {
  const float sign = rng.below(2) == 0 ? 1.0f : -1.0f;
  switch (dtype) {
    case DType::f32: {
      const uint32_t bits = 1 + static_cast<uint32_t>(rng.below((int64_t{1} << 23) - 1));
      return sign * std::bit_cast<float>(bits);
    }
    case DType::f16:  // subnormals of binary16 are m * 2^-24, 0 < m < 2^10
      return sign * std::ldexp(static_cast<float>(1 + rng.below((1 << 10) - 1)), -24);
    case DType::bf16: {  // same exponent range as f32, 7 stored significand bits
      const uint32_t bits = (1 + static_cast<uint32_t>(rng.below((1 << 7) - 1))) << 16;
      return sign * std::bit_cast<float>(bits);
    }
  }
  return 0;
}

void fill_visibility(Problem& p, SplitMix64& rng) {
  const AttentionSpec& spec = p.spec;
  const int64_t kv_len = spec.shape.kv_len;
  if (spec.has_valid_keys) {
    for (int32_t& n : p.valid_keys) {
      const int64_t pick = rng.below(4);  // 0 and kv_len each a quarter of the time
      n = static_cast<int32_t>(pick == 0 ? 0 : pick == 1 ? kv_len : rng.below(kv_len + 1));
    }
  }
  if (spec.mask != MaskKind::none) {
    static constexpr int64_t kVisibleSixteenths[] = {4, 8, 12, 15};
    const int64_t visible = kVisibleSixteenths[rng.below(4)];
    for (uint8_t& m : p.mask) m = rng.below(16) < visible ? 1 : 0;
  }
  if (spec.has_alibi) {
    const int64_t heads = spec.shape.q_heads;
    const int64_t mode = rng.below(3);
    for (int64_t h = 0; h < heads; ++h) {
      float slope;
      if (mode == 0) {  // the ALiBi paper's geometric sequence
        slope = std::exp2(-8.0f * static_cast<float>(h + 1) / static_cast<float>(heads));
      } else if (mode == 1) {
        slope = static_cast<float>(rng.uniform());
      } else {  // negative slopes are allowed by the semantics: the bias grows with distance
        slope = static_cast<float>(rng.uniform(-0.5, 1.0));
      }
      p.alibi_slopes[h] = slope;
    }
  }
}

// Scales q and k so the largest |scale * q.k| is near 2^target_exponent.
void make_large_logits(Problem& p, SplitMix64& rng) {
  const AttentionShape& s = p.spec.shape;
  const double scale = effective_scale(p.spec);
  const bool half = p.dtype == DType::f16;
  const double target = std::exp2(half ? rng.uniform(14.0, 17.0) : rng.uniform(100.0, 120.0));
  double max_score = 0, max_abs_sum = 0;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        for (int64_t j = 0; j < s.kv_len; ++j) {
          const float* q = &p.q[q_offset(s, b, h, i)];
          const float* k = &p.k[k_offset(s, b, kv_head_for(s, h), j)];
          double dot = 0, abs_sum = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) {
            dot += double(q[d]) * k[d];
            abs_sum += std::fabs(double(q[d]) * k[d]);
          }
          max_score = std::max(max_score, std::fabs(scale * dot));
          max_abs_sum = std::max(max_abs_sum, abs_sum);
        }
      }
    }
  }
  if (max_score == 0) return;
  double factor = target / max_score;  // applied as sqrt(factor) to q and to k
  if (!half) factor = std::min(factor, std::exp2(125.0) / max_abs_sum);  // keep sum|q k| < 2^126
  const double root = std::sqrt(factor);
  const double limit = max_finite(p.dtype);
  for (auto* tensor : {&p.q, &p.k}) {
    for (float& x : *tensor) x = static_cast<float>(std::clamp(double(x) * root, -limit, limit));
  }
}

// Every key of a (batch, kv head) is one of two rows.
void make_ties(Problem& p, SplitMix64& rng) {
  const AttentionShape& s = p.spec.shape;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      const int64_t pool = std::min<int64_t>(2, s.kv_len);
      for (int64_t j = pool; j < s.kv_len; ++j) {
        const int64_t source = rng.below(pool);
        std::copy_n(&p.k[k_offset(s, b, kvh, source)], s.head_dim, &p.k[k_offset(s, b, kvh, j)]);
      }
    }
  }
}

// For each query row, one key becomes a multiple of the query with score about 30.
void make_outliers(Problem& p, SplitMix64& rng) {
  const AttentionShape& s = p.spec.shape;
  const double scale = effective_scale(p.spec);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        const float* q = &p.q[q_offset(s, b, h, i)];
        double norm2 = 0;
        for (int64_t d = 0; d < s.head_dim; ++d) norm2 += double(q[d]) * q[d];
        if (norm2 == 0) continue;
        const double c = (25.0 + 10.0 * rng.uniform()) / (scale * norm2);
        const double limit = max_finite(p.dtype) / 4;  // a tiny query must not overflow its key
        float* k = &p.k[k_offset(s, b, kv_head_for(s, h), rng.below(s.kv_len))];
        for (int64_t d = 0; d < s.head_dim; ++d) k[d] = static_cast<float>(std::clamp(c * q[d], -limit, limit));
      }
    }
  }
}

// Each query row scaled so its largest score (signed: the row max, what the max shift
// subtracts) lands at a target in [80, 100]; a row whose scores are all <= 0 is negated first.
void make_near_exp_overflow(Problem& p, SplitMix64& rng) {
  const AttentionShape& s = p.spec.shape;
  const double scale = effective_scale(p.spec);
  std::vector<double> scores(s.kv_len);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      for (int64_t i = 0; i < s.q_len; ++i) {
        float* q = &p.q[q_offset(s, b, h, i)];
        double top = -INFINITY, bottom = INFINITY;
        for (int64_t j = 0; j < s.kv_len; ++j) {
          const float* k = &p.k[k_offset(s, b, kv_head_for(s, h), j)];
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += double(q[d]) * k[d];
          top = std::max(top, scale * dot);
          bottom = std::min(bottom, scale * dot);
        }
        const double target = rng.uniform(80.0, 100.0);
        double factor = 0;
        if (top > 0) {
          factor = target / top;
        } else if (bottom < 0) {
          factor = -target / -bottom;  // negated: the most negative score becomes the max
        }
        if (factor == 0) continue;
        const double limit = max_finite(p.dtype);
        for (int64_t d = 0; d < s.head_dim; ++d) q[d] = static_cast<float>(std::clamp(double(q[d]) * factor, -limit, limit));
      }
    }
  }
}

}  // namespace

std::string_view value_kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::normal: return "normal";
    case ValueKind::uniform: return "uniform";
    case ValueKind::large_logits: return "large_logits";
    case ValueKind::ties: return "ties";
    case ValueKind::subnormals: return "subnormals";
    case ValueKind::outliers: return "outliers";
    case ValueKind::near_exp_overflow: return "near_exp_overflow";
  }
  return "?";
}

void showValue(ValueKind kind, std::ostream& os) { os << value_kind_name(kind); }

Problem make_problem(const AttentionSpec& spec, DType dtype, ValueKind kind, uint64_t seed) {
  Problem p = make_zero_problem(spec, dtype);
  SplitMix64 rng(seed);
  for (auto* tensor : {&p.q, &p.k, &p.v}) {
    for (float& x : *tensor) {
      if (kind == ValueKind::uniform) {
        x = static_cast<float>(rng.uniform(-1.0, 1.0));
      } else if (kind == ValueKind::subnormals && rng.below(2) == 0) {
        x = random_subnormal(dtype, rng);
      } else {
        x = static_cast<float>(rng.normal());
      }
    }
  }
  round_inputs_to_dtype(p);
  switch (kind) {
    case ValueKind::large_logits: make_large_logits(p, rng); break;
    case ValueKind::ties: make_ties(p, rng); break;
    case ValueKind::outliers: make_outliers(p, rng); break;
    case ValueKind::near_exp_overflow: make_near_exp_overflow(p, rng); break;
    default: break;
  }
  round_inputs_to_dtype(p);
  fill_visibility(p, rng);
  return p;
}

}  // namespace attncheck::properties
