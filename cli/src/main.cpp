// attncheck: verify attention kernels against an arbitrary-precision oracle.
#include "attncheck/cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace attncheck::cli;
  CLI::App app{"attncheck: numerical verification of attention kernels against an MPFR oracle"};
  app.require_subcommand(1);
  add_kernels_command(app);
  add_trace_command(app);
  add_golden_command(app);
  add_exp_accuracy_command(app);
  add_summary_command(app);
  // After every command is added: it gives each of them the global options.
  return run_cli(app, argc, argv);
}
