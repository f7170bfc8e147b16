#include "engine/node/l1_follower.h"

#include <algorithm>

#include "engine/core/keccak.h"

namespace opt::node {

void L1Follower::refresh_head() {
  auto head = l1_.head();
  if (!head) {
    counters_.l1_errors++;
    return;
  }
  uint64_t have;
  {
    std::lock_guard lock(mu_);
    head_ts_ = head->timestamp;
    have = inbox_.size();
  }
  next_batch_index_ = head->next_batch_index;
  while (have < head->inbox_length) {
    auto msgs = l1_.inbox(have, 500);
    if (!msgs || msgs->empty()) break;
    std::lock_guard lock(mu_);
    for (auto& m : *msgs) {
      if (m.index != inbox_.size()) continue;
      Bytes buf;
      append(buf, inbox_acc_.back().view());
      append(buf, keccak256(m.l2_tx).view());
      inbox_acc_.push_back(keccak256(buf));
      inbox_.push_back(std::move(m));
    }
    have = inbox_.size();
  }
  std::lock_guard lock(mu_);
  inbox_length_ = std::min<uint64_t>(head->inbox_length, inbox_.size());
}

Result<std::vector<Bytes>, std::string> L1Follower::inbox_range(uint64_t from, uint64_t to) {
  std::vector<Bytes> out;
  {
    std::lock_guard lock(mu_);
    for (uint64_t i = from; i < to && i < inbox_.size(); ++i) out.push_back(inbox_[i].l2_tx);
  }
  while (from + out.size() < to) {
    auto msgs = l1_.inbox(from + out.size(), static_cast<size_t>(to - from - out.size()));
    if (!msgs) return err("cannot read the L1 inbox: " + msgs.error().message);
    if (msgs->empty()) return err(std::string("the L1 inbox is shorter than the log says"));
    for (auto& m : *msgs)
      if (m.index == from + out.size() && m.index < to) out.push_back(std::move(m.l2_tx));
  }
  return out;
}

Hash32 L1Follower::accumulator(uint64_t n) const {
  std::lock_guard lock(mu_);
  return n < inbox_acc_.size() ? inbox_acc_[n] : Hash32{};
}

uint64_t L1Follower::head_timestamp() const {
  std::lock_guard lock(mu_);
  return head_ts_;
}

uint64_t L1Follower::inbox_length() const {
  std::lock_guard lock(mu_);
  return inbox_length_;
}

void L1Follower::refresh_batch(uint64_t index) {
  auto r = l1_.batch(index);
  if (!r) {
    counters_.l1_errors++;
    return;
  }
  BatchView v;
  v.index = r->index;
  v.prev_root = r->prev_root;
  v.post_root = r->post_root;
  v.tx_data_root = r->tx_data_root;
  v.tx_count = r->tx_count;
  v.inbox_from = r->inbox_from;
  v.inbox_to = r->inbox_to;
  v.l2_timestamp = r->l2_timestamp;
  v.l1_block = r->posted_block;
  v.posted_at = r->posted_time;
  if (auto games = l1_.games_of_batch(r->index)) v.games = *games;
  v.status = l1::to_string(r->status);
  if (r->status == l1::BatchStatus::kPending &&
      std::any_of(v.games.begin(), v.games.end(), [](const fp::Game& g) { return g.status == fp::GameStatus::kOpen; }))
    v.status = "challenged";
  read_model_.put_batch(std::move(v));
}

// New batches first, in order (the cache holds indexes 0 .. n-1), a bounded number per poll.
void L1Follower::fill_batches() {
  uint64_t have = read_model_.batch_count();
  for (uint64_t n = 0; have < next_batch_index_ && n < kBatchFillPerPoll; ++n) {
    refresh_batch(have);
    if (read_model_.batch_count() == have) return;  // the L1 could not be read
    have = read_model_.batch_count();
  }
}

void L1Follower::follow_events() {
  fill_batches();
  for (int pages = 0; pages < 20; ++pages) {
    auto page = l1_.events(next_event_block_);
    if (!page) {
      counters_.l1_errors++;
      return;
    }
    for (const auto& e : page->events) {
      if (e.block < last_event_block_ ||
          (e.block == last_event_block_ && static_cast<int64_t>(e.index) <= last_event_index_))
        continue;
      if (e.type == "batch_removed") {
        const uint64_t index = e.fields.at("index").get<uint64_t>();
        if (handlers_.removed && !handlers_.removed(index)) {
          counters_.l1_errors++;
          return;  // the L1 could not be read: this event again next time
        }
        for (uint64_t i = index; i < read_model_.batch_count(); ++i) refresh_batch(i);
      }
      last_event_block_ = e.block;
      last_event_index_ = e.index;
      if (e.type == "batch_posted") {
        fill_batches();
      } else if (e.type == "batch_finalized") {
        const uint64_t index = e.fields.at("index").get<uint64_t>();
        // The cache first: once the node says a withdrawal is final, its batch reads final too.
        fill_batches();
        if (index < read_model_.batch_count()) refresh_batch(index);
        if (handlers_.finalized) handlers_.finalized(index);
      } else if (e.type == "withdrawal_paid") {
        if (handlers_.paid) handlers_.paid(e.fields.at("index").get<uint64_t>());
      } else if (e.type == "game_started" || e.type == "game_ended") {
        const uint64_t batch = e.fields.value("batch", uint64_t{0});
        if (batch < read_model_.batch_count()) refresh_batch(batch);
        events_.emit(GameEvent{batch, e.fields.value("game", uint64_t{0}), e.type == "game_ended"});
      }
    }
    next_event_block_ = page->next;
    if (!page->more) break;
  }
  // Games in progress change with every move (events that do not name the batch).
  for (uint64_t i : read_model_.live_batches()) refresh_batch(i);
}

}  // namespace opt::node
