#include "naive_attention.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace attncheck::bench {

namespace {

// Softmax of each of the L rows of s (L x L), in place, rows split over `threads`.
void softmax_rows(float* s, int64_t L, int threads) {
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
}

}  // namespace

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
    softmax_rows(s, L, threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(L), static_cast<int>(D),
                static_cast<int>(L), 1.0f, s, static_cast<int>(L), vh, static_cast<int>(D), 0.0f, oh,
                static_cast<int>(D));
  }
}

void NaiveAttention::backward(const float* q, const float* k, const float* v, const float* o, const float* d_out,
                              float* dq, float* dk, float* dv, int threads) {
  const int64_t L = length, D = dim;
  const int l = static_cast<int>(L), d = static_cast<int>(D);
  scores.resize(static_cast<size_t>(L * L));
  grads.resize(static_cast<size_t>(L * L));
  openblas_set_num_threads(threads);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t h = 0; h < heads; ++h) {
    const float* qh = q + h * L * D;
    const float* kh = k + h * L * D;
    const float* vh = v + h * L * D;
    const float* oh = o + h * L * D;
    const float* doh = d_out + h * L * D;
    float* p = scores.data();
    float* g = grads.data();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, scale, qh, d, kh, d, 0.0f, p, l);
    softmax_rows(p, L, threads);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l, d, l, 1.0f, p, l, doh, d, 0.0f, dv + h * L * D, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, 1.0f, doh, d, vh, d, 0.0f, g, l);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < L; ++i) {
      float delta = 0;
      for (int64_t c = 0; c < D; ++c) delta += doh[i * D + c] * oh[i * D + c];
      for (int64_t j = 0; j < L; ++j) g[i * L + j] = p[i * L + j] * (g[i * L + j] - delta);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, d, l, scale, g, l, kh, d, 0.0f, dq + h * L * D, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l, d, l, scale, g, l, qh, d, 0.0f, dk + h * L * D, d);
  }
}

}  // namespace attncheck::bench
