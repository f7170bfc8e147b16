// The `optrollup` command table. Each area contributes its subcommands; main() dispatches and prints help.
#pragma once

#include <signal.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/common/args.h"

namespace opt::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `optrollup --help`
  std::string usage;    // the full text for `optrollup NAME --help`
  std::set<std::string> value_flags;
  std::set<std::string> bool_flags;
  std::function<int(const Args&)> run;
};

std::vector<Command> wallet_commands();
std::vector<Command> l1_commands();  // engine/cli/l1_cmd.cpp: `l1`
std::vector<Command> fraudproof_commands();
std::vector<Command> node_commands();
std::vector<Command> client_commands();  // engine/cli/client_cmd.cpp: deposit, order, ...  // engine/cli/node_cmd.cpp: `devnet`, `node`  // fraudproof/fp_cmd.cpp: `simulate`, `challenger`

// Prints a one-line error and returns the exit code for usage errors.
int usage_error(const std::string& command, const std::string& message);

// A long-running command's main thread: waits for one of `signals` (blocked in every thread) while
// `failed` reports nothing, looking every 100 ms. Returns the signal, or 0 with `why` set when `failed`
// reported that the process must stop (its data directory cannot be written).
int wait_for_stop(const sigset_t& signals, const std::function<std::optional<std::string>()>& failed, std::string& why);

}  // namespace opt::cli
