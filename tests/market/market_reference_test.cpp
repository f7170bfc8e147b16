// The engine against a naive reference: a vector of orders per instrument, matched by sorting the crossing
// orders by (price, arrival) on every call. Thousands of seeded random operations (every order type,
// caps, self-trades, expiry, cancels, shrinks, refused fills, closed books) must give the same results,
// the same books in the same priority, and deltas that keep a client's copy of the book exact.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>

#include "tests/market/market_fixture.h"

using namespace opt;
using namespace opt::market;
using opt::test::DepthMirror;
using opt::test::Rng;

namespace {

struct RefOrder {
  OrderHash hash;
  SignedOrder so;
  uint64_t remaining = 0;
  int64_t seq = 0;  // arrival; a maker given back its fill goes before everyone at its price
};

class ReferenceEngine {
 public:
  void add_instrument(uint64_t id) { books_.try_emplace(id); }

  std::vector<RemovedOrder> remove_instrument(uint64_t id) {
    std::vector<RemovedOrder> out;
    auto it = books_.find(id);
    if (it == books_.end()) return out;
    for (const auto& o : it->second) out.push_back({o.hash, o.so, o.remaining, RemoveReason::kInstrumentClosed});
    books_.erase(it);
    return out;
  }

  SubmitResult submit(const SignedOrder& so, const OrderHash& h, uint64_t now, std::optional<uint64_t> cap) {
    SubmitResult r;
    r.hash = h;
    const Order& o = so.order;
    auto bit = books_.find(o.instrument);
    if (bit == books_.end()) return status(r, SubmitStatus::kRejectedUnknownInstrument);
    if ((o.flags & ~kKnownOrderFlags) || ((o.flags & kPostOnly) && (o.flags & (kIoc | kFok))) || o.quantity == 0 ||
        o.quantity > kMaxOrderQty || o.limit_price == 0)
      return status(r, SubmitStatus::kRejectedInvalid);
    if (o.expiry <= now) return status(r, SubmitStatus::kRejectedExpired);
    const bool ro = o.flags & kReduceOnly;
    if (ro && !cap) return status(r, SubmitStatus::kRejectedReduceOnly);
    const uint64_t eff = cap ? std::min(*cap, o.quantity) : o.quantity;
    if (eff == 0) return status(r, ro ? SubmitStatus::kRejectedReduceOnly : SubmitStatus::kRejectedInvalid);
    if (locate(h).first) return status(r, SubmitStatus::kRejectedDuplicate);

    auto& book = bit->second;
    std::vector<RefOrder> cands;
    for (const auto& m : book)
      if (m.so.order.is_buy != o.is_buy &&
          (o.is_buy ? m.so.order.limit_price <= o.limit_price : m.so.order.limit_price >= o.limit_price))
        cands.push_back(m);
    std::sort(cands.begin(), cands.end(), [&](const RefOrder& a, const RefOrder& b) {
      if (a.so.order.limit_price != b.so.order.limit_price)
        return o.is_buy ? a.so.order.limit_price < b.so.order.limit_price
                        : a.so.order.limit_price > b.so.order.limit_price;
      return a.seq < b.seq;
    });
    uint64_t available = 0;
    for (const auto& m : cands)
      if (m.so.order.expiry > now && m.so.order.account != o.account) available += m.remaining;
    if ((o.flags & kPostOnly) && available > 0) return status(r, SubmitStatus::kRejectedPostOnly);
    const bool fok = o.flags & kFok;
    if (fok && available < eff) return status(r, SubmitStatus::kRejectedFok);

    r.effective_qty = eff;
    uint64_t left = eff;
    for (const auto& c : cands) {
      if (left == 0) break;
      auto it = std::find_if(book.begin(), book.end(), [&](const RefOrder& x) { return x.hash == c.hash; });
      if (c.so.order.expiry <= now || c.so.order.account == o.account) {
        r.removed.push_back({it->hash, it->so, it->remaining,
                             c.so.order.expiry <= now ? RemoveReason::kExpired : RemoveReason::kSelfTrade});
        book.erase(it);
        continue;
      }
      const uint64_t q = std::min(left, it->remaining);
      it->remaining -= q;
      left -= q;
      r.fills.push_back(Fill{it->hash, &keep(it->so), h, q, it->so.order.limit_price, it->remaining});
      if (it->remaining == 0) book.erase(it);
    }
    r.filled = eff - left;
    if (left == 0) {
      r.status = SubmitStatus::kFilled;
    } else if (fok || (o.flags & kIoc)) {
      r.status = SubmitStatus::kCancelledIoc;
    } else {
      book.push_back({h, so, left, next_seq_++});
      r.resting = left;
      r.status = r.filled ? SubmitStatus::kPartiallyFilledResting : SubmitStatus::kResting;
    }
    r.cancelled = o.quantity - r.filled - r.resting;
    return r;
  }

  std::optional<RemovedOrder> cancel(const OrderHash& h, RemoveReason why = RemoveReason::kCancelled) {
    auto [book, it] = locate(h);
    if (!book) return std::nullopt;
    RemovedOrder out{it->hash, it->so, it->remaining, why};
    book->erase(it);
    return out;
  }

  bool shrink(const OrderHash& h, uint64_t cap) {
    auto [book, it] = locate(h);
    if (!book || cap == 0) return false;
    it->remaining = std::min(it->remaining, cap);
    return true;
  }

  std::vector<RemovedOrder> expire(uint64_t now) {
    std::vector<RemovedOrder> out;
    for (auto& [id, book] : books_) {
      for (auto it = book.begin(); it != book.end();) {
        if (it->so.order.expiry <= now) {
          out.push_back({it->hash, it->so, it->remaining, RemoveReason::kExpired});
          it = book.erase(it);
        } else {
          ++it;
        }
      }
    }
    return out;
  }

  SubmitResult refuse_fill(const SignedOrder& taker, const SubmitResult& res, const Refusal& rf, uint64_t now) {
    SubmitResult out;
    out.hash = res.hash;
    if (rf.fill >= res.fills.size() || rf.kept > rf.fill) return status(out, SubmitStatus::kRejectedInvalid);
    if (auto c = cancel(res.hash, RemoveReason::kRefused); c && rf.culprit == Culprit::kTaker)
      out.removed.push_back(*c);
    for (size_t k = res.fills.size(); k-- > rf.kept;) {
      const Fill& f = res.fills[k];
      if (k == rf.fill && rf.culprit == Culprit::kMaker) {
        if (auto c = cancel(f.maker_hash, RemoveReason::kRefused)) out.removed.push_back(*c);
        continue;
      }
      auto bit = books_.find(f.maker->order.instrument);
      if (bit == books_.end()) continue;
      if (auto [book, it] = locate(f.maker_hash); book) {
        it->remaining += f.quantity;
        continue;
      }
      int64_t seq = next_seq_++;
      for (const auto& x : bit->second)
        if (x.so.order.is_buy == f.maker->order.is_buy && x.so.order.limit_price == f.maker->order.limit_price)
          seq = std::min(seq, x.seq - 1);
      bit->second.push_back({f.maker_hash, *f.maker, f.quantity, seq});
    }
    if (rf.culprit == Culprit::kTaker) return status(out, SubmitStatus::kDropped);
    uint64_t kept = 0;
    for (size_t k = 0; k < rf.kept; ++k) kept += res.fills[k].quantity;
    SubmitResult again = submit(taker, res.hash, now, res.effective_qty - kept);
    again.removed.insert(again.removed.begin(), out.removed.begin(), out.removed.end());
    return again;
  }

  // One side in priority order.
  std::vector<RestingOrder> orders(uint64_t id, Side side) const {
    std::vector<RefOrder> v;
    for (const auto& o : books_.at(id))
      if (o.so.order.is_buy == (side == Side::kBuy)) v.push_back(o);
    std::sort(v.begin(), v.end(), [&](const RefOrder& a, const RefOrder& b) {
      if (a.so.order.limit_price != b.so.order.limit_price)
        return side == Side::kBuy ? a.so.order.limit_price > b.so.order.limit_price
                                  : a.so.order.limit_price < b.so.order.limit_price;
      return a.seq < b.seq;
    });
    std::vector<RestingOrder> out;
    for (const auto& o : v) out.push_back({o.hash, o.so, o.remaining});
    return out;
  }

  Depth depth(uint64_t id) const {
    Depth d;
    for (Side s : {Side::kBuy, Side::kSell}) {
      auto& out = s == Side::kBuy ? d.bids : d.asks;
      for (const auto& o : orders(id, s)) {
        if (out.empty() || out.back().price != o.order.order.limit_price)
          out.push_back({o.order.order.limit_price, 0, 0});
        out.back().qty += o.remaining;
        ++out.back().count;
      }
    }
    return d;
  }

  std::vector<RestingOrder> orders_of(const Address& a) const {
    std::vector<RestingOrder> out;
    for (const auto& [id, book] : books_)
      for (const auto& o : book)
        if (o.so.order.account == a) out.push_back({o.hash, o.so, o.remaining});
    return out;
  }

  size_t size() const {
    size_t n = 0;
    for (const auto& [id, book] : books_) n += book.size();
    return n;
  }

  // Some resting order's hash (for cancels, duplicates, shrinks), if any.
  std::optional<RefOrder> pick(Rng& rng) const {
    const size_t n = size();
    if (n == 0) return std::nullopt;
    size_t k = rng.below(n);
    for (const auto& [id, book] : books_) {
      if (k < book.size()) return book[k];
      k -= book.size();
    }
    return std::nullopt;
  }

 private:
  static SubmitResult status(SubmitResult& r, SubmitStatus s) {
    r.status = s;
    return r;
  }
  std::pair<std::vector<RefOrder>*, std::vector<RefOrder>::iterator> locate(const OrderHash& h) {
    for (auto& [id, book] : books_) {
      auto it = std::find_if(book.begin(), book.end(), [&](const RefOrder& x) { return x.hash == h; });
      if (it != book.end()) return {&book, it};
    }
    return {nullptr, {}};
  }

  // A Fill points at its maker's signed order; the maker may leave the book, so fills point at a copy
  // kept here (a deque never moves its elements).
  const SignedOrder& keep(const SignedOrder& so) { return archive_.emplace_back(so); }

  std::map<uint64_t, std::vector<RefOrder>> books_;
  std::deque<SignedOrder> archive_;
  int64_t next_seq_ = 0;
};

bool same_fill(const Fill& a, const Fill& b) {
  return a.maker_hash == b.maker_hash && *a.maker == *b.maker && a.taker_hash == b.taker_hash &&
         a.quantity == b.quantity && a.price == b.price && a.maker_remaining == b.maker_remaining;
}

void check_same(const SubmitResult& got, const SubmitResult& want) {
  REQUIRE(to_string(got.status) == std::string(to_string(want.status)));
  CHECK(got.hash == want.hash);
  CHECK(got.effective_qty == want.effective_qty);
  CHECK(got.filled == want.filled);
  CHECK(got.resting == want.resting);
  CHECK(got.cancelled == want.cancelled);
  REQUIRE(got.fills.size() == want.fills.size());
  for (size_t i = 0; i < got.fills.size(); ++i) CHECK(same_fill(got.fills[i], want.fills[i]));
  CHECK(got.removed == want.removed);
}

std::vector<RemovedOrder> by_hash(std::vector<RemovedOrder> v) {
  std::sort(v.begin(), v.end(), [](const RemovedOrder& a, const RemovedOrder& b) { return a.hash < b.hash; });
  return v;
}
std::vector<RestingOrder> by_hash(std::vector<RestingOrder> v) {
  std::sort(v.begin(), v.end(), [](const RestingOrder& a, const RestingOrder& b) { return a.hash < b.hash; });
  return v;
}

void run(uint64_t seed, int steps) {
  CAPTURE(seed);
  Rng rng(seed);
  opt::test::OrderFactory of(seed * 7 + 1);
  MatchingEngine eng;
  ReferenceEngine ref;
  DepthMirror mirror;
  const std::vector<uint64_t> instruments = {1, 2};
  for (uint64_t id : instruments) {
    eng.add_instrument(id);
    ref.add_instrument(id);
  }
  uint64_t now = 1000;
  size_t fills = 0, sweeps = 0, stp = 0, expired = 0, refusals = 0, rested = 0;

  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    const uint64_t op = rng.below(1000);
    if (op < 700) {
      // A random order: narrow prices so that most cross; few accounts so that self-trades happen.
      opt::test::OrderFactory::Made m;
      if (op < 20 && ref.size() > 0) {
        auto p = ref.pick(rng);  // a duplicate of a resting order
        m.so = p->so;
        m.hash = p->hash;
      } else {
        uint8_t flags = 0;
        const uint64_t f = rng.below(20);
        if (f < 2)
          flags = kPostOnly;
        else if (f < 5)
          flags = kIoc;
        else if (f < 8)
          flags = kFok;
        else if (f == 8)
          flags = kFok | kIoc;
        else if (f == 9)
          flags = static_cast<uint8_t>(kPostOnly | (rng.coin() ? kIoc : 0x20));
        if (rng.below(8) == 0) flags |= kReduceOnly;
        const uint64_t qty = rng.below(40) == 0 ? 0 : 1 + rng.below(rng.below(5) == 0 ? 60 : 20);
        const bool buy = rng.coin();
        const uint64_t inst = rng.below(40) == 0 ? 3 : instruments[rng.below(2)];
        // Prices in 95..105: some passive (own side of 100, to build depth), some aimed at the other side's
        // best price give or take a tick (to cross), some anywhere, a few zero (invalid).
        const uint64_t kind = rng.below(100);
        uint64_t price = 95 + rng.below(11);
        if (kind < 2) {
          price = 0;
        } else if (kind < 45) {
          price = buy ? 99 - rng.below(5) : 101 + rng.below(5);
        } else if (kind < 75 && inst != 3) {
          auto opp = buy ? eng.book(inst)->best_ask() : eng.book(inst)->best_bid();
          if (opp) price = buy ? opp->price + rng.below(3) - 1 : opp->price - rng.below(3) + 1;
        }
        const uint64_t expiry = rng.below(30) == 0 ? now - rng.below(2) : now + 1 + rng.below(rng.coin() ? 30 : 600);
        m = of.make(static_cast<uint8_t>(1 + rng.below(4)), buy, qty, price, flags, expiry, inst);
      }
      std::optional<uint64_t> cap;
      if ((m.so.order.flags & kReduceOnly) ? rng.below(10) != 0 : rng.below(10) == 0) cap = rng.below(26);
      SubmitResult got = eng.submit(m.so, m.hash, now, cap);
      SubmitResult want = ref.submit(m.so, m.hash, now, cap);
      check_same(got, want);
      mirror.apply_all(got.deltas);
      fills += got.fills.size();
      sweeps += got.fills.size() > 1;
      rested += got.resting > 0;
      for (const auto& x : got.removed) (x.reason == RemoveReason::kSelfTrade ? stp : expired) += 1;

      // Now and then the state machine refuses one of the proposed trades.
      if (!got.fills.empty() && rng.below(3) == 0) {
        Refusal rf;
        rf.fill = rng.below(got.fills.size());
        rf.kept = (m.so.order.flags & kFok) || rng.below(5) == 0 ? rng.below(rf.fill + 1) : rf.fill;
        rf.culprit = rng.coin() ? Culprit::kMaker : Culprit::kTaker;
        SubmitResult g2 = eng.refuse_fill(m.so, got, rf, now);
        SubmitResult w2 = ref.refuse_fill(m.so, want, rf, now);
        check_same(g2, w2);
        mirror.apply_all(g2.deltas);
        ++refusals;
      }
    } else if (op < 740) {
      auto p = ref.pick(rng);
      OrderHash h = p && rng.below(10) ? p->hash : OrderHash::from(rng.hash());
      auto got = eng.cancel(h);
      auto want = ref.cancel(h);
      REQUIRE(got.has_value() == want.has_value());
      if (got) {
        CHECK(got->order == *want);
        mirror.apply(got->delta);
      }
    } else if (op < 770) {
      if (auto p = ref.pick(rng)) {
        const uint64_t cap = rng.below(12);
        auto got = eng.shrink(p->hash, cap);
        REQUIRE(got.has_value() == ref.shrink(p->hash, cap));
        if (got) mirror.apply(*got);
      }
    } else if (op < 990) {
      now += rng.below(3);
      SweepResult got = eng.expire(now);
      CHECK(by_hash(got.removed) == by_hash(ref.expire(now)));
      mirror.apply_all(got.deltas);
      expired += got.removed.size();
    } else if (op < 993) {
      const uint64_t id = instruments[rng.below(2)];
      SweepResult got = eng.remove_instrument(id);
      CHECK(by_hash(got.removed) == by_hash(ref.remove_instrument(id)));
      mirror.apply_all(got.deltas);
      eng.add_instrument(id);
      ref.add_instrument(id);
    } else {
      now += rng.below(3);
    }

    REQUIRE(eng.size() == ref.size());
    for (uint64_t id : instruments) {
      const OrderBook* b = eng.book(id);
      REQUIRE(b);
      REQUIRE(b->orders(Side::kBuy) == ref.orders(id, Side::kBuy));
      REQUIRE(b->orders(Side::kSell) == ref.orders(id, Side::kSell));
      REQUIRE(b->depth() == ref.depth(id));
      REQUIRE(mirror.depth(id) == b->depth());
      // The book is never left crossed.
      if (b->best_bid() && b->best_ask()) REQUIRE(b->best_bid()->price < b->best_ask()->price);
    }
    if (step % 50 == 0) {
      const Address a = opt::test::account(static_cast<uint8_t>(1 + rng.below(4)));
      CHECK(by_hash(eng.orders_of(a)) == by_hash(ref.orders_of(a)));
      if (auto p = ref.pick(rng)) CHECK(eng.find(p->hash)->remaining == p->remaining);
    }
  }
  // The run must have exercised what it claims to.
  MESSAGE("seed " << seed << ": fills " << fills << ", multi-fill takers " << sweeps << ", self-trades " << stp
                  << ", expired " << expired << ", refusals " << refusals << ", rested " << rested);
  CHECK(fills > static_cast<size_t>(steps) / 10);
  CHECK(sweeps > static_cast<size_t>(steps) / 50);
  CHECK(stp > 0);
  CHECK(expired > 0);
  CHECK(refusals > 0);
}

}  // namespace

TEST_CASE("randomized: the engine agrees with a naive reference book") {
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) run(seed, 10000);
}
