// Node memory at scale: 1,000,000 funded accounts and 100,000 resting orders (target: node RSS <= 2 GB).
//
// Everything goes the real way, with the node in its own process so that its RSS is its own: this
// program runs the L1 (in process, with its HTTP API on a loopback port) and starts `optrollup node`
// against it. The dev accounts fund 1M fresh L2 accounts with L1 deposits, the node applies them from the
// inbox, then 100k signed orders are posted to the node's API and rest in its books. The node's RSS is
// read from /proc/<pid>/status.
//   node_memory_bench [ACCOUNTS [ORDERS]]      (defaults 1000000 and 100000)
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "bridge/client.h"
#include "bridge/service.h"
#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/net/http.h"
#include "fraudproof/game.h"
#include "tests/bench_util.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

using namespace opt;
using nlohmann::json;

namespace {

constexpr uint64_t kUsdc = 1'000'000;

uint64_t rss_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

uint16_t free_port() {
  http::ServerOptions so;
  so.port = 0;
  http::Server s(so, std::make_shared<http::Router>());
  s.start();
  uint16_t p = s.port();
  s.stop();
  return p;
}

Address recipient(size_t i) {
  return Address::from(ByteView(keccak256(std::string_view("memory-bench-" + std::to_string(i))).data(), 20));
}

}  // namespace

int main(int argc, char** argv) {
  const size_t accounts = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const size_t orders = argc > 2 ? std::stoull(argv[2]) : 100'000;
  const opt::test::TempDir tmp("optrollup-mem");
  const std::string dir = tmp.path();
  std::filesystem::create_directories(dir + "/node");

  // The L1 (with the game), serving HTTP on loopback.
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  auto games = std::make_shared<fp::GameModule>(fp::GameConfig{});
  l1::ServiceOptions lo;
  lo.db_path = dir + "/l1.sqlite";
  lo.port = 0;
  l1::L1Config base;
  base.block_time_ms = 500;
  lo.open.config = fp::rollup_config(devnet::genesis(now - 60), base);
  lo.open.extensions = {games};
  lo.open.durable = false;
  auto l1s = l1::L1Service::start(std::move(lo));
  if (!l1s) {
    std::printf("error: L1: %s\n", l1s.error().c_str());
    return 1;
  }
  l1::L1Chain& chain = (*l1s)->chain();

  const uint16_t api_port = free_port();
  const std::string bin = OPTROLLUP_BIN;
  // The node in its own process (its memory is what is measured); its output is captured, not printed.
  opt::test::ChildProcess node_proc(opt::test::command(
      {bin, "node", "--l1", (*l1s)->url(), "--key", devnet::dev_keys()[devnet::kProposer].hex(), "--data-dir",
       dir + "/node", "--api", "127.0.0.1:" + std::to_string(api_port), "--dev-oracle", "--batch-interval", "1s"}));
  const pid_t node = node_proc.pid();
  auto stop_node = [&] {
    node_proc.terminate(std::chrono::seconds(60));
    (*l1s)->stop();
  };
  http::Client api("http://127.0.0.1:" + std::to_string(api_port));
  auto wait_until = [&](auto cond, const char* what, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      try {
        if (cond()) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf("error: timed out waiting for %s\n", what);
    return false;
  };
  if (!wait_until([&] { return api.get("/v1/health").status == 200; }, "the node", 60)) {
    stop_node();
    return 1;
  }
  const uint64_t rss_start = rss_of(node);

  // 1M recipients, funded by L1 deposits from the four traders (each a signed L1 action).
  auto t0 = bench::Clock::now();
  const Hash32 l1dom = chain.domain_separator();
  std::vector<uint64_t> nonces(4, 0);
  for (size_t d = 0; d < 4; ++d) nonces[d] = chain.account(devnet::dev_addresses()[d]).nonce;
  auto deposit = [&](size_t from, const Address& to, uint64_t amount) {
    l1::Action a = l1::make_deposit(devnet::dev_addresses()[from], to, amount, nonces[from]++);
    (void)l1::sign_action(a, devnet::dev_keys()[from], l1dom);
    auto r = chain.submit(a);
    if (!r) std::printf("error: deposit: %s\n", r.error().message.c_str());
    return r.ok();
  };
  for (size_t d = 0; d < 4; ++d) deposit(d, devnet::dev_addresses()[d], 100'000 * kUsdc);
  for (size_t i = 0; i < accounts; ++i) {
    if (!deposit(i % 4, recipient(i), 1 * kUsdc)) {
      stop_node();
      return 1;
    }
    if (i % 200'000 == 199'999) std::printf("  %zu deposits on L1 (%.0f s)\n", i + 1, bench::seconds_since(t0));
  }
  std::fflush(stdout);
  const std::string last = "/v1/accounts/" + to_checksum(recipient(accounts - 1));
  if (!wait_until([&] { return json::parse(api.get(last).body).at("collateral") == std::to_string(kUsdc); },
                  "the node to credit every deposit", 1800)) {
    stop_node();
    return 1;
  }
  const double deposit_s = bench::seconds_since(t0);
  const uint64_t rss_accounts = rss_of(node);
  std::printf("  %zu deposits applied by the node after %.0f s\n", accounts, deposit_s);

  // 100k resting orders: bids well below the market, from the four traders, through the API.
  json cfg = json::parse(api.get("/v1/config").body);
  const auto& d = cfg.at("domain");
  const Hash32 l2dom = Eip712Domain{d.at("name"), d.at("version"), d.at("chainId").get<uint64_t>(),
                                    *parse_address(d.at("verifyingContract").get<std::string>())}
                           .separator();
  auto t1 = bench::Clock::now();
  size_t rested = 0;
  for (size_t i = 0; i < orders; ++i) {
    size_t dev = i % 4;
    Order o{devnet::dev_addresses()[dev],
            1 + i % 36,
            true,
            kUsdc / 10,
            (1 + i % 500) * 1000,
            kUsdc,
            1'000'000 + i,
            static_cast<uint64_t>(std::time(nullptr)) + 3000,
            0};
    Signature s = *sign(typed_digest(l2dom, o), devnet::dev_keys()[dev]);
    json body = {{"order",
                  {{"account", to_checksum(o.account)},
                   {"instrument", o.instrument},
                   {"isBuy", true},
                   {"quantity", std::to_string(o.quantity)},
                   {"limitPrice", std::to_string(o.limit_price)},
                   {"maxFee", std::to_string(o.max_fee)},
                   {"nonce", std::to_string(o.nonce)},
                   {"expiry", std::to_string(o.expiry)},
                   {"flags", 0}}},
                 {"signature", s.hex()}};
    auto r = api.post("/v1/orders", body);
    if (r.status == 200 && json::parse(r.body).value("status", "") == "open") ++rested;
  }
  const uint64_t rss_end = rss_of(node);
  std::printf("  %zu orders resting after %.0f s\n", rested, bench::seconds_since(t1));

  char note[200];
  std::snprintf(note, sizeof note, "target <= 2048 MB; %zu accounts, %zu resting orders; the node process alone",
                accounts, rested);
  bench::report("node_rss_mb", static_cast<double>(rss_end) / (1 << 20), "MB", note);
  bench::report("node_rss_start_mb", static_cast<double>(rss_start) / (1 << 20), "MB", "after genesis");
  bench::report("node_rss_after_accounts_mb", static_cast<double>(rss_accounts) / (1 << 20), "MB");
  bench::report("node_deposits_applied_per_s", static_cast<double>(accounts) / deposit_s, "deposits/s",
                "L1 action + inbox + node apply");
  stop_node();
  return rss_end <= (2048ull << 20) ? 0 : 1;
}
