// `optrollup l1`: runs the embedded L1 chain with the rollup contract, the bridge and the fraud-proof game,
// and their HTTP API, until SIGINT/SIGTERM.
#include <csignal>
#include <ctime>
#include <fstream>
#include <cstdio>
#include <filesystem>
#include <pthread.h>

#include "bridge/service.h"
#include "bridge/store.h"
#include "engine/cli/command.h"
#include "engine/common/devnet.h"
#include "engine/common/genesis_json.h"
#include "fraudproof/game.h"

namespace opt::cli {

namespace {

constexpr const char* kUsage =
    "usage: optrollup l1 [--data-dir DIR] [--listen HOST:PORT] [--block-time 1s] [--challenge-period 60s]\n"
    "                    [--clock 20s] [--clock-extension 5s] [--dissection K] [--genesis FILE | --genesis-time T]\n"
    "                    [--chain-id N] [--forced-inclusion-delay 120s] [--max-drift 30s]\n"
    "\n"
    "Runs the embedded L1 settlement chain (blocks, USDC and bond ledgers, rollup contract, bridge, the\n"
    "fraud-proof game) and serves its JSON API under /l1/v1/. State lives in DIR/l1.sqlite; on restart the\n"
    "chain resumes from it.\n"
    "The ten anvil dev accounts start with 1,000,000 USDC and 10,000 bond tokens each.\n"
    "  --data-dir DIR           where the chain is stored (default ./l1-data)\n"
    "  --listen HOST:PORT       API address (default 127.0.0.1:8545)\n"
    "  --block-time D           block interval (default 1s)\n"
    "  --challenge-period D     how long a batch can be disputed (default 60s)\n"
    "  --clock D                each party's total time in a game (default 20s)\n"
    "  --clock-extension D      time a late move leaves the other side (default 5s)\n"
    "  --dissection K           roots per dissection step + 1 (default 2: bisection)\n"
    "  --genesis FILE           the L2 genesis as JSON (the l2Genesis object of GET /l1/v1/config)\n"
    "  --genesis-time T         unix time of the devnet L2 genesis (default: now); the genesis ladder's\n"
    "                           expiries follow from it\n"
    "  --chain-id N             L1 chain id (default 31337)\n"
    "  --forced-inclusion-delay D  age after which an inbox message must be included (default 120s)\n"
    "  --max-drift D            how far a batch's L2 time may run ahead of the L1 (default 30s)\n"
    "Durations: 30s, 500ms, 2m or plain seconds. Genesis flags apply when the chain is created; given\n"
    "again on a restart they must match what is stored.";

const std::set<std::string> kGenesisFlags = {"--block-time", "--challenge-period", "--clock", "--clock-extension",
                                             "--dissection", "--genesis", "--genesis-time", "--chain-id",
                                             "--forced-inclusion-delay", "--max-drift"};

// A duration flag in whole seconds (the chain's clock has one-second resolution).
bool seconds_flag(const Args& a, const std::string& flag, uint64_t& out, std::string& error) {
  auto v = a.get(flag);
  if (!v) return true;
  auto ms = parse_duration_ms(*v);
  if (!ms || *ms % 1000 != 0 || *ms == 0) {
    error = flag + " must be a positive whole number of seconds (e.g. 60s, 2m)";
    return false;
  }
  out = *ms / 1000;
  return true;
}

bool u64_flag(const Args& a, const std::string& flag, uint64_t& out, std::string& error) {
  auto v = a.get(flag);
  if (!v) return true;
  auto n = l1::parse_u64(*v, flag);
  if (!n) {
    error = flag + " must be a non-negative integer";
    return false;
  }
  out = *n;
  return true;
}

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

int run_l1(const Args& a) {
  std::string dir = a.get_or("--data-dir", "./l1-data");
  std::string listen = a.get_or("--listen", "127.0.0.1:8545");
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return usage_error("l1", "--listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  auto port = l1::parse_u64(listen.substr(colon + 1), "port");
  if (host.empty() || !port || *port > 65535) return usage_error("l1", "--listen must be HOST:PORT");

  l1::L1Config config;
  std::string error;
  if (auto v = a.get("--block-time")) {
    auto ms = parse_duration_ms(*v);
    if (!ms || *ms == 0) return usage_error("l1", "--block-time must be a positive duration");
    config.block_time_ms = *ms;
  }
  if (!seconds_flag(a, "--challenge-period", config.challenge_period_seconds, error) ||
      !seconds_flag(a, "--clock", config.clock_seconds, error) ||
      !seconds_flag(a, "--clock-extension", config.clock_extension_seconds, error) ||
      !seconds_flag(a, "--forced-inclusion-delay", config.forced_inclusion_delay_seconds, error) ||
      !seconds_flag(a, "--max-drift", config.max_timestamp_drift_seconds, error) ||
      !u64_flag(a, "--dissection", config.dissection_degree, error) ||
      !u64_flag(a, "--chain-id", config.chain_id, error))
    return usage_error("l1", error);
  const std::string db = (std::filesystem::path(dir) / "l1.sqlite").string();
  std::optional<Genesis> stored;
  if (std::filesystem::exists(db)) {
    auto g = stored_genesis(db);
    if (!g) {
      std::fprintf(stderr, "optrollup l1: %s\n", g.error().c_str());
      return 1;
    }
    stored = std::move(*g);
  }
  const bool exists = stored.has_value();
  Genesis genesis;
  if (auto f = a.get("--genesis")) {
    std::ifstream in(*f);
    if (!in) return usage_error("l1", "cannot read " + *f);
    try {
      auto g = genesis_from_json(nlohmann::json::parse(in));
      if (!g) return usage_error("l1", g.error());
      genesis = std::move(*g);
    } catch (const std::exception& e) {
      return usage_error("l1", *f + ": " + e.what());
    }
  } else if (a.has("--genesis-time") || !exists) {
    uint64_t t = static_cast<uint64_t>(std::time(nullptr));
    if (!u64_flag(a, "--genesis-time", t, error)) return usage_error("l1", error);
    genesis = devnet::genesis(t);
  } else {
    // A restart that names no genesis keeps the stored one (other flags are still compared).
    genesis = std::move(*stored);
  }
  config = fp::rollup_config(genesis, config);
  if (auto v = l1::validate(config); !v) return usage_error("l1", v.error());

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "optrollup l1: cannot create the data directory %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  bool genesis_flags = false;
  for (const auto& f : kGenesisFlags) genesis_flags |= a.has(f);

  // Signals go to this thread only (sigwait below): the server and timer threads never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto games = std::make_shared<fp::GameModule>(fp::GameConfig{});
  l1::ServiceOptions opts;
  opts.db_path = db;
  opts.open.extensions = {games};
  opts.host = host;
  opts.port = static_cast<uint16_t>(*port);
  // On a restart without genesis flags the stored config is used; with flags, they must match it.
  if (!exists || genesis_flags) opts.open.config = config;
  auto service = l1::L1Service::start(std::move(opts));
  if (!service) {
    std::fprintf(stderr, "optrollup l1: %s\n", service.error().c_str());
    return 1;
  }
  const l1::L1Config& c = (*service)->chain().config();
  if (auto g = fp::genesis_of(c); !g) {
    std::fprintf(stderr, "optrollup l1: %s\n", g.error().c_str());
    return 1;
  }
  l1::Head head = (*service)->chain().head();
  std::printf("optrollup l1: chain %llu listening on %s (block time %llu ms, challenge period %llu s)\n",
              static_cast<unsigned long long>(c.chain_id), (*service)->url().c_str(),
              static_cast<unsigned long long>(c.block_time_ms),
              static_cast<unsigned long long>(c.challenge_period_seconds));
  std::printf("optrollup l1: data %s, %s at block %llu, genesis root %s\n", db.c_str(),
              exists ? "resumed" : "created", static_cast<unsigned long long>(head.block), c.genesis_root.hex().c_str());
  std::fflush(stdout);

  std::string why;
  int sig = wait_for_stop(signals, [&] { return (*service)->chain().storage_failure(); }, why);
  if (sig == 0) {
    // The log cannot be written: what was refused is not acknowledged, what was acknowledged is on disk.
    (*service)->stop();
    std::fprintf(stderr, "optrollup l1: stopped: %s\n", why.c_str());
    return 1;
  }
  std::printf("optrollup l1: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*service)->stop();
  return 0;
}

}  // namespace

std::vector<Command> l1_commands() {
  std::set<std::string> value_flags = {"--data-dir", "--listen"};
  value_flags.insert(kGenesisFlags.begin(), kGenesisFlags.end());
  return {
      {"l1", "run the embedded L1 settlement chain and its API", kUsage, value_flags, {}, run_l1},
  };
}

}  // namespace opt::cli
