// A real sequencer node against a real in-process L1 (SQLite in memory, the fraud-proof game plugged in),
// with dev accounts funded through L1 deposits and oracle prices reported by the devnet committee. Shared
// by the node API tests and the node API benchmark.
//
// Time: the node reads the wall clock; the L1 reads a clock that follows the wall clock plus an offset the
// test can move forward (advance_l1), so a batch's challenge period can pass in an instant while the L2
// timestamps the node proposes stay valid (the L1 only refuses timestamps ahead of its own clock).
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "bridge/chain.h"
#include "bridge/client.h"
#include "bridge/clock.h"
#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/node/node.h"
#include "fraudproof/game.h"
#include "fraudproof/l1_port.h"
#include "tests/support/temp_dir.h"

namespace opt::node::test {

constexpr uint64_t kUsdc = 1'000'000;
constexpr uint64_t kContract = 1'000'000;

inline uint64_t wall_s() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// The wall clock plus an offset that only grows.
class OffsetClock final : public l1::Clock {
 public:
  uint64_t now_ms() const override {
    auto d = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + offset_ms_.load();
  }
  void advance_s(uint64_t s) { offset_ms_.fetch_add(s * 1000); }

 private:
  std::atomic<uint64_t> offset_ms_{0};
};

using opt::test::TempDir;

struct FixtureOptions {
  std::vector<size_t> funded = {0, 1, 2, 3};  // dev accounts that deposit on L1
  uint64_t deposit = 100'000 * kUsdc;
  uint64_t batch_interval_ms = 200;
  size_t max_batch_txs = 4000;
  bool durable = false;  // the node's SQLite log with synchronous=FULL
  uint64_t eth_price = 3'000 * kUsdc;
  uint64_t btc_price = 60'000 * kUsdc;
  uint64_t volatility = 800'000;     // 80%
  bool quiet = true;                 // drop the node's log lines
  std::function<void()> on_command;  // NodeConfig::on_command (hold the sequencer inside a command)
};

inline const PrivateKey& dev_key(size_t i) {
  return devnet::dev_keys().at(i);
}
inline const Address& dev_addr(size_t i) {
  return devnet::dev_addresses().at(i);
}

class NodeFixture {
 public:
  explicit NodeFixture(FixtureOptions o = {}) : opts_(o) {
    const uint64_t now = wall_s();
    // Genesis a minute in the past, so price reports and the first batches are after it; the ladder's
    // first expiry is then at least an hour ahead.
    genesis_ = devnet::genesis(now - 60);

    l1::L1Config base;
    base.block_time_ms = 100;
    base.challenge_period_seconds = 60;
    l1::L1Config cfg = fp::rollup_config(genesis_, base);
    games_ = std::make_shared<fp::GameModule>(fp::GameConfig{});
    l1::OpenOptions oo;
    oo.config = cfg;
    oo.extensions = {games_};
    oo.durable = false;
    auto chain = l1::L1Chain::open(":memory:", clock_, oo);
    if (!chain) throw std::runtime_error("L1: " + chain.error());
    chain_ = std::move(*chain);
    port_ = std::make_unique<fp::LocalL1>(*chain_, *games_);
    // The L1 seals blocks on a timer in production (L1Service); here a thread does it.
    ticker_ = std::thread([this] {
      while (!stop_.load()) {
        chain_->tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    try {
      start_node();
    } catch (...) {
      shutdown();  // a destructor does not run for a constructor that throws
      throw;
    }
  }

  ~NodeFixture() { shutdown(); }
  NodeFixture(const NodeFixture&) = delete;
  NodeFixture& operator=(const NodeFixture&) = delete;

  void start_node() {
    const FixtureOptions& o = opts_;

    NodeConfig nc;
    nc.data_dir = dir_.path();
    nc.genesis = genesis_;
    nc.proposer_key = dev_key(devnet::kProposer);
    nc.batch_interval_ms = o.batch_interval_ms;
    nc.max_batch_txs = o.max_batch_txs;
    nc.durable = o.durable;
    nc.on_command = o.on_command;
    if (!o.quiet)
      nc.log = [](const std::string& s) { std::fprintf(stderr, "node: %s\n", s.c_str()); };
    else
      nc.log = [](const std::string&) {};
    auto node = Node::open(nc, *port_);
    if (!node) throw std::runtime_error("node: " + node.error());
    node_ = std::move(*node);
    node_->start();

    for (size_t i : o.funded) l1_deposit(i, o.deposit);
    report_prices(o.eth_price, o.btc_price, o.volatility);
    for (size_t i : o.funded)
      wait_for([&] { return node_->account(dev_addr(i)).collateral >= static_cast<int64_t>(o.deposit); },
               "the deposit of dev " + std::to_string(i) + " reaches the node");
  }

  // The node first (it talks to the L1), then the L1's ticker.
  void shutdown() {
    if (node_) node_->stop();
    node_.reset();
    stop_.store(true);
    if (ticker_.joinable()) ticker_.join();
  }

  Node& node() { return *node_; }
  const Genesis& genesis() const { return genesis_; }
  l1::L1Chain& chain() { return *chain_; }
  fp::L1Port& port() { return *port_; }
  const Hash32& domain() const { return genesis_.params.domain_separator; }
  // Moves the L1's clock forward (challenge periods, forced inclusion) without touching the node's.
  void advance_l1(uint64_t seconds) { clock_.advance_s(seconds); }

  void l1_deposit(size_t dev, uint64_t amount) {
    auto r = port_->submit(dev_key(dev), l1::make_deposit(dev_addr(dev), dev_addr(dev), amount, 0));
    if (!r) throw std::runtime_error("L1 deposit: " + r.error().code + " " + r.error().message);
  }

  // Reports signed by the devnet committee (2 of 3). The timestamp must not be after the open batch's
  // (report_in_future) nor at or before the last report: try a few seconds back from now.
  void report_prices(uint64_t eth, uint64_t btc, uint64_t volatility) {
    for (auto [u, price] : {std::pair<uint32_t, uint64_t>{devnet::kEth, eth}, {devnet::kBtc, btc}}) {
      std::string last;
      bool ok = false;
      for (uint64_t back = 0; back <= 5 && !ok; ++back) {
        PriceReport r{u, price, volatility, wall_s() - back};
        PriceReportTx t{r, {}};
        for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
          t.sigs.push_back(*sign(typed_digest(domain(), r), dev_key(devnet::kOracleFirst + i)));
        auto res = node_->submit_price_report(t);
        ok = res.ok();
        if (!ok) {
          const Refusal& e = res.error();
          last = std::string(e.code == NodeError::kRefusedByRules ? opt::to_string(e.stf) : to_string(e.code)) + ": " +
                 e.message;
        }
      }
      if (!ok) throw std::runtime_error("price report refused: " + last);
    }
  }

  Order order(size_t dev, uint64_t instrument, bool buy, uint64_t qty, uint64_t price, uint64_t nonce) const {
    Order o;
    o.account = dev_addr(dev);
    o.instrument = instrument;
    o.is_buy = buy;
    o.quantity = qty;
    o.limit_price = price;
    o.max_fee = 1 * kUsdc;
    o.nonce = nonce;
    o.expiry = wall_s() + 3600;
    o.flags = 0;
    return o;
  }
  SignedOrder signed_order(size_t dev, const Order& o) const {
    return {o, *sign(typed_digest(domain(), o), dev_key(dev))};
  }

  // Polls cond every 10 ms for up to `timeout`; throws with `what` if it never holds.
  static void wait_for(const std::function<bool()>& cond, const std::string& what,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(15'000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out waiting until " + what);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  FixtureOptions opts_;
  TempDir dir_;
  OffsetClock clock_;
  Genesis genesis_;
  std::shared_ptr<fp::GameModule> games_;
  std::unique_ptr<l1::L1Chain> chain_;
  std::unique_ptr<fp::LocalL1> port_;
  std::unique_ptr<Node> node_;
  std::thread ticker_;
  std::atomic<bool> stop_{false};
};

}  // namespace opt::node::test
