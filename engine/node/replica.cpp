#include "engine/node/replica.h"

#include "engine/stf/apply.h"
#include "engine/stf/batch.h"

namespace opt::node {

Replica::Replica(const Genesis& genesis, SigCache* cache) : params_(genesis.params), cache_(cache) {
  (void)genesis.build(state_);
  state_.set_journaling(false);
}

void Replica::advance(const BatchSteps& b, std::optional<uint64_t> l1_index) {
  std::lock_guard lock(mu_);
  (void)apply_steps(params_, b.l2_ts, b.steps, b.inbox_steps, state_, cache_);
  final_seq_ = b.seq;
  final_l1_index_ = l1_index;
  roots_.erase(b.seq);
}

std::optional<std::vector<Hash32>> Replica::step_roots(const std::vector<BatchSteps>& before,
                                                       const BatchSteps& target) {
  std::lock_guard lock(mu_);
  if (auto it = roots_.find(target.seq); it != roots_.end()) return it->second;
  state_.set_journaling(true);
  const size_t mark = state_.mark();
  for (const auto& x : before)
    for (size_t i = 0; i < x.steps.size(); ++i)
      (void)apply(params_, StepContext{x.l2_ts, i < x.inbox_steps}, x.steps[i], state_, ApplyOptions{cache_, nullptr});
  std::vector<Hash32> roots{Hash32::from(state_.root())};
  for (size_t i = 0; i < target.steps.size(); ++i) {
    (void)apply(params_, StepContext{target.l2_ts, i < target.inbox_steps}, target.steps[i], state_,
                ApplyOptions{cache_, nullptr});
    roots.push_back(Hash32::from(state_.root()));
  }
  const bool reverted = state_.revert_to(mark);
  state_.forget_before(state_.mark());
  state_.set_journaling(false);
  if (!reverted || roots.front() != target.start_root || roots.back() != target.post_root) return std::nullopt;
  roots_[target.seq] = roots;
  return roots;
}

void Replica::forget(uint64_t seq) {
  std::lock_guard lock(mu_);
  roots_.erase(seq);
}

std::optional<uint64_t> Replica::final_seq() const {
  std::lock_guard lock(mu_);
  return final_seq_;
}

std::optional<uint64_t> Replica::final_l1_index() const {
  std::lock_guard lock(mu_);
  return final_l1_index_;
}

std::optional<std::pair<uint64_t, Bytes>> Replica::prove(const SmtKey& key) {
  std::lock_guard lock(mu_);
  if (!final_l1_index_) return std::nullopt;
  return std::pair{*final_l1_index_, state_.tree().prove(key).encode()};
}

Hash32 Replica::root() {
  std::lock_guard lock(mu_);
  return Hash32::from(state_.root());
}

}  // namespace opt::node
