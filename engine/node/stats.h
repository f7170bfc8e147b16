// The node's counters. Each is written by one component and read by any thread (GET /metrics, tests):
// atomics, so no counter needs a lock and none is written under a lock that its readers do not take.
#pragma once

#include <atomic>
#include <cstdint>

#include "engine/core/bytes.h"

namespace opt::node {

// A consistent-enough copy for readers: each field is one atomic load (fields may be from slightly
// different instants; each is exact on its own).
struct NodeStats {
  uint64_t orders_accepted = 0, orders_rejected = 0, trades = 0, trades_refused = 0;
  uint64_t batches_closed = 0, batches_posted = 0, batches_final = 0, batches_removed = 0;
  uint64_t resting_orders = 0, log_commits = 0, log_records = 0;
  uint64_t l1_errors = 0;
  // The conservation identity (docs/risk.md) checked on the state after every batch close, and how often
  // it did not hold (never, unless apply() has a bug).
  uint64_t batches_checked = 0, conservation_failures = 0;
  StateRoot root;
  uint64_t pending_txs = 0;
};

// The input log counts its own commits (InputLog::commits/records); Node::stats() adds them.
struct NodeCounters {
  std::atomic<uint64_t> orders_accepted{0}, orders_rejected{0}, trades{0}, trades_refused{0};  // sequencer
  std::atomic<uint64_t> batches_closed{0}, batches_checked{0}, conservation_failures{0};       // sequencer
  std::atomic<uint64_t> resting_orders{0}, pending_txs{0};                                     // sequencer
  std::atomic<uint64_t> batches_posted{0};                                                     // batch poster
  std::atomic<uint64_t> batches_final{0}, batches_removed{0};                                  // L1 follower
  std::atomic<uint64_t> l1_errors{0};                                                          // L1 thread

  NodeStats snapshot() const {
    NodeStats s;
    s.orders_accepted = orders_accepted.load();
    s.orders_rejected = orders_rejected.load();
    s.trades = trades.load();
    s.trades_refused = trades_refused.load();
    s.batches_closed = batches_closed.load();
    s.batches_posted = batches_posted.load();
    s.batches_final = batches_final.load();
    s.batches_removed = batches_removed.load();
    s.resting_orders = resting_orders.load();
    s.l1_errors = l1_errors.load();
    s.batches_checked = batches_checked.load();
    s.conservation_failures = conservation_failures.load();
    s.pending_txs = pending_txs.load();
    return s;
  }
};

}  // namespace opt::node
