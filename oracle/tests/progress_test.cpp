// The progress line: silent for a short run and when not enabled (not a terminal), rewritten in
// place with rows, elapsed time and what is left, and cleared at the end. A fake clock drives
// it, so the test waits for nothing.
#include "attncheck/oracle/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace attncheck::oracle {
namespace {

// What a meter wrote, through a memory stream.
struct Capture {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* file = open_memstream(&data, &size);
  ~Capture() {
    std::fclose(file);
    std::free(data);
  }
  std::string text() {
    std::fflush(file);
    return std::string(data, size);
  }
};

TEST(Progress, ShortRunsWriteNothing) {
  Capture out;
  double now = 0;
  {
    ProgressMeter meter(out.file, "oracle", true, 1.0, [&] { return now; });
    for (int i = 1; i <= 10; ++i) {
      now = 0.09 * i;  // done in 0.9 s
      meter.update(i, 10);
    }
  }
  EXPECT_EQ(out.text(), "");
}

TEST(Progress, NotATerminalWritesNothing) {
  Capture out;
  double now = 0;
  ProgressMeter meter(out.file, "oracle", false, 1.0, [&] { return now; });
  now = 5;
  meter.update(1, 10);
  meter.finish();
  EXPECT_EQ(out.text(), "");
  EXPECT_FALSE(ProgressMeter::is_terminal(out.file));
}

TEST(Progress, LongRunsShowRowsElapsedAndWhatIsLeftThenClearTheLine) {
  Capture out;
  double now = 0;
  ProgressMeter meter(out.file, "oracle", true, 1.0, [&] { return now; });
  now = 2;
  meter.update(1, 4);
  const std::string first = "\roracle: 1/4 (25%), 2.0 s elapsed, about 6.0 s left";
  EXPECT_EQ(out.text(), first);
  now = 2.05;  // within a tenth of a second: not rewritten
  meter.update(2, 4);
  EXPECT_EQ(out.text(), first);
  now = 130;
  meter.update(3, 4);
  const std::string second = "\roracle: 3/4 (75%), 2 min 10 s elapsed, about 43.3 s left";
  EXPECT_EQ(out.text(), first + second);
  EXPECT_TRUE(meter.wrote());
  meter.finish();
  EXPECT_EQ(out.text(), first + second + "\r" + std::string(second.size() - 1, ' ') + "\r");
  EXPECT_FALSE(meter.wrote());
}

TEST(Progress, AShorterLineCoversTheLongerOne) {
  Capture out;
  double now = 0;
  ProgressMeter meter(out.file, "x", true, 0.0, [&] { return now; });
  now = 100;
  meter.update(1, 1000);  // "x: 1/1000 (0%), 1 min 40 s elapsed, about 27 h 45 min left"
  const size_t width = out.text().size() - 1;
  now = 200;
  meter.update(1000, 1000);  // "x: 1000/1000 (100%), 3 min 20 s elapsed", padded
  EXPECT_EQ(out.text().size(), 2 * (width + 1));
}

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(0.04), "0.0 s");
  EXPECT_EQ(format_duration(59.9), "59.9 s");
  EXPECT_EQ(format_duration(60), "1 min 0 s");
  EXPECT_EQ(format_duration(3725), "1 h 2 min");
}

}  // namespace
}  // namespace attncheck::oracle
