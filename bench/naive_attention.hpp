// The attention a user would write without a fused kernel: per head, one OpenBLAS sgemm for
// S = scale * Q K^T (the whole L x L score matrix), a row softmax in plain C++ (std::exp, rows
// split over OpenMP threads), and one sgemm for O = P V. f32 only, no masking: the baseline
// the tiled kernels' speed is compared with (docs/performance.md). Checks no reference itself;
// attention_bench compares its output with tiled_f32's once, so the baseline is not vacuous.
#pragma once

#include <cstdint>
#include <vector>

namespace attncheck::bench {

struct NaiveAttention {
  int64_t heads = 0, length = 0, dim = 0;
  std::vector<float> scores;  // one head's L x L scores, reused across heads

  // q, k, v, o: [heads, length, dim] f32. threads: OpenBLAS and the softmax both use this many.
  void run(const float* q, const float* k, const float* v, float* o, int threads);

  // The backward the same user would write on materialised matrices, per head: S = scale Q K^T
  // and P = softmax(S) again (sgemm, the row softmax above), dV = P^T dO, dP = dO V^T (sgemm),
  // D = rowsum(dO * O), dS = P * (dP - D) (rows over OpenMP threads), dQ = scale dS K and
  // dK = scale dS^T Q (sgemm). Two L x L matrices per head (scores, grads), reused across heads.
  void backward(const float* q, const float* k, const float* v, const float* o, const float* d_out, float* dq,
                float* dk, float* dv, int threads);
  std::vector<float> grads;  // one head's dP, then dS
};

}  // namespace attncheck::bench
