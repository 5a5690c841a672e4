// This machine's attainable peaks, measured in the running binary so every "fraction of peak"
// a benchmark reports divides by a number from the same run on the same (shared, noisy) box:
//   - f32 FMA throughput: 12 independent FMA chains per thread on the best SIMD target
//     (AVX2: 12 x 8 lanes; Zen3 retires 2 FMAs per cycle with 4 cycles of latency, so 8+
//     chains keep both pipes full), 2 flops per lane;
//   - streaming read bandwidth: a 512 MiB buffer (far beyond any L3; allocated like a KV
//     cache, on huge pages where the system grants them) summed with vector loads, each
//     thread over its own contiguous share as 4 concurrent streams.
// Both run on threads that are started and waiting before the clock starts, so neither
// includes thread start-up or an OpenMP team's wake-up and barrier.
#pragma once

#include <string>

namespace attncheck::bench {

struct Peaks {
  double fma_gflops = 0;
  double read_gbytes = 0;
};

// One measurement each, tens of milliseconds like the kernels timed against them (so both
// see similar spells of load): 20M steps of the FMA chains; one pass over 512 MiB.
double sample_fma_gflops(int threads);
double sample_read_gbytes(int threads);

// The best of every sample taken so far in this process for `threads` threads (at least
// five of each are taken on first use). Benchmarks take more samples between their own
// iterations, so a ratio's numerator and denominator see the same spells of load.
Peaks machine_peaks(int threads);
// Takes one sample of each, adds them to the process-wide best, and returns them.
Peaks record_peak_samples(int threads);

// The SIMD target the peak loops (and the kernels) dispatch to, e.g. "AVX2".
std::string peak_target_name();

}  // namespace attncheck::bench
