#include "attncheck/oracle/row_selection.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "attncheck/random_problem.hpp"

namespace attncheck::oracle {
namespace {

// A whole decimal number, no sign, no spaces; what std::from_chars accepts of it must be all.
template <typename T>
bool parse_number(const std::string& text, T& value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

int64_t row_number(const std::string& entry, const std::string& text) {
  int64_t row = 0;
  if (!parse_number(text, row)) {
    throw RowSpecError("'" + entry + "': '" + text + "' is not a row number (a whole number from 0)");
  }
  return row;
}

}  // namespace

RowSpec parse_row_spec(const std::string& text) {
  RowSpec spec;
  if (text.empty()) throw RowSpecError("empty: give rows (0,5,100-120) or a sample (sample:64)");
  if (text.rfind("sample:", 0) == 0) {
    const std::string rest = text.substr(7);
    const size_t colon = rest.find(':');
    const std::string count = rest.substr(0, colon);
    if (!parse_number(count, spec.sample)) {
      throw RowSpecError("'" + text + "': '" + count + "' is not a row count (sample:N or sample:N:SEED)");
    }
    if (spec.sample == 0) throw RowSpecError("'" + text + "': a sample of 0 rows checks nothing");
    if (colon != std::string::npos) {
      const std::string seed = rest.substr(colon + 1);
      if (!parse_number(seed, spec.seed)) throw RowSpecError("'" + text + "': '" + seed + "' is not a seed");
    }
    return spec;
  }
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string entry = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (entry.empty()) throw RowSpecError("'" + text + "' has an empty entry");
    const size_t dash = entry.find('-');
    if (dash == std::string::npos) {
      const int64_t row = row_number(entry, entry);
      spec.ranges.emplace_back(row, row);
    } else {
      const int64_t first = row_number(entry, entry.substr(0, dash));
      const int64_t last = row_number(entry, entry.substr(dash + 1));
      if (last < first) throw RowSpecError("'" + entry + "': the range ends before it starts");
      spec.ranges.emplace_back(first, last);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return spec;
}

std::vector<int64_t> select_rows(const RowSpec& spec, const AttentionShape& shape) {
  const int64_t total = lse_elements(shape);
  if (spec.sample > 0) return sample_rows(shape, spec.sample, spec.seed);
  if (spec.ranges.empty()) throw RowSpecError("no rows selected");
  std::vector<int64_t> rows;
  for (const auto& [first, last] : spec.ranges) {
    if (last >= total) {
      throw RowSpecError("row " + std::to_string(last) + " is past the last row, " + std::to_string(total - 1) +
                         " (B=" + std::to_string(shape.batch) + " x H=" + std::to_string(shape.q_heads) +
                         " x Lq=" + std::to_string(shape.q_len) + "; row = (b * H + h) * Lq + i)");
    }
    for (int64_t r = first; r <= last; ++r) rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

std::vector<int64_t> sample_rows(const AttentionShape& shape, int64_t count, uint64_t seed) {
  const int64_t total = lse_elements(shape);
  std::vector<int64_t> all;
  if (count >= total) {
    all.resize(total);
    for (int64_t r = 0; r < total; ++r) all[r] = r;
    return all;
  }
  std::set<int64_t> chosen;
  const auto take = [&](int64_t r) {
    if (static_cast<int64_t>(chosen.size()) < count && r >= 0 && r < total) chosen.insert(r);
  };
  // The rows where kernels go wrong first: the ends, each head's ends (GQA maps, masks and
  // offsets change there), and the query tile edges of the common 64 and 128 tiles.
  take(0);
  take(total - 1);
  const int64_t heads = shape.batch * shape.q_heads;
  for (int64_t head = 0; head < heads; ++head) take(head * shape.q_len);
  for (int64_t head = 0; head < heads; ++head) take(head * shape.q_len + shape.q_len - 1);
  for (int64_t edge : {63, 64, 127, 128}) {
    if (edge >= shape.q_len - 1) continue;
    for (int64_t head = 0; head < heads; ++head) take(head * shape.q_len + edge);
  }
  // The rest at random, one per equal stretch of [0, total), so they spread over every head
  // and position; a draw that repeats a row draws again, and a few passes fill any shortfall.
  SplitMix64 random(seed);
  for (int pass = 0; pass < 8 && static_cast<int64_t>(chosen.size()) < count; ++pass) {
    const int64_t wanted = count - static_cast<int64_t>(chosen.size());
    for (int64_t k = 0; k < wanted; ++k) {
      const int64_t begin = total * k / wanted, end = total * (k + 1) / wanted;
      if (end > begin) take(begin + static_cast<int64_t>(random.next() % static_cast<uint64_t>(end - begin)));
    }
  }
  for (int64_t r = 0; static_cast<int64_t>(chosen.size()) < count; ++r) take(r);  // nearly every row asked
  return {chosen.begin(), chosen.end()};
}

}  // namespace attncheck::oracle
