// `optrollup simulate`: the adversarial simulator from the command line, for demos and long runs.
// `optrollup challenger`: the challenger agent as its own process, against an L1 over HTTP.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "engine/cli/command.h"
#include "engine/common/keys.h"
#include "engine/net/http.h"
#include "fraudproof/agent.h"
#include "fraudproof/sim/simulator.h"

namespace opt::cli {

namespace {

int simulate_cmd(const Args& a) {
  uint64_t seed = 1, games = 20, degree = 0;
  try {
    if (auto s = a.get("--seed")) seed = std::stoull(*s);
    if (auto g = a.get("--games")) games = std::stoull(*g);
    if (auto k = a.get("--k")) degree = std::stoull(*k);
  } catch (const std::exception&) {
    return usage_error("simulate", "--seed, --games and --k take non-negative integers");
  }
  if (degree == 1 || degree > 64) return usage_error("simulate", "--k must be between 2 and 64");
  if (games == 0) return usage_error("simulate", "--games must be at least 1");
  int scenario = -1;
  if (auto s = a.get("--scenario")) {
    for (int i = 0; i < static_cast<int>(fp::Scenario::kCount); ++i)
      if (*s == fp::to_string(static_cast<fp::Scenario>(i))) scenario = i;
    if (scenario < 0) return usage_error("simulate", "unknown scenario " + *s);
  }
  fp::SimTotals totals;
  for (uint64_t i = 0; i < games; ++i) {
    fp::SimOptions o;
    o.seed = seed + i;
    o.degree = degree;
    o.scenario = scenario;
    if (a.flag("--verbose")) o.log = [](const std::string& s) { std::printf("    %s\n", s.c_str()); };
    fp::SimReport r = fp::simulate(o);
    totals.add(r);
    if (!a.flag("--quiet") || !r.ok) std::printf("%s\n", r.line().c_str());
    std::fflush(stdout);
  }
  std::printf("%s\n", totals.summary().c_str());
  return totals.failures == 0 && totals.honest_wins == totals.games && totals.moves_off == 0 ? 0 : 1;
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
  return buf;
}

int challenger_cmd(const Args& a) {
  auto url = a.get("--l1");
  if (!url) return usage_error("challenger", "--l1 URL is required (e.g. http://127.0.0.1:8545)");
  Result<PrivateKey, KeyError> key = err(KeyError::kBadHex);
  if (auto k = a.get("--key"))
    key = parse_private_key(*k);
  else if (auto f = a.get("--key-file"))
    key = read_key_file(*f);
  else
    return usage_error("challenger", "give --key 0x... or --key-file PATH");
  if (!key) return usage_error("challenger", to_string(key.error()));
  uint64_t poll_ms = 500;
  if (auto p = a.get("--poll")) {
    auto ms = parse_duration_ms(*p);
    if (!ms || *ms == 0) return usage_error("challenger", "--poll must be a positive duration");
    poll_ms = *ms;
  }
  const Address me = *address_of(*key);
  std::string dir = a.get_or("--data-dir", "./challenger-data");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "optrollup challenger: cannot create the data directory %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  fp::RemoteL1 port(*url);
  auto cfg = port.config();
  if (!cfg) {
    std::fprintf(stderr, "optrollup challenger: cannot read the L1 config at %s: %s\n", url->c_str(), cfg.error().message.c_str());
    return 1;
  }
  auto genesis = fp::genesis_of(*cfg);
  if (!genesis) {
    std::fprintf(stderr, "optrollup challenger: %s\n", genesis.error().c_str());
    return 1;
  }
  std::string tag = to_checksum(me).substr(0, 10);
  fp::ChallengerOptions o;
  o.key = *key;
  o.genesis = std::move(*genesis);
  o.db_path = (std::filesystem::path(dir) / ("challenger-" + to_checksum(me) + ".sqlite")).string();
  o.log = [tag](const std::string& line) {
    std::printf("%s challenger %s: %s\n", now_text().c_str(), tag.c_str(), line.c_str());
    std::fflush(stdout);
  };
  auto agent = fp::Challenger::open(o, port);
  if (!agent) {
    std::fprintf(stderr, "optrollup challenger: %s\n", agent.error().c_str());
    return 1;
  }

  // The agent runs on this thread; the metrics server reads the text it publishes after every round.
  struct Published {
    std::mutex mu;
    std::string text;
  };
  auto published = std::make_shared<Published>();
  published->text = (*agent)->metrics_text();
  std::unique_ptr<http::Server> metrics;
  if (auto m = a.get("--metrics")) {
    auto colon = m->rfind(':');
    if (colon == std::string::npos) return usage_error("challenger", "--metrics must be HOST:PORT");
    http::ServerOptions so;
    so.host = m->substr(0, colon);
    so.port = static_cast<uint16_t>(std::stoul(m->substr(colon + 1)));
    so.threads = 1;
    auto router = std::make_shared<http::Router>();
    router->add("GET", "/metrics", [published](const http::Request&) {
      std::lock_guard lock(published->mu);
      http::Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = published->text;
      return r;
    });
    router->add("GET", "/health", [](const http::Request&) { return http::json_response(200, {{"status", "ok"}}); });
    metrics = std::make_unique<http::Server>(so, router);
    try {
      metrics->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optrollup challenger: %s\n", e.what());
      return 1;
    }
    o.log("metrics on http://" + so.host + ":" + std::to_string(metrics->port()) + "/metrics");
  }
  o.log("watching " + *url + " (data " + o.db_path + ")");
  for (;;) {
    if (auto s = (*agent)->poll(); !s) {
      // Its progress cannot be written (or the chain is not one it can follow): stop; a restart resumes
      // from the last checkpoint and the L1's events.
      if (metrics) metrics->stop();
      std::fprintf(stderr, "optrollup challenger: stopped: %s\n", s.error().c_str());
      return 1;
    }
    {
      std::lock_guard lock(published->mu);
      published->text = (*agent)->metrics_text();
    }
    timespec ts{static_cast<time_t>(poll_ms / 1000), static_cast<long>((poll_ms % 1000) * 1'000'000)};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      o.log(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received, stopping");
      if (metrics) metrics->stop();
      return 0;
    }
  }
}

}  // namespace

std::vector<Command> fraudproof_commands() {
  return {
      {"simulate", "run the adversarial fraud-proof simulator on virtual time",
       "usage: optrollup simulate [--seed S] [--games N] [--k K] [--scenario NAME] [--verbose] [--quiet]\n\n"
       "Plays N seeded games (seeds S, S+1, ...) with the real state machine, L1, game and agents on virtual\n"
       "time, and prints one line per seed and a summary:\n"
       "  games: N honest_wins: N proposer_wrong: A challenger_wrong: B moves_off: 0\n"
       "  --k K            dissection degree (2..64); default: 2, 4 or 16 by seed\n"
       "  --scenario NAME  wrong_root | malicious_challenger | lazy_proposer | lazy_challenger |\n"
       "                   last_second | many_challengers | restart; default: by seed\n"
       "  --verbose        print every agent's log lines\n"
       "  --quiet          print only failures and the summary\n"
       "Exit status 0 when the honest side won every game with the expected number of moves.",
       {"--seed", "--games", "--k", "--scenario"}, {"--verbose", "--quiet"}, simulate_cmd},
      {"challenger", "watch the L1, re-execute every batch, dispute wrong roots and win",
       "usage: optrollup challenger --l1 URL (--key 0x... | --key-file PATH) [--data-dir DIR]\n"
       "                            [--metrics HOST:PORT] [--poll 500ms]\n\n"
       "Follows the L1's events, rebuilds the L2 state by re-executing every posted batch from the L1's data,\n"
       "challenges the first batch whose root is wrong and plays the game to the end (dissections, then the\n"
       "one-step proof). Progress is kept in DIR/challenger-<address>.sqlite: a restart resumes its games.\n"
       "  --l1 URL            the L1 API (e.g. http://127.0.0.1:8545)\n"
       "  --key, --key-file   the challenger's key (it needs bond tokens on the L1 for each challenge)\n"
       "  --data-dir DIR      where progress is kept (default ./challenger-data)\n"
       "  --metrics HOST:PORT serve Prometheus metrics at /metrics (batches verified, games open/won/lost)\n"
       "  --poll D            how often to look at the L1 (default 500ms)\n"
       "It prints one line per thing it does and stops cleanly on SIGINT/SIGTERM.",
       {"--l1", "--key", "--key-file", "--data-dir", "--metrics", "--poll"}, {}, challenger_cmd},
  };
}

}  // namespace opt::cli
