// The bound the matching engine is measured against: a price-level book in the conventional design,
// std::map from price to a FIFO (std::list) of orders plus an order-id map to a list iterator for O(1)
// cancels, with the engine's matching semantics for plain limit orders (best price first, oldest first,
// at the maker's price; expired and own-account makers met on the way are removed). It keeps no expiry
// queue, no account index and no depth deltas, and checks no duplicates: what a textbook book does and
// no more.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <unordered_map>
#include <vector>

#include "engine/core/tx.h"

namespace opt::test {

class MapBook {
 public:
  struct Fill {
    OrderHash maker;
    uint64_t quantity = 0;
    uint64_t price = 0;
  };

  // Fills in matching order; the buffer is reused by the next submit.
  const std::vector<Fill>& submit(const Order& o, const OrderHash& h, uint64_t now) {
    fills_.clear();
    uint64_t left = o.is_buy ? match(asks_, o, now, o.quantity) : match(bids_, o, now, o.quantity);
    if (left > 0) {
      if (o.is_buy)
        rest(bids_, o, h, left);
      else
        rest(asks_, o, h, left);
    }
    return fills_;
  }

  bool cancel(const OrderHash& h) {
    auto it = ids_.find(h);
    if (it == ids_.end()) return false;
    const Where w = it->second;
    ids_.erase(it);
    if (w.buy)
      erase(bids_, w);
    else
      erase(asks_, w);
    return true;
  }

  size_t size() const { return ids_.size(); }

 private:
  struct Resting {
    OrderHash hash;
    Address account;
    uint64_t remaining = 0;
    uint64_t expiry = 0;
  };
  using Fifo = std::list<Resting>;
  struct Where {
    bool buy = false;
    uint64_t price = 0;
    Fifo::iterator it;
  };
  struct IdHash {
    size_t operator()(const OrderHash& h) const {
      uint64_t x;
      std::memcpy(&x, h.data(), 8);
      return static_cast<size_t>(x);
    }
  };

  template <class Side>
  uint64_t match(Side& side, const Order& t, uint64_t now, uint64_t left) {
    while (left > 0 && !side.empty()) {
      auto lit = side.begin();
      if (t.is_buy ? lit->first > t.limit_price : lit->first < t.limit_price) break;
      Fifo& q = lit->second;
      while (left > 0 && !q.empty()) {
        Resting& m = q.front();
        if (m.expiry <= now || m.account == t.account) {
          ids_.erase(m.hash);
          q.pop_front();
          continue;
        }
        const uint64_t n = std::min(left, m.remaining);
        m.remaining -= n;
        left -= n;
        fills_.push_back(Fill{m.hash, n, lit->first});
        if (m.remaining == 0) {
          ids_.erase(m.hash);
          q.pop_front();
        }
      }
      if (q.empty()) side.erase(lit);
    }
    return left;
  }

  template <class Side>
  void rest(Side& side, const Order& o, const OrderHash& h, uint64_t left) {
    Fifo& q = side[o.limit_price];
    q.push_back(Resting{h, o.account, left, o.expiry});
    ids_.emplace(h, Where{o.is_buy, o.limit_price, std::prev(q.end())});
  }

  template <class Side>
  void erase(Side& side, const Where& w) {
    auto lit = side.find(w.price);
    lit->second.erase(w.it);
    if (lit->second.empty()) side.erase(lit);
  }

  std::map<uint64_t, Fifo, std::greater<>> bids_;  // best (highest) first
  std::map<uint64_t, Fifo> asks_;                  // best (lowest) first
  std::unordered_map<OrderHash, Where, IdHash> ids_;
  std::vector<Fill> fills_;
};

}  // namespace opt::test
