// The loop behind decode_stream_bound.hpp, dispatched per Highway target like the kernels.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "decode_stream_bound.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// `rows` keys of K and V (f16, `dim` apart), row j of both per step. q holds 4 rows of dim
// floats; w 4 weights. Two accumulators per query row and stream (even and odd vectors of a
// row) make 16 independent chains of 4 FMAs per key, well within the FMA latency budget.
float StreamBoundF16(const hwy::float16_t* HWY_RESTRICT k, const hwy::float16_t* HWY_RESTRICT v, size_t rows,
                     size_t dim, const float* HWY_RESTRICT q, const float* HWY_RESTRICT w) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const size_t N = hn::Lanes(df);
  using V = hn::Vec<decltype(df)>;
  V ka0 = hn::Zero(df), ka1 = ka0, ka2 = ka0, ka3 = ka0, kb0 = ka0, kb1 = ka0, kb2 = ka0, kb3 = ka0;
  V va0 = ka0, va1 = ka0, va2 = ka0, va3 = ka0, vb0 = ka0, vb1 = ka0, vb2 = ka0, vb3 = ka0;
  const V w0 = hn::Set(df, w[0]), w1 = hn::Set(df, w[1]), w2 = hn::Set(df, w[2]), w3 = hn::Set(df, w[3]);
  for (size_t j = 0; j < rows; ++j) {
    const hwy::float16_t* HWY_RESTRICT krow = k + j * dim;
    const hwy::float16_t* HWY_RESTRICT vrow = v + j * dim;
    for (size_t d = 0; d < dim; d += 2 * N) {
      const V x = hn::PromoteTo(df, hn::LoadU(dh, krow + d));
      const V y = hn::PromoteTo(df, hn::LoadU(dh, krow + d + N));
      ka0 = hn::MulAdd(hn::LoadU(df, q + d), x, ka0);
      ka1 = hn::MulAdd(hn::LoadU(df, q + dim + d), x, ka1);
      ka2 = hn::MulAdd(hn::LoadU(df, q + 2 * dim + d), x, ka2);
      ka3 = hn::MulAdd(hn::LoadU(df, q + 3 * dim + d), x, ka3);
      kb0 = hn::MulAdd(hn::LoadU(df, q + d + N), y, kb0);
      kb1 = hn::MulAdd(hn::LoadU(df, q + dim + d + N), y, kb1);
      kb2 = hn::MulAdd(hn::LoadU(df, q + 2 * dim + d + N), y, kb2);
      kb3 = hn::MulAdd(hn::LoadU(df, q + 3 * dim + d + N), y, kb3);
      const V s = hn::PromoteTo(df, hn::LoadU(dh, vrow + d));
      const V t = hn::PromoteTo(df, hn::LoadU(dh, vrow + d + N));
      va0 = hn::MulAdd(w0, s, va0);
      va1 = hn::MulAdd(w1, s, va1);
      va2 = hn::MulAdd(w2, s, va2);
      va3 = hn::MulAdd(w3, s, va3);
      vb0 = hn::MulAdd(w0, t, vb0);
      vb1 = hn::MulAdd(w1, t, vb1);
      vb2 = hn::MulAdd(w2, t, vb2);
      vb3 = hn::MulAdd(w3, t, vb3);
    }
  }
  const V sum_k = hn::Add(hn::Add(hn::Add(ka0, ka1), hn::Add(ka2, ka3)), hn::Add(hn::Add(kb0, kb1), hn::Add(kb2, kb3)));
  const V sum_v = hn::Add(hn::Add(hn::Add(va0, va1), hn::Add(va2, va3)), hn::Add(hn::Add(vb0, vb1), hn::Add(vb2, vb3)));
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(sum_k, sum_v)));
}

}  // namespace attncheck::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <stdexcept>

#include "decode_stream_bound.hpp"
#include "released_threads.hpp"

namespace attncheck::bench {

HWY_EXPORT(StreamBoundF16);

namespace {
volatile float g_sink;  // keeps the loop's results alive
}  // namespace

double decode_stream_bound_seconds(const std::vector<const void*>& k_layers, const std::vector<const void*>& v_layers,
                                   int64_t kv_heads, int64_t capacity, int64_t length, int64_t dim, int threads) {
  if (dim % 32 != 0) throw std::invalid_argument("decode_stream_bound_seconds: dim must be a multiple of 32");
  const size_t d = static_cast<size_t>(dim);
  std::vector<float> q(4 * d), w{0.25f, 0.5f, 0.125f, 0.0625f};
  for (size_t i = 0; i < q.size(); ++i) q[i] = 1.0f / static_cast<float>(1 + i % 7);
  std::vector<float> results(static_cast<size_t>(threads));
  const double seconds = timed_on_threads(threads, [&](int t) {
    float total = 0.0f;
    for (size_t layer = 0; layer < k_layers.size(); ++layer) {
      for (int64_t h = t; h < kv_heads; h += threads) {
        const size_t offset = static_cast<size_t>(h * capacity) * d;
        total += HWY_DYNAMIC_DISPATCH(StreamBoundF16)(static_cast<const hwy::float16_t*>(k_layers[layer]) + offset,
                                                      static_cast<const hwy::float16_t*>(v_layers[layer]) + offset,
                                                      static_cast<size_t>(length), d, q.data(), w.data());
      }
    }
    results[static_cast<size_t>(t)] = total;
  });
  for (float r : results) g_sink = r;
  return seconds;
}

}  // namespace attncheck::bench
#endif  // HWY_ONCE
