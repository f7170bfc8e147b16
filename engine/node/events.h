// What the node tells the outside while it runs, as typed values: engine/api turns them into JSON and
// WebSocket frames (one mapping per type, in json_mapping). The node builds no wire format.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <variant>
#include <vector>

#include "bridge/chain.h"
#include "engine/node/views.h"

namespace opt::node {

// The levels of one instrument's book that changed in one command (quantity 0: the level is gone).
struct BookDeltaEvent {
  uint64_t instrument = 0;
  uint64_t sequence = 0;  // the book sequence after this change (BookView::sequence)
  std::vector<BookLevel> bids, asks;
};

struct TradeEvent {
  TradeView trade;  // batch is not known yet (the trade's batch is not posted when it happens)
};

// A batch's status is the L1's (pending, final, removed), with its one rendering (l1::to_string).
using l1::BatchStatus;

// An L1 batch of this node was posted (pending), became final, or was removed (from index on).
struct BatchStatusEvent {
  uint64_t index = 0;
  BatchStatus status = BatchStatus::kPending;
  std::optional<Hash32> post_root;  // the root posted (pending, final)
};

// A fraud-proof game on an L1 batch started or ended.
struct GameEvent {
  uint64_t batch = 0;
  uint64_t game = 0;
  bool ended = false;
};

// An account's collateral, positions or withdrawals changed (the reader renders it from Node::account).
struct AccountChangedEvent {
  Address address;
};

using Event = std::variant<BookDeltaEvent, TradeEvent, BatchStatusEvent, GameEvent, AccountChangedEvent>;

class EventSink {
 public:
  virtual ~EventSink() = default;
  // False when nobody listens: the node then does not build events at all.
  virtual bool active() const { return true; }
  // Called from the node's threads (sequencer, L1), never under a node lock, so it may query the node.
  virtual void on_event(const Event& e) = 0;
};

// The sink the API installs once its server runs (the node may be running already): replaced as a whole
// under mu_ and used through a copy of the pointer, so no thread ever calls a half-replaced sink.
class EventHub {
 public:
  void set(std::shared_ptr<EventSink> sink) {
    std::lock_guard lock(mu_);
    sink_ = std::move(sink);
  }
  std::shared_ptr<EventSink> get() const {
    std::lock_guard lock(mu_);
    return sink_;
  }
  bool active() const {
    auto s = get();
    return s && s->active();
  }
  void emit(const std::vector<Event>& events) const {
    if (events.empty()) return;
    if (auto s = get())
      for (const auto& e : events) s->on_event(e);
  }
  void emit(const Event& e) const {
    if (auto s = get()) s->on_event(e);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<EventSink> sink_;  // guarded by mu_
};

}  // namespace opt::node
