// What the node's queries answer and its events carry: plain values, no wire format (engine/api maps
// them to JSON, one mapping per type, in json_mapping).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/tx.h"
#include "engine/stf/leaves.h"
#include "fraudproof/game.h"

namespace opt::node {

enum class OrderStatus : uint8_t { kOpen, kFilled, kCancelled, kRejected, kExpired };
const char* to_string(OrderStatus s);

struct OrderView {
  OrderHash hash;
  SignedOrder order;
  OrderStatus status = OrderStatus::kOpen;
  uint64_t filled = 0;
  uint64_t created_at = 0;  // unix ms
  std::string reason;       // why it was rejected, cancelled or expired
};

struct OrderAck {
  OrderHash hash;
  OrderStatus status = OrderStatus::kOpen;
  uint64_t filled = 0;
  std::vector<uint64_t> trade_ids;
};

struct TradeView {
  uint64_t id = 0;
  uint64_t instrument = 0;
  uint64_t price = 0;
  uint64_t quantity = 0;
  bool taker_is_buy = false;
  Address maker, taker;
  OrderHash maker_order, taker_order;
  uint64_t time = 0;              // unix ms
  std::optional<uint64_t> batch;  // the L1 index of the batch that carries it, once posted
};

struct InstrumentView {
  InstrumentLeaf leaf;
  std::string name;    // "ETH-20261231-3000-C"
  std::string status;  // active | expired | settled
};

struct BookLevel {
  uint64_t price = 0;
  uint64_t quantity = 0;
  uint32_t orders = 0;
};
struct BookView {
  uint64_t instrument = 0;
  std::vector<BookLevel> bids, asks;  // best first
  uint64_t sequence = 0;              // increases with every change to any book
};

struct PositionView {
  Position position;
  int64_t mark = 0;
};
struct AccountView {
  Address address;
  uint64_t nonce = 0;
  int64_t collateral = 0;
  std::vector<PositionView> positions;
  int64_t equity = 0;
  int64_t initial_margin = 0;
  int64_t maintenance_margin = 0;
  bool marks_stale = false;
};

struct WithdrawalView {
  WithdrawalLeaf leaf;
  std::optional<uint64_t> batch;        // L1 index of the batch that carries it, once posted
  std::string status;                   // pending | final | claimed
  std::optional<uint64_t> proof_batch;  // the final batch the proof is against
  Bytes proof;                          // encoded SmtProof (engine/state/smt.h), once final
};

struct BatchView {
  uint64_t index = 0;  // L1 index
  Hash32 prev_root, post_root, tx_data_root;
  uint64_t tx_count = 0;
  uint64_t inbox_from = 0, inbox_to = 0;
  uint64_t l2_timestamp = 0;
  std::string status;  // pending | challenged | final | removed
  uint64_t l1_block = 0;
  uint64_t posted_at = 0;
  std::vector<fp::Game> games;
};

// "ETH-20261231-3000-C"; underlyings 1 and 2 are ETH and BTC, others "U<n>".
std::string instrument_name(const InstrumentLeaf& leaf);

}  // namespace opt::node
