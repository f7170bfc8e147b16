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

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  try {
    unsigned long p = std::stoul(s.substr(colon + 1));
    if (p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// A duration flag in whole seconds.
bool seconds_of(const Args& a, const std::string& flag, uint64_t& out, std::string& error) {
  auto v = a.get(flag);
  if (!v) return true;
  auto ms = parse_duration_ms(*v);
  if (!ms || *ms == 0 || *ms % 1000) {
    error = flag + " must be a positive whole number of seconds (30s, 2m, or plain seconds)";
    return false;
  }
  out = *ms / 1000;
  return true;
}

sigset_t block_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  return s;
}

struct ApiServer {
  std::shared_ptr<http::Router> router;
  std::unique_ptr<http::Server> server;
};

Result<ApiServer, std::string> start_api(node::Node& n, const std::string& listen, const std::string& l1_url) {
  std::string host;
  uint16_t port;
  if (!split_host_port(listen, host, port)) return err("--api must be HOST:PORT, not " + listen);
  ApiServer s;
  s.router = std::make_shared<http::Router>();
  api::RollupApiOptions o;
  o.l1_url = l1_url;
  auto server_slot = std::make_shared<http::Server*>(nullptr);
  o.extra_metrics = [server_slot] { return *server_slot ? api::server_metrics_text(**server_slot) : std::string(); };
  api::add_rollup_routes(*s.router, n, o);
  http::ServerOptions so = api::rollup_server_options(o, host, port);
  // Handlers block until an order is durable (group commit): enough threads to keep many in flight.
  so.threads = std::max(so.threads, 48);
  s.server = std::make_unique<http::Server>(so, s.router);
  *server_slot = s.server.get();
  s.server->set_websocket("/v1/ws", api::rollup_ws_handler(n));
  try {
    s.server->start();
  } catch (const std::exception& e) {
    return err(std::string(e.what()));
  }
  api::attach_publisher(n, *s.server);
  return s;
}

int run_devnet(const Args& a) {
  const std::string dir = a.get_or("--data-dir", "./devnet-data");
  const std::string api_listen = a.get_or("--api", "127.0.0.1:8080");
  const std::string l1_listen = a.get_or("--l1", "127.0.0.1:8545");
  std::string l1_host;
  uint16_t l1_port;
  if (!split_host_port(l1_listen, l1_host, l1_port)) return usage_error("devnet", "--l1 must be HOST:PORT");

  l1::L1Config base;
  base.challenge_period_seconds = 60;
  base.clock_seconds = 20;
  std::string error;
  if (!seconds_of(a, "--challenge-period", base.challenge_period_seconds, error) ||
      !seconds_of(a, "--clock", base.clock_seconds, error))
    return usage_error("devnet", error);
  base.clock_extension_seconds = std::min<uint64_t>(5, base.clock_seconds);
  if (auto k = a.get("--dissection")) {
    try {
      base.dissection_degree = std::stoull(*k);
    } catch (const std::exception&) {
      return usage_error("devnet", "--dissection takes an integer between 2 and 64");
    }
  }
  if (auto bt = a.get("--block-time")) {
    auto ms = parse_duration_ms(*bt);
    if (!ms || *ms == 0) return usage_error("devnet", "--block-time must be a positive duration");
    base.block_time_ms = *ms;
  }
  uint64_t batch_ms = 2000;
  if (auto bi = a.get("--batch-interval")) {
    auto ms = parse_duration_ms(*bi);
    if (!ms || *ms < 100) return usage_error("devnet", "--batch-interval must be at least 100ms");
    batch_ms = *ms;
  }
  std::optional<uint64_t> fault;
  if (auto f = a.get("--fault-at-batch")) {
    try {
      fault = std::stoull(*f);
    } catch (const std::exception&) {
      return usage_error("devnet", "--fault-at-batch takes an L1 batch index");
    }
  }
  // The feeder's reports change the state root every few seconds; tests that compare roots before and
  // after something (a restart, a sweep of refused requests) slow it down or turn it off.
  uint64_t oracle_ms = 3000;
  if (auto oi = a.get("--oracle-interval")) {
    auto ms = parse_duration_ms(*oi);
    if (!ms || *ms < 100) return usage_error("devnet", "--oracle-interval must be at least 100ms");
    oracle_ms = *ms;
  }
  if (auto v = l1::validate(base); !v) return usage_error("devnet", v.error());

  std::error_code ec;
  for (const char* sub : {"l1", "node", "challenger"}) {
    std::filesystem::create_directories(std::filesystem::path(dir) / sub, ec);
    if (ec) {
      std::fprintf(stderr, "optrollup devnet: cannot create the data directory %s: %s\n",
                   (std::filesystem::path(dir) / sub).string().c_str(), ec.message().c_str());
      return 1;
    }
  }
  const std::string l1_db = (std::filesystem::path(dir) / "l1" / "l1.sqlite").string();
  const bool resumed = std::filesystem::exists(l1_db);

  sigset_t signals = block_signals();
  auto say = logger("devnet");

  // ---- the L1, with the rollup contract, the bridge and the game ----
  auto games = std::make_shared<fp::GameModule>(fp::GameConfig{});
  l1::ServiceOptions lo;
  lo.db_path = l1_db;
  lo.host = l1_host;
  lo.port = l1_port;
  lo.open.extensions = {games};
  if (!resumed) lo.open.config = fp::rollup_config(devnet::genesis(static_cast<uint64_t>(std::time(nullptr))), base);
  auto l1s = l1::L1Service::start(std::move(lo));
  if (!l1s) {
    std::fprintf(stderr, "optrollup devnet: L1: %s\n", l1s.error().c_str());
    return 1;
  }
  l1::L1Service& l1 = **l1s;
  auto genesis = fp::genesis_of(l1.chain().config());
  if (!genesis) {
    std::fprintf(stderr, "optrollup devnet: %s\n", genesis.error().c_str());
    return 1;
  }
  if (resumed && (a.has("--challenge-period") || a.has("--clock") || a.has("--dissection") || a.has("--block-time")))
    say("note: the chain in " + dir + " keeps the parameters it was created with; start with a new --data-dir to change them");

  // ---- the sequencer node and its API ----
  fp::LocalL1 port(l1.chain(), *games);
  node::NodeConfig nc;
  nc.data_dir = (std::filesystem::path(dir) / "node").string();
  nc.genesis = *genesis;
  nc.proposer_key = devnet::dev_keys()[devnet::kProposer];
  nc.batch_interval_ms = batch_ms;
  nc.fault_at_batch = fault;
  nc.oracle_feeder = !a.flag("--no-oracle");
  nc.oracle_interval_ms = oracle_ms;
  nc.log = logger("node");
  auto node = node::Node::open(nc, port);
  if (!node) {
    std::fprintf(stderr, "optrollup devnet: node: %s\n", node.error().c_str());
    return 1;
  }
  (*node)->start();
  auto api = start_api(**node, api_listen, l1.url());
  if (!api) {
    std::fprintf(stderr, "optrollup devnet: API: %s\n", api.error().c_str());
    (*node)->stop();
    return 1;
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
      std::fprintf(stderr, "optrollup devnet: challenger: %s\n", c.error().c_str());
      return 1;
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
  std::printf("\noptrollup devnet %s (data in %s)\n", resumed ? "resumed" : "started", dir.c_str());
  std::printf("  rollup API   http://%s:%u/v1  (WebSocket ws://%s:%u/v1/ws, metrics /metrics)\n", api_listen.substr(0, api_listen.rfind(':')).c_str(),
              api->server->port(), api_listen.substr(0, api_listen.rfind(':')).c_str(), api->server->port());
  std::printf("  L1 API       %s/l1/v1\n", l1.url().c_str());
  std::printf("  L2 chain id  %llu, L1 chain id %llu, rollup contract %s\n",
              static_cast<unsigned long long>(genesis->params.chain_id), static_cast<unsigned long long>(c.chain_id),
              to_checksum(c.rollup_address).c_str());
  std::printf("  challenge period %llu s, clocks %llu s, dissection degree %llu, batches every %llu ms%s\n",
              static_cast<unsigned long long>(c.challenge_period_seconds), static_cast<unsigned long long>(c.clock_seconds),
              static_cast<unsigned long long>(c.dissection_degree), static_cast<unsigned long long>(batch_ms),
              fault ? (", wrong root at L1 batch " + std::to_string(*fault)).c_str() : "");
  std::printf("  challenger   %s\n", a.flag("--no-challenger") ? "none (--no-challenger)" : to_checksum(devnet::dev_addresses()[devnet::kChallenger]).c_str());
  std::printf("\ndev accounts (anvil's well-known keys; each has 1,000,000 USDC and 10,000 bond tokens on L1):\n");
  const char* roles[] = {"trader", "trader", "trader", "trader", "admin", "oracle", "oracle", "oracle", "challenger", "proposer"};
  for (size_t i = 0; i < 10; ++i)
    std::printf("  (%zu) %s %s  %s\n", i, to_checksum(devnet::dev_addresses()[i]).c_str(), devnet::dev_keys()[i].hex().c_str(), roles[i]);
  // The hint names the URLs when they are not the client commands' defaults (a --api/--l1 override or port 0).
  const std::string api_url = "http://" + api_listen.substr(0, api_listen.rfind(':')) + ":" + std::to_string(api->server->port());
  std::string where;
  if (api_url != "http://127.0.0.1:8080") where += " --api " + api_url;
  if (l1.url() != "http://127.0.0.1:8545") where += " --l1 " + l1.url();
  if (!nc.oracle_feeder) std::printf("\noracle feeder off (--no-oracle): orders need price reports from elsewhere\n");
  std::printf("\ntry: optrollup deposit%s --key %s --amount 1000\n\n", where.c_str(), devnet::dev_keys()[0].hex().c_str());
  std::fflush(stdout);

  std::string why;
  int sig = wait_for_stop(signals, [&]() -> std::optional<std::string> {
    if (auto f = l1.chain().storage_failure()) return "L1: " + *f;
    if (auto f = (*node)->failure()) return "node: " + *f;
    return std::nullopt;
  }, why);
  if (sig) say(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received, shutting down");
  stop = true;
  if (challenger_thread.joinable()) challenger_thread.join();
  api->server->stop();
  (*node)->stop();
  l1.stop();
  if (sig == 0) {
    std::fprintf(stderr, "optrollup devnet: stopped: %s\n", why.c_str());
    return 1;
  }
  say("stopped cleanly");
  return 0;
}

int run_node(const Args& a) {
  auto l1_url = a.get("--l1");
  if (!l1_url) return usage_error("node", "--l1 URL is required (e.g. http://127.0.0.1:8545)");
  Result<PrivateKey, KeyError> key = err(KeyError::kBadHex);
  if (auto k = a.get("--key"))
    key = parse_private_key(*k);
  else if (auto f = a.get("--key-file"))
    key = read_key_file(*f);
  else
    return usage_error("node", "give the proposer's key with --key 0x... or --key-file PATH");
  if (!key) return usage_error("node", to_string(key.error()));
  uint64_t batch_ms = 2000;
  if (auto bi = a.get("--batch-interval")) {
    auto ms = parse_duration_ms(*bi);
    if (!ms || *ms < 100) return usage_error("node", "--batch-interval must be at least 100ms");
    batch_ms = *ms;
  }
  std::optional<uint64_t> fault;
  if (auto f = a.get("--fault-at-batch")) {
    try {
      fault = std::stoull(*f);
    } catch (const std::exception&) {
      return usage_error("node", "--fault-at-batch takes an L1 batch index");
    }
  }
  sigset_t signals = block_signals();
  fp::RemoteL1 port(*l1_url);
  auto cfg = port.config();
  if (!cfg) {
    std::fprintf(stderr, "optrollup node: cannot read the L1 config at %s: %s\n", l1_url->c_str(), cfg.error().message.c_str());
    return 1;
  }
  auto genesis = fp::genesis_of(*cfg);
  if (!genesis) {
    std::fprintf(stderr, "optrollup node: %s\n", genesis.error().c_str());
    return 1;
  }
  node::NodeConfig nc;
  nc.data_dir = a.get_or("--data-dir", "./node-data");
  {
    std::error_code ec;
    std::filesystem::create_directories(nc.data_dir, ec);
    if (ec) {
      std::fprintf(stderr, "optrollup node: cannot create the data directory %s: %s\n", nc.data_dir.c_str(), ec.message().c_str());
      return 1;
    }
  }
  nc.genesis = *genesis;
  nc.proposer_key = *key;
  nc.batch_interval_ms = batch_ms;
  nc.fault_at_batch = fault;
  nc.oracle_feeder = a.flag("--dev-oracle");
  nc.log = logger("node");
  auto node = node::Node::open(nc, port);
  if (!node) {
    std::fprintf(stderr, "optrollup node: %s\n", node.error().c_str());
    return 1;
  }
  (*node)->start();
  auto api = start_api(**node, a.get_or("--api", "127.0.0.1:8080"), *l1_url);
  if (!api) {
    std::fprintf(stderr, "optrollup node: API: %s\n", api.error().c_str());
    (*node)->stop();
    return 1;
  }
  logger("node")("API on port " + std::to_string(api->server->port()) + ", L1 " + *l1_url + ", data " + nc.data_dir);
  std::string why;
  int sig = wait_for_stop(signals, [&] { return (*node)->failure(); }, why);
  api->server->stop();
  (*node)->stop();
  if (sig == 0) {
    // The log cannot be written: every request it did not take was refused; what it acknowledged is on disk.
    std::fprintf(stderr, "optrollup node: stopped: %s\n", why.c_str());
    return 1;
  }
  logger("node")(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received, shutting down");
  return 0;
}

}  // namespace

std::vector<Command> node_commands() {
  return {
      {"devnet", "run a complete local network: L1, sequencer node with API, oracle feeder, challenger",
       "usage: optrollup devnet [--data-dir DIR] [--api HOST:PORT] [--l1 HOST:PORT] [--challenge-period D]\n"
       "                        [--clock D] [--batch-interval D] [--dissection K] [--block-time D]\n"
       "                        [--fault-at-batch N] [--no-challenger] [--oracle-interval D | --no-oracle]\n\n"
       "Starts, in one process, the embedded L1 (with the rollup contract, bridge and fraud-proof game), the\n"
       "sequencer node and its JSON API, an oracle feeder (the devnet committee signs ETH and BTC prices) and an\n"
       "honest challenger. Everything is kept under DIR: stop it with Ctrl-C and start it again to resume.\n"
       "  --data-dir DIR        default ./devnet-data\n"
       "  --api HOST:PORT       rollup API (default 127.0.0.1:8080)\n"
       "  --l1 HOST:PORT        L1 API (default 127.0.0.1:8545)\n"
       "  --challenge-period D  how long a batch can be disputed (default 60s)\n"
       "  --clock D             each side's total time in a game (default 20s)\n"
       "  --batch-interval D    how often the node closes a batch (default 2s)\n"
       "  --dissection K        k-ary dissection degree (default 2)\n"
       "  --block-time D        L1 block time (default 1s)\n"
       "  --fault-at-batch N    post a wrong root for L1 batch N (to watch the challenger win)\n"
       "  --no-challenger       leave challenging to separate `optrollup challenger` processes\n"
       "  --oracle-interval D   how often the feeder signs ETH and BTC prices (default 3s)\n"
       "  --no-oracle           no feeder (the state root then moves only with user requests)\n"
       "Durations: 30s, 500ms, 2m or plain seconds. Port 0 in --api / --l1 picks a free port (printed).",
       {"--data-dir", "--api", "--l1", "--challenge-period", "--clock", "--batch-interval", "--dissection",
        "--block-time", "--fault-at-batch", "--oracle-interval"},
       {"--no-challenger", "--no-oracle"}, run_devnet},
      {"node", "run the sequencer node and its API against a running L1",
       "usage: optrollup node --l1 URL (--key 0x... | --key-file PATH) [--data-dir DIR] [--api HOST:PORT]\n"
       "                      [--batch-interval D] [--fault-at-batch N] [--dev-oracle]\n\n"
       "The sequencer: takes orders, matches them, executes every step, posts batches to the L1 with the\n"
       "proposer key (which needs bond tokens to stake) and answers disputes of its batches. The genesis comes\n"
       "from the L1's config. Its input log is DIR/node.sqlite (default ./node-data): a restart replays it.\n"
       "  --dev-oracle   sign ETH and BTC prices with the devnet committee keys (devnet only)",
       {"--l1", "--key", "--key-file", "--data-dir", "--api", "--batch-interval", "--fault-at-batch"}, {"--dev-oracle"},
       run_node},
  };
}

}  // namespace opt::cli
