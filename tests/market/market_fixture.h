// Builders for matching-engine tests: accounts, orders with unique hashes, and a depth snapshot that
// order-book deltas are applied to (the way a WebSocket client keeps its copy of the book).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <utility>

#include "engine/market/matching.h"
#include "tests/test_util.h"

namespace opt::test {

using market::Depth;
using market::DepthLevel;
using market::LevelDelta;
using market::Side;

inline Address account(uint8_t i) {
  Address a;
  a[0] = i;
  a[19] = static_cast<uint8_t>(0xa0 + i);
  return a;
}

// Orders with distinct hashes and recognisable signatures (so "the maker as stored" can be checked).
class OrderFactory {
 public:
  explicit OrderFactory(uint64_t seed = 1) : rng_(seed) {}

  struct Made {
    SignedOrder so;
    OrderHash hash;
  };

  Made make(uint8_t acct, bool buy, uint64_t qty, uint64_t price, uint8_t flags = 0, uint64_t expiry = 1'000'000,
            uint64_t instrument = 1) {
    Made m;
    m.so.order.account = account(acct);
    m.so.order.instrument = instrument;
    m.so.order.is_buy = buy;
    m.so.order.quantity = qty;
    m.so.order.limit_price = price;
    m.so.order.max_fee = 10;
    m.so.order.nonce = ++nonce_;
    m.so.order.expiry = expiry;
    m.so.order.flags = flags;
    for (size_t i = 0; i < m.so.sig.size(); ++i) m.so.sig[i] = static_cast<uint8_t>(nonce_ + i);
    m.hash = OrderHash::from(rng_.hash());
    return m;
  }

 private:
  Rng rng_;
  uint64_t nonce_ = 0;
};

// A client's copy of the book, kept by applying deltas in order.
class DepthMirror {
 public:
  void apply(const LevelDelta& d) {
    auto& side = levels_[d.instrument][d.side == Side::kBuy ? 0 : 1];
    if (d.qty == 0)
      side.erase(d.price);
    else
      side[d.price] = DepthLevel{d.price, d.qty, d.count};
  }
  template <class Deltas>
  void apply_all(const Deltas& ds) {
    for (const auto& d : ds) apply(d);
  }
  Depth depth(uint64_t instrument) const {
    Depth out;
    auto it = levels_.find(instrument);
    if (it == levels_.end()) return out;
    for (auto l = it->second[0].rbegin(); l != it->second[0].rend(); ++l) out.bids.push_back(l->second);
    for (const auto& [p, l] : it->second[1]) out.asks.push_back(l);
    return out;
  }
  void reset(uint64_t instrument, const Depth& d) {
    auto& sides = levels_[instrument];
    sides[0].clear();
    sides[1].clear();
    for (const auto& l : d.bids) sides[0][l.price] = l;
    for (const auto& l : d.asks) sides[1][l.price] = l;
  }

 private:
  std::map<uint64_t, std::array<std::map<uint64_t, DepthLevel>, 2>> levels_;
};

}  // namespace opt::test
