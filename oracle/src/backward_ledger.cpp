#include "attncheck/oracle/backward_ledger.hpp"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <map>
#include <stdexcept>

#include "attncheck/semantics.hpp"

namespace attncheck::oracle {
namespace {

std::string cell(const Real& x, int digits) { return to_decimal(x, digits); }

// One table: a line per labelled row ("i=3", "j=0"), a column per key or vector component, cut
// at the ledger's limits with a note saying how much was left out.
void print_table(std::ostream& out, const std::string& title, const std::vector<std::string>& labels,
                 int64_t columns, const std::function<std::string(size_t, int64_t)>& value,
                 const LedgerOptions& options) {
  const int64_t shown_columns = std::min(columns, options.max_columns);
  const size_t shown_rows = std::min(labels.size(), static_cast<size_t>(std::max<int64_t>(options.max_rows, 0)));
  std::vector<std::vector<std::string>> cells(shown_rows);
  size_t width = 1;
  for (size_t r = 0; r < shown_rows; ++r) {
    for (int64_t c = 0; c < shown_columns; ++c) {
      cells[r].push_back(value(r, c));
      width = std::max(width, cells[r].back().size());
    }
  }
  out << "  " << title << "\n";
  for (size_t r = 0; r < shown_rows; ++r) {
    out << "    " << std::setw(5) << std::left << labels[r] << std::right << " |";
    for (const std::string& text : cells[r]) out << " " << std::setw(static_cast<int>(width)) << text;
    if (shown_columns < columns) out << " ... (" << columns - shown_columns << " more)";
    out << " |\n";
  }
  if (shown_rows < labels.size()) out << "    ... (" << labels.size() - shown_rows << " more rows)\n";
}

}  // namespace

void print_backward_ledger(std::ostream& out, const Gradients& g, const std::vector<Real>& d_out,
                           const std::string& scale_text, const LedgerOptions& options) {
  const AttentionShape& s = g.spec.shape;
  if (static_cast<int64_t>(d_out.size()) != o_elements(s)) {
    throw std::invalid_argument("print_backward_ledger: d_out holds " + std::to_string(d_out.size()) +
                                " values, O has " + std::to_string(o_elements(s)));
  }
  if (static_cast<int64_t>(g.rows.size()) != lse_elements(s) || g.forward.rows.size() != g.rows.size()) {
    throw std::invalid_argument("print_backward_ledger: the gradients were computed without their intermediates "
                                "(BackwardOptions::keep_intermediates)");
  }
  const int d = options.digits;
  // Rows by (batch, query head), each with its forward row: the weights P and the output O.
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> heads;
  for (size_t n = 0; n < g.rows.size(); ++n) heads[{g.rows[n].batch, g.rows[n].head}].push_back(n);
  const std::string scale_note = "scale = " + scale_text;
  for (const auto& [key, rows] : heads) {
    const auto [b, h] = key;
    std::vector<std::string> labels;
    for (size_t n : rows) labels.push_back("i=" + std::to_string(g.rows[n].query));
    const auto row = [&](size_t r) -> const BackwardRow& { return g.rows[rows[r]]; };
    const auto fwd = [&](size_t r) -> const RowTrace& { return g.forward.rows[rows[r]]; };
    const auto sees_nothing = [&](size_t r) { return row(r).dp.empty(); };
    const auto visible = [&](size_t r, int64_t j) {
      return !sees_nothing(r) && !fwd(r).visible.empty() && fwd(r).visible[static_cast<size_t>(j)] != 0;
    };
    out << "batch " << b << ", query head " << h << " (kv head " << kv_head_for(s, h) << "): backward\n";
    print_table(out, "Step B1. upstream gradient dO = dL/dO (given)", labels, s.value_dim,
                [&](size_t r, int64_t c) {
                  const BackwardRow& br = row(r);
                  return cell(d_out[static_cast<size_t>(o_offset(s, br.batch, br.head, br.query) + c)], d);
                },
                options);
    print_table(out, "Step B2. dP = dO V^T (dP_ij = dO_i . V_j; the weights P are Step 4d's)", labels, s.kv_len,
                [&](size_t r, int64_t j) { return visible(r, j) ? cell(row(r).dp[static_cast<size_t>(j)], d) : "."; },
                options);
    print_table(out, "Step B3. D = rowsum(dO * O) | cross-check sum_j P_ij dP_ij (equal in exact arithmetic)",
                labels, 2,
                [&](size_t r, int64_t c) { return cell(c == 0 ? row(r).delta : row(r).delta_from_weights, d); },
                options);
    print_table(out, "Step B4. dS = P * (dP - D) (softmax backward; 0 where a key is invisible)", labels, s.kv_len,
                [&](size_t r, int64_t j) { return visible(r, j) ? cell(row(r).ds[static_cast<size_t>(j)], d) : "."; },
                options);
    print_table(out, "Step B4b. row sum of dS (0 in exact arithmetic, sum_j P_ij (dP_ij - D_i) = D_i - D_i; any rest is the oracle's rounding)", labels, 1,
                [&](size_t r, int64_t) {
                  Real sum = 0;
                  for (const Real& x : row(r).ds) sum += x;
                  return cell(sum, d);
                },
                options);
    print_table(out, "Step B5. dQ = scale * (dS K), " + scale_note + " (the forward's scale enters here)", labels,
                s.head_dim,
                [&](size_t r, int64_t c) {
                  const BackwardRow& br = row(r);
                  return cell(g.dq[static_cast<size_t>(q_offset(s, br.batch, br.head, br.query) + c)], d);
                },
                options);
    for (size_t r = 0; r < std::min(rows.size(), static_cast<size_t>(std::max<int64_t>(options.max_rows, 0))); ++r) {
      if (sees_nothing(r)) {
        out << "    (" << labels[r] << " sees no key: O = 0 by definition, no gradient flows through it)\n";
      }
    }
    out << "\n";
  }
  const int64_t group = s.q_heads / s.kv_heads;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      std::vector<std::string> labels;
      for (int64_t j = 0; j < s.kv_len; ++j) labels.push_back("j=" + std::to_string(j));
      out << "batch " << b << ", kv head " << kvh << ": key and value gradients";
      if (group > 1) {
        out << ", summed over query heads " << kvh * group << ".." << kvh * group + group - 1 << " of its group";
      }
      out << "\n";
      print_table(out, "Step B6. dK = scale * (dS^T Q), " + scale_note + " (the forward's scale enters here too)",
                  labels, s.head_dim,
                  [&](size_t j, int64_t c) {
                    return cell(g.dk[static_cast<size_t>(k_offset(s, b, kvh, static_cast<int64_t>(j)) + c)], d);
                  },
                  options);
      print_table(out, "Step B7. dV = P^T dO (no scale: it enters dQ and dK only)", labels, s.value_dim,
                  [&](size_t j, int64_t c) {
                    return cell(g.dv[static_cast<size_t>(v_offset(s, b, kvh, static_cast<int64_t>(j)) + c)], d);
                  },
                  options);
      out << "\n";
    }
  }
}

}  // namespace attncheck::oracle
