#include "attncheck/golden/regen.hpp"

#include <algorithm>
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

RegenReport regenerate_traces(const fs::path& golden_dir) {
  const fs::path traces_dir = golden_dir / "traces";
  const std::vector<TraceSpec> specs = canonical_traces();
  RegenReport report;
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
  if (!writes.empty()) {
    std::error_code error;
    fs::create_directories(traces_dir, error);
    if (error) throw std::runtime_error(traces_dir.string() + ": cannot create: " + error.message());
    write_all_or_nothing(writes);
  }
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
