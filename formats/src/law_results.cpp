#include "attncheck/formats/law_results.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "attncheck/formats/atomic_write.hpp"
#include "attncheck/formats/json_input.hpp"
#include "attncheck/formats/results_json.hpp"

namespace attncheck::formats {

namespace fs = std::filesystem;

void write_law_result(const std::string& dir, const LawResult& r) {
  OrderedJson doc;
  doc["format"] = kLawResultFormat;
  doc["version"] = kResultsJsonVersion;
  doc["law"] = r.law;
  doc["kernel"] = r.kernel;
  doc["passed"] = r.passed;
  doc["cases"] = r.cases;
  doc["seed"] = std::to_string(r.seed);  // a 64-bit seed does not survive a JSON double
  doc["summary"] = r.summary;
  doc["reach"] = r.reach;
  doc["replay"] = r.replay;
  OrderedJson maxima = OrderedJson::object();
  for (const auto& [key, value] : r.maxima) maxima[key] = json_number(value);
  doc["maxima"] = maxima;
  write_file_atomically((fs::path(dir) / (r.law + "." + r.kernel + ".json")).string(), results_text(doc));
}

namespace {

double number_or_text(const JsonReader& r) {
  const std::string text = r.decimal();
  try {
    size_t used = 0;
    const double x = std::stod(text, &used);
    if (used == text.size()) return x;
  } catch (const std::exception&) {
  }
  r.fail("not a number: '" + text + "'");
}

}  // namespace

std::vector<LawResult> read_law_results(const std::string& dir) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && e.path().extension() == ".json" && name[0] != '.') files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<LawResult> out;
  for (const fs::path& path : files) {
    const Json json = read_json_file(path.string());
    const JsonReader r(json, path.string());
    r.check_members({"format", "version", "law", "kernel", "passed", "cases", "seed", "summary", "reach", "replay",
                     "maxima"});
    if (r.at("format").string() != kLawResultFormat) r.at("format").fail(std::string("not ") + kLawResultFormat);
    r.at("version").integer(kResultsJsonVersion, kResultsJsonVersion);
    LawResult res;
    res.law = r.at("law").string();
    res.kernel = r.at("kernel").string();
    res.passed = r.at("passed").boolean();
    res.cases = r.at("cases").integer(0, int64_t{1} << 40);
    const std::string seed = r.at("seed").string();
    try {
      size_t used = 0;
      res.seed = std::stoull(seed, &used);
      if (used != seed.size()) throw std::invalid_argument(seed);
    } catch (const std::exception&) {
      r.at("seed").fail("not a 64-bit unsigned integer: '" + seed + "'");
    }
    res.summary = r.at("summary").string();
    res.reach = r.at("reach").string();
    res.replay = r.at("replay").string();
    const JsonReader maxima = r.at("maxima");
    if (!maxima.json().is_object()) maxima.fail("not an object");
    for (auto it = maxima.json().begin(); it != maxima.json().end(); ++it) {
      res.maxima[it.key()] = number_or_text(maxima.at(it.key()));
    }
    out.push_back(std::move(res));
  }
  return out;
}

namespace {

struct KernelRow {
  int64_t held = 0, failed = 0, cases = 0;
  double o_bits = -1, lse_bits = -1, ratio = -1;  // -1: no law reported it
  std::vector<std::string> failed_laws;
};

std::map<std::string, KernelRow> by_kernel(const std::vector<LawResult>& results) {
  std::map<std::string, KernelRow> rows;
  for (const LawResult& r : results) {
    KernelRow& k = rows[r.kernel];
    ++(r.passed ? k.held : k.failed);
    k.cases += r.cases;
    if (!r.passed) k.failed_laws.push_back(r.law);
    auto take = [&](const char* key, double& into) {
      if (const auto it = r.maxima.find(key); it != r.maxima.end()) into = std::max(into, it->second);
    };
    take("O bits", k.o_bits);
    take("LSE bits", k.lse_bits);
    take("ratio", k.ratio);
  }
  return rows;
}

std::string cell(double x, const char* format) {
  if (x < 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, x);
  return text;
}

}  // namespace

std::string render_law_summary(const std::vector<LawResult>& results) {
  const std::map<std::string, KernelRow> rows = by_kernel(results);
  size_t width = 6;
  for (const auto& [name, row] : rows) width = std::max(width, name.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s %5s %6s %8s %6s %8s %15s\n", static_cast<int>(width), "kernel", "held",
                "failed", "cases", "O bits", "LSE bits", "worst err/bound");
  out += line;
  for (const auto& [name, row] : rows) {
    std::snprintf(line, sizeof line, "%-*s %5lld %6lld %8lld %6s %8s %15s", static_cast<int>(width), name.c_str(),
                  static_cast<long long>(row.held), static_cast<long long>(row.failed),
                  static_cast<long long>(row.cases), cell(row.o_bits, "%.2f").c_str(),
                  cell(row.lse_bits, "%.2f").c_str(), cell(row.ratio, "%.3g").c_str());
    out += line;
    for (size_t n = 0; n < row.failed_laws.size(); ++n) out += (n == 0 ? "  FAILS " : ", ") + row.failed_laws[n];
    out += "\n";
  }
  return out;
}

OrderedJson law_summary_json(const std::vector<LawResult>& results) {
  OrderedJson doc;
  doc["format"] = "attncheck-law-summary";
  doc["version"] = kResultsJsonVersion;
  OrderedJson kernels = OrderedJson::array();
  for (const auto& [name, row] : by_kernel(results)) {
    OrderedJson k;
    k["kernel"] = name;
    k["held"] = row.held;
    k["failed"] = row.failed;
    k["cases"] = row.cases;
    k["o_bits"] = row.o_bits < 0 ? OrderedJson(nullptr) : json_number(row.o_bits);
    k["lse_bits"] = row.lse_bits < 0 ? OrderedJson(nullptr) : json_number(row.lse_bits);
    k["worst_ratio"] = row.ratio < 0 ? OrderedJson(nullptr) : json_number(row.ratio);
    k["failed_laws"] = row.failed_laws;
    kernels.push_back(k);
  }
  doc["kernels"] = kernels;
  OrderedJson laws = OrderedJson::array();
  for (const LawResult& r : results) {
    OrderedJson l;
    l["law"] = r.law;
    l["kernel"] = r.kernel;
    l["passed"] = r.passed;
    l["cases"] = r.cases;
    l["seed"] = std::to_string(r.seed);
    l["summary"] = r.summary;
    l["reach"] = r.reach;
    l["replay"] = r.replay;
    laws.push_back(l);
  }
  doc["laws"] = laws;
  bool passed = !results.empty();
  for (const LawResult& r : results) passed = passed && r.passed;
  doc["verdict"] = passed ? "pass" : "fail";
  return doc;
}

}  // namespace attncheck::formats
