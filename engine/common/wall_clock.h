// The wall clock, for the edges of the system (the node's batch times and log records, the L1's blocks).
// Never included by the deterministic core, which reads no clock (docs/architecture.md).
#pragma once

#include <chrono>
#include <cstdint>

namespace opt {

// Unix time in milliseconds.
inline uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace opt
