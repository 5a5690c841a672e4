// attncheck kernels: the registry as a table.
#include <cstdio>

#include "attncheck/cli/commands.hpp"
#include "attncheck/registry.hpp"

namespace attncheck::cli {

void add_kernels_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("kernels", "list the registered kernels and what each supports");
  cmd->callback([] {
    const auto kernels = selected_kernels();
    std::printf("%-28s %-5s %-8s %s\n", "kernel", "dtype", "exp_ulp", "capabilities");
    for (const KernelInfo* k : kernels) {
      std::printf("%-28s %-5s %-8g %s\n", k->name.c_str(), std::string(dtype_name(k->dtype)).c_str(),
                  k->error.exp_max_ulp, capability_names(k->capabilities).c_str());
      std::printf("    %s\n", k->algorithm.c_str());
    }
  });
}

}  // namespace attncheck::cli
