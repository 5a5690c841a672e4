// The loops behind machine_peaks.hpp, dispatched per Highway target like the kernels.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "machine_peaks.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace attncheck::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 12 independent chains a = a * x + y; returns a value that depends on all of them so the
// loop cannot be removed. Flops: iterations * 12 * lanes * 2.
float FmaChains(size_t iterations, float seed) {
  const hn::ScalableTag<float> df;
  const auto x = hn::Set(df, 0.999999f), y = hn::Set(df, 1e-7f);
  auto a0 = hn::Set(df, seed), a1 = hn::Add(a0, y), a2 = hn::Add(a1, y), a3 = hn::Add(a2, y);
  auto a4 = hn::Add(a3, y), a5 = hn::Add(a4, y), a6 = hn::Add(a5, y), a7 = hn::Add(a6, y);
  auto a8 = hn::Add(a7, y), a9 = hn::Add(a8, y), a10 = hn::Add(a9, y), a11 = hn::Add(a10, y);
  for (size_t i = 0; i < iterations; ++i) {
    a0 = hn::MulAdd(a0, x, y);
    a1 = hn::MulAdd(a1, x, y);
    a2 = hn::MulAdd(a2, x, y);
    a3 = hn::MulAdd(a3, x, y);
    a4 = hn::MulAdd(a4, x, y);
    a5 = hn::MulAdd(a5, x, y);
    a6 = hn::MulAdd(a6, x, y);
    a7 = hn::MulAdd(a7, x, y);
    a8 = hn::MulAdd(a8, x, y);
    a9 = hn::MulAdd(a9, x, y);
    a10 = hn::MulAdd(a10, x, y);
    a11 = hn::MulAdd(a11, x, y);
  }
  const auto sum = hn::Add(hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7))),
                           hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)));
  return hn::GetLane(hn::SumOfLanes(df, sum));
}

size_t FloatLanes() { return hn::Lanes(hn::ScalableTag<float>()); }

// Sums n floats (n a multiple of 4 vectors) as 4 concurrent streams, one per quarter, each
// with its own accumulator: more streams in flight get more of the DRAM bandwidth (the decode
// kernels read K and V as separate streams too); one stream per thread measured ~25% less.
float StreamSum(const float* HWY_RESTRICT p, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t quarter = n / 4 / N * N;
  const float* HWY_RESTRICT p1 = p + quarter;
  const float* HWY_RESTRICT p2 = p + 2 * quarter;
  const float* HWY_RESTRICT p3 = p + 3 * quarter;
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  for (size_t i = 0; i < quarter; i += N) {
    s0 = hn::Add(s0, hn::Load(df, p + i));
    s1 = hn::Add(s1, hn::Load(df, p1 + i));
    s2 = hn::Add(s2, hn::Load(df, p2 + i));
    s3 = hn::Add(s3, hn::Load(df, p3 + i));
  }
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
}

const char* PeakTargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace attncheck::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "attncheck/tensor_allocator.hpp"
#include "machine_peaks.hpp"
#include "released_threads.hpp"

namespace attncheck::bench {

HWY_EXPORT(FmaChains);
HWY_EXPORT(FloatLanes);
HWY_EXPORT(StreamSum);
HWY_EXPORT(PeakTargetName);

namespace {

volatile float g_sink;  // keeps the loops' results alive

double fma_sample(int threads, size_t iterations) {
  const double lanes = static_cast<double>(HWY_DYNAMIC_DISPATCH(FloatLanes)());
  std::vector<float> results(static_cast<size_t>(threads));
  const double elapsed = timed_on_threads(threads, [&](int t) {
    results[static_cast<size_t>(t)] = HWY_DYNAMIC_DISPATCH(FmaChains)(iterations, 1.0f + static_cast<float>(t));
  });
  for (float r : results) g_sink = r;
  return double(threads) * double(iterations) * 12.0 * lanes * 2.0 / elapsed / 1e9;
}

// The buffer comes from the kernels' own tensor allocator (2 MiB aligned, huge-page advice),
// so the peak and a KV cache are read through the same kind of pages.
struct ReadBuffer {
  static constexpr size_t kBytes = size_t{512} << 20;
  float* data;
  ReadBuffer() : data(static_cast<float*>(allocate_tensor_bytes(kBytes))) {
    std::fill(data, data + size(), 1.0f);
  }
  ~ReadBuffer() { free_tensor_bytes(data, kBytes); }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  static constexpr size_t size() { return kBytes / sizeof(float); }
};

double read_sample(int threads) {
  static const ReadBuffer buffer;
  const size_t share = ReadBuffer::size() / static_cast<size_t>(threads) / 64 * 64;
  std::vector<float> results(static_cast<size_t>(threads));
  const double elapsed = timed_on_threads(threads, [&](int t) {
    results[static_cast<size_t>(t)] = HWY_DYNAMIC_DISPATCH(StreamSum)(buffer.data + share * static_cast<size_t>(t), share);
  });
  for (float r : results) g_sink = r;
  return double(share) * double(threads) * sizeof(float) / elapsed / 1e9;
}

std::mutex g_mutex;
std::map<int, Peaks> g_best;

void record(int threads, double fma, double read) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Peaks& best = g_best[threads];
  best.fma_gflops = std::max(best.fma_gflops, fma);
  best.read_gbytes = std::max(best.read_gbytes, read);
}

}  // namespace

double sample_fma_gflops(int threads) { return fma_sample(threads, 20'000'000); }
double sample_read_gbytes(int threads) { return read_sample(threads); }

Peaks record_peak_samples(int threads) {
  const Peaks sample{sample_fma_gflops(threads), sample_read_gbytes(threads)};
  record(threads, sample.fma_gflops, sample.read_gbytes);
  return sample;
}

Peaks machine_peaks(int threads) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    first = g_best.find(threads) == g_best.end();
  }
  if (first) {
    for (int i = 0; i < 5; ++i) record_peak_samples(threads);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_best[threads];
}

std::string peak_target_name() { return HWY_DYNAMIC_DISPATCH(PeakTargetName)(); }

}  // namespace attncheck::bench
#endif  // HWY_ONCE
