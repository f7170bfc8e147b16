// Where the L1 gets its time. The chain never reads a clock directly: production injects the wall clock,
// tests a manual clock they move themselves, so every timing rule (challenge period, forced inclusion,
// timestamp drift, game clocks) can be tested to the second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "engine/common/wall_clock.h"

namespace opt::l1 {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now_ms() const = 0;  // unix time in milliseconds
};

class SystemClock final : public Clock {
 public:
  uint64_t now_ms() const override { return wall_ms(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms = 1'700'000'000'000) : ms_(start_ms) {}
  uint64_t now_ms() const override { return ms_.load(); }
  void set_ms(uint64_t ms) { ms_.store(ms); }
  void advance_ms(uint64_t ms) { ms_.fetch_add(ms); }
  void advance_s(uint64_t s) { ms_.fetch_add(s * 1000); }

 private:
  std::atomic<uint64_t> ms_;
};

}  // namespace opt::l1
