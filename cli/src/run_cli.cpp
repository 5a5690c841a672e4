// What every attncheck command shares: the global options (--kernel, --version), parsing, and
// the mapping of errors to exit codes. main() adds the subcommands and hands over here.
#include <iostream>
#include <list>
#include <string>
#include <vector>

#include "attncheck/cli/commands.hpp"
#include "attncheck/registry.hpp"

#ifndef ATTNCHECK_VERSION
#error "ATTNCHECK_VERSION must be defined (cli/CMakeLists.txt passes CMake's PROJECT_VERSION)"
#endif

namespace attncheck::cli {
namespace {

constexpr const char* kKernelHelp =
    "comma-separated kernel names or globs to run; every entry must match a kernel "
    "(default: ATTNCHECK_KERNELS if set, else every kernel)";

// Adds --kernel to every subcommand, at every depth, unless it declares its own: a user who
// writes `attncheck trace --kernel X f.json` means the same as `attncheck --kernel X trace
// f.json`, and without this CLI11 rejects the first form with a message about extra
// arguments. Commands added later get it too, with no change here.
void add_kernel_options(CLI::App& app, std::list<std::string>& values, std::vector<CLI::Option*>& options) {
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty()) continue;  // an option group shares its parent's options
    if (sub->get_option_no_throw("--kernel") == nullptr) {
      values.emplace_back();
      options.push_back(sub->add_option("--kernel", values.back(), kKernelHelp));
    }
    add_kernel_options(*sub, values, options);
  }
}

std::string command_names(const CLI::App& app) {
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty()) continue;  // option groups
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

// When parsing fails, the command words the user typed, checked against the command tree:
// "unknown command 'golden verfy' (golden's commands: verify, regen, errata, check)", or ""
// when every command word is known (the error is then about options or files, and CLI11's
// own message says which). Option values are skipped so that `--kernel trace` is not taken
// for a command.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return "";
    if (!arg.empty() && arg[0] == '-') {
      if (arg.find('=') != std::string::npos) continue;
      const CLI::Option* option = current->get_option_no_throw(arg);
      if (option != nullptr && option->get_expected_min() > 0) ++i;  // its value
      continue;
    }
    if (command_names(*current).empty()) return "";  // a leaf: the rest are its arguments
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : current->get_subcommands({})) {
      if (!sub->get_name().empty() && sub->check_name(arg)) next = sub;
    }
    path += (path.empty() ? "" : " ") + arg;
    if (next == nullptr) {
      const std::string owner = current == &app ? std::string("attncheck") : current->get_name();
      return "unknown command '" + path + "' (" + owner + "'s commands: " + command_names(*current) + ")";
    }
    current = next;
  }
  return "";
}

}  // namespace

int run_cli(CLI::App& app, int argc, char** argv) {
  app.set_version_flag("--version", std::string("attncheck ") + ATTNCHECK_VERSION,
                       "print attncheck's version and exit");
  std::list<std::string> values(1);  // stable addresses: each --kernel option writes into one
  std::vector<CLI::Option*> options{app.add_option("--kernel", values.front(), kKernelHelp)};
  add_kernel_options(app, values, options);
  app.parse_complete_callback([&] {
    const CLI::Option* given = nullptr;
    for (const CLI::Option* option : options) {
      if (option->count() == 0) continue;
      if (given != nullptr) throw CLI::ValidationError("--kernel", "given twice; give it once");
      given = option;
    }
    if (given == nullptr) return;
    // Even "" is a filter: the registry refuses it rather than select every kernel. Selecting
    // now reports a bad filter before any work, also for commands that run no kernel.
    attncheck::set_kernel_filter(given->as<std::string>());
    (void)attncheck::selected_kernels();
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
      std::cerr << "attncheck: " << unknown << "\n";
      return kExitBadInput;
    }
    app.exit(e);
    return kExitBadInput;
  } catch (const ExitCode& e) {
    return e.code;
  } catch (const formats::InputError& e) {
    std::cerr << "attncheck: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {  // a kernel filter, a refused registration, a bad spec
    std::cerr << "attncheck: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  return 0;
}

}  // namespace attncheck::cli
