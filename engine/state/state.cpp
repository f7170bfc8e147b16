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

Result<std::optional<ByteView>, StateError> FullState::get(const SmtKey& key) {
  const Bytes* v = tree_.get(key);
  if (!v) return std::optional<ByteView>{};
  return std::optional<ByteView>{ByteView(*v)};
}

Status<StateError> FullState::put(const SmtKey& key, Bytes value) {
  if (!journaling_) {
    tree_.put(key, std::move(value));
    return {};
  }
  // The replaced value moves into the journal: no copy of it is made.
  auto old = tree_.exchange(key, std::move(value));
  journal_.push_back(Entry{key, std::move(old)});
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

Result<std::optional<ByteView>, StateError> WitnessState::get(const SmtKey& key) {
  auto r = tree_.find(key);
  if (!r) return err(StateError::kMissingWitness);
  return *r;
}

Status<StateError> WitnessState::put(const SmtKey& key, Bytes value) {
  if (!tree_.put(key, value)) return err(StateError::kMissingWitness);
  return {};
}

Overlay::Slot* Overlay::find(const SmtKey& key) {
  for (Slot& s : slots_)
    if (s.key == key) return &s;
  return nullptr;
}

Result<std::optional<ByteView>, StateError> Overlay::get(const SmtKey& key) {
  Slot* s = find(key);
  if (s && s->written) return std::optional<ByteView>(ByteView(s->value));
  if (s && s->read) return s->base;
  auto v = base_.get(key);
  if (!v) return v;
  if (!s) {
    s = &slots_.emplace_back();
    s->key = key;
  }
  s->read = true;
  s->base = *v;
  return v;
}

Status<StateError> Overlay::put(const SmtKey& key, Bytes value) {
  Slot* s = find(key);
  if (!s) {
    s = &slots_.emplace_back();
    s->key = key;
  }
  s->written = true;
  s->value = std::move(value);
  return {};
}

Status<StateError> Overlay::commit() {
  // Unchanged values are not written back: the root would not change, and the journal stays small. The
  // comparisons all happen before the first put, which may invalidate the base's views.
  for (Slot& s : slots_) {
    if (s.written && s.read && s.base && std::ranges::equal(*s.base, s.value)) s.written = false;
    s.read = false;
    s.base.reset();
  }
  for (Slot& s : slots_) {
    if (!s.written) continue;
    if (auto st = base_.put(s.key, std::move(s.value)); !st) return st;
    s.written = false;
  }
  slots_.clear();
  return {};
}

void Overlay::discard() {
  for (Slot& s : slots_) {
    s.written = false;
    s.value.clear();
  }
}

std::vector<SmtKey> Overlay::touched() const {
  std::vector<SmtKey> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_)
    if (s.read || s.written) out.push_back(s.key);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace opt
