#include "attncheck/run.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "attncheck/storage.hpp"

namespace attncheck {
namespace {

// Elements of red zone on each side of an output. The fill is a signalling-free byte pattern
// no kernel writes by accident.
constexpr size_t kRedZone = 64;
constexpr std::byte kFill{0xA5};

// An output buffer with red zones around it.
class FencedBuffer {
 public:
  FencedBuffer(size_t elements, size_t element_size)
      : element_size_(element_size),
        bytes_((elements + 2 * kRedZone) * element_size, kFill) {}
  void* data() { return bytes_.data() + kRedZone * element_size_; }
  void check(const std::string& what, const std::string& kernel) const {
    const size_t zone = kRedZone * element_size_;
    for (size_t i = 0; i < zone; ++i) {
      if (bytes_[i] != kFill) {
        throw RedZoneViolation(kernel + " wrote before the start of " + what);
      }
      if (bytes_[bytes_.size() - 1 - i] != kFill) {
        throw RedZoneViolation(kernel + " wrote past the end of " + what);
      }
    }
  }

 private:
  size_t element_size_;
  std::vector<std::byte> bytes_;
};


void require_runnable(const KernelInfo& kernel, const Problem& problem) {
  if (problem.dtype != kernel.dtype) {
    throw std::invalid_argument(kernel.name + " stores " + std::string(dtype_name(kernel.dtype)) +
                                ", the problem is " + std::string(dtype_name(problem.dtype)));
  }
  const std::string missing = unsupported_feature(kernel, problem.spec);
  if (!missing.empty() && missing != "forward") {
    throw std::invalid_argument(kernel.name + " does not support " + missing);
  }
  validate(problem);
}

// Output buffers, fenced and NaN-filled so a kernel that forgets an element cannot pass by
// accident, and their decoding once the kernel has run.
class FencedOutputs {
 public:
  FencedOutputs(const KernelInfo& kernel, const AttentionShape& shape)
      : kernel_(kernel),
        shape_(shape),
        o_(o_elements(shape), dtype_size(kernel.dtype)),
        lse_(lse_elements(shape), sizeof(float)) {
    StorageBuffer nan_value(kernel.dtype, 1);
    nan_value.set(0, std::numeric_limits<float>::quiet_NaN());
    for (int64_t i = 0; i < o_elements(shape); ++i) {
      std::memcpy(static_cast<std::byte*>(o_.data()) + i * dtype_size(kernel.dtype), nan_value.data(),
                  dtype_size(kernel.dtype));
    }
    float* lse = static_cast<float*>(lse_.data());
    for (int64_t i = 0; i < lse_elements(shape); ++i) lse[i] = std::numeric_limits<float>::quiet_NaN();
  }

  AttentionOutputs outputs() {
    return AttentionOutputs{o_.data(), kernel_.has(kLse) ? static_cast<float*>(lse_.data()) : nullptr};
  }

  KernelResult finish() {
    o_.check("O", kernel_.name);
    lse_.check("LSE", kernel_.name);
    KernelResult result;
    StorageBuffer o_view(kernel_.dtype, o_elements(shape_));
    std::memcpy(o_view.data(), o_.data(), o_elements(shape_) * dtype_size(kernel_.dtype));
    result.o = o_view.decode();
    const float* lse = static_cast<const float*>(lse_.data());
    result.lse.assign(lse, lse + lse_elements(shape_));
    return result;
  }

 private:
  const KernelInfo& kernel_;
  AttentionShape shape_;
  FencedBuffer o_;
  FencedBuffer lse_;
};

// One output tensor of the storage dtype: fenced, NaN-prefilled, decoded after the call.
class FencedTensor {
 public:
  FencedTensor(DType dtype, int64_t elements) : dtype_(dtype), elements_(elements), buffer_(elements, dtype_size(dtype)) {
    StorageBuffer nan_value(dtype, 1);
    nan_value.set(0, std::numeric_limits<float>::quiet_NaN());
    for (int64_t i = 0; i < elements; ++i) {
      std::memcpy(static_cast<std::byte*>(buffer_.data()) + i * dtype_size(dtype), nan_value.data(), dtype_size(dtype));
    }
  }
  void* data() { return buffer_.data(); }
  std::vector<float> finish(const std::string& what, const std::string& kernel) {
    buffer_.check(what, kernel);
    StorageBuffer view(dtype_, elements_);
    std::memcpy(view.data(), buffer_.data(), elements_ * dtype_size(dtype_));
    return view.decode();
  }

 private:
  DType dtype_;
  int64_t elements_;
  FencedBuffer buffer_;
};

}  // namespace

BackwardResult run_backward(const KernelInfo& kernel, const Problem& problem, const std::vector<float>& o,
                            const std::vector<float>& lse, const KernelOptions& options) {
  if (kernel.backward == nullptr) throw std::invalid_argument(kernel.name + " has no backward entry point");
  if (!problem.has_d_out()) throw std::invalid_argument("run_backward: the problem has no upstream gradient (do)");
  require_runnable(kernel, problem);
  validate(options);
  const AttentionShape& s = problem.spec.shape;
  if (static_cast<int64_t>(o.size()) != o_elements(s) || static_cast<int64_t>(lse.size()) != lse_elements(s)) {
    throw std::invalid_argument("run_backward: O or LSE does not match the problem's shape");
  }
  const StorageBuffer q = StorageBuffer::encode(kernel.dtype, problem.q);
  const StorageBuffer k = StorageBuffer::encode(kernel.dtype, problem.k);
  const StorageBuffer v = StorageBuffer::encode(kernel.dtype, problem.v);
  const StorageBuffer o_stored = StorageBuffer::encode(kernel.dtype, o);
  const StorageBuffer d_out = StorageBuffer::encode(kernel.dtype, problem.d_out);
  FencedTensor dq(kernel.dtype, q_elements(s)), dk(kernel.dtype, k_elements(s)), dv(kernel.dtype, v_elements(s));
  const BackwardInputs inputs{q.data(), k.data(), v.data(), o_stored.data(), lse.data(), d_out.data(),
                              problem.visibility()};
  kernel.backward(problem.spec, inputs, BackwardOutputs{dq.data(), dk.data(), dv.data()}, options);
  BackwardResult result;
  result.dq = dq.finish("dQ", kernel.name);
  result.dk = dk.finish("dK", kernel.name);
  result.dv = dv.finish("dV", kernel.name);
  result.o = StorageBuffer::encode(kernel.dtype, o).decode();
  result.lse = lse;
  return result;
}

BackwardResult run_backward_own_forward(const KernelInfo& kernel, const Problem& problem,
                                        const KernelOptions& options) {
  if (!kernel.has(kLse)) {
    throw std::invalid_argument(kernel.name + " writes no LSE (kLse), so its own forward cannot feed its backward");
  }
  const KernelResult forward = run_kernel(kernel, problem, options);
  return run_backward(kernel, problem, forward.o, forward.lse, options);
}

KernelResult run_kernel(const KernelInfo& kernel, const Problem& problem,
                        const KernelOptions& options) {
  if (kernel.forward == nullptr) throw std::invalid_argument(kernel.name + " has no forward entry point");
  require_runnable(kernel, problem);
  validate(options);
  const StorageBuffer q = StorageBuffer::encode(kernel.dtype, problem.q);
  const StorageBuffer k = StorageBuffer::encode(kernel.dtype, problem.k);
  const StorageBuffer v = StorageBuffer::encode(kernel.dtype, problem.v);
  FencedOutputs outputs(kernel, problem.spec.shape);
  const AttentionInputs inputs{q.data(), k.data(), v.data(), problem.visibility()};
  kernel.forward(problem.spec, inputs, outputs.outputs(), options);
  return outputs.finish();
}

KernelResult run_decode(const KernelInfo& kernel, const Problem& problem, int64_t capacity,
                        const KernelOptions& options) {
  if (kernel.decode == nullptr) throw std::invalid_argument(kernel.name + " has no decode entry point");
  require_runnable(kernel, problem);
  validate(options);
  const AttentionShape& s = problem.spec.shape;
  if (capacity == 0) capacity = s.kv_len + 7;
  if (capacity < s.kv_len) throw std::invalid_argument("run_decode: capacity below kv_len");
  // Cache layout [batch, kv_heads, capacity, dim]; unused slots are NaN.
  StorageBuffer k(kernel.dtype, static_cast<size_t>(s.batch * s.kv_heads * capacity * s.head_dim));
  StorageBuffer v(kernel.dtype, static_cast<size_t>(s.batch * s.kv_heads * capacity * s.value_dim));
  for (size_t i = 0; i < k.size(); ++i) k.set(i, std::numeric_limits<float>::quiet_NaN());
  for (size_t i = 0; i < v.size(); ++i) v.set(i, std::numeric_limits<float>::quiet_NaN());
  for (int64_t bh = 0; bh < s.batch * s.kv_heads; ++bh) {
    for (int64_t j = 0; j < s.kv_len; ++j) {
      for (int64_t d = 0; d < s.head_dim; ++d) {
        k.set((bh * capacity + j) * s.head_dim + d, problem.k[(bh * s.kv_len + j) * s.head_dim + d]);
      }
      for (int64_t c = 0; c < s.value_dim; ++c) {
        v.set((bh * capacity + j) * s.value_dim + c, problem.v[(bh * s.kv_len + j) * s.value_dim + c]);
      }
    }
  }
  const StorageBuffer q = StorageBuffer::encode(kernel.dtype, problem.q);
  FencedOutputs outputs(kernel, s);
  const KvCacheView cache{k.data(), v.data(), capacity};
  kernel.decode(problem.spec, q.data(), cache, problem.visibility(), outputs.outputs(), options);
  return outputs.finish();
}

}  // namespace attncheck
