// State leaves and their keys (docs/encoding.md). Leaf values use the canonical codec; every decoder is
// total and refuses non-canonical input (e.g. unsorted positions), so a value has exactly one encoding
// and the root is a function of the state alone.
#pragma once

#include <optional>
#include <vector>

#include "engine/core/amount.h"
#include "engine/core/codec.h"
#include "engine/state/smt.h"

namespace opt {

// ---- keys ----
SmtKey account_key(const Address& a);    // keccak256("account" || address)
SmtKey fill_key(const OrderHash& h);     // keccak256("fill" || orderHash)
SmtKey instrument_key(uint64_t id);      // keccak256("instrument" || id be64)
SmtKey oracle_key(uint32_t underlying);  // keccak256("oracle" || underlying be32)
SmtKey withdrawal_key(uint64_t index);   // keccak256("withdrawal" || index be64)
SmtKey global_key();                     // keccak256("global")
// keccak256("listing" || underlying be32 || strike be64 || expiry be64 || isCall u8): the id listed for
// these terms, so a replayed or repeated ListInstrument cannot list a duplicate.
SmtKey listing_key(uint32_t underlying, uint64_t strike, uint64_t expiry, bool is_call);

constexpr size_t kMaxPositions = 64;
constexpr size_t kOracleCheckpoints = 48;
constexpr uint64_t kSettlementWindow = 1800;  // 30 minutes: expiries fall on this grid; TWAP window

// ---- leaves ----
// A position copies its instrument's immutable terms, so margin needs only the account and oracle leaves.
struct Position {
  uint64_t instrument = 0;
  uint32_t underlying = 0;
  uint64_t strike = 0;
  uint64_t expiry = 0;
  bool is_call = false;
  int64_t qty = 0;  // micro-contracts, > 0 long, < 0 short, never 0 in a stored leaf
  bool operator==(const Position&) const = default;
};

struct AccountLeaf {
  uint64_t nonce = 0;
  int64_t collateral = 0;           // micro-USDC; negative only as bad debt the insurance fund could not cover
  std::vector<Position> positions;  // sorted by instrument id, at most kMaxPositions
  bool operator==(const AccountLeaf&) const = default;

  Position* find(uint64_t instrument);
  const Position* find(uint64_t instrument) const;
};

// Fill state of one order, keyed by its hash. `owner` is the order's account as proven by a fill or a
// cancel signature: a cancel by anyone else cannot touch an order someone else's signature filled.
struct FillLeaf {
  Address owner;
  uint64_t filled = 0;
  bool cancelled = false;
  bool operator==(const FillLeaf&) const = default;
};

enum class InstrumentStatus : uint8_t { kActive = 0, kExpired = 1 };

struct InstrumentLeaf {
  uint64_t id = 0;
  uint32_t underlying = 0;
  uint64_t strike = 0;
  uint64_t expiry = 0;
  bool is_call = false;
  InstrumentStatus status = InstrumentStatus::kActive;
  uint64_t settlement_price = 0;  // fixed by Expire
  uint64_t long_open = 0;         // total long quantity not yet settled
  uint64_t short_open = 0;        // total short quantity not yet settled (equal to long_open until expiry)
  int64_t settlement_pool = 0;    // cash paid in by settled shorts minus cash paid out to settled longs
  bool operator==(const InstrumentLeaf&) const = default;
};

struct OracleCheckpoint {
  uint64_t time = 0;  // a multiple of kSettlementWindow
  u128 cumulative = 0;
  bool operator==(const OracleCheckpoint&) const = default;
};

// Last price and volatility, with the cumulative price*seconds since the first report and its value at
// the last kOracleCheckpoints grid points, so a TWAP over a grid window is one subtraction.
struct OracleLeaf {
  uint32_t underlying = 0;
  uint64_t price = 0;
  uint64_t volatility = 0;
  uint64_t timestamp = 0;
  u128 cumulative = 0;
  std::vector<OracleCheckpoint> checkpoints;  // ascending time, at most kOracleCheckpoints
  bool operator==(const OracleLeaf&) const = default;
};

// A withdrawal the L1 pays once its batch is final (proved by this leaf against the batch's root).
struct WithdrawalLeaf {
  uint64_t index = 0;
  Address account;
  Address recipient;
  uint64_t amount = 0;
  bool operator==(const WithdrawalLeaf&) const = default;
};

struct GlobalLeaf {
  uint64_t next_instrument_id = 1;
  uint64_t withdrawal_count = 0;
  int64_t total_deposits = 0;
  int64_t total_withdrawals = 0;
  int64_t fee_pool = 0;
  int64_t insurance_fund = 0;
  bool operator==(const GlobalLeaf&) const = default;
};

struct ListingLeaf {
  uint64_t instrument = 0;
  bool operator==(const ListingLeaf&) const = default;
};

Bytes encode_leaf(const AccountLeaf& v);
Bytes encode_leaf(const FillLeaf& v);
Bytes encode_leaf(const InstrumentLeaf& v);
Bytes encode_leaf(const OracleLeaf& v);
Bytes encode_leaf(const WithdrawalLeaf& v);
Bytes encode_leaf(const GlobalLeaf& v);
Bytes encode_leaf(const ListingLeaf& v);

Result<AccountLeaf, CodecError> decode_account(ByteView b);
Result<FillLeaf, CodecError> decode_fill(ByteView b);
Result<InstrumentLeaf, CodecError> decode_instrument(ByteView b);
Result<OracleLeaf, CodecError> decode_oracle(ByteView b);
Result<WithdrawalLeaf, CodecError> decode_withdrawal(ByteView b);
Result<GlobalLeaf, CodecError> decode_global(ByteView b);
Result<ListingLeaf, CodecError> decode_listing(ByteView b);

}  // namespace opt
