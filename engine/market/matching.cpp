#include "engine/market/matching.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <tuple>
#include <type_traits>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace opt::market {

using detail::kNil;
using detail::Level;
using detail::Levels;
using detail::WideQty;

const char* to_string(SubmitStatus s) {
  switch (s) {
    case SubmitStatus::kFilled: return "filled";
    case SubmitStatus::kPartiallyFilledResting: return "partially_filled_resting";
    case SubmitStatus::kResting: return "resting";
    case SubmitStatus::kCancelledIoc: return "cancelled_ioc";
    case SubmitStatus::kRejectedPostOnly: return "rejected_post_only";
    case SubmitStatus::kRejectedFok: return "rejected_fok";
    case SubmitStatus::kRejectedReduceOnly: return "rejected_reduce_only";
    case SubmitStatus::kRejectedExpired: return "rejected_expired";
    case SubmitStatus::kRejectedDuplicate: return "rejected_duplicate";
    case SubmitStatus::kRejectedInvalid: return "rejected_invalid";
    case SubmitStatus::kRejectedUnknownInstrument: return "rejected_unknown_instrument";
    case SubmitStatus::kRejectedBookFull: return "rejected_book_full";
    case SubmitStatus::kDropped: return "dropped";
  }
  return "unknown";
}

const char* to_string(RemoveReason r) {
  switch (r) {
    case RemoveReason::kCancelled: return "cancelled";
    case RemoveReason::kSelfTrade: return "self_trade";
    case RemoveReason::kExpired: return "expired";
    case RemoveReason::kRefused: return "refused";
    case RemoveReason::kInstrumentClosed: return "instrument_closed";
  }
  return "unknown";
}

TradeTx to_trade(const Fill& f, const SignedOrder& taker) {
  return TradeTx{*f.maker, taker, f.quantity, f.price};
}

namespace {

uint64_t level_key(Side s, uint64_t price) {
  return s == Side::kBuy ? ~price : price;
}
Side opposite(Side s) {
  return s == Side::kBuy ? Side::kSell : Side::kBuy;
}
uint64_t clamp64(WideQty q) {
  return q > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(q);
}
// A buy crosses an ask at or below its limit; a sell crosses a bid at or above its limit.
bool crosses(const Order& taker, uint64_t maker_price) {
  return taker.is_buy ? maker_price <= taker.limit_price : maker_price >= taker.limit_price;
}

}  // namespace

namespace detail {

// Large arrays on 2 MB pages where the kernel allows it (a hint, nothing else). The hash index and the
// order store are read at random: with 4 KB pages a probe of a table of a few MB would usually miss the
// TLB as well as the cache, and the page walk costs as much again.
constexpr size_t kHugePage = size_t{2} << 20;

void* big_alloc(size_t bytes) {
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  const size_t size = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size == 0 ? align : size);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

template <class T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(big_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t) { std::free(p); }
  bool operator==(const BigAllocator&) const = default;
};
template <class T>
using BigVector = std::vector<T, BigAllocator<T>>;

// A resting order as matching sees it: one cache line, reached by its slot. Everything matching reads
// while walking a level is here (remaining, expiry, account); the signed order and its hash, needed only
// when a fill is reported and when it becomes a trade, live in the order's Cold entry.
struct Node {
  uint64_t remaining = 0;
  uint64_t expiry = 0;
  uint64_t seq = 0;  // unique per placement: tells a live order from a stale expiry-queue entry
  Levels::iterator level;
  // The account's first 8 bytes: self-trade prevention compares these and reads the whole address (in
  // Cold) only when they are equal, which for two different accounts takes grinding 64 bits.
  uint64_t account = 0;
  uint32_t prev = kNil, next = kNil;  // FIFO in the level; `next` also links the free list
  uint32_t bucket = 0;                // where HashIndex keeps its entry, so removal needs no lookup
  bool live = false;
};

static_assert(sizeof(Node) <= 64, "a resting order's node is one cache line");

// Copies a signed order in 32-byte moves: a plain assignment of the 160-byte struct compiles to
// `rep movsb`, whose start-up costs more than the copy on some x86 cores, once per resting order.
inline void copy_order(SignedOrder& to, const SignedOrder& from) {
  static_assert(std::is_trivially_copyable_v<SignedOrder> && sizeof(SignedOrder) % 32 == 0);
  auto* d = reinterpret_cast<unsigned char*>(&to);
  const auto* s = reinterpret_cast<const unsigned char*>(&from);
  for (size_t k = 0; k < sizeof(SignedOrder); k += 32) __builtin_memcpy(d + k, s + k, 32);
}

struct Cold {
  OrderHash hash;
  SignedOrder so;
};

// Cold entries by slot, in fixed chunks so that their addresses never move: a Fill points at its maker's
// signed order while the engine goes on placing the taker (which may grow the store).
class ColdStore {
 public:
  static constexpr size_t kChunkBits = 12;
  static constexpr size_t kChunk = size_t{1} << kChunkBits;
  Cold& operator[](uint32_t slot) { return chunks_[slot >> kChunkBits][slot & (kChunk - 1)]; }
  const Cold& operator[](uint32_t slot) const { return chunks_[slot >> kChunkBits][slot & (kChunk - 1)]; }
  // Makes slots [0, n) addressable.
  void grow_to(size_t n) {
    while (chunks_.size() * kChunk < n) chunks_.push_back(std::make_unique<Cold[]>(kChunk));
  }

 private:
  std::vector<std::unique_ptr<Cold[]>> chunks_;
};

// Keys here are keccak outputs (order hashes), so their first 64 bits are already uniform and
// nobody can choose them; what an attacker could still do is grind keys until their low bits collide in a
// table of known layout. Mixing them with a secret seed (murmur3's finaliser) takes that away.
template <size_t N, class Tag>
uint64_t keyed_hash(const FixedBytes<N, Tag>& b, uint64_t seed) {
  static_assert(N >= 8);
  uint64_t x;
  std::memcpy(&x, b.data(), 8);
  x ^= seed;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

// Order hash -> pool slot, in two parallel arrays: 16-bit fingerprints, the only part that looking up an
// absent hash reads (2 bytes a bucket: a book of a million orders keeps its whole fingerprint array in a
// few MB of cache, where the duplicate check of every submit finds it), and the entries (the low 32 bits
// of the key, for rebuilding, and the slot), read only on a fingerprint match. Linear probing; erasing
// leaves a tombstone at the bucket the order's node remembers, so it reads nothing; the table is rebuilt
// (tombstones dropped, entries moved, their nodes told) when entries and tombstones fill 7/10 of it.
class HashIndex {
 public:
  explicit HashIndex(uint64_t seed) : seed_(seed) {}

  uint64_t key(const OrderHash& h) const { return keyed_hash(h, seed_); }

  // Starts loading the buckets a find() for `key` reads first, so that a miss overlaps other work.
  void prefetch(uint64_t key) const {
    if (!fps_.empty()) __builtin_prefetch(&fps_[key & mask_]);
  }
  void prefetch_bucket(uint32_t bucket) const { __builtin_prefetch(&fps_[bucket]); }

  // The slot of the order whose hash is h (key == key(h)), or kNil.
  uint32_t find(const OrderHash& h, uint64_t key, const ColdStore& cold) const {
    if (live_ == 0) return kNil;
    const uint16_t fp = fingerprint(key);
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      const uint16_t f = fps_[i];
      if (f == kEmpty) return kNil;
      if (f == fp) {
        const uint32_t slot = static_cast<uint32_t>(entries_[i]);
        if (cold[slot].hash == h) return slot;
      }
    }
  }

  // Adds a key that is not present; returns its bucket. on_move(slot, bucket) hears of every entry a
  // rebuild moves.
  template <class OnMove>
  uint32_t insert(uint64_t key, uint32_t slot, OnMove&& on_move) {
    if ((used_ + 1) * 10 > fps_.size() * 7) {
      size_t cap = std::max<size_t>(16, fps_.size());
      while ((live_ + 1) * 3 > cap) cap *= 2;
      rebuild(cap, on_move);
    }
    size_t i = key & mask_;
    while (fps_[i] > kTombstone) i = (i + 1) & mask_;
    if (fps_[i] == kEmpty) ++used_;
    fps_[i] = fingerprint(key);
    entries_[i] = (key << 32) | slot;
    ++live_;
    return static_cast<uint32_t>(i);
  }

  void erase(uint32_t bucket) {
    --live_;
    if (fps_[(bucket + 1) & mask_] != kEmpty) {
      fps_[bucket] = kTombstone;  // a probe may have to pass this bucket to reach a later entry
      return;
    }
    // The end of a run: no probe needs this bucket, nor the tombstones right before it.
    size_t i = bucket;
    do {
      fps_[i] = kEmpty;
      --used_;
      i = (i - 1) & mask_;
    } while (fps_[i] == kTombstone);
  }

  template <class OnMove>
  void reserve(size_t n, OnMove&& on_move) {
    size_t cap = 16;
    while (n * 3 > cap) cap *= 2;
    if (cap > fps_.size()) rebuild(cap, on_move);
  }

 private:
  static constexpr uint16_t kEmpty = 0, kTombstone = 1;
  // From the key's top bits (the bucket comes from its low bits), never one of the two markers.
  static uint16_t fingerprint(uint64_t key) { return std::max<uint16_t>(static_cast<uint16_t>(key >> 48), 2); }

  // Capacity stays <= 4 * kMaxRestingOrders = 2^32, so the 32 stored key bits hold the whole bucket.
  template <class OnMove>
  void rebuild(size_t cap, OnMove&& on_move) {
    BigVector<uint16_t> old_fps = std::move(fps_);
    BigVector<uint64_t> old_entries = std::move(entries_);
    // A rebuild at the same size (to drop tombstones) reuses the arrays of the one before: no fresh
    // pages to fault in and zero.
    if (spare_fps_.size() == cap) {
      fps_ = std::move(spare_fps_);
      entries_ = std::move(spare_entries_);
      std::fill(fps_.begin(), fps_.end(), kEmpty);
    } else {
      fps_.assign(cap, kEmpty);
      entries_.resize(cap);
    }
    mask_ = cap - 1;
    used_ = 0;
    for (size_t j = 0; j < old_fps.size(); ++j) {
      if (old_fps[j] <= kTombstone) continue;
      const uint64_t e = old_entries[j];
      size_t i = (e >> 32) & mask_;
      while (fps_[i] != kEmpty) i = (i + 1) & mask_;
      fps_[i] = old_fps[j];
      entries_[i] = e;
      ++used_;
      on_move(static_cast<uint32_t>(e), static_cast<uint32_t>(i));
    }
    spare_fps_ = std::move(old_fps);
    spare_entries_ = std::move(old_entries);
  }

  uint64_t seed_;
  BigVector<uint16_t> fps_;
  BigVector<uint64_t> entries_;
  BigVector<uint16_t> spare_fps_;
  BigVector<uint64_t> spare_entries_;
  size_t mask_ = 0;
  size_t live_ = 0;
  size_t used_ = 0;  // live entries and tombstones
};

inline uint64_t account_prefix(const Address& a) {
  uint64_t x;
  std::memcpy(&x, a.data(), 8);
  return x;
}

struct ExpiryEntry {
  uint64_t expiry;
  uint64_t seq;
  uint32_t slot;
  // std heap functions build a max-heap; this order makes the earliest expiry (then oldest) the top.
  bool operator<(const ExpiryEntry& o) const { return std::tie(expiry, seq) > std::tie(o.expiry, o.seq); }
};

struct OrderStore {
  explicit OrderStore(uint64_t seed) : by_hash(seed) {}

  BigVector<Node> nodes;
  ColdStore cold;
  uint32_t free_head = kNil;
  // Slots freed by the current operation. A Fill of this operation's result may point at their signed
  // orders, so they return to the free list only when the next operation begins (begin_op()).
  std::vector<uint32_t> retired;
  size_t live = 0;
  uint64_t next_seq = 1;
  HashIndex by_hash;
  // Lazy deletion: cancelled or filled orders leave stale entries, dropped when they reach the top or
  // when stale entries outnumber live ones (compaction), so memory stays proportional to resting orders.
  BigVector<ExpiryEntry> expiries;
  // The results handed out by submit() and refuse_fill(), reused. Two, so that refuse_fill() can read the
  // result it corrects while it writes the next one.
  SubmitResult results[2];
  int current = 0;

  void begin_op() {
    for (uint32_t s : retired) {
      nodes[s].next = free_head;
      free_head = s;
    }
    retired.clear();
  }

  uint32_t find(const OrderHash& h) const { return by_hash.find(h, by_hash.key(h), cold); }

  // Starts loading what matching reads of the order in `slot` (its node, and the hash that a fill
  // reports), so that these cache misses overlap each other and the caller's other work.
  void warm(uint32_t slot) const {
    __builtin_prefetch(&nodes[slot]);
    __builtin_prefetch(&cold[slot]);
  }

  // Whether the resting order in `slot` is `taker`'s account's (`prefix` is account_prefix(taker.account)).
  bool same_account(uint32_t slot, const Order& taker, uint64_t prefix) const {
    return nodes[slot].account == prefix && cold[slot].so.order.account == taker.account;
  }

  RestingOrder view(uint32_t slot) const {
    const Cold& c = cold[slot];
    return RestingOrder{c.hash, c.so, nodes[slot].remaining};
  }
  RemovedOrder removed(uint32_t slot, RemoveReason why) const {
    const Cold& c = cold[slot];
    return RemovedOrder{c.hash, c.so, nodes[slot].remaining, why};
  }

  // Takes a free slot; kNil when kMaxRestingOrders orders rest.
  uint32_t allocate() {
    if (free_head != kNil) {
      uint32_t s = free_head;
      free_head = nodes[s].next;
      return s;
    }
    if (nodes.size() >= kMaxRestingOrders) return kNil;
    nodes.emplace_back();
    cold.grow_to(nodes.size());
    return static_cast<uint32_t>(nodes.size() - 1);
  }

  void reserve(size_t n) {
    n = std::min(n, kMaxRestingOrders);
    if (n <= nodes.size()) return;
    // New slots go to the free list lowest first, so consecutive inserts use neighbouring memory.
    const size_t old = nodes.size();
    nodes.resize(n);
    cold.grow_to(n);
    for (size_t i = n; i-- > old;) {
      nodes[i].next = free_head;
      free_head = static_cast<uint32_t>(i);
    }
    by_hash.reserve(n, [this](uint32_t s, uint32_t b) { nodes[s].bucket = b; });
    expiries.reserve(n);
  }

  // Places the order in `slot` (its Cold entry and remaining already set; `key` is by_hash.key() of its
  // hash) in its book and in the
  // indexes: at the tail of its level (a new order) or at the head (a maker given back its fill).
  void place(uint32_t slot, OrderBook& book, bool at_head, uint64_t key) {
    if (expiries.size() > 2 * live + 1024) compact_expiries();
    Node& n = nodes[slot];
    const Order& o = cold[slot].so.order;
    const Side side = side_of(o);
    detail::LevelCacheEntry& cached = book.cached_level(side, o.limit_price);
    Levels::iterator lit = cached.level;
    if (!cached.valid || cached.price != o.limit_price) {
      bool created;
      std::tie(lit, created) = book.levels(side).try_emplace(level_key(side, o.limit_price));
      if (created) {
        lit->second.price = o.limit_price;
        lit->second.side = side;
        lit->second.book = &book;
      }
      cached = detail::LevelCacheEntry{o.limit_price, lit, true};
    }
    Level& lv = lit->second;
    n.level = lit;
    n.expiry = o.expiry;
    n.live = true;
    n.seq = next_seq++;
    if (at_head) {
      n.prev = kNil;
      n.next = lv.head;
      if (lv.head != kNil) nodes[lv.head].prev = slot;
      lv.head = slot;
      if (lv.tail == kNil) lv.tail = slot;
    } else {
      n.next = kNil;
      n.prev = lv.tail;
      if (lv.tail != kNil) nodes[lv.tail].next = slot;
      lv.tail = slot;
      if (lv.head == kNil) lv.head = slot;
    }
    lv.qty += n.remaining;
    ++lv.count;

    n.account = account_prefix(o.account);
    n.bucket = by_hash.insert(key, slot, [this](uint32_t s, uint32_t b) { nodes[s].bucket = b; });
    expiries.push_back(ExpiryEntry{o.expiry, n.seq, slot});
    std::push_heap(expiries.begin(), expiries.end());

    ++book.size_;
    ++live;
  }

  // Takes the order in `slot` out of its level and the hash index and retires the slot. An
  // emptied level stays in the map (settle_level erases it) so that callers walking it keep a valid
  // iterator.
  void unlink(uint32_t slot) {
    Node& n = nodes[slot];
    Level& lv = n.level->second;
    if (n.prev != kNil)
      nodes[n.prev].next = n.next;
    else
      lv.head = n.next;
    if (n.next != kNil)
      nodes[n.next].prev = n.prev;
    else
      lv.tail = n.prev;
    lv.qty -= n.remaining;
    --lv.count;

    by_hash.erase(n.bucket);
    --lv.book->size_;
    --live;
    n.live = false;
    retired.push_back(slot);
  }

  static LevelDelta delta(const Level& lv) {
    return LevelDelta{lv.book->instrument(), lv.side, lv.price, clamp64(lv.qty), lv.count};
  }

  // Reports a level's current state and erases it from its map if it is empty.
  static LevelDelta settle_level(Levels::iterator lit) {
    const Level& lv = lit->second;
    LevelDelta d = delta(lv);
    if (lv.count == 0) {
      detail::LevelCacheEntry& cached = lv.book->cached_level(lv.side, lv.price);
      if (cached.price == lv.price) cached.valid = false;
      lv.book->levels(lv.side).erase(lit);
    }
    return d;
  }

  // Removes one resting order entirely (cancel, refusal): unlink plus level cleanup.
  LevelDelta remove(uint32_t slot) {
    Levels::iterator lit = nodes[slot].level;
    unlink(slot);
    return settle_level(lit);
  }

  // Drops the stale entries (their order left or its slot was reused), keeping the queue's size within
  // twice the resting orders.
  void compact_expiries() {
    std::erase_if(expiries, [this](const ExpiryEntry& e) { return !nodes[e.slot].live || nodes[e.slot].seq != e.seq; });
    std::make_heap(expiries.begin(), expiries.end());
  }

  // Whether the taker would find at least `need` quantity to trade with: crossing resting orders, not
  // expired and not of the taker's own account (self-trade prevention would cancel those instead).
  bool has_fillable(const OrderBook& book, const Order& taker, uint64_t now, uint64_t need) const {
    const uint64_t prefix = account_prefix(taker.account);
    uint64_t found = 0;  // < need + one order <= 2 * kMaxOrderQty: cannot overflow
    for (const auto& [key, lv] : book.levels(opposite(side_of(taker)))) {
      if (!crosses(taker, lv.price)) break;
      for (uint32_t i = lv.head; i != kNil; i = nodes[i].next) {
        const Node& m = nodes[i];
        if (m.expiry <= now || same_account(i, taker, prefix)) continue;
        found += m.remaining;
        if (found >= need) return true;
      }
    }
    return false;
  }

  // Trades the taker against the opposite side while prices cross, best price first, oldest first in a
  // level, at the maker's price. Returns the taker's quantity left.
  uint64_t match(OrderBook& book, const Order& t, const OrderHash& th, uint64_t now, uint64_t remaining,
                 SubmitResult& out) {
    const uint64_t prefix = account_prefix(t.account);
    Levels& opp = book.levels(opposite(side_of(t)));
    while (remaining > 0 && !opp.empty()) {
      Levels::iterator lit = opp.begin();
      Level& lv = lit->second;
      if (!crosses(t, lv.price)) break;
      uint32_t i = lv.head;
      while (i != kNil && remaining > 0) {
        Node& m = nodes[i];
        const uint32_t next = m.next;
        // This maker's index entry is erased if it fills, and the next maker is read if it does not
        // suffice: start both loads now, while this one is reported.
        by_hash.prefetch_bucket(m.bucket);
        if (next != kNil && remaining > m.remaining) warm(next);
        if (m.expiry <= now) {
          out.removed.push_back(removed(i, RemoveReason::kExpired));
          unlink(i);
        } else if (same_account(i, t, prefix)) {
          out.removed.push_back(removed(i, RemoveReason::kSelfTrade));
          unlink(i);
        } else {
          const uint64_t q = std::min(remaining, m.remaining);
          m.remaining -= q;
          lv.qty -= q;
          remaining -= q;
          const Cold& c = cold[i];
          out.fills.push_back(Fill{c.hash, &c.so, th, q, lv.price, m.remaining});
          if (m.remaining == 0) unlink(i);
        }
        i = next;
      }
      out.deltas.push_back(settle_level(lit));
    }
    return remaining;
  }
};

}  // namespace detail

using detail::Node;
using detail::OrderStore;

// ---- OrderBook (read side) ----

std::optional<DepthLevel> OrderBook::best(Side side) const {
  const Levels& lv = levels(side);
  if (lv.empty()) return std::nullopt;
  const Level& l = lv.begin()->second;
  return DepthLevel{l.price, clamp64(l.qty), l.count};
}

Depth OrderBook::depth(size_t max_levels) const {
  Depth d;
  for (Side s : {Side::kBuy, Side::kSell}) {
    auto& out = s == Side::kBuy ? d.bids : d.asks;
    out.reserve(std::min(max_levels, levels(s).size()));
    for (const auto& [key, l] : levels(s)) {
      if (out.size() >= max_levels) break;
      out.push_back(DepthLevel{l.price, clamp64(l.qty), l.count});
    }
  }
  return d;
}

std::vector<RestingOrder> OrderBook::orders(Side side) const {
  std::vector<RestingOrder> out;
  for (const auto& [key, l] : levels(side))
    for (uint32_t i = l.head; i != kNil; i = store_->nodes[i].next) out.push_back(store_->view(i));
  return out;
}

// ---- MatchingEngine ----

MatchingEngine::MatchingEngine(uint64_t hash_seed) : store_(std::make_unique<OrderStore>(hash_seed)) {}
MatchingEngine::~MatchingEngine() = default;
MatchingEngine::MatchingEngine(MatchingEngine&&) noexcept = default;
MatchingEngine& MatchingEngine::operator=(MatchingEngine&&) noexcept = default;

bool MatchingEngine::add_instrument(uint64_t instrument) {
  if (books_.count(instrument)) return false;
  // The constructor is private (books change only through the engine), so no make_unique.
  books_.emplace(instrument, std::unique_ptr<OrderBook>(new OrderBook(instrument, store_.get())));
  return true;
}

SweepResult MatchingEngine::remove_instrument(uint64_t instrument) {
  store_->begin_op();
  SweepResult out;
  auto it = books_.find(instrument);
  if (it == books_.end()) return out;
  OrderBook& book = *it->second;
  for (Side s : {Side::kBuy, Side::kSell}) {
    Levels& levels = book.levels(s);
    while (!levels.empty()) {
      Levels::iterator lit = levels.begin();
      while (lit->second.head != kNil) {
        const uint32_t slot = lit->second.head;
        out.removed.push_back(store_->removed(slot, RemoveReason::kInstrumentClosed));
        store_->unlink(slot);
      }
      out.deltas.push_back(OrderStore::settle_level(lit));
    }
  }
  books_.erase(it);  // stale expiry entries of its orders fail the `live` check later
  return out;
}

const OrderBook* MatchingEngine::book(uint64_t instrument) const {
  auto it = books_.find(instrument);
  return it == books_.end() ? nullptr : it->second.get();
}

SubmitResult& MatchingEngine::begin_result() {
  OrderStore& st = *store_;
  st.begin_op();
  SubmitResult& r = st.results[st.current];
  r.fills.clear();
  r.removed.clear();
  r.deltas.clear();
  return r;
}

const SubmitResult& MatchingEngine::submit(const SignedOrder& so, const OrderHash& h, uint64_t now,
                                           std::optional<uint64_t> max_qty) {
  return submit_into(begin_result(), so, h, now, max_qty);
}

// Fills `r` (whose vectors may already hold a correction's removals and deltas, kept in front).
SubmitResult& MatchingEngine::submit_into(SubmitResult& r, const SignedOrder& so, const OrderHash& h, uint64_t now,
                                          std::optional<uint64_t> max_qty) {
  OrderStore& st = *store_;
  const uint64_t key = st.by_hash.key(h);
  st.by_hash.prefetch(key);
  r.hash = h;
  r.effective_qty = r.filled = r.resting = r.cancelled = 0;
  const Order& o = so.order;
  auto reject = [&r](SubmitStatus s) -> SubmitResult& {
    r.status = s;
    return r;
  };

  auto bit = books_.find(o.instrument);
  if (bit == books_.end()) return reject(SubmitStatus::kRejectedUnknownInstrument);
  OrderBook& book = *bit->second;
  // The state machine refuses unknown flags, and no order can be both "never take" and "never rest".
  if ((o.flags & ~kKnownOrderFlags) != 0 || ((o.flags & kPostOnly) && (o.flags & (kIoc | kFok))) || o.quantity == 0 ||
      o.quantity > kMaxOrderQty || o.limit_price == 0)
    return reject(SubmitStatus::kRejectedInvalid);
  if (o.expiry <= now) return reject(SubmitStatus::kRejectedExpired);
  const bool reduce_only = (o.flags & kReduceOnly) != 0;
  if (reduce_only && !max_qty) return reject(SubmitStatus::kRejectedReduceOnly);
  const uint64_t effective = max_qty ? std::min(o.quantity, *max_qty) : o.quantity;
  if (effective == 0) return reject(reduce_only ? SubmitStatus::kRejectedReduceOnly : SubmitStatus::kRejectedInvalid);

  // The duplicate probe below usually misses the cache; let the first maker's loads overlap it.
  if (const Levels& opp = book.levels(opposite(side_of(o))); !opp.empty()) {
    const Level& best = opp.begin()->second;
    if (crosses(o, best.price) && best.head != kNil) st.warm(best.head);
  }
  if (st.by_hash.find(h, key, st.cold) != kNil) return reject(SubmitStatus::kRejectedDuplicate);
  if ((o.flags & kPostOnly) && st.has_fillable(book, o, now, 1)) return reject(SubmitStatus::kRejectedPostOnly);
  const bool fok = (o.flags & kFok) != 0;
  if (fok && !st.has_fillable(book, o, now, effective)) return reject(SubmitStatus::kRejectedFok);

  r.effective_qty = effective;
  const uint64_t left = st.match(book, o, h, now, effective, r);
  r.filled = effective - left;
  if (left == 0) {
    r.status = SubmitStatus::kFilled;
  } else if (fok || (o.flags & kIoc)) {
    r.status = SubmitStatus::kCancelledIoc;  // not reachable for FOK: has_fillable() vouched for it all
  } else {
    const uint32_t slot = st.allocate();
    if (slot == kNil) {
      // What traded stays proposed (the fills are real); the rest is not placed, as for an IOC.
      r.status = r.filled ? SubmitStatus::kCancelledIoc : SubmitStatus::kRejectedBookFull;
    } else {
      detail::Cold& c = st.cold[slot];
      c.hash = h;
      detail::copy_order(c.so, so);
      Node& n = st.nodes[slot];
      n.remaining = left;
      st.place(slot, book, false, key);
      r.resting = left;
      r.status = r.filled ? SubmitStatus::kPartiallyFilledResting : SubmitStatus::kResting;
      r.deltas.push_back(OrderStore::delta(n.level->second));
    }
  }
  r.cancelled = o.quantity - r.filled - r.resting;
  return r;
}

std::optional<Cancelled> MatchingEngine::cancel(const OrderHash& h) {
  store_->begin_op();
  const uint32_t slot = store_->find(h);
  if (slot == kNil) return std::nullopt;
  Cancelled c;
  c.order = store_->removed(slot, RemoveReason::kCancelled);
  c.delta = store_->remove(slot);
  return c;
}

std::optional<LevelDelta> MatchingEngine::shrink(const OrderHash& h, uint64_t max_remaining) {
  store_->begin_op();
  const uint32_t slot = store_->find(h);
  if (slot == kNil || max_remaining == 0) return std::nullopt;
  Node& n = store_->nodes[slot];
  Level& lv = n.level->second;
  if (n.remaining > max_remaining) {
    lv.qty -= n.remaining - max_remaining;
    n.remaining = max_remaining;
  }
  return OrderStore::delta(lv);
}

SweepResult MatchingEngine::expire(uint64_t now) {
  OrderStore& st = *store_;
  st.begin_op();
  SweepResult out;
  auto& q = st.expiries;
  struct Touched {
    OrderBook* book;
    Side side;
    uint64_t key;
  };
  std::vector<Touched> touched;
  while (!q.empty() && q.front().expiry <= now) {
    const detail::ExpiryEntry e = q.front();
    std::pop_heap(q.begin(), q.end());
    q.pop_back();
    const Node& n = st.nodes[e.slot];
    if (!n.live || n.seq != e.seq) continue;  // filled, cancelled or re-used since
    const Level& lv = n.level->second;
    touched.push_back(Touched{lv.book, lv.side, level_key(lv.side, lv.price)});
    out.removed.push_back(st.removed(e.slot, RemoveReason::kExpired));
    st.unlink(e.slot);
  }
  // One delta per touched level with its final state, in a deterministic order.
  std::sort(touched.begin(), touched.end(), [](const Touched& a, const Touched& b) {
    return std::tuple(a.book->instrument(), a.side, a.key) < std::tuple(b.book->instrument(), b.side, b.key);
  });
  for (size_t i = 0; i < touched.size(); ++i) {
    if (i > 0 && touched[i].book == touched[i - 1].book && touched[i].side == touched[i - 1].side &&
        touched[i].key == touched[i - 1].key)
      continue;
    Levels& levels = touched[i].book->levels(touched[i].side);
    out.deltas.push_back(OrderStore::settle_level(levels.find(touched[i].key)));
  }
  return out;
}

const SubmitResult& MatchingEngine::refuse_fill(const SignedOrder& taker, const SubmitResult& result, const Refusal& r,
                                                uint64_t now) {
  OrderStore& st = *store_;
  // `result` may be the buffer handed out last: write into the other one, and keep the slots its fills
  // point at retired (no begin_op()) until they have been read.
  if (&result == &st.results[st.current]) st.current ^= 1;
  SubmitResult& out = st.results[st.current];
  out.fills.clear();
  out.removed.clear();
  out.deltas.clear();
  out.hash = result.hash;
  out.effective_qty = out.filled = out.resting = out.cancelled = 0;
  if (r.fill >= result.fills.size() || r.kept > r.fill) {
    out.status = SubmitStatus::kRejectedInvalid;  // a caller bug: change nothing
    return out;
  }

  // The taker's rest first, so that giving makers back never crosses the book, even for a moment a
  // stream could see.
  if (const uint32_t slot = st.find(result.hash); slot != kNil) {
    if (r.culprit == Culprit::kTaker) out.removed.push_back(st.removed(slot, RemoveReason::kRefused));
    out.deltas.push_back(st.remove(slot));
  }

  for (size_t k = result.fills.size(); k-- > r.kept;) {
    const Fill& f = result.fills[k];
    if (k == r.fill && r.culprit == Culprit::kMaker) {
      if (const uint32_t slot = st.find(f.maker_hash); slot != kNil) {
        out.removed.push_back(st.removed(slot, RemoveReason::kRefused));
        out.deltas.push_back(st.remove(slot));
      }
      continue;
    }
    auto bit = books_.find(f.maker->order.instrument);
    if (bit == books_.end()) continue;  // the instrument was closed since: nothing to give back to
    OrderBook& book = *bit->second;
    if (const uint32_t slot = st.find(f.maker_hash); slot != kNil) {
      Node& n = st.nodes[slot];  // still resting after its partial fill: top it up in place
      n.remaining += f.quantity;
      n.level->second.qty += f.quantity;
      out.deltas.push_back(OrderStore::delta(n.level->second));
      continue;
    }
    const uint32_t slot = st.allocate();
    if (slot == kNil) continue;  // kMaxRestingOrders rest: the maker can re-submit later
    detail::Cold& c = st.cold[slot];
    c.so = *f.maker;  // f.maker is a retired slot's (not reused before the next operation) or the caller's
    c.hash = f.maker_hash;
    Node& n = st.nodes[slot];
    n.remaining = f.quantity;
    st.place(slot, book, true, st.by_hash.key(f.maker_hash));
    out.deltas.push_back(OrderStore::delta(n.level->second));
  }

  if (r.culprit == Culprit::kTaker) {
    out.status = SubmitStatus::kDropped;
    return out;
  }
  uint64_t kept_qty = 0;
  for (size_t k = 0; k < r.kept; ++k) kept_qty += result.fills[k].quantity;
  // The correction's removals and deltas stay in front of the new submission's.
  return submit_into(out, taker, result.hash, now, result.effective_qty - kept_qty);
}

std::optional<RestingOrder> MatchingEngine::find(const OrderHash& h) const {
  const uint32_t slot = store_->find(h);
  if (slot == kNil) return std::nullopt;
  return store_->view(slot);
}

std::vector<RestingOrder> MatchingEngine::orders_of(const Address& account) const {
  std::vector<RestingOrder> out;
  // A scan, not an index: keeping a per-account list would cost every insert and every fill two more
  // cache misses (the account's neighbouring orders), for a query the matching path never needs.
  const OrderStore& st = *store_;
  const uint64_t prefix = detail::account_prefix(account);
  std::vector<std::pair<uint64_t, uint32_t>> mine;  // (placement seq, slot)
  for (uint32_t i = 0; i < st.nodes.size(); ++i)
    if (st.nodes[i].live && st.nodes[i].account == prefix && st.cold[i].so.order.account == account)
      mine.emplace_back(st.nodes[i].seq, i);
  std::sort(mine.begin(), mine.end());
  out.reserve(mine.size());
  for (const auto& [seq, slot] : mine) out.push_back(st.view(slot));
  return out;
}

size_t MatchingEngine::size() const {
  return store_->live;
}

void MatchingEngine::reserve(size_t orders) {
  store_->reserve(orders);
}

}  // namespace opt::market
