// `golden regen` and `golden verify` over a golden directory (golden/ with traces/ and
// published/ inside).
//
// regen computes every trace of canonical_traces() in memory first, then writes the files
// that changed all or nothing (atomic_write.hpp), and reports each file as unchanged,
// updated (with what changed) or new. It never deletes: a trace file no generator produces is
// reported as an orphan, and verify fails on it.
//
// One regen at a time per traces directory: a run holds an flock() lock on
// traces/.regen.lock from before it reads the old files until the new ones are in place, and a
// second run waits for it (saying so through on_wait) rather than failing. The kernel releases
// the lock of a run that is killed, and a finished run removes the file. Under the lock, a run
// first removes the ".NAME.json.tmp" and ".NAME.json.bak" files a killed run left in traces/
// (atomic_write.hpp; no other file) and reports them.
//
// verify writes nothing. It regenerates in memory and compares every trace file with it,
// value by value (the pinned f64 text exactly) and then byte by byte; and it checks every
// published file (published.hpp). A malformed file is reported with the InputError
// that names its file and field.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace attncheck::golden {

enum class TraceFileStatus { unchanged, updated, created };

struct RegenEntry {
  std::string file;  // traces/NAME.json
  TraceFileStatus status = TraceFileStatus::unchanged;
  std::vector<std::string> changes;  // the first differences, for updated files
  size_t change_count = 0;
};

struct RegenReport {
  std::vector<RegenEntry> entries;
  std::vector<std::string> orphans;
  std::vector<std::string> removed_leftovers;  // traces/.NAME.json.tmp or .bak of a killed run
};

// The lock file in traces/ (a dot-file: golden_json_files() never lists it).
inline constexpr const char* kRegenLockName = ".regen.lock";

// Throws std::runtime_error (nothing written) when generation or writing fails. Creates
// golden_dir/traces. Calls on_wait, when given, once if another run holds the lock, then waits.
RegenReport regenerate_traces(const std::filesystem::path& golden_dir,
                              const std::function<void(const std::string&)>& on_wait = {});

struct VerifyReport {
  std::vector<std::string> differences;  // one readable line each
  std::vector<std::string> malformed;    // InputError messages
  int traces_checked = 0;
  int published_files = 0;
  int published_values = 0;
  int errata = 0;
  bool ok() const { return differences.empty() && malformed.empty(); }
};

VerifyReport verify_golden(const std::filesystem::path& golden_dir);

// *.json files directly in dir, sorted by name; none if dir does not exist.
std::vector<std::filesystem::path> golden_json_files(const std::filesystem::path& dir);

}  // namespace attncheck::golden
