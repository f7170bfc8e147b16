// The seeded order stream the matching engine is measured on: limit orders with prices uniform in
// 950..1050, quantities 1..100, a random side, from 1,000 buying and 1,000 selling accounts (so no order
// ever meets its own account's), optionally interleaved with cancels of earlier orders. Orders, hashes and
// signatures are all made here, before any clock starts: hashing and signature checks are the sequencer's
// cost, not the book's. (The engine takes the hash as given and never reads the signature, so seeded
// random bytes stand in for both.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/tx.h"
#include "tests/test_util.h"

namespace opt::test {

struct StreamOrder {
  SignedOrder so;
  OrderHash hash;
};

// One operation: submit orders[order], or (cancel) cancel orders[order], which was submitted earlier and
// may since have been filled or cancelled (a miss is an operation too, as it is for the node).
struct StreamOp {
  uint32_t order = 0;
  bool cancel = false;
};

struct OrderStream {
  std::vector<StreamOrder> orders;
  std::vector<StreamOp> ops;
  size_t cancels = 0;
};

constexpr uint64_t kStreamInstrument = 1;
constexpr uint64_t kStreamNow = 1000;
constexpr uint64_t kStreamMinPrice = 950;
constexpr uint64_t kStreamMaxPrice = 1050;
constexpr size_t kStreamAccountsPerSide = 1000;

// `orders` limit orders; each operation is a cancel with probability cancel_percent / 100 (of an earlier
// order picked uniformly), so cancels are that share of all operations.
inline OrderStream make_order_stream(size_t orders, unsigned cancel_percent, uint64_t seed) {
  Rng rng(seed);
  std::vector<Address> buyers(kStreamAccountsPerSide), sellers(kStreamAccountsPerSide);
  for (auto& a : buyers) a = Address::from(rng.bytes(Address::kSize));
  for (auto& a : sellers) a = Address::from(rng.bytes(Address::kSize));

  OrderStream s;
  s.orders.resize(orders);
  for (size_t i = 0; i < orders; ++i) {
    StreamOrder& m = s.orders[i];
    Order& o = m.so.order;
    o.is_buy = rng.coin();
    o.account = (o.is_buy ? buyers : sellers)[rng.below(kStreamAccountsPerSide)];
    o.instrument = kStreamInstrument;
    o.quantity = 1 + rng.below(100);
    o.limit_price = kStreamMinPrice + rng.below(kStreamMaxPrice - kStreamMinPrice + 1);
    o.max_fee = 100;
    o.nonce = i + 1;
    o.expiry = 4'000'000'000;
    for (size_t k = 0; k < m.so.sig.size(); k += 8) {
      const uint64_t v = rng.next();
      for (size_t j = 0; j < 8 && k + j < m.so.sig.size(); ++j) m.so.sig[k + j] = static_cast<uint8_t>(v >> (8 * j));
    }
    m.hash = OrderHash::from(rng.hash());
  }
  s.ops.reserve(orders + orders / 4);
  size_t placed = 0;
  while (placed < orders) {
    if (placed > 0 && rng.below(100) < cancel_percent) {
      s.ops.push_back(StreamOp{static_cast<uint32_t>(rng.below(placed)), true});
      ++s.cancels;
    } else {
      s.ops.push_back(StreamOp{static_cast<uint32_t>(placed++), false});
    }
  }
  return s;
}

}  // namespace opt::test
