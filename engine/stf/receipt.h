// What a step yields: which transaction it was and whether it applied, with a reason code when it did not.
// A refused step changes nothing in the state; the batch stays valid (docs/protocol.md: apply() is total).
#pragma once

#include <cstdint>

#include "engine/core/tx.h"

namespace opt {

enum class Code : uint8_t {
  kOk = 0,
  kMalformed,       // the bytes do not decode as a transaction
  kBadSignature,    // bad v, r or s
  kHighSignature,   // s above n/2 (malleated)
  kSignerMismatch,  // recovers to another address (also: signed for another chain or contract)
  kBadNonce,        // Withdraw/Liquidate nonce is not the account's nonce
  kZeroAmount,      // a zero quantity, price or amount
  kUnknownInstrument,
  kInstrumentMismatch,  // the two orders name different instruments
  kSameSide,            // both orders buy or both sell
  kSelfTrade,           // maker and taker are one account
  kPriceOutsideLimit,
  kFeeAboveMax,  // the schedule's fee per contract exceeds an order's maxFee
  kOrderExpired,
  kInstrumentExpired,  // no new trades or liquidations once an instrument reaches expiry
  kOverfill,           // filled + qty above the order's quantity
  kOrderCancelled,
  kBadFlags,       // unknown order flag bits
  kPostOnlyTaker,  // a post-only order may only rest, never take
  kReduceOnlyViolated,
  kUnderMargin,  // would end below initial margin without reducing risk
  kTooManyPositions,
  kStaleOracle,    // marks older than the staleness limit: no new risk, no liquidation
  kNoOraclePrice,  // no report yet for an underlying the step needs
  kNotCommittee,   // a report signature from outside the oracle committee
  kDuplicateSigner,
  kNotEnoughSignatures,
  kStaleReport,     // timestamp not newer than the last report
  kReportInFuture,  // timestamp after the batch's timestamp
  kBadReport,       // zero price or volatility out of range
  kNotAdmin,
  kDuplicateInstrument,
  kBadInstrumentTerms,  // zero strike, expiry off the 30-minute grid or already past
  kNotLiquidatable,     // the account meets maintenance margin
  kNoPosition,
  kSelfLiquidation,
  kNotExpired,  // Expire or Settle before the instrument's expiry
  kAlreadyExpired,
  kNotYetSettleable,        // expiry passed, but no Expire step fixed the settlement price yet
  kSettlementUnavailable,   // no oracle report at or after expiry yet
  kInsufficientCollateral,  // withdrawal above free collateral
  kOverflow,                // an amount out of the representable range
  kNotOwner,                // a cancel of an order another account's signature already filled
  kInboxOnly,               // a Deposit or ForcedWithdraw that did not come from the L1 inbox (or the reverse)
  kCorruptState,            // a stored leaf does not decode (cannot happen in an honest state)
};
const char* to_string(Code c);  // snake_case name, as used by the API
const char* describe(Code c);   // a sentence for people (API error messages, CLI output)

struct Receipt {
  TxType type = TxType::kDeposit;
  bool decoded = false;
  Code code = Code::kMalformed;
  uint64_t value = 0;  // withdrawal index, listed instrument id, or settled amount, by type
  bool ok() const { return code == Code::kOk; }
  bool operator==(const Receipt&) const = default;
};

// Step inputs that are not in the transaction: set per batch by the proposer and checked by the L1
// (docs/l1.md, "Steps"), so the referee has them too.
struct StepContext {
  uint64_t timestamp = 0;  // the batch's L2 timestamp, unix seconds
  // True for the batch's first steps, the L1 inbox messages it consumes. Deposit and ForcedWithdraw are
  // executed only there: a proposer that writes a Deposit among its own transactions must not be able to
  // credit money the L1 escrow never received.
  bool from_inbox = false;
};

}  // namespace opt
