// `optrollup devnet` (everything in one process) and `optrollup node` (the sequencer and its API alone).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "bridge/service.h"
#include "engine/api/rollup_api.h"
#include "engine/cli/command.h"
#include "engine/common/devnet.h"
#include "engine/common/genesis_json.h"
#include "engine/common/keys.h"
#include "engine/node/node.h"
#include "fraudproof/agent.h"
#include "fraudproof/game.h"

namespace opt::cli {

namespace {

std::string clock_text() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
  return buf;
}

// One line per event, from any thread.
std::function<void(const std::string&)> logger(const std::string& who) {
  static std::mutex mu;
  return [who](const std::string& line) {
    std::lock_guard lock(mu);
    std::printf("%s %-10s %s\n", clock_text().c_str(), who.c_str(), line.c_str());
    std::fflush(stdout);
  };
}

struct ApiServer {
  std::shared_ptr<http::Router> router;
  std::unique_ptr<http::Server> server;
};

Result<ApiServer, std::string> start_api(node::Node& n, const Endpoint& listen, const std::string& l1_url) {
  ApiServer s;
  s.router = std::make_shared<http::Router>();
  api::RollupApiOptions o;
  o.l1_url = l1_url;
  auto server_slot = std::make_shared<http::Server*>(nullptr);
  o.extra_metrics = [server_slot] { return *server_slot ? api::server_metrics_text(**server_slot) : std::string(); };
  api::add_rollup_routes(*s.router, n, o);
  http::ServerOptions so = api::rollup_server_options(o, listen.host, listen.port);
  s.server = std::make_unique<http::Server>(so, s.router);
  *server_slot = s.server.get();
  s.server->set_websocket("/v1/ws", api::rollup_ws_handler(n));
  try {
    s.server->start();
  } catch (const std::exception& e) {
    return err(in_use_message(listen, "--api", "another node or devnet").value_or("API: " + std::string(e.what())));
  }
  api::attach_publisher(n, *s.server);
  return s;
}

int run_devnet(const Args& a) {
  constexpr const char* kName = "devnet";
  const std::string dir = a.get_or("--data-dir", "./devnet-data");
  auto api_at = a.endpoint("--api", kApiEnv, kDefaultApi, true);
  if (!api_at) return usage_error(kName, api_at.error());
  auto l1_at = a.endpoint("--l1", kL1Env, kDefaultL1, true);
  if (!l1_at) return usage_error(kName, l1_at.error());

  l1::L1Config base;
  auto period = a.seconds_or("--challenge-period", 60);
  if (!period) return usage_error(kName, period.error());
  base.challenge_period_seconds = *period;
  auto clock = a.seconds_or("--clock", 20);
  if (!clock) return usage_error(kName, clock.error());
  base.clock_seconds = *clock;
  base.clock_extension_seconds = std::min<uint64_t>(5, base.clock_seconds);
  auto degree = a.u64_or("--dissection", base.dissection_degree, 2, 64);
  if (!degree) return usage_error(kName, degree.error());
  base.dissection_degree = *degree;
  auto block_ms = a.duration_ms_or("--block-time", base.block_time_ms);
  if (!block_ms) return usage_error(kName, block_ms.error());
  base.block_time_ms = *block_ms;
  auto seq = sequencer_flags(a);
  if (!seq) return usage_error(kName, seq.error());
  // The feeder's reports change the state root every few seconds; tests that compare roots before and
  // after something (a restart, a sweep of refused requests) slow it down or turn it off.
  auto oracle_ms = a.duration_ms_or("--oracle-interval", 3000, 100);
  if (!oracle_ms) return usage_error(kName, oracle_ms.error());
  const uint64_t batch_ms = seq->batch_interval_ms;
  const std::optional<uint64_t> fault = seq->fault_at_batch;
  if (auto v = l1::validate(base); !v) return usage_error(kName, v.error());

  // A first start that fails (a port in use, say) leaves no half-made data folder behind: the next start
  // would take it for a chain to resume.
  struct RemoveUnlessStarted {
    std::string dir;
    bool armed;
    ~RemoveUnlessStarted() {
      std::error_code ignored;
      if (armed) std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir, !std::filesystem::exists(dir)};
  std::error_code ec;
  for (const char* sub : {"l1", "node", "challenger"}) {
    std::filesystem::create_directories(std::filesystem::path(dir) / sub, ec);
    if (ec)
      return failure(kName, "cannot create the data directory " + (std::filesystem::path(dir) / sub).string() + ": " +
                                ec.message());
  }
  const std::string l1_db = (std::filesystem::path(dir) / "l1" / "l1.sqlite").string();
  const bool resumed = std::filesystem::exists(l1_db);

  sigset_t signals = block_stop_signals();
  auto say = logger("devnet");

  // ---- the L1, with the rollup contract, the bridge and the game ----
  auto games = std::make_shared<fp::GameModule>(fp::GameConfig{});
  l1::ServiceOptions lo;
  lo.db_path = l1_db;
  lo.host = l1_at->host;
  lo.port = l1_at->port;
  lo.open.extensions = {games};
  if (!resumed) lo.open.config = fp::rollup_config(devnet::genesis(static_cast<uint64_t>(std::time(nullptr))), base);
  auto l1s = l1::L1Service::start(std::move(lo));
  if (!l1s)
    return failure(kName,
                   in_use_message(*l1_at, "--l1", "another L1, anvil or hardhat").value_or("L1: " + l1s.error()));
  l1::L1Service& l1 = **l1s;
  auto genesis = fp::genesis_of(l1.chain().config());
  if (!genesis) return failure(kName, genesis.error());
  if (resumed && (a.has("--challenge-period") || a.has("--clock") || a.has("--dissection") || a.has("--block-time")))
    say("note: the chain in " + dir +
        " keeps the parameters it was created with; start with a new --data-dir to change them");

  // ---- the sequencer node and its API ----
  fp::LocalL1 port(l1.chain(), *games);
  node::NodeConfig nc;
  nc.data_dir = (std::filesystem::path(dir) / "node").string();
  nc.genesis = *genesis;
  nc.proposer_key = devnet::dev_keys()[devnet::kProposer];
  nc.batch_interval_ms = batch_ms;
  nc.fault_at_batch = fault;
  nc.oracle_feeder = !a.flag("--no-oracle");
  nc.oracle_interval_ms = *oracle_ms;
  nc.log = logger("node");
  auto node = node::Node::open(nc, port);
  if (!node) return failure(kName, "node: " + node.error());
  (*node)->start();
  auto api = start_api(**node, *api_at, l1.url());
  if (!api) {
    (*node)->stop();
    l1.stop();
    return failure(kName, api.error());
  }

  // ---- the honest challenger ----
  std::atomic<bool> stop{false};
  std::thread challenger_thread;
  std::unique_ptr<fp::Challenger> challenger;
  fp::LocalL1 challenger_port(l1.chain(), *games);
  if (!a.flag("--no-challenger")) {
    fp::ChallengerOptions co;
    co.key = devnet::dev_keys()[devnet::kChallenger];
    co.genesis = *genesis;
    co.db_path = (std::filesystem::path(dir) / "challenger" / "challenger.sqlite").string();
    co.log = logger("challenger");
    auto c = fp::Challenger::open(co, challenger_port);
    if (!c) {
      api->server->stop();
      (*node)->stop();
      l1.stop();
      return failure(kName, "challenger: " + c.error());
    }
    challenger = std::move(*c);
    challenger_thread = std::thread([&] {
      while (!stop) {
        if (auto s = challenger->poll(); !s) logger("challenger")("error: " + s.error());
        for (int i = 0; i < 5 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }

  const l1::L1Config& c = l1.chain().config();
  cleanup.armed = false;  // everything listens: the folder holds a chain now
  std::printf("\noptrollup devnet %s (data in %s)\n", resumed ? "resumed" : "started", dir.c_str());
  Endpoint api_bound = *api_at;
  api_bound.port = api->server->port();
  std::printf("  rollup API   %s/v1  (WebSocket ws://%s/v1/ws, metrics /metrics)\n", api_bound.url().c_str(),
              api_bound.host_port().c_str());
  std::printf("  L1 API       %s/l1/v1\n", l1.url().c_str());
  std::printf("  L2 chain id  %llu, L1 chain id %llu, rollup contract %s\n",
              static_cast<unsigned long long>(genesis->params.chain_id), static_cast<unsigned long long>(c.chain_id),
              to_checksum(c.rollup_address).c_str());
  std::printf("  challenge period %llu s, clocks %llu s, dissection degree %llu, batches every %llu ms%s\n",
              static_cast<unsigned long long>(c.challenge_period_seconds),
              static_cast<unsigned long long>(c.clock_seconds), static_cast<unsigned long long>(c.dissection_degree),
              static_cast<unsigned long long>(batch_ms),
              fault ? (", wrong root at L1 batch " + std::to_string(*fault)).c_str() : "");
  std::printf("  challenger   %s\n", a.flag("--no-challenger")
                                         ? "none (--no-challenger)"
                                         : to_checksum(devnet::dev_addresses()[devnet::kChallenger]).c_str());
  std::printf("\ndev accounts (anvil's well-known keys; each has 1,000,000 USDC and 10,000 bond tokens on L1):\n");
  const char* roles[] = {"trader", "trader", "trader", "trader",     "admin",
                         "oracle", "oracle", "oracle", "challenger", "proposer"};
  for (size_t i = 0; i < 10; ++i)
    std::printf("  (%zu) %s %s  %s\n", i, to_checksum(devnet::dev_addresses()[i]).c_str(),
                devnet::dev_keys()[i].hex().c_str(), roles[i]);
  // The hint names the URLs when they are not the client commands' defaults (a --api/--l1 override or port 0).
  const std::string api_url = api_bound.url();
  std::string where;
  if (api_url != "http://127.0.0.1:8080") where += " --api " + api_url;
  if (l1.url() != "http://127.0.0.1:8545") where += " --l1 " + l1.url();
  if (!nc.oracle_feeder) std::printf("\noracle feeder off (--no-oracle): orders need price reports from elsewhere\n");
  std::printf("\ntry: optrollup deposit%s --key %s --amount 1000\n\n", where.c_str(),
              devnet::dev_keys()[0].hex().c_str());
  std::fflush(stdout);

  std::string why;
  int sig = wait_for_stop(
      signals,
      [&]() -> std::optional<std::string> {
        if (auto f = l1.chain().storage_failure()) return "L1: " + *f;
        if (auto f = (*node)->failure()) return "node: " + *f;
        return std::nullopt;
      },
      why);
  if (sig) say(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received, shutting down");
  stop = true;
  if (challenger_thread.joinable()) challenger_thread.join();
  api->server->stop();
  (*node)->stop();
  l1.stop();
  if (sig == 0) return failure(kName, "stopped: " + why);
  say("stopped cleanly");
  return 0;
}

int run_node(const Args& a) {
  constexpr const char* kName = "node";
  auto l1_at = a.endpoint("--l1", kL1Env, kDefaultL1, false);
  if (!l1_at) return usage_error(kName, l1_at.error());
  auto api_at = a.endpoint("--api", kApiEnv, kDefaultApi, true);
  if (!api_at) return usage_error(kName, api_at.error());
  auto key = required_key(a, "the proposer's key");
  if (!key) return usage_error(kName, key.error());
  auto seq = sequencer_flags(a);
  if (!seq) return usage_error(kName, seq.error());
  const std::string l1_url = l1_at->url();
  sigset_t signals = block_stop_signals();
  fp::RemoteL1 port(l1_url);
  auto cfg = port.config();
  if (!cfg) return failure(kName, "cannot read the L1 config at " + l1_url + ": " + cfg.error().message);
  auto genesis = fp::genesis_of(*cfg);
  if (!genesis) return failure(kName, genesis.error());
  node::NodeConfig nc;
  nc.data_dir = a.get_or("--data-dir", "./node-data");
  {
    std::error_code ec;
    std::filesystem::create_directories(nc.data_dir, ec);
    if (ec) return failure(kName, "cannot create the data directory " + nc.data_dir + ": " + ec.message());
  }
  nc.genesis = *genesis;
  nc.proposer_key = *key;
  nc.batch_interval_ms = seq->batch_interval_ms;
  nc.fault_at_batch = seq->fault_at_batch;
  nc.oracle_feeder = a.flag("--dev-oracle");
  nc.log = logger("node");
  auto node = node::Node::open(nc, port);
  if (!node) return failure(kName, node.error());
  (*node)->start();
  auto api = start_api(**node, *api_at, l1_url);
  if (!api) {
    (*node)->stop();
    return failure(kName, api.error());
  }
  logger("node")("API on port " + std::to_string(api->server->port()) + ", L1 " + l1_url + ", data " + nc.data_dir);
  std::string why;
  int sig = wait_for_stop(
      signals, [&] { return (*node)->failure(); }, why);
  api->server->stop();
  (*node)->stop();
  if (sig == 0) {
    // The log cannot be written: every request it did not take was refused; what it acknowledged is on disk.
    return failure(kName, "stopped: " + why);
  }
  logger("node")(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received, shutting down");
  return 0;
}

}  // namespace

std::vector<Command> node_commands() {
  Command devnet;
  devnet.name = "devnet";
  devnet.summary = "run a complete local network: L1, sequencer node with API, oracle feeder, challenger";
  devnet.usage =
      "usage: optrollup devnet [--data-dir DIR] [--api HOST:PORT] [--l1 HOST:PORT] [--challenge-period D]\n"
      "                        [--clock D] [--batch-interval D] [--dissection K] [--block-time D]\n"
      "                        [--fault-at-batch N] [--no-challenger] [--oracle-interval D | --no-oracle]\n\n"
      "Starts, in one process, the embedded L1 (with the rollup contract, bridge and fraud-proof game), the\n"
      "sequencer node and its JSON API, an oracle feeder (the devnet committee signs ETH and BTC prices) and an\n"
      "honest challenger. Everything is kept under DIR: stop it with Ctrl-C and start it again to resume.";
  devnet.flags = {
      {"--data-dir", "DIR", "directory", "./devnet-data", "where the L1, the node and the challenger keep their data"},
      {"--api", "HOST:PORT", "HOST:PORT or http://HOST:PORT", std::string("$") + kApiEnv + ", else " + kDefaultApi,
       "where the rollup API listens"},
      {"--l1", "HOST:PORT", "HOST:PORT or http://HOST:PORT", std::string("$") + kL1Env + ", else " + kDefaultL1,
       "where the L1 API listens"},
      {"--challenge-period", "D", "whole seconds", "60s", "how long a batch can be disputed"},
      {"--clock", "D", "whole seconds", "20s", "each side's total time in a game"},
      {"--dissection", "K", "integer 2..64", "2", "k-ary dissection degree"},
      {"--block-time", "D", "duration", "1s", "L1 block time"},
  };
  for (auto& f : sequencer_flag_specs()) devnet.flags.push_back(f);
  devnet.flags.push_back(
      {"--no-challenger", "", "", "", "leave challenging to separate `optrollup challenger` processes"});
  devnet.flags.push_back(
      {"--oracle-interval", "D", "duration >= 100ms", "3s", "how often the feeder signs ETH and BTC prices"});
  devnet.flags.push_back({"--no-oracle", "", "", "", "no feeder (the state root then moves only with user requests)"});
  devnet.notes = "Durations: 500ms, 30s, 2m, 1h or plain seconds. Port 0 in --api / --l1 picks a free port (printed).";
  devnet.run = run_devnet;

  Command node;
  node.name = "node";
  node.summary = "run the sequencer node and its API against a running L1";
  node.usage =
      "usage: optrollup node [--l1 URL] (--key 0x... | --key-file PATH) [--data-dir DIR] [--api HOST:PORT]\n"
      "                      [--batch-interval D] [--fault-at-batch N] [--dev-oracle]\n\n"
      "The sequencer: takes orders, matches them, executes every step, posts batches to the L1 with the\n"
      "proposer key (which needs bond tokens to stake) and answers disputes of its batches. The genesis comes\n"
      "from the L1's config. Its input log is DIR/node.sqlite: a restart replays it.";
  FlagSpec key = key_flag();
  key.help = "the proposer's key (it needs bond tokens on the L1)";
  node.flags = {
      l1_url_flag(),
      key,
      key_file_flag(),
      {"--data-dir", "DIR", "directory", "./node-data", "where the input log is kept"},
      {"--api", "HOST:PORT", "HOST:PORT or http://HOST:PORT", std::string("$") + kApiEnv + ", else " + kDefaultApi,
       "where the rollup API listens (port 0: any free port)"},
  };
  for (auto& f : sequencer_flag_specs()) node.flags.push_back(f);
  node.flags.push_back(
      {"--dev-oracle", "", "", "", "sign ETH and BTC prices with the devnet committee keys (devnet only)"});
  node.notes = "Durations: 500ms, 30s, 2m, 1h or plain seconds.";
  node.run = run_node;
  return {devnet, node};
}

}  // namespace opt::cli
