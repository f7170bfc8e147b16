// The messages users sign (EIP-712 structs). Field order and widths follow docs/protocol.md, "Signed messages".
#pragma once

#include <cstdint>

#include "engine/core/bytes.h"

namespace opt {

// Order flags (bit positions fixed by docs/protocol.md, "Signed messages").
enum OrderFlag : uint8_t {
  kPostOnly = 1 << 0,
  kIoc = 1 << 1,
  kFok = 1 << 2,
  kReduceOnly = 1 << 3,
};
constexpr uint8_t kKnownOrderFlags = kPostOnly | kIoc | kFok | kReduceOnly;

struct Order {
  Address account;
  uint64_t instrument = 0;
  bool is_buy = false;
  uint64_t quantity = 0;     // micro-contracts
  uint64_t limit_price = 0;  // micro-USDC per contract
  uint64_t max_fee = 0;      // micro-USDC per contract the signer accepts
  uint64_t nonce = 0;        // free salt: replays are stopped by the order's fill leaf
  uint64_t expiry = 0;       // unix seconds
  uint8_t flags = 0;
  bool operator==(const Order&) const = default;
};

struct Cancel {
  Address account;
  OrderHash order_hash;
  bool operator==(const Cancel&) const = default;
};

struct Withdraw {
  Address account;
  uint64_t amount = 0;  // micro-USDC
  Address recipient;    // L1 address paid on finalisation
  uint64_t nonce = 0;   // must equal the account's nonce
  bool operator==(const Withdraw&) const = default;
};

struct PriceReport {
  uint32_t underlying = 0;
  uint64_t price = 0;       // micro-USDC per unit of the underlying
  uint64_t volatility = 0;  // annualised, 6 decimals (800000 = 80%)
  uint64_t timestamp = 0;   // unix seconds
  bool operator==(const PriceReport&) const = default;
};

struct ListInstrument {
  uint32_t underlying = 0;
  uint64_t strike = 0;  // micro-USDC
  uint64_t expiry = 0;  // unix seconds
  bool is_call = false;
  bool operator==(const ListInstrument&) const = default;
};

struct Liquidate {
  Address liquidator;
  Address account;
  uint64_t instrument = 0;
  uint64_t quantity = 0;  // micro-contracts taken over (absolute)
  uint64_t nonce = 0;     // the liquidator's account nonce
  bool operator==(const Liquidate&) const = default;
};

}  // namespace opt
