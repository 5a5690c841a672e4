// A KV cache for decode kernels: K [batch, kv_heads, capacity, head_dim] and
// V [batch, kv_heads, capacity, value_dim] in one storage dtype, of which the first length()
// positions of every (batch, kv head) hold tokens. Unused slots are NaN from construction (and
// after reset()), so a kernel that reads past length() poisons its own output.
#pragma once

#include <cstdint>
#include <span>

#include "attncheck/dtype.hpp"
#include "attncheck/kernel.hpp"
#include "attncheck/semantics.hpp"
#include "attncheck/storage.hpp"

namespace attncheck {

class KvCache {
 public:
  // Throws SpecError naming the field for a non-positive size.
  KvCache(DType dtype, int64_t batch, int64_t kv_heads, int64_t head_dim, int64_t value_dim, int64_t capacity);

  // Appends `tokens` positions to every (batch, kv head): k is [batch, kv_heads, tokens,
  // head_dim], v is [batch, kv_heads, tokens, value_dim], rounded to dtype(). Throws
  // std::length_error if length() + tokens exceeds capacity() (nothing is appended), and
  // std::invalid_argument if a span's size does not match `tokens`.
  void append(std::span<const float> k, std::span<const float> v, int64_t tokens);

  // Forgets every token; the slots become NaN again.
  void reset();

  DType dtype() const { return dtype_; }
  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  int64_t batch() const { return batch_; }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  int64_t value_dim() const { return value_dim_; }

  // What a DecodeFn reads; valid until the next append() or reset().
  KvCacheView view() const { return KvCacheView{k_.data(), v_.data(), capacity_}; }

  // The spec of q_len new queries per head against the cache: kv_len = length(), causal
  // (bottom-right, so the last query sees every cached token).
  AttentionSpec decode_spec(int64_t q_heads, int64_t q_len) const;

 private:
  DType dtype_;
  int64_t batch_, kv_heads_, head_dim_, value_dim_, capacity_;
  int64_t length_ = 0;
  StorageBuffer k_, v_;
};

}  // namespace attncheck
