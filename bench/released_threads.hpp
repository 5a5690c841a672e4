// Timing on threads that are started and waiting before the clock starts, for the measured
// references (machine peaks, the decode stream bound): a reference must not include thread
// start-up, nor the wake-up and barrier costs of an OpenMP team (on this shared 2-core VM an
// OpenMP 2-thread read measured 22-68 GB/s where released threads measured 82-86 GB/s).
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace attncheck::bench {

// Runs work(t) on `threads` threads (the caller is thread 0) and returns the seconds from
// their common start to the last one's end.
template <class Work>
double timed_on_threads(int threads, const Work& work) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) {
    helpers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      work(t);
    });
  }
  while (ready.load() < threads - 1) std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  work(0);
  for (std::thread& helper : helpers) helper.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace attncheck::bench
