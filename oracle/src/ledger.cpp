#include "attncheck/oracle/ledger.hpp"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <map>
#include <vector>

namespace attncheck::oracle {
namespace {

using oracle::Real;
using oracle::RowTrace;

std::string cell(const Real& x, int digits) { return oracle::to_decimal(x, digits); }

// Prints one table: a row per query, a column per key (or per value column).
void print_table(std::ostream& out, const std::string& title, const std::vector<const RowTrace*>& rows,
                 int64_t columns, const std::function<std::string(const RowTrace&, int64_t)>& value,
                 const LedgerOptions& options) {
  const int64_t shown_columns = std::min(columns, options.max_columns);
  std::vector<std::vector<std::string>> cells;
  size_t width = 1;
  const size_t shown_rows = std::min<size_t>(rows.size(), static_cast<size_t>(options.max_rows));
  for (size_t r = 0; r < shown_rows; ++r) {
    std::vector<std::string> line;
    for (int64_t c = 0; c < shown_columns; ++c) {
      line.push_back(value(*rows[r], c));
      width = std::max(width, line.back().size());
    }
    cells.push_back(std::move(line));
  }
  out << "  " << title << "\n";
  for (size_t r = 0; r < cells.size(); ++r) {
    out << "    i=" << std::setw(3) << std::left << rows[r]->query << std::right << " |";
    for (const std::string& text : cells[r]) out << " " << std::setw(static_cast<int>(width)) << text;
    if (shown_columns < columns) out << " ... (" << columns - shown_columns << " more)";
    out << " |\n";
  }
  if (shown_rows < rows.size()) out << "    ... (" << rows.size() - shown_rows << " more rows)\n";
}

void print_column(std::ostream& out, const std::string& title, const std::vector<const RowTrace*>& rows,
                  const std::function<std::string(const RowTrace&)>& value, const LedgerOptions& options) {
  print_table(out, title, rows, 1, [&](const RowTrace& row, int64_t) { return value(row); }, options);
}

}  // namespace

void print_ledger(std::ostream& out, const oracle::OracleResult& result, const std::string& scale_text,
                  const LedgerOptions& options) {
  const AttentionShape& s = result.spec.shape;
  const int d = options.digits;
  // Group rows by (batch, head) in the order they appear.
  std::map<std::pair<int64_t, int64_t>, std::vector<const RowTrace*>> heads;
  for (const RowTrace& row : result.rows) heads[{row.batch, row.head}].push_back(&row);
  for (const auto& [key, rows] : heads) {
    const auto [b, h] = key;
    const size_t shown = std::min<size_t>(rows.size(), static_cast<size_t>(std::max<int64_t>(options.max_rows, 0)));
    const bool has_intermediates =
        std::all_of(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(shown),
                    [](const RowTrace* row) { return row->has_intermediates(); });
    out << "batch " << b << ", query head " << h << " (kv head " << kv_head_for(s, h) << ")\n";
    if (has_intermediates) {
      print_table(out, "Step 1. raw scores Q K^T", rows, s.kv_len,
                  [&](const RowTrace& r, int64_t j) { return r.visible[j] ? cell(r.raw[j], d) : "."; }, options);
      print_table(out, "Step 2. scaled by " + scale_text, rows, s.kv_len,
                  [&](const RowTrace& r, int64_t j) { return r.visible[j] ? cell(r.scaled[j], d) : "."; }, options);
      print_table(out, std::string("Step 3. ") + (result.spec.has_alibi ? "ALiBi bias added, " : "") +
                           "invisible keys set to -inf",
                  rows, s.kv_len, [&](const RowTrace& r, int64_t j) { return cell(r.biased[j], d); }, options);
    }
    print_column(out, "Step 4a. row max m", rows, [&](const RowTrace& r) { return cell(r.row_max, d); }, options);
    if (has_intermediates) {
      print_table(out, "Step 4b. exp(s - m)", rows, s.kv_len,
                  [&](const RowTrace& r, int64_t j) { return cell(r.exps[j], d); }, options);
    }
    print_column(out, "Step 4c. row sum", rows, [&](const RowTrace& r) { return cell(r.row_sum, d); }, options);
    if (has_intermediates) {
      print_table(out, "Step 4d. weights exp(s - m) / sum", rows, s.kv_len,
                  [&](const RowTrace& r, int64_t j) { return cell(r.weights[j], d); }, options);
    }
    print_table(out, "Step 5. output O = weights V", rows, s.value_dim,
                [&](const RowTrace& r, int64_t c) { return cell(r.output[c], d); }, options);
    print_column(out, "LSE = m + log(sum)", rows, [&](const RowTrace& r) { return cell(r.lse, d); }, options);
    out << "\n";
  }
}

std::vector<int64_t> ledger_rows(const AttentionShape& shape, const std::vector<int64_t>& rows,
                                 const LedgerOptions& options) {
  std::map<std::pair<int64_t, int64_t>, int64_t> per_head;
  std::vector<int64_t> shown;
  const auto consider = [&](int64_t r) {
    const int64_t h = (r / shape.q_len) % shape.q_heads;
    const int64_t b = r / (shape.q_len * shape.q_heads);
    if (per_head[{b, h}]++ < options.max_rows) shown.push_back(r);
  };
  if (rows.empty()) {
    // All rows: the first max_rows of each head, without walking every row of a long problem.
    for (int64_t head = 0; head < shape.batch * shape.q_heads; ++head) {
      for (int64_t i = 0; i < std::min(shape.q_len, options.max_rows); ++i) shown.push_back(head * shape.q_len + i);
    }
    return shown;
  }
  for (int64_t r : rows) consider(r);
  return shown;
}

}  // namespace attncheck::oracle
