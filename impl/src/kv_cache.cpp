#include "attncheck/kv_cache.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace attncheck {
namespace {

int64_t positive(int64_t value, const char* field) {
  if (value <= 0) throw SpecError(field, "must be positive, got " + std::to_string(value));
  return value;
}

void fill_nan(StorageBuffer& buffer) {
  for (size_t i = 0; i < buffer.size(); ++i) buffer.set(i, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace

KvCache::KvCache(DType dtype, int64_t batch, int64_t kv_heads, int64_t head_dim, int64_t value_dim,
                 int64_t capacity)
    : dtype_(dtype),
      batch_(positive(batch, "batch")),
      kv_heads_(positive(kv_heads, "kv_heads")),
      head_dim_(positive(head_dim, "head_dim")),
      value_dim_(positive(value_dim, "value_dim")),
      capacity_(positive(capacity, "capacity")),
      k_(dtype, static_cast<size_t>(batch * kv_heads * capacity * head_dim)),
      v_(dtype, static_cast<size_t>(batch * kv_heads * capacity * value_dim)) {
  fill_nan(k_);
  fill_nan(v_);
}

void KvCache::append(std::span<const float> k, std::span<const float> v, int64_t tokens) {
  if (tokens < 0) throw std::invalid_argument("KvCache::append: tokens must be >= 0, got " + std::to_string(tokens));
  if (length_ + tokens > capacity_) {
    throw std::length_error("KvCache::append: " + std::to_string(tokens) + " tokens do not fit: length " +
                            std::to_string(length_) + " + " + std::to_string(tokens) + " > capacity " +
                            std::to_string(capacity_));
  }
  const auto expect = [&](std::span<const float> values, int64_t dim, const char* name) {
    const int64_t want = batch_ * kv_heads_ * tokens * dim;
    if (static_cast<int64_t>(values.size()) != want) {
      throw std::invalid_argument(std::string("KvCache::append: ") + name + " has " + std::to_string(values.size()) +
                                  " values, expected batch*kv_heads*tokens*dim = " + std::to_string(want));
    }
  };
  expect(k, head_dim_, "k");
  expect(v, value_dim_, "v");
  for (int64_t bh = 0; bh < batch_ * kv_heads_; ++bh) {
    for (int64_t t = 0; t < tokens; ++t) {
      const int64_t slot = bh * capacity_ + length_ + t;
      for (int64_t d = 0; d < head_dim_; ++d) {
        k_.set(static_cast<size_t>(slot * head_dim_ + d), k[static_cast<size_t>((bh * tokens + t) * head_dim_ + d)]);
      }
      for (int64_t c = 0; c < value_dim_; ++c) {
        v_.set(static_cast<size_t>(slot * value_dim_ + c), v[static_cast<size_t>((bh * tokens + t) * value_dim_ + c)]);
      }
    }
  }
  length_ += tokens;
}

void KvCache::reset() {
  fill_nan(k_);
  fill_nan(v_);
  length_ = 0;
}

AttentionSpec KvCache::decode_spec(int64_t q_heads, int64_t q_len) const {
  AttentionSpec spec;
  spec.shape = AttentionShape{batch_, q_heads, kv_heads_, q_len, length_, head_dim_, value_dim_};
  spec.causal = true;
  return spec;
}

}  // namespace attncheck
