// attncheck: verify attention kernels against an arbitrary-precision oracle.
#include <cstdio>
#include <iostream>

#include "attncheck/cli/commands.hpp"
#include "attncheck/registry.hpp"

int main(int argc, char** argv) {
  using namespace attncheck::cli;
  CLI::App app{"attncheck: numerical verification of attention kernels against an MPFR oracle"};
  app.require_subcommand(1);
  std::string kernel_filter;
  app.add_option("--kernel", kernel_filter,
                 "comma-separated kernel names or globs to run (default: all; env ATTNCHECK_KERNELS)");
  app.parse_complete_callback([&] {
    if (!kernel_filter.empty()) attncheck::set_kernel_filter(kernel_filter);
  });
  add_kernels_command(app);
  add_trace_command(app);
  add_golden_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitBadInput;
  } catch (const ExitCode& e) {
    return e.code;
  } catch (const InputError& e) {
    std::cerr << "attncheck: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "attncheck: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  return 0;
}
