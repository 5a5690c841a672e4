#include "env_knobs.hpp"

#include <cstdlib>
#include <limits>
#include <map>

namespace attncheck::properties {
namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// RC_PARAMS as rapidcheck's map parser reads it (src/detail/MapParser.cpp): pairs separated by
// blanks, `key=value` or a bare `key`, a key or value either unquoted (up to the next blank,
// and for a key the next '=') or quoted with ' or " and backslash escapes. Kept in step with
// it so that the value checked here is the value rapidcheck uses.
std::map<std::string, std::string> split_rc_params(std::string_view text) {
  std::map<std::string, std::string> pairs;
  size_t pos = 0;
  const auto skip_blanks = [&] {
    while (pos < text.size() && blank(text[pos])) ++pos;
  };
  const auto read = [&](bool is_key) {
    std::string out;
    if (pos < text.size() && (text[pos] == '\'' || text[pos] == '"')) {
      const char quote = text[pos++];
      bool escape = false;
      for (; pos < text.size(); ++pos) {
        const char c = text[pos];
        if (!escape && c == '\\') {
          escape = true;
        } else if (!escape && c == quote) {
          ++pos;
          return out;
        } else {
          out += c;
          escape = false;
        }
      }
      throw KnobError("RC_PARAMS='" + std::string(text) + "': a quoted string is not closed");
    }
    while (pos < text.size() && !blank(text[pos]) && !(is_key && text[pos] == '=')) out += text[pos++];
    return out;
  };
  while (true) {
    skip_blanks();
    if (pos >= text.size()) break;
    std::string key = read(true);
    if (key.empty()) break;  // rapidcheck stops at the same place
    skip_blanks();
    std::string value;
    if (pos < text.size() && text[pos] == '=') {
      ++pos;
      skip_blanks();
      value = read(false);
    }
    pairs[key] = value;
  }
  return pairs;
}

int64_t as_count(uint64_t n) { return static_cast<int64_t>(n); }  // callers keep n <= kMaxCases

}  // namespace

uint64_t parse_whole_number(std::string_view name, std::string_view text, uint64_t min, uint64_t max) {
  const auto fail = [&](const std::string& why) -> uint64_t {
    throw KnobError(std::string(name) + "=" + std::string(text) + ": " + why);
  };
  if (text.empty()) return fail("empty; expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  uint64_t value = 0;
  bool overflow = false;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return fail("not a whole number (digits only: no sign, blank, decimal point or exponent); expected " +
                  std::to_string(min) + " to " + std::to_string(max));
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) overflow = true;
    if (!overflow) value = value * 10 + digit;
  }
  if (overflow || value < min || value > max) {
    return fail("out of range; expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

std::optional<int64_t> soak_setting() {
  const char* soak = std::getenv("ATTNCHECK_SOAK");
  if (soak == nullptr || *soak == '\0') return std::nullopt;
  return as_count(parse_whole_number("ATTNCHECK_SOAK", soak, 0, kMaxCases));
}

RcNumbers rc_numbers() {
  RcNumbers out;
  const char* env = std::getenv("RC_PARAMS");
  if (env == nullptr) return out;
  const std::map<std::string, std::string> pairs = split_rc_params(env);
  const auto number = [&](const char* key, uint64_t max) -> std::optional<uint64_t> {
    const auto it = pairs.find(key);
    if (it == pairs.end()) return std::nullopt;
    return parse_whole_number(std::string("RC_PARAMS ") + key, it->second, 0, max);
  };
  out.seed = number("seed", std::numeric_limits<uint64_t>::max());
  if (auto n = number("max_success", kMaxCases)) out.max_success = as_count(*n);
  if (auto n = number("max_size", kMaxRcSize)) out.max_size = as_count(*n);
  if (auto n = number("max_discard_ratio", kMaxDiscardRatio)) out.max_discard_ratio = as_count(*n);
  return out;
}

std::string knob_errors() {
  std::string errors;
  try {
    soak_setting();
  } catch (const KnobError& e) {
    errors += std::string(e.what()) + "\n";
  }
  try {
    rc_numbers();
  } catch (const KnobError& e) {
    errors += std::string(e.what()) + "\n";
  }
  return errors;
}

}  // namespace attncheck::properties
