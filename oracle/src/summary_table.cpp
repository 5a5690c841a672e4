#include "attncheck/oracle/summary_table.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace attncheck::oracle {

KernelSummary& SummaryTable::row(const std::string& kernel) {
  for (KernelSummary& r : rows_) {
    if (r.kernel == kernel) return r;
  }
  KernelSummary fresh;
  fresh.kernel = kernel;
  rows_.push_back(std::move(fresh));
  return rows_.back();
}

void SummaryTable::declare(const std::string& kernel) { row(kernel); }

void SummaryTable::add_skipped(const std::string& kernel, const std::string& reason) {
  KernelSummary& r = row(kernel);
  ++r.skipped;
  ++r.skip_reasons[reason];
}

void SummaryTable::add_error(const std::string& kernel) {
  KernelSummary& r = row(kernel);
  ++r.checked;  // a throw is a failed check, not a skip
  ++r.failed;
  ++r.threw;
}

void SummaryTable::add_check(const std::string& kernel, const KernelCheck& check) {
  KernelSummary& r = row(kernel);
  if (check.judged() == 0) {
    ++r.unjudged;
    return;
  }
  ++r.checked;
  ++(check.passed() ? r.passed : r.failed);
  r.o_max_ulp = std::max(r.o_max_ulp, check.o_metrics.max_ulp);
  r.o_bits = std::max(r.o_bits, check.o_metrics.bits);
  r.worst_ratio = std::max(r.worst_ratio, check.o_bound.worst_ratio);
  if (check.checks_lse) {
    r.has_lse = true;
    r.lse_max_ulp = std::max(r.lse_max_ulp, check.lse_metrics.max_ulp);
    r.lse_bits = std::max(r.lse_bits, check.lse_metrics.bits);
    r.worst_ratio = std::max(r.worst_ratio, check.lse_bound.worst_ratio);
  }
}

void SummaryTable::add(const std::string& kernel, const KernelRunCheck& run) {
  if (!run.ran()) {
    add_skipped(kernel, run.skipped);
  } else if (!run.error.empty()) {
    add_error(kernel);
  } else {
    add_check(kernel, run.check);
  }
}

std::vector<std::string> SummaryTable::checked_nothing() const {
  std::vector<std::string> out;
  for (const KernelSummary& r : rows_) {
    if (r.checked == 0) out.push_back(r.kernel);
  }
  return out;
}

namespace {

std::string number(double x, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, x);
  return text;
}

}  // namespace

std::string SummaryTable::render() const {
  size_t width = 6;
  for (const KernelSummary& r : rows_) width = std::max(width, r.kernel.size());
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %7s %6s %6s %7s %9s %11s %6s %12s %7s %15s\n", static_cast<int>(width),
                "kernel", "checked", "passed", "failed", "skipped", "unjudged", "O max_ulp", "O bits", "LSE max_ulp",
                "LSE bits", "worst err/bound");
  out += line;
  for (const KernelSummary& r : rows_) {
    const bool any = r.checked > r.threw;  // some check produced numbers
    std::snprintf(line, sizeof line, "%-*s %7lld %6lld %6lld %7lld %9lld %11s %6s %12s %7s %15s\n",
                  static_cast<int>(width), r.kernel.c_str(), static_cast<long long>(r.checked),
                  static_cast<long long>(r.passed), static_cast<long long>(r.failed),
                  static_cast<long long>(r.skipped), static_cast<long long>(r.unjudged),
                  any ? number(r.o_max_ulp, "%.4g").c_str() : "-", any ? number(r.o_bits, "%.2f").c_str() : "-",
                  any && r.has_lse ? number(r.lse_max_ulp, "%.4g").c_str() : "-",
                  any && r.has_lse ? number(r.lse_bits, "%.2f").c_str() : "-",
                  any ? number(r.worst_ratio, "%.3g").c_str() : "-");
    out += line;
  }
  return out;
}

}  // namespace attncheck::oracle
