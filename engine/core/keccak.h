// keccak256 as Ethereum uses it (the original Keccak padding, not NIST SHA3-256).
#pragma once

#include <memory>
#include <string_view>

#include "engine/core/bytes.h"

namespace opt {

Hash32 keccak256(ByteView data);
Hash32 keccak256(std::string_view data);

// Incremental hashing of several parts without building a buffer first.
class Keccak {
 public:
  Keccak();
  ~Keccak();
  Keccak(const Keccak&) = delete;
  Keccak& operator=(const Keccak&) = delete;

  Keccak& update(ByteView data);
  Keccak& update(std::string_view data);
  Keccak& update(uint8_t byte);
  template <size_t N, class Tag>
  Keccak& update(const FixedBytes<N, Tag>& b) {
    return update(b.view());
  }
  Hash32 finish();  // also resets the hasher for reuse

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opt
