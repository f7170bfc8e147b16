// The matching engine, case by case: price-time priority, partial fills, every order type, reduce-only
// caps, self-trade prevention, expiry, cancels, depth and deltas, and the correction after a refused fill.
#include <doctest/doctest.h>

#include "tests/market/market_fixture.h"

using namespace opt;
using namespace opt::market;
using opt::test::DepthMirror;
using opt::test::OrderFactory;

namespace {

constexpr uint64_t kNow = 1000;
constexpr uint8_t kA = 1, kB = 2, kC = 3;

struct Bench {
  MatchingEngine engine;
  OrderFactory of;
  DepthMirror mirror;
  Bench() { engine.add_instrument(1); }

  SubmitResult submit(const OrderFactory::Made& m, uint64_t now = kNow, std::optional<uint64_t> cap = std::nullopt) {
    SubmitResult r = engine.submit(m.so, m.hash, now, cap);
    mirror.apply_all(r.deltas);
    return r;
  }
  // Rests an order that crosses nothing; returns it.
  OrderFactory::Made rest(uint8_t acct, bool buy, uint64_t qty, uint64_t price, uint8_t flags = 0,
                          uint64_t expiry = 1'000'000) {
    auto m = of.make(acct, buy, qty, price, flags, expiry);
    auto r = submit(m);
    REQUIRE(r.status == SubmitStatus::kResting);
    return m;
  }
  Depth depth() const { return engine.book(1)->depth(); }
  bool mirror_matches() const { return mirror.depth(1) == depth(); }
};

}  // namespace

TEST_CASE("price-time priority: best price first, oldest first within a level, at the maker's price") {
  Bench b;
  auto a101 = b.rest(kA, false, 5, 101);
  auto b100 = b.rest(kB, false, 3, 100);
  auto c100 = b.rest(kC, false, 4, 100);
  auto a102 = b.rest(kA, false, 6, 102);

  auto t = b.of.make(4, true, 14, 102);
  auto r = b.submit(t);
  CHECK(r.status == SubmitStatus::kFilled);
  REQUIRE(r.fills.size() == 4);
  CHECK(r.fills[0].maker_hash == b100.hash);
  CHECK(r.fills[0].price == 100);
  CHECK(r.fills[0].quantity == 3);
  CHECK(r.fills[1].maker_hash == c100.hash);
  CHECK(r.fills[1].price == 100);
  CHECK(r.fills[2].maker_hash == a101.hash);
  CHECK(r.fills[2].price == 101);
  CHECK(r.fills[3].maker_hash == a102.hash);
  CHECK(r.fills[3].quantity == 2);  // 14 - 3 - 4 - 5
  CHECK(r.fills[3].maker_remaining == 4);
  CHECK(r.filled == 14);
  CHECK(r.resting == 0);
  for (const auto& f : r.fills) CHECK(f.taker_hash == t.hash);
  // The fill carries the maker exactly as signed and stored: it becomes a Trade transaction as is.
  CHECK(*r.fills[2].maker == a101.so);
  TradeTx tx = to_trade(r.fills[0], t.so);
  CHECK(tx.maker == b100.so);
  CHECK(tx.taker == t.so);
  CHECK(tx.quantity == 3);
  CHECK(tx.price == 100);

  CHECK(b.engine.size() == 1);
  CHECK(b.engine.find(a102.hash)->remaining == 4);
  CHECK(b.mirror_matches());
}

TEST_CASE("a buy does not trade above its limit and its remainder rests at its limit, behind older orders") {
  Bench b;
  b.rest(kA, false, 5, 101);
  auto old_bid = b.rest(kB, true, 2, 99);
  auto t = b.of.make(kC, true, 7, 99);
  auto r = b.submit(t);
  CHECK(r.status == SubmitStatus::kResting);
  CHECK(r.fills.empty());
  auto bids = b.engine.book(1)->orders(Side::kBuy);
  REQUIRE(bids.size() == 2);
  CHECK(bids[0].hash == old_bid.hash);
  CHECK(bids[1].hash == t.hash);
  CHECK(b.engine.book(1)->best_bid() == DepthLevel{99, 9, 2});
  CHECK(b.engine.book(1)->best_ask() == DepthLevel{101, 5, 1});

  // A sell crossing the bids trades with the older one first.
  auto s = b.of.make(kA, false, 3, 98);
  r = b.submit(s);
  CHECK(r.status == SubmitStatus::kFilled);
  REQUIRE(r.fills.size() == 2);
  CHECK(r.fills[0].maker_hash == old_bid.hash);
  CHECK(r.fills[0].quantity == 2);
  CHECK(r.fills[1].maker_hash == t.hash);
  CHECK(r.fills[1].quantity == 1);
  CHECK(r.fills[1].price == 99);
  CHECK(b.mirror_matches());
}

TEST_CASE("partial fills: makers shrink, a filled maker leaves, the taker's rest rests") {
  Bench b;
  auto m = b.rest(kA, false, 10, 100);
  auto r = b.submit(b.of.make(kB, true, 4, 100));
  CHECK(r.status == SubmitStatus::kFilled);
  CHECK(r.fills.at(0).maker_remaining == 6);
  CHECK(b.engine.find(m.hash)->remaining == 6);
  CHECK(b.engine.book(1)->best_ask() == DepthLevel{100, 6, 1});

  auto t = b.of.make(kB, true, 9, 100);
  r = b.submit(t);
  CHECK(r.status == SubmitStatus::kPartiallyFilledResting);
  CHECK(r.filled == 6);
  CHECK(r.resting == 3);
  CHECK(r.cancelled == 0);
  CHECK(r.fills.at(0).maker_remaining == 0);
  CHECK_FALSE(b.engine.find(m.hash));
  CHECK(b.engine.find(t.hash)->remaining == 3);
  CHECK_FALSE(b.engine.book(1)->best_ask());
  CHECK(b.engine.book(1)->best_bid() == DepthLevel{100, 3, 1});
  CHECK(b.mirror_matches());
}

TEST_CASE("post-only: rejected with nothing changed if it would take, rests otherwise") {
  Bench b;
  b.rest(kA, false, 5, 101);
  const Depth before = b.depth();
  auto r = b.submit(b.of.make(kB, true, 3, 101, kPostOnly));
  CHECK(r.status == SubmitStatus::kRejectedPostOnly);
  CHECK_FALSE(r.accepted());
  CHECK(r.fills.empty());
  CHECK(r.deltas.empty());
  CHECK(b.depth() == before);
  CHECK(b.engine.size() == 1);

  auto p = b.of.make(kB, true, 3, 100, kPostOnly);
  r = b.submit(p);
  CHECK(r.status == SubmitStatus::kResting);
  CHECK(b.engine.find(p.hash));
  CHECK(b.mirror_matches());
}

TEST_CASE("post-only meeting only its own or expired orders cancels those and rests (it takes nothing)") {
  Bench b;
  auto own = b.rest(kA, false, 5, 100);
  auto dying = b.rest(kB, false, 5, 100, 0, kNow + 10);
  auto p = b.of.make(kA, true, 3, 100, kPostOnly);
  auto r = b.submit(p, kNow + 10);
  CHECK(r.status == SubmitStatus::kResting);
  CHECK(r.fills.empty());
  REQUIRE(r.removed.size() == 2);
  CHECK(r.removed[0].hash == own.hash);
  CHECK(r.removed[0].reason == RemoveReason::kSelfTrade);
  CHECK(r.removed[1].hash == dying.hash);
  CHECK(r.removed[1].reason == RemoveReason::kExpired);
  CHECK(b.engine.size() == 1);
  CHECK(b.engine.book(1)->best_bid() == DepthLevel{100, 3, 1});
  CHECK(b.mirror_matches());
}

TEST_CASE("IOC: fills what it can, the rest is cancelled and never rests") {
  Bench b;
  b.rest(kA, false, 4, 100);
  b.rest(kA, false, 4, 103);
  auto r = b.submit(b.of.make(kB, true, 10, 101, kIoc));
  CHECK(r.status == SubmitStatus::kCancelledIoc);
  CHECK(r.accepted());
  CHECK(r.filled == 4);
  CHECK(r.resting == 0);
  CHECK(r.cancelled == 6);
  CHECK(b.engine.size() == 1);
  CHECK_FALSE(b.engine.book(1)->best_bid());

  r = b.submit(b.of.make(kB, true, 10, 101, kIoc));
  CHECK(r.status == SubmitStatus::kCancelledIoc);
  CHECK(r.fills.empty());
  CHECK(r.cancelled == 10);

  r = b.submit(b.of.make(kB, true, 4, 103, kIoc));
  CHECK(r.status == SubmitStatus::kFilled);
  CHECK(b.engine.size() == 0);
  CHECK(b.mirror_matches());
}

TEST_CASE("FOK: all or nothing, counting neither the taker's own orders nor expired ones") {
  Bench b;
  auto own = b.rest(kA, false, 5, 100);                 // the taker's own: self-trade prevention would cancel it
  auto dying = b.rest(kB, false, 5, 100, 0, kNow + 5);  // expired by the time the FOK arrives
  auto other1 = b.rest(kB, false, 3, 100);
  auto other2 = b.rest(kC, false, 4, 101);
  auto far = b.rest(kC, false, 50, 102);  // beyond the FOK's limit
  (void)far;
  const Depth before = b.depth();
  const uint64_t t = kNow + 5;

  SUBCASE("7 available from others: a FOK for 8 is rejected and changes nothing, not even its own order") {
    auto r = b.submit(b.of.make(kA, true, 8, 101, kFok), t);
    CHECK(r.status == SubmitStatus::kRejectedFok);
    CHECK(r.removed.empty());
    CHECK(r.deltas.empty());
    CHECK(b.depth() == before);
    CHECK(b.engine.find(own.hash));
    CHECK(b.engine.find(dying.hash));
  }
  SUBCASE("even though own + expired + others would total 17") {
    auto r = b.submit(b.of.make(kA, true, 9, 101, kFok), t);
    CHECK(r.status == SubmitStatus::kRejectedFok);
    CHECK(b.engine.size() == 5);
  }
  SUBCASE("exactly 7: filled, the own and expired orders met on the way are removed") {
    auto r = b.submit(b.of.make(kA, true, 7, 101, kFok), t);
    CHECK(r.status == SubmitStatus::kFilled);
    REQUIRE(r.fills.size() == 2);
    CHECK(r.fills[0].maker_hash == other1.hash);
    CHECK(r.fills[1].maker_hash == other2.hash);
    REQUIRE(r.removed.size() == 2);
    CHECK(r.removed[0].hash == own.hash);
    CHECK(r.removed[0].reason == RemoveReason::kSelfTrade);
    CHECK(r.removed[1].hash == dying.hash);
    CHECK(r.removed[1].reason == RemoveReason::kExpired);
    CHECK(b.engine.size() == 1);
    CHECK(b.mirror_matches());
  }
  SUBCASE("at kNow nothing has expired and another account sees 13 at 100: FOK for 8 fills") {
    auto r = b.submit(b.of.make(kC, true, 8, 100, kFok), kNow);
    CHECK(r.status == SubmitStatus::kFilled);
    CHECK(r.fills.size() == 2);  // own(kA) 5 + dying(kB) 3, not yet expired at kNow
  }
  SUBCASE("FOK with IOC behaves as FOK") {
    auto r = b.submit(b.of.make(kA, true, 8, 101, kFok | kIoc), t);
    CHECK(r.status == SubmitStatus::kRejectedFok);
  }
  SUBCASE("FOK capped by reduce-only is judged on the capped quantity") {
    auto r = b.submit(b.of.make(kA, true, 20, 101, kFok | kReduceOnly), t, 7);
    CHECK(r.status == SubmitStatus::kFilled);
    CHECK(r.filled == 7);
    CHECK(r.cancelled == 13);
  }
}

TEST_CASE("reduce-only: needs the caller's cap; fills and rests at most the cap") {
  Bench b;
  b.rest(kA, false, 4, 100);
  auto r = b.submit(b.of.make(kB, true, 10, 100, kReduceOnly));
  CHECK(r.status == SubmitStatus::kRejectedReduceOnly);  // the book cannot know the position
  r = b.submit(b.of.make(kB, true, 10, 100, kReduceOnly), kNow, 0);
  CHECK(r.status == SubmitStatus::kRejectedReduceOnly);  // nothing to reduce
  CHECK(b.engine.size() == 1);

  auto ro = b.of.make(kB, true, 10, 100, kReduceOnly);
  r = b.submit(ro, kNow, 6);  // a short position of 6
  CHECK(r.status == SubmitStatus::kPartiallyFilledResting);
  CHECK(r.effective_qty == 6);
  CHECK(r.filled == 4);
  CHECK(r.resting == 2);  // the cap bounds the resting part too
  CHECK(r.cancelled == 4);
  CHECK(b.engine.find(ro.hash)->remaining == 2);

  // A cap above the quantity changes nothing.
  r = b.submit(b.of.make(kC, false, 3, 100, kReduceOnly), kNow, 1000);
  CHECK(r.status == SubmitStatus::kPartiallyFilledResting);
  CHECK(r.effective_qty == 3);
  CHECK(r.filled == 2);
  CHECK(r.resting == 1);
  CHECK(r.cancelled == 0);
  CHECK(b.mirror_matches());
}

TEST_CASE("a cap on a plain order (re-submission after a partial fill) works the same way") {
  Bench b;
  auto m = b.of.make(kA, false, 10, 100);
  auto r = b.submit(m, kNow, 3);
  CHECK(r.status == SubmitStatus::kResting);
  CHECK(r.resting == 3);
  CHECK(r.cancelled == 7);
  r = b.submit(b.of.make(kA, false, 10, 100), kNow, 0);
  CHECK(r.status == SubmitStatus::kRejectedInvalid);
}

TEST_CASE("self-trade prevention cancels the resting order and matching continues") {
  Bench b;
  auto other_first = b.rest(kB, false, 2, 99);
  auto own = b.rest(kA, false, 5, 100);
  auto other = b.rest(kB, false, 5, 100);
  auto t = b.of.make(kA, true, 6, 100);
  auto r = b.submit(t);
  CHECK(r.status == SubmitStatus::kFilled);
  REQUIRE(r.fills.size() == 2);
  CHECK(r.fills[0].maker_hash == other_first.hash);
  CHECK(r.fills[1].maker_hash == other.hash);
  CHECK(r.fills[1].quantity == 4);
  REQUIRE(r.removed.size() == 1);
  CHECK(r.removed[0].hash == own.hash);
  CHECK(r.removed[0].reason == RemoveReason::kSelfTrade);
  CHECK(r.removed[0].remaining == 5);
  CHECK(r.removed[0].order == own.so);
  CHECK_FALSE(b.engine.find(own.hash));
  for (const auto& f : r.fills) CHECK(f.maker->order.account != t.so.order.account);
  CHECK(b.engine.book(1)->best_ask() == DepthLevel{100, 1, 1});
  CHECK(b.mirror_matches());
}

TEST_CASE("expiry: rejected on arrival, removed when met in matching and by the sweep") {
  Bench b;
  auto r = b.submit(b.of.make(kA, true, 1, 100, 0, kNow), kNow);
  CHECK(r.status == SubmitStatus::kRejectedExpired);  // expiry <= now, the state machine's rule

  auto e1 = b.rest(kA, false, 3, 100, 0, kNow + 10);
  auto live = b.rest(kB, false, 3, 100, 0, kNow + 100);
  auto e2 = b.rest(kA, true, 3, 90, 0, kNow + 20);
  auto e3 = b.rest(kC, true, 3, 90, 0, kNow + 30);

  r = b.submit(b.of.make(kC, true, 2, 100), kNow + 10);
  CHECK(r.status == SubmitStatus::kFilled);
  REQUIRE(r.removed.size() == 1);
  CHECK(r.removed[0].hash == e1.hash);
  CHECK(r.removed[0].reason == RemoveReason::kExpired);
  CHECK(r.fills.at(0).maker_hash == live.hash);

  SweepResult s = b.engine.expire(kNow + 19);
  CHECK(s.removed.empty());
  CHECK(s.deltas.empty());
  s = b.engine.expire(kNow + 30);
  b.mirror.apply_all(s.deltas);
  REQUIRE(s.removed.size() == 2);
  CHECK(s.removed[0].hash == e2.hash);  // earliest expiry first
  CHECK(s.removed[1].hash == e3.hash);
  CHECK(s.removed[1].reason == RemoveReason::kExpired);
  REQUIRE(s.deltas.size() == 1);  // both at bid 90: one delta with the level's final state
  CHECK(s.deltas[0] == LevelDelta{1, Side::kBuy, 90, 0, 0});
  CHECK(b.engine.size() == 1);
  CHECK(b.mirror_matches());
  // Entries of orders that left earlier are skipped.
  CHECK(b.engine.expire(kNow + 1000).removed.size() == 1);
  CHECK(b.engine.size() == 0);
}

TEST_CASE("cancel returns the removed order and its level's new state; find and orders_of follow") {
  Bench b;
  auto x = b.rest(kA, true, 3, 100);
  auto y = b.rest(kA, true, 4, 100);
  auto z = b.rest(kA, false, 1, 105);
  auto w = b.rest(kB, true, 1, 99);
  auto mine = b.engine.orders_of(opt::test::account(kA));
  REQUIRE(mine.size() == 3);
  CHECK(mine[0].hash == x.hash);
  CHECK(mine[1].hash == y.hash);
  CHECK(mine[2].hash == z.hash);
  CHECK(b.engine.orders_of(opt::test::account(kC)).empty());

  auto c = b.engine.cancel(x.hash);
  REQUIRE(c);
  CHECK(c->order.hash == x.hash);
  CHECK(c->order.order == x.so);
  CHECK(c->order.remaining == 3);
  CHECK(c->order.reason == RemoveReason::kCancelled);
  CHECK(c->delta == LevelDelta{1, Side::kBuy, 100, 4, 1});
  CHECK_FALSE(b.engine.cancel(x.hash));
  CHECK_FALSE(b.engine.find(x.hash));
  CHECK(b.engine.find(y.hash)->order == y.so);
  CHECK(b.engine.orders_of(opt::test::account(kA)).size() == 2);

  c = b.engine.cancel(w.hash);
  REQUIRE(c);
  CHECK(c->delta == LevelDelta{1, Side::kBuy, 99, 0, 0});
  CHECK(b.engine.orders_of(opt::test::account(kB)).empty());
  CHECK(b.engine.size() == 2);

  // The cancelled hash may be submitted again (the state machine's fill leaf decides whether it may trade).
  auto again = b.submit(x);
  CHECK(again.status == SubmitStatus::kResting);
  CHECK(b.submit(x).status == SubmitStatus::kRejectedDuplicate);
}

TEST_CASE("depth aggregates by price, best first, limited to the levels asked") {
  Bench b;
  b.rest(kA, true, 3, 100);
  b.rest(kB, true, 4, 100);
  b.rest(kA, true, 1, 98);
  b.rest(kA, true, 2, 99);
  b.rest(kA, false, 5, 103);
  b.rest(kB, false, 6, 102);
  Depth d = b.depth();
  CHECK(d.bids == std::vector<DepthLevel>{{100, 7, 2}, {99, 2, 1}, {98, 1, 1}});
  CHECK(d.asks == std::vector<DepthLevel>{{102, 6, 1}, {103, 5, 1}});
  Depth top = b.engine.book(1)->depth(1);
  CHECK(top.bids == std::vector<DepthLevel>{{100, 7, 2}});
  CHECK(top.asks == std::vector<DepthLevel>{{102, 6, 1}});
  CHECK(b.engine.book(1)->depth(0) == Depth{});
  CHECK(b.mirror_matches());
}

TEST_CASE("deltas applied to a copy of the previous snapshot give the next snapshot") {
  Bench b;
  DepthMirror copy;
  uint64_t now = kNow;
  opt::test::Rng rng(5);
  for (int i = 0; i < 400; ++i) {
    copy.reset(1, b.depth());  // a client that (re)subscribed: snapshot, then deltas
    const uint64_t op = rng.below(10);
    if (op < 7) {
      auto m = b.of.make(static_cast<uint8_t>(1 + rng.below(3)), rng.coin(), 1 + rng.below(9), 95 + rng.below(11),
                         rng.below(5) == 0 ? kIoc : 0, now + 1 + rng.below(40));
      copy.apply_all(b.engine.submit(m.so, m.hash, now).deltas);
    } else if (op < 9) {
      auto bids = b.engine.book(1)->orders(rng.coin() ? Side::kBuy : Side::kSell);
      if (!bids.empty()) copy.apply(b.engine.cancel(bids[rng.below(bids.size())].hash)->delta);
    } else {
      copy.apply_all(b.engine.expire(now).deltas);
    }
    now += rng.below(3);
    REQUIRE(copy.depth(1) == b.depth());
  }
}

TEST_CASE("level totals cannot overflow: reported clamped, exact again once back in range") {
  Bench b;
  auto big1 = b.rest(kA, true, kMaxOrderQty, 100);
  auto big2 = b.rest(kB, true, kMaxOrderQty, 100);
  auto big3 = b.rest(kC, true, kMaxOrderQty, 100);
  CHECK(b.engine.book(1)->best_bid() == DepthLevel{100, UINT64_MAX, 3});
  CHECK(b.engine.cancel(big1.hash)->delta.qty == UINT64_MAX - 1);  // 2 * (2^63 - 1) fits again
  (void)big2;
  (void)big3;
  CHECK(b.submit(b.of.make(kA, true, kMaxOrderQty + 1, 100)).status == SubmitStatus::kRejectedInvalid);
}

TEST_CASE("invalid orders are rejected with a reason and change nothing") {
  Bench b;
  CHECK(b.submit(b.of.make(kA, true, 0, 100)).status == SubmitStatus::kRejectedInvalid);
  CHECK(b.submit(b.of.make(kA, true, 1, 0)).status == SubmitStatus::kRejectedInvalid);
  CHECK(b.submit(b.of.make(kA, true, 1, 100, 0x10)).status == SubmitStatus::kRejectedInvalid);
  CHECK(b.submit(b.of.make(kA, true, 1, 100, kPostOnly | kIoc)).status == SubmitStatus::kRejectedInvalid);
  CHECK(b.submit(b.of.make(kA, true, 1, 100, kPostOnly | kFok)).status == SubmitStatus::kRejectedInvalid);
  CHECK(b.submit(b.of.make(kA, true, 1, 100, 0, 1'000'000, 7)).status == SubmitStatus::kRejectedUnknownInstrument);
  CHECK(b.engine.size() == 0);
  CHECK(std::string(to_string(SubmitStatus::kPartiallyFilledResting)) == "partially_filled_resting");
  CHECK(std::string(to_string(RemoveReason::kSelfTrade)) == "self_trade");
  CHECK_FALSE(b.engine.add_instrument(1));
}

TEST_CASE("books are per instrument; the hash index is shared") {
  Bench b;
  b.engine.add_instrument(2);
  auto m = b.of.make(kA, false, 5, 100, 0, 1'000'000, 2);
  CHECK(b.submit(m).status == SubmitStatus::kResting);
  CHECK(b.submit(b.of.make(kB, true, 5, 100)).status == SubmitStatus::kResting);  // instrument 1: no ask
  CHECK(b.engine.book(2)->size() == 1);
  CHECK(b.engine.book(1)->size() == 1);
  auto r = b.submit(b.of.make(kB, true, 2, 100, 0, 1'000'000, 2));
  CHECK(r.status == SubmitStatus::kFilled);
  CHECK(r.fills.at(0).maker_hash == m.hash);

  SweepResult s = b.engine.remove_instrument(2);
  REQUIRE(s.removed.size() == 1);
  CHECK(s.removed[0].reason == RemoveReason::kInstrumentClosed);
  CHECK(s.removed[0].remaining == 3);
  CHECK(s.deltas == std::vector<LevelDelta>{{2, Side::kSell, 100, 0, 0}});
  CHECK(b.engine.book(2) == nullptr);
  CHECK_FALSE(b.engine.find(m.hash));
  CHECK(b.engine.size() == 1);
  CHECK(b.engine.expire(2'000'000).removed.size() == 1);  // the closed book's queue entries are stale
}

TEST_CASE("shrink caps a resting order and keeps its place") {
  Bench b;
  auto first = b.rest(kA, false, 10, 100);
  auto second = b.rest(kB, false, 10, 100);
  auto d = b.engine.shrink(first.hash, 4);
  REQUIRE(d);
  CHECK(*d == LevelDelta{1, Side::kSell, 100, 14, 2});
  CHECK(b.engine.shrink(first.hash, 8)->qty == 14);  // only ever down
  CHECK_FALSE(b.engine.shrink(first.hash, 0));
  CHECK_FALSE(b.engine.shrink(OrderHash{}, 3));
  auto r = b.submit(b.of.make(kC, true, 5, 100));
  REQUIRE(r.fills.size() == 2);
  CHECK(r.fills[0].maker_hash == first.hash);
  CHECK(r.fills[0].quantity == 4);
  CHECK(r.fills[1].maker_hash == second.hash);
}

TEST_CASE("refused fill, maker at fault: the maker is dropped, later fills are given back, the taker retries") {
  Bench b;
  auto m1 = b.rest(kA, false, 2, 100);
  auto bad = b.rest(kB, false, 3, 100);  // its margin will have changed: the state machine refuses it
  auto m3 = b.rest(kA, false, 2, 101);
  auto m4 = b.rest(kC, false, 5, 102);
  auto t = b.of.make(4, true, 6, 102);
  auto r = b.submit(t);
  REQUIRE(r.fills.size() == 3);  // m1 2, bad 3, m3 1
  CHECK(r.fills[2].maker_hash == m3.hash);

  // fills[0] applied, fills[1] refused because of the maker.
  auto again = b.engine.refuse_fill(t.so, r, Refusal{1, 1, Culprit::kMaker}, kNow);
  b.mirror.apply_all(again.deltas);
  CHECK(again.status == SubmitStatus::kFilled);
  CHECK(again.effective_qty == 4);
  REQUIRE(again.fills.size() == 2);
  CHECK(again.fills[0].maker_hash == m3.hash);  // given back its 1, then taken again in full
  CHECK(again.fills[0].quantity == 2);
  CHECK(again.fills[1].maker_hash == m4.hash);
  CHECK(again.fills[1].quantity == 2);
  REQUIRE(again.removed.empty());  // `bad` was fully filled by the refused fill: already gone
  CHECK_FALSE(b.engine.find(bad.hash));
  CHECK_FALSE(b.engine.find(m1.hash));
  CHECK(b.engine.find(m4.hash)->remaining == 3);
  CHECK(b.mirror_matches());
}

TEST_CASE("refused fill of a partly filled maker drops the rest of it; the taker's rest is re-placed") {
  Bench b;
  auto good = b.rest(kA, false, 2, 100);
  auto bad = b.rest(kB, false, 10, 101);
  auto t = b.of.make(kC, true, 5, 101);
  auto r = b.submit(t);
  REQUIRE(r.fills.size() == 2);
  CHECK(b.engine.find(bad.hash)->remaining == 7);
  auto again = b.engine.refuse_fill(t.so, r, Refusal{1, 1, Culprit::kMaker}, kNow);
  b.mirror.apply_all(again.deltas);
  REQUIRE(again.removed.size() == 1);
  CHECK(again.removed[0].hash == bad.hash);
  CHECK(again.removed[0].reason == RemoveReason::kRefused);
  CHECK(again.status == SubmitStatus::kResting);  // nothing else to take: the unfilled 3 rests
  CHECK(again.resting == 3);
  CHECK(b.engine.find(t.hash)->remaining == 3);
  CHECK(b.engine.size() == 1);
  (void)good;
  CHECK(b.mirror_matches());
}

TEST_CASE("refused fill, taker at fault: the book is exactly as before the taker came") {
  Bench b;
  b.rest(kA, false, 2, 100);
  b.rest(kB, false, 3, 100);
  b.rest(kC, false, 1, 100);
  b.rest(kA, false, 2, 101);
  b.rest(kB, true, 2, 90);
  const auto asks_before = b.engine.book(1)->orders(Side::kSell);
  const auto bids_before = b.engine.book(1)->orders(Side::kBuy);
  const Depth depth_before = b.depth();

  auto t = b.of.make(kC, true, 10, 101);  // meets its own order at 100 (self-trade), rests 3 at 101
  auto r = b.submit(t);
  CHECK(r.status == SubmitStatus::kPartiallyFilledResting);
  REQUIRE(r.fills.size() == 3);
  auto d = b.engine.refuse_fill(t.so, r, Refusal{0, 0, Culprit::kTaker}, kNow);
  b.mirror.apply_all(d.deltas);
  CHECK(d.status == SubmitStatus::kDropped);
  REQUIRE(d.removed.size() == 1);
  CHECK(d.removed[0].hash == t.hash);
  CHECK(d.removed[0].reason == RemoveReason::kRefused);
  CHECK_FALSE(b.engine.find(t.hash));
  // Same orders in the same priority, except the one self-trade prevention cancelled for good.
  auto asks = b.engine.book(1)->orders(Side::kSell);
  std::vector<RestingOrder> expected;
  for (const auto& o : asks_before)
    if (o.order.order.account != opt::test::account(kC)) expected.push_back(o);
  CHECK(asks == expected);
  CHECK(b.engine.book(1)->orders(Side::kBuy) == bids_before);
  CHECK(b.mirror_matches());
  CHECK(b.depth() != depth_before);  // only by the self-traded order
}

TEST_CASE("refused FOK: the node reverts all its fills (kept 0) and the FOK is judged again") {
  Bench b;
  auto m1 = b.rest(kA, false, 3, 100);
  auto bad = b.rest(kB, false, 3, 100);
  auto m3 = b.rest(kA, false, 3, 101);
  auto t = b.of.make(kC, true, 8, 101, kFok);
  auto r = b.submit(t);
  CHECK(r.status == SubmitStatus::kFilled);
  auto again = b.engine.refuse_fill(t.so, r, Refusal{1, 0, Culprit::kMaker}, kNow);
  CHECK(again.status == SubmitStatus::kRejectedFok);  // 6 left without `bad`: not enough for 8
  CHECK(b.engine.find(m1.hash)->remaining == 3);
  CHECK(b.engine.find(m3.hash)->remaining == 3);
  CHECK_FALSE(b.engine.find(bad.hash));
  auto asks = b.engine.book(1)->orders(Side::kSell);
  REQUIRE(asks.size() == 2);
  CHECK(asks[0].hash == m1.hash);

  CHECK(b.engine.refuse_fill(t.so, r, Refusal{5, 0, Culprit::kMaker}, kNow).status == SubmitStatus::kRejectedInvalid);
}

TEST_CASE("many orders: the hash index, the pool and the account lists hold up through growth and removal") {
  for (uint64_t seed : {uint64_t{0}, uint64_t{0x5eed}}) {
    MatchingEngine e(seed);
    e.add_instrument(1);
    if (seed) e.reserve(5000);  // one engine grows from nothing, the other starts reserved
    OrderFactory of(seed + 3);
    opt::test::Rng rng(seed + 4);
    std::vector<OrderFactory::Made> all;
    for (int i = 0; i < 20000; ++i) {
      const bool buy = rng.coin();
      all.push_back(of.make(static_cast<uint8_t>(1 + rng.below(50)), buy, 1 + rng.below(5),
                            buy ? 1000 - rng.below(300) : 1001 + rng.below(300)));
      REQUIRE(e.submit(all.back().so, all.back().hash, kNow).status == SubmitStatus::kResting);
    }
    std::vector<bool> gone(all.size());
    for (size_t i = 0; i < all.size(); ++i)
      if (rng.coin()) {
        gone[i] = true;
        REQUIRE(e.cancel(all[i].hash));
      }
    size_t left = 0, per_account = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      REQUIRE(e.find(all[i].hash).has_value() == !gone[i]);
      left += !gone[i];
    }
    for (uint8_t a = 1; a <= 50; ++a) per_account += e.orders_of(opt::test::account(a)).size();
    CHECK(e.size() == left);
    CHECK(per_account == left);
    CHECK(e.book(1)->orders(Side::kBuy).size() + e.book(1)->orders(Side::kSell).size() == left);
    // Freed slots are reused: sweep everything away with two big crossing orders and refill.
    auto sell = of.make(99, false, 1'000'000, 1);
    auto buy = of.make(99, true, 1'000'000, 5000);
    CHECK(e.submit(sell.so, sell.hash, kNow).status == SubmitStatus::kPartiallyFilledResting);
    CHECK(e.submit(buy.so, buy.hash, kNow).status == SubmitStatus::kPartiallyFilledResting);
    CHECK(e.size() == 1);
    for (size_t i = 0; i < all.size(); ++i) REQUIRE_FALSE(e.find(all[i].hash));
    CHECK(e.find(buy.hash)->remaining < 1'000'000);
  }
}
