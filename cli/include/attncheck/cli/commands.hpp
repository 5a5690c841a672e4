// The attncheck CLI's subcommands. Each lives in its own file and adds itself to the app: it
// parses its flags, calls a library (formats/, golden/, oracle/, impl/'s registry), prints, and
// ends with an exit code. Exit codes: 0 success, 1 a check failed, 2 bad usage or bad input.
#pragma once

#include <CLI/CLI.hpp>

#include "attncheck/formats/json_input.hpp"

namespace attncheck::cli {

inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;

// Thrown by a command to end the program with an exit code after printing its report.
struct ExitCode {
  int code;
};

// Adds the global options (--kernel, also accepted after any subcommand; --version), parses,
// runs the chosen command and maps its outcome to the exit code above: ExitCode as thrown, an
// InputError, a kernel filter the registry refuses or a usage error to kExitBadInput (with
// "unknown command 'NAME'" for a command word that names none). Call it after adding every
// subcommand.
int run_cli(CLI::App& app, int argc, char** argv);

void add_kernels_command(CLI::App& app);
void add_trace_command(CLI::App& app);
void add_golden_command(CLI::App& app);  // golden_command.cpp
void add_exp_accuracy_command(CLI::App& app);
void add_summary_command(CLI::App& app);  // summary_command.cpp: a property run's results

}  // namespace attncheck::cli
