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

namespace opt::cli {

namespace {

constexpr const char* kName = "challenger";

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
  return buf;
}

int challenger_cmd(const Args& a) {
  auto l1 = a.endpoint("--l1", kL1Env, kDefaultL1, false);
  if (!l1) return usage_error(kName, l1.error());
  auto key = required_key(a, "the challenger's key");
  if (!key) return usage_error(kName, key.error());
  auto poll_ms = a.duration_ms_or("--poll", 500);
  if (!poll_ms) return usage_error(kName, poll_ms.error());
  std::optional<Endpoint> metrics_at;
  if (a.has("--metrics")) {
    auto m = a.endpoint("--metrics", "", "", true);
    if (!m) return usage_error(kName, m.error());
    metrics_at = *m;
  }
  const std::string url = l1->url();
  const Address me = *address_of(*key);
  std::string dir = a.get_or("--data-dir", "./challenger-data");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return failure(kName, "cannot create the data directory " + dir + ": " + ec.message());

  sigset_t signals = block_stop_signals();

  fp::RemoteL1 port(url);
  auto cfg = port.config();
  if (!cfg) return failure(kName, "cannot read the L1 config at " + url + ": " + cfg.error().message);
  auto genesis = fp::genesis_of(*cfg);
  if (!genesis) return failure(kName, genesis.error());
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
  if (!agent) return failure(kName, agent.error());

  // The agent runs on this thread; the metrics server reads the text it publishes after every round.
  struct Published {
    std::mutex mu;
    std::string text;
  };
  auto published = std::make_shared<Published>();
  published->text = (*agent)->metrics_text();
  std::unique_ptr<http::Server> metrics;
  if (metrics_at) {
    http::ServerOptions so;
    so.host = metrics_at->host;
    so.port = metrics_at->port;
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
      return failure(kName,
                     in_use_message(*metrics_at, "--metrics", "another challenger's metrics").value_or(e.what()));
    }
    o.log("metrics on http://" + so.host + ":" + std::to_string(metrics->port()) + "/metrics");
  }
  o.log("watching " + url + " (data " + o.db_path + ")");
  for (;;) {
    if (auto s = (*agent)->poll(); !s) {
      // Its progress cannot be written (or the chain is not one it can follow): stop; a restart resumes
      // from the last checkpoint and the L1's events.
      if (metrics) metrics->stop();
      return failure(kName, "stopped: " + s.error());
    }
    {
      std::lock_guard lock(published->mu);
      published->text = (*agent)->metrics_text();
    }
    timespec ts{static_cast<time_t>(*poll_ms / 1000), static_cast<long>((*poll_ms % 1000) * 1'000'000)};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      o.log(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received, stopping");
      if (metrics) metrics->stop();
      return 0;
    }
  }
}

}  // namespace

std::vector<Command> challenger_commands() {
  Command c;
  c.name = kName;
  c.summary = "watch the L1, re-execute every batch, dispute wrong roots and win";
  c.usage =
      "usage: optrollup challenger [--l1 URL] (--key 0x... | --key-file PATH) [--data-dir DIR]\n"
      "                            [--metrics HOST:PORT] [--poll 500ms]\n\n"
      "Follows the L1's events, rebuilds the L2 state by re-executing every posted batch from the L1's data,\n"
      "challenges the first batch whose root is wrong and plays the game to the end (dissections, then the\n"
      "one-step proof). Progress is kept in DIR/challenger-<address>.sqlite: a restart resumes its games.\n"
      "It prints one line per thing it does and stops cleanly on SIGINT/SIGTERM.";
  FlagSpec key = key_flag();
  key.help = "the challenger's key (it needs bond tokens on the L1 for each challenge)";
  c.flags = {
      l1_url_flag(),
      key,
      key_file_flag(),
      {"--data-dir", "DIR", "directory", "./challenger-data", "where progress is kept"},
      {"--metrics", "HOST:PORT", "HOST:PORT or http://HOST:PORT", "off",
       "serve Prometheus metrics at /metrics and /health (batches verified, games open/won/lost)"},
      {"--poll", "D", "duration", "500ms", "how often to look at the L1"},
  };
  c.run = challenger_cmd;
  return {c};
}

}  // namespace opt::cli
