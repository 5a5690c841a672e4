// A law: a property every capable kernel must satisfy, checked by rapidcheck over generated
// cases that shrink to a minimal counterexample. The same Law object is run by the suite
// against every registered kernel (property_main.cpp) and by the meta-tests against a
// deliberately broken kernel it must reject (meta_test.cpp).
#pragma once

#include <cassert>  // rapidcheck/detail/Variant.hpp uses assert without including it
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "attncheck/kernel.hpp"
#include "attncheck/problem.hpp"
#include "rapidcheck/detail/Configuration.h"

namespace attncheck::properties {

// How a failing case is shown: the problem is written as a file `attncheck trace` reads, and
// the kernel's and the oracle's values of `rows` are printed next to `detail`.
struct Witness {
  Problem problem;
  std::string detail;          // the law's own numbers: what differed, by how much
  std::vector<int64_t> rows;   // flat rows (b * q_heads * q_len + h * q_len + i) to print
  bool through_decode = false;  // the kernel is run by its decode entry point
  // A gradient law's case: the problem carries dO, `rows` name query rows whose dQ is shown, and
  // the trace command is `attncheck trace --backward FILE`.
  bool backward = false;
};

// State of one law checked against one kernel: the kernel, the witness of the latest failing
// case, and tallies the law's summary line reads. rapidcheck evaluates the minimal case last,
// so after a failed check the witness is the minimal counterexample's.
class LawRun {
 public:
  explicit LawRun(const KernelInfo& kernel) : kernel_(kernel) {}
  const KernelInfo& kernel() const { return kernel_; }

  // Called before each case: a case that fails without a witness leaves none behind.
  void begin_case() { witness_.reset(); }
  // Records the witness, then fails the current case with the message.
  [[noreturn]] void fail(Witness witness, const std::string& message);
  const std::optional<Witness>& witness() const { return witness_; }

  // Tallies: the largest value seen under a key, and counters.
  void note_max(const std::string& key, double value);
  void count(const std::string& key, int64_t n = 1) { counts_[key] += n; }
  // Running sums of real values (a statistic pooled over every case of the run).
  void add(const std::string& key, double value) { sums_[key] += value; }
  double max_of(const std::string& key) const;
  const std::map<std::string, double>& maxima() const { return maxima_; }
  int64_t count_of(const std::string& key) const;
  double sum_of(const std::string& key) const;

  // Reach: the shape of a problem the law drew (draw_problem calls it through note_reach):
  // the largest kv_len, and per key tile (key_tiles(kernel), and 2048 for a kernel with a
  // decode entry point) the tile edges its keys cross, (kv_len - 1) / tile.
  void note_shape(const AttentionShape& shape);
  std::vector<int64_t> reach_tiles() const;
  // "largest kv_len 769, q_len 513; tile edges crossed: 64: 412 in 31 cases, ..."
  std::string reach_summary() const;
  // Why a default-size run did not reach far enough, or "": no case crossed an edge of one of
  // the kernel's key tiles (key_tiles(kernel)).
  std::string reach_gaps() const;

 private:
  const KernelInfo& kernel_;
  std::optional<Witness> witness_;
  std::map<std::string, double> maxima_;
  std::map<std::string, int64_t> counts_;
  std::map<std::string, double> sums_;
};

struct Law {
  std::string family;     // "MaskLeakage"
  std::string name;       // "ChangingInvisibleKeysLeavesOutputBitIdentical"
  std::string statement;  // the law in one sentence, with its tolerance
  int cases = 50;         // cases per kernel in the default run
  int soak_cases = 10000; // cases per kernel under ATTNCHECK_SOAK=1
  std::function<bool(const KernelInfo&)> applies;
  // One case: draws inputs with rapidcheck generators (*gen), fails through LawRun::fail or
  // RC_ASSERT.
  std::function<void(LawRun&)> check_case;
  // Optional: once every case passed, checks facts about the whole run (e.g. which features
  // were exercised) and returns why it fails, or "".
  std::function<std::string(const LawRun&)> finish;
  // Optional: the line printed per kernel after the run, pass or fail.
  std::function<std::string(const LawRun&)> summary;
  // Whether the law draws long lengths (generators.hpp, the long regime): then a default-size
  // run that never crossed an edge of one of the kernel's key tiles fails (LawRun::reach_gaps).
  // Off only for laws whose cases are one-key samples (the two variance laws).
  bool reaches_tiles = true;

  std::string id() const { return family + "." + name; }
};

struct LawOutcome {
  bool passed = false;
  std::string report;            // rapidcheck's report (or finish()'s reason) on failure
  std::string summary;           // the law's summary line, if it has one
  std::string reach;             // LawRun::reach_summary(): how far the lengths went
  std::map<std::string, double> maxima;  // the run's tallies (LawRun::note_max), for the summary
  std::optional<Witness> witness;
  std::string replay_params;     // the RC_PARAMS value that replays the minimal case
  uint64_t seed = 0;
  int cases = 0;                 // cases asked for
  int checked = 0;               // cases rapidcheck ran to the end (a failing one included)
};

// Cases for a law, and where the number came from (for the message when it is 0):
// ATTNCHECK_SOAK (1: the law's soak_cases, 10,000 unless a case is itself a large sample;
// N != 1: N), else RC_PARAMS' max_success when given, else the law's default. Both knobs are
// parsed strictly (env_knobs.hpp); a bad value throws KnobError.
struct CaseCount {
  int cases = 0;
  std::string source;  // "ATTNCHECK_SOAK=0", "RC_PARAMS max_success=0", ...
};
CaseCount case_count_for(const Law& law);
int cases_for(const Law& law);

// The seed: RC_PARAMS' seed when given; else a fixed seed derived from the law's id, so
// every run checks the same cases (and every kernel of a law sees the same draws).
uint64_t seed_for(const Law& law);

// Notes a drawn shape in the run check_law is running on this thread (none: does nothing).
void note_reach(const AttentionShape& shape);

// rapidcheck's configuration (RC_PARAMS), loaded on the first call without the line
// "Using configuration: seed=..." rapidcheck prints then: its seed is not the one the laws use
// (seed_for), so it would mislead whoever copies it. Call it before anything else touches
// rapidcheck; check_law does.
const rc::detail::Configuration& rc_configuration();

// Runs `cases` cases (0: cases_for(law)). A run that checked no case fails, whatever asked for
// zero (RC_PARAMS max_success=0, ATTNCHECK_SOAK=0, a reproduce= naming other tests, every
// case discarded): its report says so and why.
LawOutcome check_law(const Law& law, const KernelInfo& kernel, int cases = 0);

}  // namespace attncheck::properties
