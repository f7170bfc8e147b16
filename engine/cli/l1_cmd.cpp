// `optrollup l1`: runs the embedded L1 chain with the rollup contract, the bridge and the fraud-proof game,
// and their HTTP API, until SIGINT/SIGTERM.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

#include "bridge/service.h"
#include "bridge/store.h"
#include "engine/cli/command.h"
#include "engine/common/devnet.h"
#include "engine/common/genesis_json.h"
#include "fraudproof/game.h"

namespace opt::cli {

namespace {

constexpr const char* kName = "l1";

const std::set<std::string> kGenesisFlags = {
    "--block-time", "--challenge-period", "--clock",    "--clock-extension",        "--dissection",
    "--genesis",    "--genesis-time",     "--chain-id", "--forced-inclusion-delay", "--max-drift"};

// The genesis of the chain stored in `db`; nullopt when the file holds no chain (a creation that failed
// before its commit — on a full disk, say — leaves an empty file: the chain is then created anew).
Result<std::optional<Genesis>, std::string> stored_genesis(const std::string& db) {
  auto store = l1::Store::open(db, false);
  if (!store) return err(store.error());
  auto text = (*store)->meta("config");
  if (!text) return std::optional<Genesis>();
  try {
    auto c = l1::config_from_json(nlohmann::json::parse(*text));
    if (!c) return err(c.error());
    auto g = fp::genesis_of(*c);
    if (!g) return err(g.error());
    return std::optional<Genesis>(std::move(*g));
  } catch (const std::exception& e) {
    return err(db + ": stored config: " + e.what());
  }
}

// The chain's parameters from the flags, over the defaults of L1Config.
FlagResult<l1::L1Config> config_flags(const Args& a) {
  l1::L1Config c;
  auto block_ms = a.duration_ms_or("--block-time", c.block_time_ms);
  if (!block_ms) return err(block_ms.error());
  c.block_time_ms = *block_ms;
  // Durations in whole seconds: the chain's clock has one-second resolution.
  for (auto [flag, field] :
       {std::pair{"--challenge-period", &c.challenge_period_seconds}, std::pair{"--clock", &c.clock_seconds},
        std::pair{"--clock-extension", &c.clock_extension_seconds},
        std::pair{"--forced-inclusion-delay", &c.forced_inclusion_delay_seconds},
        std::pair{"--max-drift", &c.max_timestamp_drift_seconds}}) {
    auto v = a.seconds_or(flag, *field);
    if (!v) return err(v.error());
    *field = *v;
  }
  auto degree = a.u64_or("--dissection", c.dissection_degree, 2, 64);
  if (!degree) return err(degree.error());
  c.dissection_degree = *degree;
  auto chain_id = a.u64_or("--chain-id", c.chain_id, 1);
  if (!chain_id) return err(chain_id.error());
  c.chain_id = *chain_id;
  return c;
}

int run_l1(const Args& a) {
  std::string dir = a.get_or("--data-dir", "./l1-data");
  auto listen = a.endpoint("--listen", "", kDefaultL1, true);
  if (!listen) return usage_error(kName, listen.error());
  auto parsed = config_flags(a);
  if (!parsed) return usage_error(kName, parsed.error());
  l1::L1Config config = *parsed;
  auto genesis_time = a.u64("--genesis-time");
  if (!genesis_time) return usage_error(kName, genesis_time.error());
  if (a.has("--genesis") && a.has("--genesis-time"))
    return usage_error(kName, "give --genesis or --genesis-time, not both");
  const std::string db = (std::filesystem::path(dir) / "l1.sqlite").string();
  std::optional<Genesis> stored;
  if (std::filesystem::exists(db)) {
    auto g = stored_genesis(db);
    if (!g) return failure(kName, g.error());
    stored = std::move(*g);
  }
  const bool exists = stored.has_value();
  Genesis genesis;
  if (auto f = a.get("--genesis")) {
    std::ifstream in(*f);
    if (!in) return usage_error(kName, "--genesis: cannot read " + *f);
    try {
      auto g = genesis_from_json(nlohmann::json::parse(in));
      if (!g) return usage_error(kName, "--genesis " + *f + ": " + g.error());
      genesis = std::move(*g);
    } catch (const std::exception& e) {
      return usage_error(kName, "--genesis " + *f + ": " + e.what());
    }
  } else if (*genesis_time || !exists) {
    genesis = devnet::genesis(genesis_time->value_or(static_cast<uint64_t>(std::time(nullptr))));
  } else {
    // A restart that names no genesis keeps the stored one (other flags are still compared).
    genesis = std::move(*stored);
  }
  config = fp::rollup_config(genesis, config);
  if (auto v = l1::validate(config); !v) return usage_error(kName, v.error());

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return failure(kName, "cannot create the data directory " + dir + ": " + ec.message());
  bool genesis_flags = false;
  for (const auto& f : kGenesisFlags) genesis_flags |= a.has(f);

  // Signals go to this thread only (sigwait below): the server and timer threads never see them.
  sigset_t signals = block_stop_signals();

  auto games = std::make_shared<fp::GameModule>(fp::GameConfig{});
  l1::ServiceOptions opts;
  opts.db_path = db;
  opts.open.extensions = {games};
  opts.host = listen->host;
  opts.port = listen->port;
  // On a restart without genesis flags the stored config is used; with flags, they must match it.
  if (!exists || genesis_flags) opts.open.config = config;
  auto service = l1::L1Service::start(std::move(opts));
  if (!service)
    return failure(kName,
                   in_use_message(*listen, "--listen", "another L1, anvil or hardhat").value_or(service.error()));
  const l1::L1Config& c = (*service)->chain().config();
  if (auto g = fp::genesis_of(c); !g) return failure(kName, g.error());
  l1::Head head = (*service)->chain().head();
  std::printf("optrollup l1: chain %llu listening on %s (block time %llu ms, challenge period %llu s)\n",
              static_cast<unsigned long long>(c.chain_id), (*service)->url().c_str(),
              static_cast<unsigned long long>(c.block_time_ms),
              static_cast<unsigned long long>(c.challenge_period_seconds));
  std::printf("optrollup l1: data %s, %s at block %llu, genesis root %s\n", db.c_str(), exists ? "resumed" : "created",
              static_cast<unsigned long long>(head.block), c.genesis_root.hex().c_str());
  std::fflush(stdout);

  std::string why;
  int sig = wait_for_stop(
      signals, [&] { return (*service)->chain().storage_failure(); }, why);
  if (sig == 0) {
    // The log cannot be written: what was refused is not acknowledged, what was acknowledged is on disk.
    (*service)->stop();
    return failure(kName, "stopped: " + why);
  }
  std::printf("optrollup l1: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*service)->stop();
  return 0;
}

}  // namespace

std::vector<Command> l1_commands() {
  Command c;
  c.name = kName;
  c.summary = "run the embedded L1 settlement chain and its API";
  c.usage =
      "usage: optrollup l1 [--data-dir DIR] [--listen HOST:PORT] [--block-time 1s] [--challenge-period 60s]\n"
      "                    [--clock 20s] [--clock-extension 5s] [--dissection K] [--genesis FILE | --genesis-time T]\n"
      "                    [--chain-id N] [--forced-inclusion-delay 120s] [--max-drift 30s]\n"
      "\n"
      "Runs the embedded L1 settlement chain (blocks, USDC and bond ledgers, rollup contract, bridge, the\n"
      "fraud-proof game) and serves its JSON API under /l1/v1/. State lives in DIR/l1.sqlite; on restart the\n"
      "chain resumes from it.\n"
      "The ten anvil dev accounts start with 1,000,000 USDC and 10,000 bond tokens each.";
  const l1::L1Config d;
  auto secs = [](uint64_t s) { return std::to_string(s) + "s"; };
  c.flags = {
      {"--data-dir", "DIR", "directory", "./l1-data", "where the chain is stored"},
      {"--listen", "HOST:PORT", "HOST:PORT or http://HOST:PORT; port 0: any free port", kDefaultL1, "API address"},
      {"--block-time", "D", "duration", std::to_string(d.block_time_ms) + "ms", "block interval"},
      {"--challenge-period", "D", "whole seconds", secs(d.challenge_period_seconds),
       "how long a batch can be disputed"},
      {"--clock", "D", "whole seconds", secs(d.clock_seconds), "each party's total time in a game"},
      {"--clock-extension", "D", "whole seconds", secs(d.clock_extension_seconds),
       "time a late move leaves the other side"},
      {"--dissection", "K", "integer 2..64", std::to_string(d.dissection_degree),
       "roots per dissection step + 1 (2: bisection)"},
      {"--genesis", "FILE", "JSON file", "the devnet genesis",
       "the L2 genesis (the l2Genesis object of GET /l1/v1/config)"},
      {"--genesis-time", "T", "unix seconds", "now",
       "time of the devnet L2 genesis; the genesis ladder's expiries follow from it"},
      {"--chain-id", "N", "integer >= 1", std::to_string(d.chain_id), "L1 chain id"},
      {"--forced-inclusion-delay", "D", "whole seconds", secs(d.forced_inclusion_delay_seconds),
       "age after which an inbox message must be included"},
      {"--max-drift", "D", "whole seconds", secs(d.max_timestamp_drift_seconds),
       "how far a batch's L2 time may run ahead of the L1"},
  };
  c.notes =
      "Durations: 500ms, 30s, 2m, 1h or plain seconds. Genesis flags apply when the chain is created; given\n"
      "again on a restart they must match what is stored.";
  c.run = run_l1;
  return {c};
}

}  // namespace opt::cli
