#include "attncheck/oracle/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace attncheck::oracle {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ProgressMeter::ProgressMeter(std::FILE* out, std::string label, bool enabled, double delay, Clock clock)
    : out_(out),
      label_(std::move(label)),
      enabled_(enabled && out != nullptr),
      delay_(delay),
      clock_(clock ? std::move(clock) : Clock(&steady_seconds)),
      start_(clock_()) {}

bool ProgressMeter::is_terminal(std::FILE* stream) { return stream != nullptr && isatty(fileno(stream)) == 1; }

void ProgressMeter::update(int64_t done, int64_t total) {
  if (!enabled_ || total <= 0) return;
  const double now = clock_();
  const double elapsed = now - start_;
  if (elapsed < delay_) return;                                     // short runs stay silent
  if (last_write_ >= 0 && now - last_write_ < 0.1 && done < total) return;  // ten lines a second
  last_write_ = now;
  std::string line = label_ + ": " + std::to_string(done) + "/" + std::to_string(total) + " (" +
                     std::to_string(done * 100 / total) + "%), " + format_duration(elapsed) + " elapsed";
  if (done > 0 && done < total) {
    line += ", about " + format_duration(elapsed / double(done) * double(total - done)) + " left";
  }
  // Spaces over whatever is left of a longer previous line.
  const size_t width = line.size();
  if (line.size() < written_width_) line.append(written_width_ - line.size(), ' ');
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
  written_width_ = std::max(written_width_, width);
}

void ProgressMeter::finish() {
  if (written_width_ == 0) return;
  std::fprintf(out_, "\r%s\r", std::string(written_width_, ' ').c_str());
  std::fflush(out_);
  written_width_ = 0;
}

std::string format_duration(double seconds) {
  char text[48];
  if (!(seconds < 60)) {
    const auto total = static_cast<long long>(std::llround(seconds));
    if (total < 3600) {
      std::snprintf(text, sizeof text, "%lld min %lld s", total / 60, total % 60);
    } else {
      std::snprintf(text, sizeof text, "%lld h %lld min", total / 3600, total % 3600 / 60);
    }
  } else {
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  }
  return text;
}

}  // namespace attncheck::oracle
