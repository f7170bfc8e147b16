// The `optrollup` command table, and what every subcommand shares: how errors are reported (text, or
// one JSON object with --json, on stderr), the flags several commands take, and how a listener
// that cannot bind is explained.
#pragma once

#include <signal.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/args.h"

namespace opt::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `optrollup --help`
  std::string usage;    // the synopsis and description for `optrollup NAME --help`; the flag table follows
  std::vector<FlagSpec> flags;
  std::function<int(const Args&)> run;
  size_t max_positional = 0;
  std::string notes;  // printed after the flag table
};

std::vector<Command> wallet_commands();      // engine/cli/wallet_cmd.cpp: keygen, address
std::vector<Command> l1_commands();          // engine/cli/l1_cmd.cpp: l1
std::vector<Command> node_commands();        // engine/cli/node_cmd.cpp: devnet, node
std::vector<Command> client_commands();      // engine/cli/client_cmd.cpp: deposit, order, ...
std::vector<Command> simulate_commands();    // engine/cli/simulate_cmd.cpp: simulate
std::vector<Command> challenger_commands();  // engine/cli/challenger_cmd.cpp: challenger

// The whole `optrollup NAME --help` text.
std::string help_text(const Command& c);

// Exit statuses: 2 for a command line that cannot be run, 1 for a run that failed.
constexpr int kUsageExit = 2;
constexpr int kFailureExit = 1;

// Errors are reported on stderr as text ("optrollup NAME: message"), or, once --json is on the command
// line, as one JSON line: {"error":{"code":"...","message":"...","command":"NAME"}}. main() sets the mode.
void set_json_errors(bool on);
bool json_errors();

// A command line that cannot be run: reports it (code "bad_flag") and returns kUsageExit.
int usage_error(const std::string& command, const std::string& message);
int usage_error(const std::string& command, const FlagProblem& p);
// A run that failed: reports it with `code` ("failed", or a refusal's own code) and returns kFailureExit.
int failure(const std::string& command, const std::string& message, const std::string& code = "failed");

// The flags several commands share, declared once.
FlagSpec key_flag();       // --key 0x...
FlagSpec key_file_flag();  // --key-file PATH
// --api / --l1 as a client (or node) names them: where to connect.
FlagSpec api_url_flag();
FlagSpec l1_url_flag();
constexpr const char* kApiEnv = "OPTROLLUP_API";
constexpr const char* kL1Env = "OPTROLLUP_L1";
constexpr const char* kDefaultApi = "127.0.0.1:8080";
constexpr const char* kDefaultL1 = "127.0.0.1:8545";

// The sequencer flags of `devnet` and `node`.
struct SequencerFlags {
  uint64_t batch_interval_ms = 2000;
  std::optional<uint64_t> fault_at_batch;
};
std::vector<FlagSpec> sequencer_flag_specs();
FlagResult<SequencerFlags> sequencer_flags(const Args& a);

// The key of --key / --key-file, required.
FlagResult<PrivateKey> required_key(const Args& a, const std::string& what);

// Why a listener could not start, when another process holds its address: names the flag that moves
// it ("127.0.0.1:8545 is in use (another L1, anvil or hardhat?): pass --l1 HOST:PORT to use another").
// nullopt when `where` is free (the failure had another cause: report it as it came).
std::optional<std::string> in_use_message(const Endpoint& where, const std::string& flag, const std::string& who_else);

// A long-running command's main thread: waits for one of `signals` (blocked in every thread) while
// `failed` reports nothing, looking every 100 ms. Returns the signal, or 0 with `why` set when `failed`
// reported that the process must stop (its data directory cannot be written).
int wait_for_stop(const sigset_t& signals, const std::function<std::optional<std::string>()>& failed, std::string& why);

// Blocks SIGINT and SIGTERM in this thread (and the threads it starts) and returns the set.
sigset_t block_stop_signals();

}  // namespace opt::cli
