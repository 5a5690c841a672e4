#include "naive_attention.hpp"

#include <cblas.h>

#include <cmath>

namespace attncheck::bench {

void NaiveAttention::run(const float* q, const float* k, const float* v, float* o, int threads) {
  const int64_t L = length, D = dim;
  scores.resize(static_cast<size_t>(L * L));
  openblas_set_num_threads(threads);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t h = 0; h < heads; ++h) {
    const float* qh = q + h * L * D;
    const float* kh = k + h * L * D;
    const float* vh = v + h * L * D;
    float* oh = o + h * L * D;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(L), static_cast<int>(L),
                static_cast<int>(D), scale, qh, static_cast<int>(D), kh, static_cast<int>(D), 0.0f, scores.data(),
                static_cast<int>(L));
    float* s = scores.data();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < L; ++i) {
      float* row = s + i * L;
      float m = row[0];
      for (int64_t j = 1; j < L; ++j) m = std::max(m, row[j]);
      float sum = 0;
      for (int64_t j = 0; j < L; ++j) {
        row[j] = std::exp(row[j] - m);
        sum += row[j];
      }
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < L; ++j) row[j] *= inv;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(L), static_cast<int>(D),
                static_cast<int>(L), 1.0f, s, static_cast<int>(L), vh, static_cast<int>(D), 0.0f, oh,
                static_cast<int>(D));
  }
}

}  // namespace attncheck::bench
