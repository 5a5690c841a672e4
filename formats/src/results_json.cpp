#include "attncheck/formats/results_json.hpp"

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "attncheck/formats/atomic_write.hpp"

namespace attncheck::formats {

OrderedJson json_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

namespace {

OrderedJson row_location(const AttentionShape& s, int64_t flat) {
  const int64_t per_batch = s.q_heads * s.q_len;
  return OrderedJson{{"batch", flat / per_batch}, {"head", flat % per_batch / s.q_len}, {"query", flat % s.q_len}};
}

}  // namespace

OrderedJson metrics_json(const oracle::ErrorMetrics& m) {
  OrderedJson j;
  j["max_ulp"] = json_number(m.max_ulp);
  j["mean_ulp"] = json_number(m.mean_ulp);
  j["bits"] = json_number(m.bits);
  j["max_abs"] = json_number(m.max_abs);
  j["max_rel"] = json_number(m.max_rel);
  j["normwise_rel"] = json_number(m.normwise_rel);
  j["nmse"] = json_number(m.nmse);
  j["elements"] = m.count;
  j["unjudged"] = m.unjudged;
  j["nonfinite_mismatches"] = m.nonfinite_mismatches;
  return j;
}

namespace {

// The bound verdict of O (columns = value_dim) or LSE (columns = 0), its worst element located.
OrderedJson bound_json(const oracle::BoundCheck& b, const std::vector<int64_t>& rows, const AttentionShape& s,
                       int64_t columns) {
  OrderedJson j;
  j["within"] = b.passed();
  j["outside"] = b.outside;
  j["worst_ratio"] = json_number(b.worst_ratio);
  if (b.worst_index >= 0) {
    const int64_t n = columns > 0 ? b.worst_index / columns : b.worst_index;
    OrderedJson worst =
        n < static_cast<int64_t>(rows.size()) ? row_location(s, rows[static_cast<size_t>(n)]) : OrderedJson::object();
    if (columns > 0) worst["column"] = b.worst_index % columns;
    worst["kernel"] = json_number(b.worst_actual);
    worst["oracle"] = json_number(b.worst_exact);
    worst["bound"] = json_number(b.worst_bound);
    j["worst"] = worst;
  }
  return j;
}

}  // namespace

OrderedJson kernel_run_json(const KernelInfo& kernel, const oracle::KernelRunCheck& run, const AttentionShape& s) {
  OrderedJson j;
  j["name"] = kernel.name;
  j["dtype"] = std::string(dtype_name(kernel.dtype));
  if (!run.ran()) {
    j["status"] = "skipped";
    j["reason"] = run.skipped;
    return j;
  }
  if (!run.error.empty()) {
    j["status"] = "error";
    j["reason"] = run.error;
    return j;
  }
  const oracle::KernelCheck& c = run.check;
  j["status"] = c.judged() == 0 ? "unjudged" : c.passed() ? "pass" : "fail";
  if (c.judged() == 0) j["reason"] = "every element read a non-finite input (docs/semantics.md)";
  j["rows_checked"] = c.rows_checked;
  j["rows_total"] = c.rows_total;
  OrderedJson o = metrics_json(c.o_metrics);
  o["bound"] = bound_json(c.o_bound, c.rows, s, s.value_dim);
  j["o"] = o;
  if (c.checks_lse) {
    OrderedJson lse = metrics_json(c.lse_metrics);
    lse["bound"] = bound_json(c.lse_bound, c.rows, s, 0);
    j["lse"] = lse;
  } else {
    j["lse"] = nullptr;  // the kernel does not declare kLse
  }
  return j;
}

OrderedJson summary_json(const oracle::SummaryTable& table) {
  OrderedJson out = OrderedJson::array();
  for (const oracle::KernelSummary& r : table.rows()) {
    OrderedJson j;
    j["kernel"] = r.kernel;
    j["checked"] = r.checked;
    j["passed"] = r.passed;
    j["failed"] = r.failed;
    j["threw"] = r.threw;
    j["unjudged"] = r.unjudged;
    j["skipped"] = r.skipped;
    OrderedJson reasons = OrderedJson::object();
    for (const auto& [reason, count] : r.skip_reasons) reasons[reason] = count;
    j["skip_reasons"] = reasons;
    const bool any = r.checked > r.threw;
    j["o_max_ulp"] = any ? json_number(r.o_max_ulp) : OrderedJson(nullptr);
    j["o_bits"] = any ? json_number(r.o_bits) : OrderedJson(nullptr);
    j["lse_max_ulp"] = any && r.has_lse ? json_number(r.lse_max_ulp) : OrderedJson(nullptr);
    j["lse_bits"] = any && r.has_lse ? json_number(r.lse_bits) : OrderedJson(nullptr);
    j["worst_ratio"] = any ? json_number(r.worst_ratio) : OrderedJson(nullptr);
    out.push_back(j);
  }
  return out;
}

OrderedJson trace_results_json(const TraceResults& r) {
  const Problem& p = *r.problem;
  const AttentionShape& s = p.spec.shape;
  OrderedJson doc;
  doc["format"] = "attncheck-trace-results";
  doc["version"] = kResultsJsonVersion;
  doc["problem"] = OrderedJson{{"source", r.source},
                               {"spec", describe(p.spec)},
                               {"dtype", std::string(dtype_name(p.dtype))},
                               {"shape",
                                {{"batch", s.batch},
                                 {"q_heads", s.q_heads},
                                 {"kv_heads", s.kv_heads},
                                 {"q_len", s.q_len},
                                 {"kv_len", s.kv_len},
                                 {"head_dim", s.head_dim},
                                 {"value_dim", s.value_dim}}}};
  OrderedJson rows = OrderedJson::array();
  const std::vector<double> o = oracle::outputs_f64(*r.exact);
  const std::vector<double> lse = oracle::lse_f64(*r.exact);
  for (size_t n = 0; n < r.exact->rows.size(); ++n) {
    const oracle::RowTrace& t = r.exact->rows[n];
    OrderedJson row{{"batch", t.batch}, {"head", t.head}, {"query", t.query}};
    OrderedJson values = OrderedJson::array();
    for (int64_t c = 0; c < s.value_dim; ++c) values.push_back(json_number(o[n * s.value_dim + c]));
    row["o"] = values;
    row["lse"] = json_number(lse[n]);
    rows.push_back(row);
  }
  doc["oracle"] = OrderedJson{{"precision_bits", r.exact->precision_bits},
                              {"rows_checked", r.exact->rows.size()},
                              {"rows_total", lse_elements(s)},
                              {"rows", rows}};
  OrderedJson kernels = OrderedJson::array();
  for (const auto& [kernel, run] : r.kernels) kernels.push_back(kernel_run_json(*kernel, run, s));
  doc["kernels"] = kernels;
  doc["summary"] = r.summary ? summary_json(*r.summary) : OrderedJson::array();
  doc["verdict"] = r.passed ? "pass" : "fail";
  doc["failures"] = r.failures;
  return doc;
}

std::string results_text(const OrderedJson& doc) { return doc.dump(2) + "\n"; }

void require_results_path(const std::string& path) {
  std::error_code error;
  if (path.empty() || std::filesystem::is_directory(path, error) ||
      !std::filesystem::is_directory(std::filesystem::absolute(path).parent_path(), error)) {
    throw std::invalid_argument("--json " + path + ": not a file in an existing directory");
  }
}

void write_results_file(const std::string& path, const OrderedJson& doc) {
  try {
    write_file_atomically(path, results_text(doc));
  } catch (const std::exception& e) {
    throw std::invalid_argument("--json " + path + ": " + e.what());
  }
}

}  // namespace attncheck::formats
