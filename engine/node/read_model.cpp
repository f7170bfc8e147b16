#include "engine/node/read_model.h"

#include <algorithm>

namespace opt::node {

void ReadModel::publish_books(std::vector<std::shared_ptr<const BookView>> changed, uint64_t sequence) {
  std::lock_guard lock(books_mu_);
  for (auto& b : changed) books_[b->instrument] = std::move(b);
  book_sequence_ = sequence;
}

std::optional<BookView> ReadModel::book(uint64_t instrument, size_t depth) const {
  std::shared_ptr<const BookView> snap;
  uint64_t sequence;
  {
    std::lock_guard lock(books_mu_);
    auto it = books_.find(instrument);
    if (it != books_.end()) snap = it->second;
    sequence = book_sequence_;
  }
  BookView v{instrument, {}, {}, sequence};
  if (!snap) {
    if (!this->instrument(instrument)) return std::nullopt;
    return v;
  }
  // Copied outside the lock: the snapshot is immutable.
  v.bids.assign(snap->bids.begin(), snap->bids.begin() + static_cast<long>(std::min(depth, snap->bids.size())));
  v.asks.assign(snap->asks.begin(), snap->asks.begin() + static_cast<long>(std::min(depth, snap->asks.size())));
  return v;
}

void ReadModel::publish_instruments(std::vector<InstrumentView> all) {
  auto p = std::make_shared<const std::vector<InstrumentView>>(std::move(all));
  std::lock_guard lock(mu_);
  instruments_ = std::move(p);
}

std::vector<InstrumentView> ReadModel::instruments() const {
  std::shared_ptr<const std::vector<InstrumentView>> p;
  {
    std::lock_guard lock(mu_);
    p = instruments_;
  }
  return *p;
}

std::optional<InstrumentView> ReadModel::instrument(uint64_t id) const {
  std::shared_ptr<const std::vector<InstrumentView>> p;
  {
    std::lock_guard lock(mu_);
    p = instruments_;
  }
  for (const auto& v : *p)
    if (v.leaf.id == id) return v;
  return std::nullopt;
}

void ReadModel::add_trades(const std::vector<std::pair<TradeView, uint64_t>>& trades) {
  if (trades.empty()) return;
  std::lock_guard lock(mu_);
  for (const auto& t : trades) trades_.push_back(t);
  while (trades_.size() > kTradesKept) trades_.pop_front();
}

std::vector<TradeView> ReadModel::trades(std::optional<uint64_t> instrument, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<TradeView> out;
  for (size_t i = trades_.size(); i-- > 0 && out.size() < limit;) {
    const auto& [t, seq] = trades_[i];
    if (instrument && t.instrument != *instrument) continue;
    out.push_back(t);
    if (auto it = l1_index_.find(seq); it != l1_index_.end()) out.back().batch = it->second;
  }
  return out;
}

void ReadModel::set_l1_index(uint64_t seq, std::optional<uint64_t> index) {
  std::lock_guard lock(mu_);
  if (index)
    l1_index_[seq] = *index;
  else
    l1_index_.erase(seq);
}

std::optional<uint64_t> ReadModel::l1_index(uint64_t seq) const {
  std::lock_guard lock(mu_);
  auto it = l1_index_.find(seq);
  if (it == l1_index_.end()) return std::nullopt;
  return it->second;
}

void ReadModel::put_batch(BatchView view) {
  std::lock_guard lock(mu_);
  // Indexes come in order (the follower fills gaps first); a later one is kept only if contiguous.
  if (view.index < batches_.size())
    batches_[view.index] = std::move(view);
  else if (view.index == batches_.size())
    batches_.push_back(std::move(view));
}

std::optional<BatchView> ReadModel::batch(uint64_t index) const {
  std::lock_guard lock(mu_);
  if (index >= batches_.size()) return std::nullopt;
  return batches_[index];
}

std::vector<BatchView> ReadModel::batches(uint64_t from, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<BatchView> out;
  for (uint64_t i = from; i < batches_.size() && out.size() < limit; ++i) out.push_back(batches_[i]);
  return out;
}

std::vector<uint64_t> ReadModel::live_batches() const {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& b : batches_) {
    bool open_game = std::any_of(b.games.begin(), b.games.end(),
                                 [](const fp::Game& g) { return g.status == fp::GameStatus::kOpen; });
    if (open_game) out.push_back(b.index);
  }
  return out;
}

uint64_t ReadModel::batch_count() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

}  // namespace opt::node
