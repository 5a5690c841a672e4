// attncheck exp-accuracy: each selected kernel's exp (KernelInfo::exp) measured in f32 ULPs over
// softmax's input range, against the exp_max_ulp it declares (oracle/exp_accuracy.hpp).
#include <cstdio>
#include <map>
#include <memory>

#include "attncheck/cli/commands.hpp"
#include "attncheck/oracle/exp_accuracy.hpp"
#include "attncheck/registry.hpp"

namespace attncheck::cli {
namespace {

struct ExpAccuracyArgs {
  bool exhaustive = false;
};

void run_exp_accuracy(const ExpAccuracyArgs& args) {
  const uint32_t stride = args.exhaustive ? 1u : 127u;
  std::printf("exp accuracy over [-104, 0]: %s, in f32 ULPs of the exact value (MPFR confirms the worst)\n",
              args.exhaustive ? "every float" : "every 127th float plus the underflow windows");
  std::printf("%-28s %-10s %-10s %-14s %s\n", "kernel", "declared", "measured", "worst x", "verdict");
  std::map<ExpFn, oracle::ExpAccuracy> measured;  // kernels sharing an exp are measured once
  int checked = 0, failed = 0;
  for (const KernelInfo* k : selected_kernels()) {
    if (k->exp == nullptr) {
      std::printf("%-28s %-10g %-10s %-14s %s\n", k->name.c_str(), k->error.exp_max_ulp, "-", "-",
                  "not exposed (set KernelInfo::exp to measure it)");
      continue;
    }
    auto it = measured.find(k->exp);
    if (it == measured.end()) it = measured.emplace(k->exp, oracle::measure_exp_accuracy(k->exp, stride)).first;
    const oracle::ExpAccuracy& a = it->second;
    const bool within = a.max_ulp <= k->error.exp_max_ulp;
    std::printf("%-28s %-10g %-10.4f %-14.9g %s\n", k->name.c_str(), k->error.exp_max_ulp, a.max_ulp, a.worst_x,
                within ? "within its declaration" : "EXCEEDS its declaration");
    ++checked;
    failed += within ? 0 : 1;
  }
  if (checked == 0) {
    std::printf("\nFAILED: nothing was checked: no selected kernel exposes its exp (KernelInfo::exp)\n");
    throw ExitCode{kExitCheckFailed};
  }
  if (failed > 0) {
    std::printf("\nFAILED: %d kernel(s) declare an exp_max_ulp below their exp's measured error\n", failed);
    throw ExitCode{kExitCheckFailed};
  }
}

}  // namespace

void add_exp_accuracy_command(CLI::App& app) {
  auto args = std::make_shared<ExpAccuracyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "exp-accuracy", "measure each selected kernel's exp (KernelInfo::exp) against its declared exp_max_ulp");
  cmd->add_flag("--exhaustive", args->exhaustive, "every float of [-104, 0] (~1.1e9 inputs, minutes)");
  cmd->callback([args] { run_exp_accuracy(*args); });
}

}  // namespace attncheck::cli
