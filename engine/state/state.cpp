#include "engine/state/state.h"

#include <algorithm>

namespace opt {

const char* to_string(StateError e) {
  switch (e) {
    case StateError::kMissingWitness: return "the witness does not cover a key the step reads";
    case StateError::kInternal: return "internal fault while executing the step";
  }
  return "unknown state error";
}

Result<std::optional<Bytes>, StateError> FullState::get(const SmtKey& key) {
  const Bytes* v = tree_.get(key);
  if (!v) return std::optional<Bytes>{};
  return std::optional<Bytes>{*v};
}

Status<StateError> FullState::put(const SmtKey& key, Bytes value) {
  if (journaling_) {
    const Bytes* old = tree_.get(key);
    journal_.push_back(Entry{key, old ? std::optional<Bytes>(*old) : std::nullopt});
  }
  tree_.put(key, std::move(value));
  return {};
}

bool FullState::revert_to(size_t m) {
  if (m < journal_base_ || m > mark()) return false;
  while (mark() > m) {
    Entry& e = journal_.back();
    if (e.old)
      tree_.put(e.key, std::move(*e.old));
    else
      tree_.erase(e.key);
    journal_.pop_back();
  }
  return true;
}

void FullState::forget_before(size_t m) {
  if (m <= journal_base_) return;
  size_t n = std::min(m - journal_base_, journal_.size());
  journal_.erase(journal_.begin(), journal_.begin() + static_cast<std::ptrdiff_t>(n));
  journal_base_ += n;
}

Result<WitnessState, ProofError> WitnessState::from_proof(const StateRoot& root, ByteView multiproof) {
  auto t = PartialTree::from_proof(Hash32::from(root), multiproof);
  if (!t) return err(t.error());
  return WitnessState(std::move(*t));
}

Result<std::optional<Bytes>, StateError> WitnessState::get(const SmtKey& key) {
  auto r = tree_.get(key);
  if (!r) return err(StateError::kMissingWitness);
  return std::move(*r);
}

Status<StateError> WitnessState::put(const SmtKey& key, Bytes value) {
  if (!tree_.put(key, value)) return err(StateError::kMissingWitness);
  return {};
}

Result<std::optional<Bytes>, StateError> Overlay::get(const SmtKey& key) {
  if (auto w = writes_.find(key); w != writes_.end()) return std::optional<Bytes>(w->second);
  if (auto r = reads_.find(key); r != reads_.end()) return r->second;
  auto v = base_.get(key);
  if (!v) return v;
  reads_.emplace(key, *v);
  return v;
}

Status<StateError> Overlay::put(const SmtKey& key, Bytes value) {
  writes_[key] = std::move(value);
  return {};
}

Status<StateError> Overlay::commit() {
  for (auto& [k, v] : writes_) {
    // Unchanged values are not written back: the root would not change, and the journal stays small.
    auto r = reads_.find(k);
    if (r != reads_.end() && r->second && *r->second == v) continue;
    if (auto s = base_.put(k, std::move(v)); !s) return s;
  }
  writes_.clear();
  return {};
}

std::vector<SmtKey> Overlay::touched() const {
  std::vector<SmtKey> out;
  out.reserve(reads_.size() + writes_.size());
  for (const auto& [k, v] : reads_) out.push_back(k);
  for (const auto& [k, v] : writes_) out.push_back(k);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace opt
