// The numbers the property suite reads from the environment, parsed strictly: ATTNCHECK_SOAK
// and the numeric keys of RC_PARAMS (seed, max_success, max_size, max_discard_ratio).
//
// strtol and rapidcheck's own `istream >> int` read a prefix and ignore the rest, or wrap
// around: "2.5" ran 2 cases, "1e4" ran 1, "4294967297" ran 1, and "99999999999" made
// rapidcheck reserve room for ~10^9 cases and die with bad_alloc inside a law, as if the
// kernel had failed. Here a value is a whole decimal number (digits only: no sign, blank,
// point or exponent) within its range, or it is an error naming the variable and the value.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace attncheck::properties {

// The most cases one law may run against one kernel, from any source. rapidcheck reserves
// room for every case up front (24 bytes each), and at the suite's rate (milliseconds to
// seconds a case) a million cases of one law is already hours; anything larger is a typo.
inline constexpr int64_t kMaxCases = 1'000'000;
// rapidcheck's largest generation size and discard ratio: larger sizes only hit the
// generators' own limits, and max_discard_ratio * max_success must stay within an int.
inline constexpr int64_t kMaxRcSize = 10'000;
inline constexpr int64_t kMaxDiscardRatio = 1'000;

// A malformed or out-of-range environment value. what() names the variable and the value.
class KnobError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// `text` as a whole decimal number in [min, max]; throws KnobError naming `name` and `text`.
uint64_t parse_whole_number(std::string_view name, std::string_view text, uint64_t min, uint64_t max);

// ATTNCHECK_SOAK: nullopt when unset or empty; otherwise 0..kMaxCases (1 means "each law's
// soak count", N != 1 means N cases). Throws KnobError.
std::optional<int64_t> soak_setting();

// The numeric keys of RC_PARAMS that the suite or rapidcheck reads, each nullopt when RC_PARAMS
// does not set it. Throws KnobError (naming RC_PARAMS, the key and the value) when a value is
// not a whole number in range: seed 0..2^64-1, max_success 0..kMaxCases, max_size
// 0..kMaxRcSize, max_discard_ratio 0..kMaxDiscardRatio. RC_PARAMS is split into key=value
// pairs as rapidcheck splits it (blanks between pairs, values optionally quoted).
struct RcNumbers {
  std::optional<uint64_t> seed;
  std::optional<int64_t> max_success;
  std::optional<int64_t> max_size;
  std::optional<int64_t> max_discard_ratio;
};
RcNumbers rc_numbers();

// Every knob above checked at once: "" when all are valid, else one line per error. The test
// programs call it before running anything, so a bad value stops the run instead of running
// something other than what was asked.
std::string knob_errors();

}  // namespace attncheck::properties
