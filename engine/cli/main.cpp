// optrollup: one binary, many subcommands (docs/operations.md).
#include <cstdio>
#include <exception>

#include "engine/cli/command.h"

namespace opt::cli {
namespace {

std::vector<Command> all_commands() {
  std::vector<Command> all;
  for (auto group :
       {node_commands, client_commands, wallet_commands, l1_commands, simulate_commands, challenger_commands}) {
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
  std::printf(
      "\nrun 'optrollup <command> --help' for a command's flags. Exit status: 0 done, 1 failed, 2 bad command line.\n"
      "With --json, errors too are one JSON line (on stderr): "
      "{\"error\":{\"code\":...,\"message\":...,\"command\":...}}.\n");
}

int run(int argc, char** argv) {
  auto cmds = all_commands();
  std::vector<std::string> words(argv + 1, argv + argc);
  for (const auto& w : words)
    if (w == "--json") set_json_errors(true);
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    print_help(cmds);
    return words.empty() ? kUsageExit : 0;
  }
  const std::string name = words[0];
  if (name == "--version" || name == "version") {
    std::printf("optrollup 0.1.0\n");
    return 0;
  }
  for (const auto& c : cmds) {
    if (c.name != name) continue;
    std::vector<std::string> rest(words.begin() + 1, words.end());
    for (const auto& a : rest) {
      if (a == "--") break;
      if (a == "--help" || a == "-h") {
        std::printf("%s\n", help_text(c).c_str());
        return 0;
      }
    }
    auto args = Args::parse(rest, c.flags, c.max_positional);
    if (!args) return usage_error(name, args.error());
    try {
      return c.run(*args);
    } catch (const std::exception& e) {
      return failure(name, e.what());
    }
  }
  if (json_errors()) return usage_error("", "unknown command '" + name + "' (optrollup --help lists them)");
  std::fprintf(stderr, "optrollup: unknown command '%s'\n\n", name.c_str());
  print_help(cmds);
  return kUsageExit;
}

}  // namespace
}  // namespace opt::cli

int main(int argc, char** argv) {
  return opt::cli::run(argc, argv);
}
