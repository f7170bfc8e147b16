// The node's components seen from outside: reads come from the read model while the sequencer is busy;
// the defender's replica computes the same step roots as an independent re-execution of the L1's batches
// (and the conservation identity holds after each of them); the node's typed events; the devnet oracle's
// integer random walk; the node's own conservation check after every batch.
#include <doctest/doctest.h>

#include <mutex>

#include "engine/common/devnet.h"
#include "engine/core/keccak.h"
#include "engine/node/devnet_oracle.h"
#include "engine/node/replica.h"
#include "engine/stf/batch.h"
#include "engine/stf/conservation.h"
#include "tests/node/node_fixture.h"

using namespace opt;
using namespace opt::node;
using namespace opt::node::test;
using namespace std::chrono_literals;

namespace {

class Recorder final : public EventSink {
 public:
  bool active() const override { return active_; }
  void on_event(const Event& e) override {
    std::lock_guard lock(mu_);
    events_.push_back(e);
  }
  template <typename T>
  std::vector<T> all() const {
    std::lock_guard lock(mu_);
    std::vector<T> out;
    for (const auto& e : events_)
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  bool active_ = true;

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

void check_conservation_stats(NodeFixture& f) {
  NodeStats s = f.node().stats();
  INFO("closed " << s.batches_closed << ", checked " << s.batches_checked << ", failures " << s.conservation_failures);
  CHECK(s.batches_closed > 0);
  CHECK(s.batches_checked == s.batches_closed);  // every batch, none skipped
  CHECK(s.conservation_failures == 0);
}

void trade(NodeFixture& f, size_t seller, size_t buyer, uint64_t price, uint64_t nonce) {
  auto ask = f.node().submit_order(f.signed_order(seller, f.order(seller, 1, false, kContract, price, nonce)));
  REQUIRE(ask.ok());
  auto bid = f.node().submit_order(f.signed_order(buyer, f.order(buyer, 1, true, kContract, price, nonce)));
  REQUIRE(bid.ok());
  REQUIRE(bid->trade_ids.size() == 1);
}

}  // namespace

TEST_CASE("book, instruments, trades and batches answer while the sequencer is held inside a command") {
  std::atomic<bool> hold{false}, inside{false};
  FixtureOptions o;
  o.on_command = [&] {
    if (!hold.load()) return;
    inside.store(true);
    while (hold.load()) std::this_thread::sleep_for(1ms);
  };
  NodeFixture f(o);
  trade(f, 0, 1, 100 * kUsdc, 1);
  REQUIRE(f.node().submit_order(f.signed_order(0, f.order(0, 1, false, kContract, 120 * kUsdc, 2))).ok());  // rests
  NodeFixture::wait_for([&] { return !f.node().batches(0, 10).empty(); }, "the follower caches a posted batch");

  hold.store(true);
  std::atomic<bool> answered{false};
  std::thread busy([&] {
    (void)f.node().submit_order(f.signed_order(2, f.order(2, 1, false, kContract, 130 * kUsdc, 3)));
    answered.store(true);
  });
  NodeFixture::wait_for([&] { return inside.load(); }, "the sequencer is inside the command");

  const auto t0 = std::chrono::steady_clock::now();
  auto book = f.node().book(1, 50);
  auto instruments = f.node().instruments();
  auto trades = f.node().trades(std::nullopt, 10);
  auto batches = f.node().batches(0, 10);
  auto b0 = f.node().batch(0);
  auto unknown = f.node().book(999'999, 50);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  const bool still_held = !answered.load();
  hold.store(false);
  busy.join();

  CHECK(still_held);  // the reads above ran while the command was in progress
  CHECK(elapsed < 500ms);
  REQUIRE(book);
  REQUIRE(!book->asks.empty());
  CHECK(book->asks.front().price == 120 * kUsdc);
  CHECK(!instruments.empty());
  REQUIRE(!trades.empty());
  CHECK(trades.front().price == 100 * kUsdc);
  CHECK(!batches.empty());
  CHECK(b0.has_value());
  CHECK_FALSE(unknown.has_value());
  CHECK(answered.load());
  check_conservation_stats(f);
}

TEST_CASE("the replica's step roots equal an independent re-execution of the L1's batches") {
  NodeFixture f;
  // Several batches (the fixture closes them every 200 ms), each with trades.
  for (uint64_t n = 1; n <= 4; ++n) {
    trade(f, 0, 1, (100 + n) * kUsdc, n);
    trade(f, 2, 3, (90 + n) * kUsdc, n);
    std::this_thread::sleep_for(250ms);
  }
  NodeFixture::wait_for(
      [&] {
        auto s = f.node().stats();
        return s.pending_txs == 0 && s.batches_closed >= 3 && s.batches_posted == s.batches_closed;
      },
      "every closed batch is posted");
  check_conservation_stats(f);

  auto head = f.port().head();
  REQUIRE(head.ok());
  std::vector<BatchSteps> batches;
  for (uint64_t i = 0; i < head->next_batch_index; ++i) {
    auto rec = f.port().batch(i);
    REQUIRE(rec.ok());
    REQUIRE(rec->status != l1::BatchStatus::kRemoved);
    BatchSteps b;
    b.seq = i;
    b.l2_ts = rec->l2_timestamp;
    b.inbox_steps = rec->inbox_to - rec->inbox_from;
    for (uint64_t s = 0; s < rec->step_count(); ++s) {
      auto in = f.chain().step_input(i, s);
      REQUIRE(in.ok());
      b.steps.push_back(*in);
    }
    b.start_root = rec->prev_root;
    b.post_root = rec->post_root;
    batches.push_back(std::move(b));
  }
  REQUIRE(batches.size() >= 3);

  // Independently: the genesis state and every batch re-executed here, with the conservation identity
  // checked after each over every dev account.
  std::vector<Address> accounts(devnet::dev_addresses().begin(), devnet::dev_addresses().end());
  FullState state;
  REQUIRE(f.genesis().build(state).ok());
  std::vector<std::vector<Hash32>> honest;
  for (const auto& b : batches) {
    std::vector<Hash32> roots{Hash32::from(state.root())};
    auto r = intermediate_roots(f.genesis().params, b.l2_ts, b.steps, b.inbox_steps, state);
    REQUIRE(r.ok());
    for (const auto& x : *r) roots.push_back(Hash32::from(x));
    CHECK(roots.back() == b.post_root);
    auto t = conservation_totals(state, accounts);
    REQUIRE(t.ok());
    CHECK(t->holds());
    honest.push_back(std::move(roots));
  }

  Replica replica(f.genesis(), nullptr);
  const Hash32 genesis_root = replica.root();
  for (size_t i = 0; i < batches.size(); ++i) {
    std::vector<BatchSteps> before(batches.begin(), batches.begin() + static_cast<long>(i));
    auto roots = replica.step_roots(before, batches[i]);
    REQUIRE(roots);
    CHECK(*roots == honest[i]);
    CHECK(replica.root() == genesis_root);  // it returns to the final state every time
  }
  // After the first batch is final, the rest are computed from there.
  replica.advance(batches[0], 0);
  CHECK(replica.root() == batches[0].post_root);
  for (size_t i = 1; i < batches.size(); ++i) {
    replica.forget(batches[i].seq);
    std::vector<BatchSteps> before(batches.begin() + 1, batches.begin() + static_cast<long>(i));
    auto roots = replica.step_roots(before, batches[i]);
    REQUIRE(roots);
    CHECK(*roots == honest[i]);
  }
  // A claimed post root that re-execution does not reproduce is never answered with.
  BatchSteps wrong = batches.back();
  wrong.seq = 1'000'000;
  wrong.post_root = keccak256(wrong.post_root.view());
  std::vector<BatchSteps> before(batches.begin() + 1, batches.end() - 1);
  CHECK_FALSE(replica.step_roots(before, wrong).has_value());
  CHECK(replica.root() == batches[0].post_root);
}

TEST_CASE("typed events: book deltas, trades, accounts and batch status") {
  NodeFixture f;
  auto rec = std::make_shared<Recorder>();
  f.node().set_event_sink(rec);
  auto ask = f.node().submit_order(f.signed_order(0, f.order(0, 1, false, 2 * kContract, 100 * kUsdc, 1)));
  REQUIRE(ask.ok());
  auto bid = f.node().submit_order(f.signed_order(1, f.order(1, 1, true, kContract, 100 * kUsdc, 1)));
  REQUIRE(bid.ok());
  REQUIRE(bid->trade_ids.size() == 1);

  NodeFixture::wait_for([&] { return rec->all<TradeEvent>().size() == 1; }, "the trade event");
  TradeView t = rec->all<TradeEvent>().front().trade;
  CHECK(t.id == bid->trade_ids.front());
  CHECK(t.instrument == 1);
  CHECK(t.price == 100 * kUsdc);
  CHECK(t.quantity == kContract);
  CHECK(t.taker_is_buy);
  CHECK(t.maker == dev_addr(0));
  CHECK(t.taker == dev_addr(1));

  auto deltas = rec->all<BookDeltaEvent>();
  REQUIRE(deltas.size() >= 2);
  // The ask rests (2 contracts), then the bid takes one: the level ends at 1 contract.
  CHECK(deltas[0].instrument == 1);
  REQUIRE(deltas[0].asks.size() == 1);
  CHECK(deltas[0].asks[0].quantity == 2 * kContract);
  REQUIRE(deltas[1].asks.size() == 1);
  CHECK(deltas[1].asks[0].quantity == kContract);
  CHECK(deltas[1].sequence > deltas[0].sequence);
  auto book = f.node().book(1, 10);
  REQUIRE(book);
  CHECK(book->sequence >= deltas[1].sequence);

  auto accounts = rec->all<AccountChangedEvent>();
  auto touched = [&](size_t dev) {
    return std::any_of(accounts.begin(), accounts.end(),
                       [&](const AccountChangedEvent& a) { return a.address == dev_addr(dev); });
  };
  CHECK(touched(0));
  CHECK(touched(1));

  NodeFixture::wait_for(
      [&] {
        for (const auto& b : rec->all<BatchStatusEvent>())
          if (b.status == BatchStatus::kPending) return true;
        return false;
      },
      "a batch posted event");
  BatchStatusEvent posted = rec->all<BatchStatusEvent>().front();
  REQUIRE(posted.post_root);
  auto l1_batch = f.port().batch(posted.index);
  REQUIRE(l1_batch.ok());
  CHECK(l1_batch->post_root == *posted.post_root);

  f.advance_l1(61);
  NodeFixture::wait_for(
      [&] {
        for (const auto& b : rec->all<BatchStatusEvent>())
          if (b.status == BatchStatus::kFinal && b.index == posted.index) return true;
        return false;
      },
      "the batch's final event");

  // A sink nobody listens to is given nothing.
  auto idle = std::make_shared<Recorder>();
  idle->active_ = false;
  f.node().set_event_sink(idle);
  trade(f, 2, 3, 100 * kUsdc, 2);
  CHECK(idle->size() == 0);
  f.node().set_event_sink(nullptr);
  check_conservation_stats(f);
}

TEST_CASE("the devnet oracle walks in integer steps from its seed") {
  const Genesis g = devnet::genesis(wall_s() - 60);
  std::optional<OracleLeaf> leaf;  // what the node's state says
  auto make = [&](uint64_t seed) {
    DevnetOracleConfig c;
    c.domain_separator = g.params.domain_separator;
    c.seed = seed;
    c.oracle = [&](uint32_t) { return leaf; };
    c.step_timestamp = [] { return uint64_t{0}; };
    c.submit = [](const PriceReportTx&) { return true; };
    return c;
  };
  DevnetOracle a(make(7)), b(make(7)), c(make(8));
  std::vector<uint64_t> pa, pb, pc;
  int64_t prev = 3000 * kUsdc;
  for (uint64_t ts = 1000; ts < 1100; ++ts) {
    auto ra = a.next_report(devnet::kEth, ts);
    auto rb = b.next_report(devnet::kEth, ts);
    auto rc = c.next_report(devnet::kEth, ts);
    REQUIRE(ra);
    REQUIRE(rb);
    REQUIRE(rc);
    CHECK(ra->report.timestamp == ts);
    CHECK(ra->sigs.size() == devnet::kOracleThreshold);
    pa.push_back(ra->report.price);
    pb.push_back(rb->report.price);
    pc.push_back(rc->report.price);
    // At most 2000 ppm per step.
    const int64_t p = static_cast<int64_t>(ra->report.price);
    CHECK(std::llabs(p - prev) <= prev * 2000 / 1'000'000 + 1);
    prev = p;
  }
  CHECK(pa == pb);  // the same seed, the same walk
  CHECK(pa != pc);
  // A report at or before the oracle's last is not made; a price from elsewhere moves the walk.
  leaf = OracleLeaf{devnet::kEth, 2000 * kUsdc, 600'000, 5000, 0, {}};
  CHECK_FALSE(a.next_report(devnet::kEth, 5000).has_value());
  auto moved = a.next_report(devnet::kEth, 5001);
  REQUIRE(moved);
  // One step of the walk moves at most 2000 ppm.
  const int64_t from = static_cast<int64_t>(2000 * kUsdc);
  CHECK(std::llabs(static_cast<int64_t>(moved->report.price) - from) <= from * 2000 / 1'000'000 + 1);
}
