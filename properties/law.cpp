#include "law.hpp"

#include <rapidcheck.h>

#include <cstdlib>
#include <sstream>
#include <string_view>

#include "rapidcheck/detail/Configuration.h"
#include "rapidcheck/detail/TestListener.h"

namespace attncheck::properties {
namespace {

// Base of the default seeds; any fixed value works, this one spells "attnchk".
constexpr uint64_t kDefaultSeedBase = 0x61747473636b6b68ull;

// True when RC_PARAMS sets `key` explicitly (rapidcheck's own default seed is random).
bool rc_params_set(std::string_view key) {
  const char* env = std::getenv("RC_PARAMS");
  if (env == nullptr) return false;
  std::string text = " ", wanted = " ";  // appends, not operator+: GCC 12 warns falsely on it
  text.append(env);
  wanted.append(key).append("=");
  return text.find(wanted) != std::string::npos;
}

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

}  // namespace

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

int cases_for(const Law& law) {
  if (const char* soak = std::getenv("ATTNCHECK_SOAK"); soak != nullptr && *soak != '\0') {
    const long n = std::strtol(soak, nullptr, 10);
    if (n == 1) return law.soak_cases;
    if (n > 1) return static_cast<int>(n);
  }
  if (rc_params_set("max_success")) return rc::detail::configuration().testParams.maxSuccess;
  return law.cases;
}

uint64_t seed_for(const Law& law) {
  if (rc_params_set("seed")) return rc::detail::configuration().testParams.seed;
  return kDefaultSeedBase ^ fnv1a(law.id());
}

LawOutcome check_law(const Law& law, const KernelInfo& kernel, int cases) {
  LawRun run(kernel);
  rc::detail::TestMetadata metadata;
  metadata.id = law.id() + "/" + kernel.name;
  metadata.description = law.statement;
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.seed = seed_for(law);
  params.maxSuccess = cases > 0 ? cases : cases_for(law);
  QuietListener listener;
  const rc::detail::TestResult result = rc::detail::checkProperty(
      rc::detail::toProperty([&] {
        run.begin_case();
        law.check_case(run);
      }), metadata, params, listener,
      rc::detail::configuration().reproduce);

  LawOutcome outcome;
  outcome.seed = params.seed;
  outcome.cases = params.maxSuccess;
  if (result.is<rc::detail::SuccessResult>()) {
    outcome.passed = true;
    if (law.finish) {
      outcome.report = law.finish(run);
      outcome.passed = outcome.report.empty();
    }
  } else {
    std::ostringstream report;
    rc::detail::printResultMessage(result, report);
    outcome.report = report.str();
    if (result.is<rc::detail::FailureResult>()) {
      rc::detail::Configuration replay;
      replay.testParams = params;
      replay.reproduce[metadata.id] = result.get<rc::detail::FailureResult>().reproduce;
      outcome.replay_params = rc::detail::configToMinimalString(replay);
      outcome.witness = run.witness();
    }
  }
  if (law.summary) outcome.summary = law.summary(run);
  return outcome;
}

}  // namespace attncheck::properties
