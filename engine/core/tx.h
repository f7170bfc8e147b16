// Transactions: one per step of the state machine (docs/protocol.md), and their canonical encoding (docs/encoding.md).
// The wire format is specified with golden vectors in docs/encoding.md.
#pragma once

#include <variant>
#include <vector>

#include "engine/core/codec.h"
#include "engine/core/messages.h"

namespace opt {

enum class TxType : uint8_t {
  kDeposit = 1,
  kTrade = 2,
  kCancel = 3,
  kPriceReport = 4,
  kListInstrument = 5,
  kLiquidate = 6,
  kExpire = 7,
  kSettle = 8,
  kWithdraw = 9,
  kForcedWithdraw = 10,
};
const char* to_string(TxType t);

struct SignedOrder {
  Order order;
  Signature sig;
  bool operator==(const SignedOrder&) const = default;
};

// From the L1 inbox: the L1 writes these from its own storage; the proposer cannot forge them.
struct DepositTx {
  uint64_t inbox_index = 0;
  Address l1_sender;
  Address recipient;
  uint64_t amount = 0;  // micro-USDC
  bool operator==(const DepositTx&) const = default;
};

// One fill of a resting maker order by a taker order, at `price` for `quantity` micro-contracts.
struct TradeTx {
  SignedOrder maker;
  SignedOrder taker;
  uint64_t quantity = 0;
  uint64_t price = 0;
  bool operator==(const TradeTx&) const = default;
};

struct CancelTx {
  Cancel cancel;
  Signature sig;
  bool operator==(const CancelTx&) const = default;
};

// A price and volatility signed by at least M of the N oracle committee members.
struct PriceReportTx {
  PriceReport report;
  std::vector<Signature> sigs;
  bool operator==(const PriceReportTx&) const = default;
};
constexpr uint32_t kMaxReportSignatures = 32;

struct ListInstrumentTx {
  ListInstrument listing;
  Signature sig;  // by the genesis admin key
  bool operator==(const ListInstrumentTx&) const = default;
};

struct LiquidateTx {
  Liquidate liquidate;
  Signature sig;  // by the liquidator
  bool operator==(const LiquidateTx&) const = default;
};

struct ExpireTx {
  uint64_t instrument = 0;
  bool operator==(const ExpireTx&) const = default;
};

struct SettleTx {
  Address account;
  uint64_t instrument = 0;
  bool operator==(const SettleTx&) const = default;
};

struct WithdrawTx {
  Withdraw withdraw;
  Signature sig;
  bool operator==(const WithdrawTx&) const = default;
};

// From the L1 inbox: the censorship-resistant exit.
struct ForcedWithdrawTx {
  uint64_t inbox_index = 0;
  Address account;
  uint64_t amount = 0;  // micro-USDC; what is free is paid, up to this
  bool operator==(const ForcedWithdrawTx&) const = default;
};

using Tx = std::variant<DepositTx, TradeTx, CancelTx, PriceReportTx, ListInstrumentTx, LiquidateTx, ExpireTx, SettleTx,
                        WithdrawTx, ForcedWithdrawTx>;

TxType type_of(const Tx& tx);
Bytes encode_tx(const Tx& tx);
// Total: any byte string gives a transaction or an error; never reads out of bounds, never throws.
Result<Tx, CodecError> decode_tx(ByteView bytes);
TxHash tx_hash(ByteView encoded);

void write_order(Writer& w, const Order& o);
Order read_order(Reader& r);

// Batch framing: u32 count, then per transaction u32 length + bytes. Frames are opaque byte strings here:
// an undecodable transaction is still a step (it yields a refusal receipt), so framing never decodes.
constexpr uint32_t kMaxBatchTxs = 1u << 20;
constexpr uint32_t kMaxTxBytes = 1u << 16;
Bytes encode_batch(const std::vector<Bytes>& txs);
Result<std::vector<Bytes>, CodecError> decode_batch(ByteView bytes);

}  // namespace opt
