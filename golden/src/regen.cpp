#include "attncheck/golden/regen.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "attncheck/formats/atomic_write.hpp"
#include "attncheck/golden/canonical.hpp"
#include "attncheck/golden/published.hpp"
#include "attncheck/golden/trace.hpp"

namespace attncheck::golden {

using formats::FileWrite;
using formats::InputError;
using formats::Json;
using formats::parse_json_text;
using formats::write_all_or_nothing;

namespace {

namespace fs = std::filesystem;

constexpr size_t kShownChanges = 10;

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trace_relative_name(const fs::path& path) {
  return path.parent_path().filename().string() + "/" + path.filename().string();
}

std::vector<std::string> orphans(const fs::path& traces_dir, const std::vector<TraceSpec>& specs) {
  std::set<std::string> expected;
  for (const TraceSpec& s : specs) expected.insert(s.name + ".json");
  std::vector<std::string> out;
  for (const fs::path& p : golden_json_files(traces_dir)) {
    if (!expected.count(p.filename().string())) out.push_back(trace_relative_name(p));
  }
  return out;
}

// Keeps other `golden regen` runs out of a traces directory for as long as it lives. Without it
// two runs write the same ".NAME.tmp" files and one renames the other's away (it then fails,
// saying no file changed, while the first may have written a mix). flock() locks are released
// by the kernel when the process dies, so a killed run never leaves the directory locked.
// The lock file is removed on release, so a finished run leaves nothing behind; a waiter that
// then gets the lock on the removed file sees that its path is gone or names another file, and
// locks again (the usual protocol for a lock file that is unlinked).
class RegenLock {
 public:
  RegenLock(const fs::path& path, const std::function<void(const std::string&)>& on_wait) : path_(path) {
    bool told = false;
    for (;;) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0) fail("cannot open the lock file", errno);
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) fail("cannot lock", errno);
        if (!told && on_wait) {
          on_wait("waiting for another golden regen" + holder() + " to finish: it holds " + path_.string());
          told = true;
        }
        while (::flock(fd_, LOCK_EX) != 0) {
          if (errno != EINTR) fail("cannot lock", errno);
        }
      }
      struct stat held {}, named {};
      if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
          held.st_ino == named.st_ino) {
        break;
      }
      ::close(fd_);  // the run we waited for removed this file: lock the one at the path now
    }
    // Who holds it, for the message of a run that has to wait.
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // Only the message of a waiting run needs the pid; the lock holds without it.
    }
  }
  ~RegenLock() {
    ::unlink(path_.c_str());  // while still locked: see the class comment
    ::close(fd_);
  }
  RegenLock(const RegenLock&) = delete;
  RegenLock& operator=(const RegenLock&) = delete;

 private:
  [[noreturn]] void fail(const std::string& what, int error) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error(path_.string() + ": " + what + ": " + std::strerror(error));
  }
  std::string holder() const {
    char text[32] = {};
    const ssize_t n = ::pread(fd_, text, sizeof text - 1, 0);
    return n > 0 ? " (pid " + std::string(text, static_cast<size_t>(n)) + ")" : "";
  }

  fs::path path_;
  int fd_ = -1;
};

}  // namespace

std::vector<fs::path> golden_json_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".json" && name[0] != '.') out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

RegenReport regenerate_traces(const fs::path& golden_dir, const std::function<void(const std::string&)>& on_wait) {
  const fs::path traces_dir = golden_dir / "traces";
  std::error_code error;
  fs::create_directories(traces_dir, error);
  if (error) throw std::runtime_error(traces_dir.string() + ": cannot create: " + error.message());
  // Held from before the old files are read (the differences are against what a run we waited
  // for wrote) until after the new ones are in place.
  const RegenLock lock(traces_dir / kRegenLockName, on_wait);
  RegenReport report;
  for (const fs::path& p : formats::remove_all_or_nothing_leftovers(traces_dir, ".json")) {
    report.removed_leftovers.push_back(trace_relative_name(p));
  }
  const std::vector<TraceSpec> specs = canonical_traces();
  std::vector<FileWrite> writes;
  for (const TraceSpec& spec : specs) {  // everything in memory before anything is written
    const GeneratedTrace generated = generate_trace(spec);
    const fs::path path = traces_dir / (spec.name + ".json");
    RegenEntry entry;
    entry.file = trace_relative_name(path);
    const std::optional<std::string> old = read_text(path);
    if (!old) {
      entry.status = TraceFileStatus::created;
    } else if (*old != generated.text) {
      entry.status = TraceFileStatus::updated;
      try {
        const Json before = parse_json_text(*old, path.string());
        entry.changes = json_differences(before, parse_json_text(generated.text, "generated"), kShownChanges,
                                         &entry.change_count);
      } catch (const InputError& e) {
        entry.changes = {std::string("was not valid JSON: ") + e.what()};
        entry.change_count = 1;
      }
      if (entry.change_count == 0) {
        entry.changes = {"layout only (the same values)"};
        entry.change_count = 1;
      }
    }
    if (entry.status != TraceFileStatus::unchanged) writes.push_back({path, generated.text});
    report.entries.push_back(std::move(entry));
  }
  if (!writes.empty()) write_all_or_nothing(writes);
  report.orphans = orphans(traces_dir, specs);
  return report;
}

VerifyReport verify_golden(const fs::path& golden_dir) {
  VerifyReport report;
  const fs::path traces_dir = golden_dir / "traces";
  const std::vector<TraceSpec> specs = canonical_traces();
  for (const TraceSpec& spec : specs) {
    const fs::path path = traces_dir / (spec.name + ".json");
    const std::string name = trace_relative_name(path);
    ++report.traces_checked;
    const std::optional<std::string> text = read_text(path);
    if (!text) {
      report.differences.push_back(name + ": missing (run `attncheck golden regen`)");
      continue;
    }
    const GeneratedTrace generated = generate_trace(spec);
    if (*text == generated.text) continue;
    Json on_disk;
    try {
      on_disk = parse_json_text(*text, path.string());
      read_trace(on_disk, path.string());
    } catch (const InputError& e) {
      report.malformed.push_back(e.what());
      continue;
    }
    size_t total = 0;
    const auto lines = json_differences(on_disk, parse_json_text(generated.text, "generated"), kShownChanges, &total);
    for (const std::string& line : lines) report.differences.push_back(name + ": " + line);
    if (total > lines.size()) {
      report.differences.push_back(name + ": ... and " + std::to_string(total - lines.size()) + " more differences");
    }
    if (total == 0) {
      report.differences.push_back(name + ": the same values, laid out differently (run `attncheck golden regen`)");
    }
  }
  for (const std::string& orphan : orphans(traces_dir, specs)) {
    report.differences.push_back(orphan + ": no generator produces this trace (remove it, or add its problem to "
                                          "golden/src/canonical.cpp)");
  }
  const std::vector<fs::path> published = golden_json_files(golden_dir / "published");
  if (published.empty()) report.differences.push_back("published/: no published golden files");
  for (const fs::path& path : published) {
    try {
      const PublishedFile file = read_published_file(path.string());
      const PublishedCheck check = check_published(file);
      ++report.published_files;
      report.published_values += static_cast<int>(check.results.size());
      report.errata += check.errata();
      for (const QuantityResult& r : check.results) {
        if (!is_failure(r.verdict)) continue;
        const PublishedQuantity& q = *r.quantity;
        report.differences.push_back(trace_relative_name(path) + ": " + q.field + " (" + q.id + "): " + verdict_name(r.verdict) +
                                     ": published " + q.published + ", oracle " + r.oracle_text +
                                     (q.erratum ? ", erratum records " + q.erratum->oracle : ""));
      }
    } catch (const InputError& e) {
      report.malformed.push_back(e.what());
    }
  }
  return report;
}

}  // namespace attncheck::golden
