// Signature recoveries done once: API threads check an order's signature before it is queued and insert
// the result; the sequencer's apply() and the defender's replica look it up instead of recovering again.
// Its own small lock (mu_), so inserting never waits for the sequencer's.
#pragma once

#include <cstring>
#include <mutex>
#include <unordered_map>

#include "engine/stf/apply.h"

namespace opt::node {

class SharedSigCache final : public SigCache {
 public:
  std::optional<Entry> lookup(const SignedOrder& o) override {
    std::lock_guard lock(mu_);
    auto it = map_.find(o.sig);
    if (it == map_.end() || it->second.first != o.order) return std::nullopt;
    return it->second.second;
  }
  void insert(const SignedOrder& o, const Entry& e) override {
    std::lock_guard lock(mu_);
    if (map_.size() > 2'000'000) map_.clear();  // bounded: it is only a cache
    map_[o.sig] = {o.order, e};
  }

 private:
  struct SigHash {
    size_t operator()(const Signature& s) const {
      size_t h;
      std::memcpy(&h, s.data() + 8, sizeof h);
      return h;
    }
  };
  std::mutex mu_;
  std::unordered_map<Signature, std::pair<Order, Entry>, SigHash> map_;  // guarded by mu_
};

}  // namespace opt::node
