#include "law.hpp"

#include <rapidcheck.h>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string_view>

#include "env_knobs.hpp"
#include "generators.hpp"

#include "rapidcheck/detail/Configuration.h"
#include "rapidcheck/detail/TestListener.h"

namespace attncheck::properties {
namespace {

// Base of the default seeds; any fixed value works, this one spells "attnchk".
constexpr uint64_t kDefaultSeedBase = 0x61747473636b6b68ull;

// FNV-1a, so a law's default seed is the same on every platform and run.
uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// rapidcheck's default listener prints progress and, at exit, a reproduce line for every
// failure, including the failures the meta-tests expect; the suite prints its own report.
class QuietListener : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

// Passes what is written to it on to `target`, line by line, except rapidcheck's
// "Using configuration: seed=..." line. That line shows rapidcheck's own seed (random unless
// RC_PARAMS sets one), which is not the seed the laws use (seed_for), so copying it would not
// reproduce anything. Every other line (an error about RC_PARAMS, say) still gets through.
class DropConfigurationLine : public std::streambuf {
 public:
  explicit DropConfigurationLine(std::streambuf* target) : target_(target) {}
  ~DropConfigurationLine() override { pass_on(); }

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    line_ += static_cast<char>(c);
    if (c == '\n') pass_on();
    return c;
  }

 private:
  void pass_on() {
    if (line_.rfind("Using configuration:", 0) != 0) {
      target_->sputn(line_.data(), static_cast<std::streamsize>(line_.size()));
      target_->pubsync();
    }
    line_.clear();
  }
  std::streambuf* target_;
  std::string line_;
};

}  // namespace

const rc::detail::Configuration& rc_configuration() {
  static std::once_flag once;
  std::call_once(once, [] {
    DropConfigurationLine filter(std::cerr.rdbuf());
    std::streambuf* const saved = std::cerr.rdbuf(&filter);
    try {
      rc::detail::configuration();
    } catch (...) {
      std::cerr.rdbuf(saved);
      throw;
    }
    std::cerr.rdbuf(saved);
  });
  return rc::detail::configuration();
}

void LawRun::fail(Witness witness, const std::string& message) {
  witness_ = std::move(witness);
  RC_FAIL(message);
  throw std::logic_error("unreachable: RC_FAIL returned");
}

void LawRun::note_max(const std::string& key, double value) {
  auto [it, inserted] = maxima_.try_emplace(key, value);
  if (!inserted && (value > it->second || value != value)) it->second = value;
}

double LawRun::max_of(const std::string& key) const {
  const auto it = maxima_.find(key);
  return it == maxima_.end() ? 0.0 : it->second;
}

int64_t LawRun::count_of(const std::string& key) const {
  const auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

namespace {
// The run check_law is running on this thread, for note_reach (draw_problem's hook).
thread_local LawRun* t_current_run = nullptr;
}  // namespace

void note_reach(const AttentionShape& shape) {
  if (t_current_run != nullptr) t_current_run->note_shape(shape);
}

std::vector<int64_t> LawRun::reach_tiles() const {
  std::vector<int64_t> tiles = key_tiles(kernel_);
  if (kernel_.decode != nullptr) tiles.push_back(2048);  // flash-decoding's chunk
  return tiles;
}

void LawRun::note_shape(const AttentionShape& s) {
  note_max("reach kv_len", static_cast<double>(s.kv_len));
  note_max("reach q_len", static_cast<double>(s.q_len));
  for (int64_t tile : reach_tiles()) {
    const int64_t edges = (s.kv_len - 1) / tile;
    if (edges <= 0) continue;
    count("reach edges " + std::to_string(tile), edges);
    count("reach cases " + std::to_string(tile));
  }
}

std::string LawRun::reach_summary() const {
  std::string out = "reach: largest kv_len " + std::to_string(static_cast<int64_t>(max_of("reach kv_len"))) +
                    ", q_len " + std::to_string(static_cast<int64_t>(max_of("reach q_len"))) +
                    "; key tile edges crossed:";
  for (int64_t tile : reach_tiles()) {
    const std::string t = std::to_string(tile);
    out += " " + t + ": " + std::to_string(count_of("reach edges " + t)) + " in " +
           std::to_string(count_of("reach cases " + t)) + " cases" + (tile == 2048 ? " (decode chunk)" : "") + ",";
  }
  out.pop_back();
  if (kernel_.key_tile == 0) out += " (tile undeclared)";
  return out;
}

std::string LawRun::reach_gaps() const {
  std::string gaps;
  for (int64_t tile : key_tiles(kernel_)) {
    if (count_of("reach cases " + std::to_string(tile)) == 0) gaps += (gaps.empty() ? "" : ", ") + std::to_string(tile);
  }
  if (gaps.empty()) return "";
  return "no case crossed an edge of the " + gaps + "-key tile" + (kernel_.key_tile == 0 ? "s (the tile is undeclared)" : "") +
         ": the largest kv_len drawn was " + std::to_string(static_cast<int64_t>(max_of("reach kv_len"))) +
         ", so a bug at the kernel's tile edges could not show. A law that never reached them proves nothing there.";
}

double LawRun::sum_of(const std::string& key) const {
  const auto it = sums_.find(key);
  return it == sums_.end() ? 0.0 : it->second;
}

CaseCount case_count_for(const Law& law) {
  if (const std::optional<int64_t> soak = soak_setting()) {
    if (*soak == 1) return {law.soak_cases, "ATTNCHECK_SOAK=1 (this law's soak count)"};
    return {static_cast<int>(*soak), "ATTNCHECK_SOAK=" + std::to_string(*soak)};
  }
  if (const std::optional<int64_t> n = rc_numbers().max_success) {
    return {static_cast<int>(*n), "RC_PARAMS max_success=" + std::to_string(*n)};
  }
  return {law.cases, "this law's default case count"};
}

int cases_for(const Law& law) { return case_count_for(law).cases; }

uint64_t seed_for(const Law& law) {
  if (const std::optional<uint64_t> seed = rc_numbers().seed) return *seed;
  return kDefaultSeedBase ^ fnv1a(law.id());
}

namespace {

// Why a run that rapidcheck calls a success checked no case at all, or "" when it checked some.
std::string why_nothing_was_checked(int checked, const CaseCount& count, const std::string& id) {
  if (checked > 0) return "";
  std::string why;
  const auto& reproduce = rc_configuration().reproduce;
  if (!reproduce.empty() && reproduce.find(id) == reproduce.end()) {
    why = "RC_PARAMS reproduce= replays only";
    for (const auto& [other, _] : reproduce) why += " " + other;
    why += ", so rapidcheck skipped " + id + " (run the replay command with its --gtest_filter)";
  } else {
    why = count.source + " asks for " + std::to_string(count.cases) + " cases (ask for at least one)";
  }
  return "no case was checked: " + why + ". A law that checked nothing proves nothing about the kernel, so it fails.";
}

}  // namespace

LawOutcome check_law(const Law& law, const KernelInfo& kernel, int cases) {
  LawRun run(kernel);
  rc::detail::TestMetadata metadata;
  metadata.id = law.id() + "/" + kernel.name;
  metadata.description = law.statement;
  // Strict parsing first: a malformed knob throws KnobError here, before rapidcheck reads a
  // prefix of it.
  const RcNumbers numbers = rc_numbers();
  const CaseCount count = cases > 0 ? CaseCount{cases, "the test's own case count"} : case_count_for(law);
  rc::detail::TestParams params = rc_configuration().testParams;
  params.seed = seed_for(law);
  params.maxSuccess = count.cases;
  if (numbers.max_size) params.maxSize = static_cast<int>(*numbers.max_size);
  if (numbers.max_discard_ratio) params.maxDiscardRatio = static_cast<int>(*numbers.max_discard_ratio);
  QuietListener listener;
  struct CurrentRun {  // note_reach goes to this run while rapidcheck runs it
    explicit CurrentRun(LawRun* run) : saved(t_current_run) { t_current_run = run; }
    ~CurrentRun() { t_current_run = saved; }
    LawRun* saved;
  } current(&run);
  const rc::detail::TestResult result = rc::detail::checkProperty(
      rc::detail::toProperty([&] {
        run.begin_case();
        law.check_case(run);
      }), metadata, params, listener,
      rc_configuration().reproduce);

  LawOutcome outcome;
  outcome.seed = params.seed;
  outcome.cases = params.maxSuccess;
  if (result.is<rc::detail::SuccessResult>()) {
    // rapidcheck calls a run of zero cases a success: max_success=0, or a reproduce= for
    // another test. The verdict must not say "holds" about a kernel it never ran.
    outcome.checked = result.get<rc::detail::SuccessResult>().numSuccess;
    outcome.report = why_nothing_was_checked(outcome.checked, count, metadata.id);
    outcome.passed = outcome.report.empty();
    if (outcome.passed && law.finish) {
      outcome.report = law.finish(run);
      outcome.passed = outcome.report.empty();
    }
    // A default-size run (or a soak) must have crossed the kernel's tile edges; a shorter one
    // (RC_PARAMS max_success, a meta-test's own count below the default) is not judged.
    if (outcome.passed && law.reaches_tiles && count.cases >= law.cases) {
      outcome.report = run.reach_gaps();
      outcome.passed = outcome.report.empty();
    }
  } else {
    std::ostringstream report;
    rc::detail::printResultMessage(result, report);
    outcome.report = report.str();
    if (result.is<rc::detail::GaveUpResult>()) {
      // Every case but numSuccess was discarded (RC_PRE, RC_DISCARD): say when that means none
      // was checked at all.
      outcome.checked = result.get<rc::detail::GaveUpResult>().numSuccess;
      if (outcome.checked == 0) {
        outcome.report += "\nno case was checked: rapidcheck discarded every case it drew (" +
                          std::to_string(params.maxDiscardRatio) + " x " + std::to_string(params.maxSuccess) +
                          " allowed), so the law proves nothing about the kernel.";
      }
    }
    if (result.is<rc::detail::FailureResult>()) {
      outcome.checked = result.get<rc::detail::FailureResult>().numSuccess + 1;  // with the failing one
      rc::detail::Configuration replay;
      replay.testParams = params;
      replay.reproduce[metadata.id] = result.get<rc::detail::FailureResult>().reproduce;
      outcome.replay_params = rc::detail::configToMinimalString(replay);
      outcome.witness = run.witness();
    }
  }
  if (law.summary) outcome.summary = law.summary(run);
  if (law.reaches_tiles) outcome.reach = run.reach_summary();
  outcome.maxima = run.maxima();
  return outcome;
}

}  // namespace attncheck::properties
