// `golden regen` and `golden verify` on scratch copies of golden/: regen is deterministic and
// all or nothing, verify finds every kind of difference, and the tree's files are current.
#include "attncheck/golden/regen.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpfr.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "attncheck/formats/atomic_write.hpp"
#include "attncheck/formats/json_input.hpp"
#include "golden_test_support.hpp"

namespace attncheck::golden {

using formats::Json;
using formats::parse_json_text;
using formats::temporary_path_for;
using formats::write_all_or_nothing;

namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::ScratchDir;
using testing::write_file;

bool any_line_contains(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

TEST(GoldenVerify, TheFilesInTheTreeAreTheOraclesAndEveryPublishedValueIsAccountedFor) {
  const VerifyReport report = verify_golden(testing::golden_source_dir());
  EXPECT_TRUE(report.ok()) << joined(report.malformed) << joined(report.differences);
  EXPECT_EQ(report.traces_checked, 23);
  EXPECT_GT(report.errata, 0);
}

TEST(GoldenRegen, WritesEveryTraceIntoAnEmptyDirectoryAndASecondRunChangesNoByte) {
  ScratchDir a;
  const RegenReport first = regenerate_traces(a.path());
  ASSERT_EQ(first.entries.size(), 23u);
  for (const RegenEntry& e : first.entries) EXPECT_EQ(e.status, TraceFileStatus::created) << e.file;
  std::vector<std::string> texts;
  for (const fs::path& p : golden_json_files(a.path() / "traces")) texts.push_back(read_file(p));
  const RegenReport second = regenerate_traces(a.path());
  for (const RegenEntry& e : second.entries) EXPECT_EQ(e.status, TraceFileStatus::unchanged) << e.file;
  std::vector<std::string> again;
  for (const fs::path& p : golden_json_files(a.path() / "traces")) again.push_back(read_file(p));
  EXPECT_EQ(texts, again);
  // And the tree's committed traces are exactly what the generator writes.
  for (const fs::path& p : golden_json_files(a.path() / "traces")) {
    EXPECT_EQ(read_file(p), read_file(testing::golden_source_dir() / "traces" / p.filename())) << p.filename();
  }
}

// A value changed in a copy of a trace: verify reports it at its path and fails; regen puts
// it back and says what it changed.
TEST(GoldenVerify, AnAlteredTraceValueIsReportedAndRegenRestoresIt) {
  ScratchDir dir;
  testing::copy_golden_tree(dir.path());
  const fs::path trace = dir.path() / "traces" / "gqa_bf16.json";
  std::string text = read_file(trace);
  Json json = parse_json_text(text, trace.string());
  const std::string lse = json["forward"]["rows"][0]["lse"][0];
  const std::string needle = "\"lse\": [\"" + lse + "\"";
  const size_t at = text.find(needle);
  ASSERT_NE(at, std::string::npos);
  // A different but self-consistent pair, so the file still reads and only the value differs.
  text.replace(at, text.find(']', at) - at + 1, "\"lse\": [\"0.5\", \"0.5\"]");
  write_file(trace, text);

  const VerifyReport report = verify_golden(dir.path());
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.malformed.empty()) << joined(report.malformed);
  EXPECT_TRUE(any_line_contains(report.differences, "traces/gqa_bf16.json: forward.rows[0].lse: file 0.5 (0.5), oracle " + lse))
      << joined(report.differences);

  const RegenReport regen = regenerate_traces(dir.path());
  bool reported = false;
  for (const RegenEntry& e : regen.entries) {
    if (e.file != "traces/gqa_bf16.json") {
      EXPECT_EQ(e.status, TraceFileStatus::unchanged) << e.file;
      continue;
    }
    reported = true;
    EXPECT_EQ(e.status, TraceFileStatus::updated);
    EXPECT_TRUE(any_line_contains(e.changes, "forward.rows[0].lse")) << joined(e.changes);
  }
  EXPECT_TRUE(reported);
  EXPECT_TRUE(verify_golden(dir.path()).ok());
}

TEST(GoldenVerify, MalformedMissingAndOrphanFilesAreReported) {
  ScratchDir dir;
  testing::copy_golden_tree(dir.path());
  const fs::path traces = dir.path() / "traces";
  const std::string mqa = read_file(traces / "mqa_f32.json");
  write_file(traces / "mqa_f32.json", mqa.substr(0, mqa.size() / 2));  // truncated
  fs::remove(traces / "alibi_f16.json");
  write_file(traces / "stray.json", mqa);
  const VerifyReport report = verify_golden(dir.path());
  EXPECT_TRUE(any_line_contains(report.malformed, "mqa_f32.json: invalid JSON")) << joined(report.malformed);
  EXPECT_TRUE(any_line_contains(report.differences, "traces/alibi_f16.json: missing")) << joined(report.differences);
  EXPECT_TRUE(any_line_contains(report.differences, "traces/stray.json: no generator produces this trace"))
      << joined(report.differences);
}

TEST(GoldenVerify, AnUnrecordedPublishedMismatchFailsVerify) {
  ScratchDir dir;
  testing::copy_golden_tree(dir.path());
  const fs::path file = dir.path() / "published" / "seed000_cosine_tool_routing.json";
  std::string text = read_file(file);
  const size_t at = text.find("\"0.9980\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 8, "\"0.9990\"");
  write_file(file, text);
  const VerifyReport report = verify_golden(dir.path());
  EXPECT_TRUE(any_line_contains(report.differences, "MISMATCH not recorded as an erratum: published 0.9990"))
      << joined(report.differences);
}

// A write that fails after other files were prepared: no target changes, no temporary stays.
TEST(GoldenRegen, AFailedRunLeavesEveryOldFileIntact) {
  ScratchDir dir;
  testing::copy_golden_tree(dir.path());
  const fs::path traces = dir.path() / "traces";
  // Two stale traces, so regen has two files to replace; the second one's temporary path is
  // taken by a directory, so its write fails after the first was written.
  write_file(traces / "alibi_f16.json", "{\"stale\": 1}\n");
  write_file(traces / "mqa_f32.json", "{\"stale\": 2}\n");
  fs::create_directory(temporary_path_for(traces / "mqa_f32.json"));
  EXPECT_THROW(regenerate_traces(dir.path()), std::runtime_error);
  EXPECT_EQ(read_file(traces / "alibi_f16.json"), "{\"stale\": 1}\n");
  EXPECT_EQ(read_file(traces / "mqa_f32.json"), "{\"stale\": 2}\n");
  fs::remove(temporary_path_for(traces / "mqa_f32.json"));
  for (const auto& entry : fs::directory_iterator(traces)) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << "left behind: " << entry.path();
  }
  // With the obstacle gone the same regen succeeds and both files are current again.
  regenerate_traces(dir.path());
  EXPECT_TRUE(verify_golden(dir.path()).ok());
}

// A run killed by SIGKILL leaves its ".NAME.json.tmp" and ".NAME.json.bak" files in traces/;
// the next run removes exactly those and reports them, and leaves every other file alone.
TEST(GoldenRegen, RemovesTheTemporariesAndBackupsOfAKilledRunAndNothingElse) {
  ScratchDir dir;
  testing::copy_golden_tree(dir.path());
  const fs::path traces = dir.path() / "traces";
  const std::vector<std::string> leftovers = {".alibi_f16.json.tmp", ".mqa_f32.json.bak", ".retired.json.tmp"};
  for (const std::string& name : leftovers) write_file(traces / name, "{\"half\": ");
  // Look-alikes that are not this writer's: another suffix, no leading dot, a second dot, no
  // NAME before ".json", a longer name, a directory, and the same name in published/.
  const std::vector<std::string> kept = {".notes.tmp",  "alibi_f16.json.tmp", "..alibi_f16.json.tmp",
                                         ".json.tmp",   ".alibi_f16.json.tmp.keep", ".alibi_f16.json.bak~"};
  for (const std::string& name : kept) write_file(traces / name, "mine");
  fs::create_directory(traces / ".dir.json.tmp");
  write_file(dir.path() / "published" / ".seed.json.tmp", "mine");

  const RegenReport report = regenerate_traces(dir.path());
  EXPECT_EQ(report.removed_leftovers, (std::vector<std::string>{"traces/.alibi_f16.json.tmp",
                                                                "traces/.mqa_f32.json.bak",
                                                                "traces/.retired.json.tmp"}));
  for (const std::string& name : leftovers) EXPECT_FALSE(fs::exists(traces / name)) << name;
  for (const std::string& name : kept) EXPECT_EQ(read_file(traces / name), "mine") << name;
  EXPECT_TRUE(fs::is_directory(traces / ".dir.json.tmp"));
  EXPECT_TRUE(fs::exists(dir.path() / "published" / ".seed.json.tmp"));
  EXPECT_FALSE(fs::exists(traces / kRegenLockName)) << "a finished run leaves no lock file";
  for (const RegenEntry& e : report.entries) EXPECT_EQ(e.status, TraceFileStatus::unchanged) << e.file;
}

// While another run holds traces/.regen.lock a run says so and waits; it goes on when the lock
// is released, and removes the lock file when it is done.
TEST(GoldenRegen, ASecondRunWaitsForTheLockAndThenRuns) {
  ScratchDir dir;
  testing::copy_golden_tree(dir.path());
  const fs::path lock_path = dir.path() / "traces" / kRegenLockName;
  int held = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::write(held, "4242", 4), 4);  // the pid a waiting run reports
  std::vector<std::string> notes;
  std::atomic<bool> released{false};
  RegenReport report;
  std::thread second([&] {
    report = regenerate_traces(dir.path(), [&](const std::string& note) {
      notes.push_back(note);
      // Still waiting here: the lock is ours until we close it.
      EXPECT_FALSE(released.load());
      released = true;
      ::close(held);
    });
    // MPFR caches constants (log 2, ...) per thread; a thread that used it frees them before it
    // ends, or LeakSanitizer reports them.
    mpfr_free_cache();
  });
  second.join();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("waiting for another golden regen (pid 4242) to finish: it holds " + lock_path.string()),
            std::string::npos)
      << notes[0];
  EXPECT_TRUE(released.load());
  EXPECT_EQ(report.entries.size(), 23u);
  EXPECT_FALSE(fs::exists(lock_path));
}

TEST(AtomicWrite, ReplacesEveryFileOrNone) {
  ScratchDir dir;
  const fs::path a = dir.path() / "a.json", b = dir.path() / "b.json";
  write_file(a, "old a");
  write_all_or_nothing({{a, "new a"}, {b, "new b"}});
  EXPECT_EQ(read_file(a), "new a");
  EXPECT_EQ(read_file(b), "new b");
  EXPECT_THROW(write_all_or_nothing({{a, "newer a"}, {dir.path() / "no" / "such" / "dir.json", "x"}}),
               std::runtime_error);
  EXPECT_EQ(read_file(a), "new a");
}

}  // namespace
}  // namespace attncheck::golden
