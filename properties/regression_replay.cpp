#include "regression_replay.hpp"

#include <algorithm>
#include <filesystem>

#include "attncheck/formats/problem_file.hpp"
#include "law_tools.hpp"

namespace attncheck::properties {

std::vector<std::string> regression_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(ATTNCHECK_REGRESSION_DIR)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Replay> replay_regressions(const KernelInfo& kernel) {
  std::vector<Replay> replays;
  for (const std::string& path : regression_files()) {
    const formats::ProblemFile file = formats::read_problem_file(path);
    const Problem& problem = file.problem;
    if (problem.dtype != kernel.dtype) continue;
    // Kernels see the stored values, so they are judged against the oracle of those (as
    // `attncheck trace` does for exact-decimal files).
    const oracle::OracleResult exact = oracle_rows(problem);
    for (const bool decode : {false, true}) {
      if (decode && !problem.spec.causal) continue;  // decode is causal by definition
      if (!supports(kernel, problem.spec, decode)) continue;
      const KernelResult got = run_entry(kernel, problem, decode);
      replays.push_back(Replay{path, decode, oracle::check_kernel(kernel, problem, exact, got)});
    }
  }
  return replays;
}

}  // namespace attncheck::properties
