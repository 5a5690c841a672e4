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
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include "hwy/aligned_allocator.h"
#include "machine_peaks.hpp"

namespace attncheck::bench {

HWY_EXPORT(FmaChains);
HWY_EXPORT(FloatLanes);
HWY_EXPORT(StreamSum);
HWY_EXPORT(PeakTargetName);

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

volatile float g_sink;  // keeps the loops' results alive

double fma_sample(int threads, size_t iterations) {
  const double lanes = static_cast<double>(HWY_DYNAMIC_DISPATCH(FloatLanes)());
  const auto start = std::chrono::steady_clock::now();
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  { total += HWY_DYNAMIC_DISPATCH(FmaChains)(iterations, 1.0f + static_cast<float>(omp_get_thread_num())); }
  const double elapsed = seconds_since(start);
  g_sink = total;
  return double(threads) * double(iterations) * 12.0 * lanes * 2.0 / elapsed / 1e9;
}

double read_sample(int threads) {
  const size_t n = (size_t{512} << 20) / sizeof(float);
  static hwy::AlignedFreeUniquePtr<float[]> buffer = [&] {
    auto b = hwy::AllocateAligned<float>(n);
    for (size_t i = 0; i < n; ++i) b[i] = 1.0f;
    return b;
  }();
  const size_t share = n / static_cast<size_t>(threads) / 64 * 64;
  const auto start = std::chrono::steady_clock::now();
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  { total += HWY_DYNAMIC_DISPATCH(StreamSum)(buffer.get() + share * static_cast<size_t>(omp_get_thread_num()), share); }
  const double elapsed = seconds_since(start);
  g_sink = total;
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

void record_peak_samples(int threads) { record(threads, sample_fma_gflops(threads), sample_read_gbytes(threads)); }

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
