// The matching engine: one price-time priority limit order book per instrument (docs/architecture.md,
// engine/market). It is off the proven path: it only decides which trades the sequencer proposes, and the
// state machine checks every one of them again (signatures, limits, fill leaves, reduce-only, margin).
// So it holds no signatures to verify, does no I/O and reads no clock (the caller passes `now`); it is
// used from one thread.
//
// Order types, from the signed flags (docs/protocol.md, "Signed messages"):
//  - limit (no flag): matches what crosses, the remainder rests at its limit price (FIFO in the level).
//  - post-only: rejected, with nothing changed, if it would fill against anything; otherwise it rests.
//    (The state machine refuses a post-only taker, so it must never take.) Crossing orders that could not
//    fill it (its own account's, expired ones) are removed on the way, as for any taker, so the book is
//    never left crossed.
//  - IOC: fills what it can at once, the remainder is cancelled; never rests.
//  - FOK: fills its whole (capped) quantity at once or nothing happens at all. FOK with IOC is FOK.
//  - reduce-only: the book cannot know positions, so the caller passes the cap (see submit()).
// Self-trade prevention (the state machine refuses a trade between one account's orders): when the taker
// meets a resting order of its own account, the RESTING order is cancelled and matching continues.
// Expired resting orders (expiry <= now, the state machine's rule) are removed when matching meets them
// and by expire(now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "engine/core/bytes.h"
#include "engine/core/tx.h"

namespace opt::market {

enum class Side : uint8_t { kBuy, kSell };
inline Side side_of(const Order& o) {
  return o.is_buy ? Side::kBuy : Side::kSell;
}

// At most this many orders rest at once (in all books); a submit beyond is kRejectedBookFull. About 270 GB
// of orders: a bound for the index arithmetic, not a limit anyone meets.
constexpr size_t kMaxRestingOrders = size_t{1} << 30;

// The largest order quantity the book accepts: the state machine's bound on amounts (int64). Level totals
// are kept in 128 bits, so no number of such orders can overflow them.
constexpr uint64_t kMaxOrderQty = static_cast<uint64_t>(INT64_MAX);

// The four outcomes of an accepted order come first (SubmitResult::accepted() relies on it).
enum class SubmitStatus : uint8_t {
  kFilled,                  // the whole (capped) quantity traded
  kPartiallyFilledResting,  // some traded, the remainder rests
  kResting,                 // nothing traded, all rests
  kCancelledIoc,            // IOC: what did not trade at once is cancelled (fills may be empty)
  kRejectedPostOnly,        // post-only that would have taken liquidity: nothing changed
  kRejectedFok,             // FOK that could not fill completely: nothing changed
  kRejectedReduceOnly,      // reduce-only without a cap, or with a cap of 0
  kRejectedExpired,         // expiry <= now
  kRejectedDuplicate,       // this order hash is already resting
  kRejectedInvalid,         // zero/oversized quantity, zero price, unknown or contradictory flags, cap 0
  kRejectedUnknownInstrument,
  kRejectedBookFull,  // kMaxRestingOrders orders already rest
  kDropped,           // refuse_fill(): the state machine refused the taker; its rest is cancelled
};
const char* to_string(SubmitStatus s);

enum class RemoveReason : uint8_t {
  kCancelled,         // cancel()
  kSelfTrade,         // self-trade prevention: the taker met its own account's resting order
  kExpired,           // expiry <= now, met in matching or by expire()
  kRefused,           // refuse_fill(): the state machine refused this order's trade
  kInstrumentClosed,  // remove_instrument()
};
const char* to_string(RemoveReason r);

// One trade to propose: the resting maker order against the incoming taker, at the maker's limit price.
// Each becomes one Trade transaction (see to_trade()). `maker` points at the signed order exactly as it
// rested, in the engine's order store (not a copy: a fill is a few words, whatever the order's size); it
// stays valid until the next change to the engine other than refuse_fill() with this very result, so
// turn fills into trades (or copy what you need) before submitting, cancelling or sweeping again.
struct Fill {
  OrderHash maker_hash;
  const SignedOrder* maker = nullptr;
  OrderHash taker_hash;
  uint64_t quantity = 0;
  uint64_t price = 0;            // the maker's limit price
  uint64_t maker_remaining = 0;  // after this fill; 0 means the maker left the book
};
TradeTx to_trade(const Fill& f, const SignedOrder& taker);

struct RestingOrder {
  OrderHash hash;
  SignedOrder order;
  uint64_t remaining = 0;  // not yet filled, still resting
  bool operator==(const RestingOrder&) const = default;
};

struct RemovedOrder {
  OrderHash hash;
  SignedOrder order;
  uint64_t remaining = 0;  // what was resting when it was removed
  RemoveReason reason = RemoveReason::kCancelled;
  bool operator==(const RemovedOrder&) const = default;
};

// A price level's new state, for order-book streams. Deltas are absolute (not increments): apply them in
// the order given; a later delta for the same level replaces an earlier one. qty 0 means the level is
// gone. Quantities above 2^64-1 (only possible with absurd orders) are reported as 2^64-1, both here
// and in depth().
struct LevelDelta {
  uint64_t instrument = 0;
  Side side = Side::kBuy;
  uint64_t price = 0;
  uint64_t qty = 0;
  uint32_t count = 0;  // orders at the level
  bool operator==(const LevelDelta&) const = default;
};

struct DepthLevel {
  uint64_t price = 0;
  uint64_t qty = 0;
  uint32_t count = 0;
  bool operator==(const DepthLevel&) const = default;
};

// Best price first on both sides: bids descending, asks ascending.
struct Depth {
  std::vector<DepthLevel> bids;
  std::vector<DepthLevel> asks;
  bool operator==(const Depth&) const = default;
};

struct SubmitResult {
  SubmitStatus status = SubmitStatus::kRejectedInvalid;
  OrderHash hash;              // the taker's
  uint64_t effective_qty = 0;  // min(quantity, cap): what this submission could fill or rest
  uint64_t filled = 0;
  uint64_t resting = 0;
  uint64_t cancelled = 0;             // quantity - filled - resting for accepted orders (cap, IOC remainder); else 0
  std::vector<Fill> fills;            // in matching order: apply them to the state in this order
  std::vector<RemovedOrder> removed;  // resting orders removed on the way (self-trade, expired, refused)
  std::vector<LevelDelta> deltas;
  bool accepted() const { return status <= SubmitStatus::kCancelledIoc; }
};

struct Cancelled {
  RemovedOrder order;
  LevelDelta delta;
};

struct SweepResult {
  std::vector<RemovedOrder> removed;
  std::vector<LevelDelta> deltas;  // one per touched level, with its final state
};

// Which party's order made the state machine refuse a proposed trade (from the receipt's reason: e.g. the
// maker's margin changed since it rested -> kMaker). A refusal that is no order's fault (the instrument
// expired, the oracle is stale) is best treated as kTaker: every maker gets its quantity back.
enum class Culprit : uint8_t { kMaker, kTaker };

struct Refusal {
  size_t fill = 0;  // index in SubmitResult::fills of the refused fill
  size_t kept = 0;  // leading fills the state applied and keeps: normally == fill; 0 for a FOK (below)
  Culprit culprit = Culprit::kMaker;
};

class OrderBook;

namespace detail {
struct OrderStore;
constexpr uint32_t kNil = UINT32_MAX;
// Wide enough that no number of orders of at most kMaxOrderQty can overflow a level's total.
using WideQty = unsigned __int128;
struct Level {
  uint64_t price = 0;
  WideQty qty = 0;
  uint32_t count = 0;
  uint32_t head = kNil;  // FIFO of pool slots, oldest first
  uint32_t tail = kNil;
  Side side = Side::kBuy;
  OrderBook* book = nullptr;  // so that a resting order reaches its book through its level
};
// Keyed so that begin() is the best price on both sides (bids by ~price, asks by price); a node-based map
// keeps O(log levels) inserts whatever the prices (no shifting of a deep level array, which a stream of
// far-away prices could exploit) and stable iterators, so a resting order finds its level in O(1).
using Levels = std::map<uint64_t, Level>;
// Recently used levels by price, direct-mapped, so that placing an order at a price that already has a
// level skips the tree descent (prices cluster: a book's active levels are mostly a few hundred ticks).
struct LevelCacheEntry {
  uint64_t price = 0;
  Levels::iterator level;
  bool valid = false;
};
constexpr size_t kLevelCacheSize = 256;
}  // namespace detail

// One instrument's book. Read-only from outside: every change goes through MatchingEngine, which keeps the
// shared order store and hash index consistent.
class OrderBook {
 public:
  OrderBook(const OrderBook&) = delete;
  OrderBook& operator=(const OrderBook&) = delete;

  uint64_t instrument() const { return instrument_; }
  size_t size() const { return size_; }  // resting orders
  std::optional<DepthLevel> best_bid() const { return best(Side::kBuy); }
  std::optional<DepthLevel> best_ask() const { return best(Side::kSell); }
  // Aggregated by price, at most max_levels per side.
  Depth depth(size_t max_levels = SIZE_MAX) const;
  // Resting orders of one side in priority order (best price first, oldest first within a level).
  std::vector<RestingOrder> orders(Side side) const;

 private:
  friend class MatchingEngine;
  friend struct detail::OrderStore;
  OrderBook(uint64_t instrument, const detail::OrderStore* store) : instrument_(instrument), store_(store) {}
  std::optional<DepthLevel> best(Side side) const;
  detail::Levels& levels(Side s) { return sides_[s == Side::kBuy ? 0 : 1]; }
  const detail::Levels& levels(Side s) const { return sides_[s == Side::kBuy ? 0 : 1]; }

  uint64_t instrument_;
  const detail::OrderStore* store_;
  detail::LevelCacheEntry& cached_level(Side s, uint64_t price) {
    return level_cache_[s == Side::kBuy ? 0 : 1][price % detail::kLevelCacheSize];
  }

  detail::Levels sides_[2];
  detail::LevelCacheEntry level_cache_[2][detail::kLevelCacheSize];
  size_t size_ = 0;
};

// All books, plus what they share: the order store and its indexes (order hash -> order, and an expiry
// queue). A resting order is a 64-byte node in one pool (what matching reads: remaining, expiry, account
// prefix, links of the FIFO list of its level) plus its signed order and hash in a separate store that is
// read only when a fill is reported or becomes a trade. Inserting, matching and cancelling allocate nothing
// once the pool, the hash index and the result buffers have grown.
class MatchingEngine {
 public:
  // The hash index is keyed with `hash_seed`: the node passes a random one, so that nobody can grind
  // order hashes that pile up in one corner of the table and slow every lookup down. (The
  // engine itself takes no randomness, like it reads no clock.)
  explicit MatchingEngine(uint64_t hash_seed = 0);
  ~MatchingEngine();
  MatchingEngine(MatchingEngine&&) noexcept;
  MatchingEngine& operator=(MatchingEngine&&) noexcept;
  MatchingEngine(const MatchingEngine&) = delete;
  MatchingEngine& operator=(const MatchingEngine&) = delete;

  // Books exist only for listed instruments, so a garbage instrument id cannot create one.
  bool add_instrument(uint64_t instrument);  // false if already there
  // Closes a book (e.g. once its instrument expired): every order in it is removed (kInstrumentClosed).
  SweepResult remove_instrument(uint64_t instrument);
  const OrderBook* book(uint64_t instrument) const;

  // The incoming order is the taker. `h` is its EIP-712 hash (the caller computed it while checking the
  // signature). `max_qty` caps what this submission may trade, filled plus resting:
  //  - reduce-only orders need it (rejected without it): the caller derives it from the account's
  //    position (a buy may reduce a short, a sell a long), perhaps less its other reduce-only orders;
  //  - any order re-submitted after a partial fill needs quantity - filled (from its fill leaf), because
  //    the book knows nothing of earlier fills.
  // The quantity above the cap is reported in `cancelled` and never rests. The book does not re-check a
  // resting reduce-only order when the position changes later: shrink() it; the state machine refuses
  // the trade anyway if it would not reduce (then refuse_fill()).
  //
  // The result lives in a buffer the engine owns and reuses (a submit allocates nothing once the buffers
  // have grown): it stays valid until the next change to the engine; copy it to keep it longer.
  const SubmitResult& submit(const SignedOrder& o, const OrderHash& h, uint64_t now,
                             std::optional<uint64_t> max_qty = std::nullopt);

  std::optional<Cancelled> cancel(const OrderHash& h);
  // Caps a resting order's remaining quantity at max_remaining (> 0), keeping its time priority (a smaller
  // order overtakes nobody). For reduce-only orders whose position shrank. nullopt if not resting or
  // max_remaining is 0 (use cancel()).
  std::optional<LevelDelta> shrink(const OrderHash& h, uint64_t max_remaining);
  // Removes every resting order with expiry <= now, oldest expiry first.
  SweepResult expire(uint64_t now);

  // Corrects the book when the state machine refused result.fills[r.fill] (the node applies a submit's
  // fills in order and stops at the first refusal). Call it before any other change to the book; the
  // book then looks as if the taker had traded only fills[0, r.kept):
  //  - the taker's resting remainder, if any, is taken out;
  //  - fills[r.kept..] go back to their makers, last first, each in place if still resting or else at
  //    the head of its level, which is exactly where it was (it was at the head when it traded);
  //  - culprit maker: that maker order is dropped (reason kRefused) if it still rests, and the taker is
  //    submitted again for effective_qty - kept quantity: its new fills are proposed the same way (each
  //    round drops one maker order, so the loop ends);
  //  - culprit taker: its fills[r.kept..] are undone as above and it is dropped (status kDropped).
  // A FOK must trade all or nothing, but the state machine applies trades one by one: the node applies a
  // FOK's fills on a checkpoint and, on a refusal, reverts them all and passes kept = 0.
  // Returns the outcome with every delta and removal of the correction (in the engine's buffer, like
  // submit(); `result` may be the engine's own buffer from the submit or refuse_fill just before).
  const SubmitResult& refuse_fill(const SignedOrder& taker, const SubmitResult& result, const Refusal& r, uint64_t now);

  std::optional<RestingOrder> find(const OrderHash& h) const;
  // Every instrument, as placed. A scan of all resting orders (no per-account index: it would cost every
  // insert and fill), for tools and tests, not for a hot path.
  std::vector<RestingOrder> orders_of(const Address& account) const;
  size_t size() const;  // resting orders in all books
  // Grows the order pool and the hash index for this many resting orders up front (touching the memory
  // now), so that later inserts neither reallocate nor page-fault.
  void reserve(size_t orders);

 private:
  // Clears the result buffer for a new operation: see OrderStore::begin_op().
  SubmitResult& begin_result();
  SubmitResult& submit_into(SubmitResult& r, const SignedOrder& o, const OrderHash& h, uint64_t now,
                            std::optional<uint64_t> max_qty);

  std::unique_ptr<detail::OrderStore> store_;
  std::unordered_map<uint64_t, std::unique_ptr<OrderBook>> books_;
};

}  // namespace opt::market
