// A progress line for long oracle runs, on a terminal only: "oracle rows: 1200/4096 (29%),
// 3.4 s elapsed, about 8.3 s left" (the label, then units done of all), rewritten in place (carriage return) and cleared when the
// run ends. Nothing is written for a run shorter than `delay` (a second), nor at all when the
// stream is not a terminal, so logs, pipes and tests see none of it. The clock is a parameter
// so that tests can drive it without waiting.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace attncheck::oracle {

class ProgressMeter {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic

  // `enabled`: whether to write at all (is_terminal(out) for a command).
  ProgressMeter(std::FILE* out, std::string label, bool enabled, double delay = 1.0, Clock clock = {});
  ~ProgressMeter() { finish(); }
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // After `done` of `total` units; writes at most ten lines a second.
  void update(int64_t done, int64_t total);
  // Clears the line, if one was written. Called by the destructor too.
  void finish();
  bool wrote() const { return written_width_ > 0; }

  static bool is_terminal(std::FILE* stream);

 private:
  std::FILE* out_;
  std::string label_;
  bool enabled_;
  double delay_;
  Clock clock_;
  double start_;
  double last_write_ = -1;
  size_t written_width_ = 0;
};

// "1.2 s", "3 min 20 s", "2 h 5 min".
std::string format_duration(double seconds);

}  // namespace attncheck::oracle
