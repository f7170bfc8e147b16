// optrollup: one binary, many subcommands (DESIGN.md section 10).
#include <cstdio>
#include <exception>
#include <iostream>

#include "engine/cli/command.h"

namespace opt::cli {

int usage_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "optrollup %s: %s\n", command.c_str(), message.c_str());
  std::fprintf(stderr, "run 'optrollup %s --help' for usage\n", command.c_str());
  return 2;
}

int wait_for_stop(const sigset_t& signals, const std::function<std::optional<std::string>()>& failed, std::string& why) {
  for (;;) {
    if (auto f = failed()) {
      why = *f;
      return 0;
    }
    timespec ts{0, 100'000'000};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) return sig;
  }
}

namespace {

std::vector<Command> all_commands() {
  std::vector<Command> all;
  for (auto group : {node_commands, client_commands, wallet_commands, l1_commands, fraudproof_commands}) {
    auto cmds = group();
    all.insert(all.end(), cmds.begin(), cmds.end());
  }
  return all;
}

void print_help(const std::vector<Command>& cmds) {
  std::printf(
      "optrollup — an optimistic rollup for crypto options\n\n"
      "usage: optrollup <command> [flags]\n\ncommands:\n");
  for (const auto& c : cmds) std::printf("  %-12s %s\n", c.name.c_str(), c.summary.c_str());
  std::printf("\nrun 'optrollup <command> --help' for a command's flags\n");
}

}  // namespace
}  // namespace opt::cli

int main(int argc, char** argv) {
  using namespace opt::cli;
  auto cmds = all_commands();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    print_help(cmds);
    return argc < 2 ? 2 : 0;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("optrollup 0.1.0\n");
    return 0;
  }
  for (const auto& c : cmds) {
    if (c.name != name) continue;
    std::vector<std::string> rest(argv + 2, argv + argc);
    for (const auto& a : rest) {
      if (a == "--help" || a == "-h") {
        std::printf("%s\n", c.usage.c_str());
        return 0;
      }
    }
    opt::Args args(rest, c.value_flags, c.bool_flags);
    if (!args.ok()) return usage_error(name, args.error());
    try {
      return c.run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optrollup %s: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "optrollup: unknown command '%s'\n\n", name.c_str());
  print_help(cmds);
  return 2;
}
