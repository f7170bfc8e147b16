// What API threads read: snapshots the sequencer publishes after each command group (books, instruments,
// recent trades) and the L1 batches the follower caches (records and their games). Readers take only
// this model's small lock, never the sequencer's, and never call the L1: admission never blocks a read
// and a slow L1 never blocks an API thread.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/node/views.h"

namespace opt::node {

class ReadModel {
 public:
  // ---- written by the sequencer ----
  // Replaces the snapshots of the books that changed, and the book sequence they are at.
  void publish_books(std::vector<std::shared_ptr<const BookView>> changed, uint64_t sequence);
  void publish_instruments(std::vector<InstrumentView> all);
  // New trades, each with the local batch that carries it.
  void add_trades(const std::vector<std::pair<TradeView, uint64_t>>& trades);

  // ---- written by the batch poster and the L1 follower ----
  // The L1 index a local batch was posted as (nullopt: not posted, or removed and to be posted again).
  void set_l1_index(uint64_t seq, std::optional<uint64_t> index);
  void put_batch(BatchView view);

  // ---- read from any thread ----
  std::optional<BookView> book(uint64_t instrument, size_t depth) const;  // nullopt: no such instrument
  std::vector<InstrumentView> instruments() const;
  std::optional<InstrumentView> instrument(uint64_t id) const;
  std::vector<TradeView> trades(std::optional<uint64_t> instrument, size_t limit) const;
  std::optional<uint64_t> l1_index(uint64_t seq) const;
  std::optional<BatchView> batch(uint64_t index) const;
  std::vector<BatchView> batches(uint64_t from, size_t limit) const;
  // Cached batches with an open game: their games change with every move, which the follower does not
  // see as events naming the batch, so it refreshes them every poll (others change on events only).
  std::vector<uint64_t> live_batches() const;
  uint64_t batch_count() const;  // cached indexes are 0 .. batch_count()-1

  static constexpr size_t kTradesKept = 10'000;

 private:
  mutable std::mutex books_mu_;  // guards books_, book_sequence_ (swapped pointers only: tiny sections)
  std::map<uint64_t, std::shared_ptr<const BookView>> books_;
  uint64_t book_sequence_ = 0;

  mutable std::mutex mu_;  // guards everything below
  std::shared_ptr<const std::vector<InstrumentView>> instruments_ =
      std::make_shared<const std::vector<InstrumentView>>();
  std::deque<std::pair<TradeView, uint64_t>> trades_;  // oldest first, with the local batch
  std::map<uint64_t, uint64_t> l1_index_;              // local batch -> L1 index
  std::vector<BatchView> batches_;                     // by L1 index, 0 .. n-1
};

}  // namespace opt::node
