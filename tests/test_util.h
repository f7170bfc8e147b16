// Helpers shared by the test suites.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "engine/core/bytes.h"
#include "engine/core/crypto.h"

namespace opt::test {

inline std::string data_path(const std::string& name) {
  return std::string(OPT_TEST_DATA_DIR) + "/" + name;
}

inline nlohmann::json load_json(const std::string& name) {
  std::ifstream f(data_path(name));
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

inline Bytes hex(const std::string& s) {
  return *parse_hex(s);
}
inline Hash32 h32(const std::string& s) {
  return *Hash32::from_hex(s);
}
inline Address addr(const std::string& s) {
  return *Address::from_hex(s);
}
inline PrivateKey key(const std::string& s) {
  return *PrivateKey::from_hex(s);
}

// The anvil/hardhat development keys (docs/operations.md, section 8).
inline PrivateKey dev_key(size_t i) {
  static const nlohmann::json v = load_json("ethereum.json");
  return key(v["devKeys"][i]["privateKey"].get<std::string>());
}

// Deterministic pseudo-random numbers for property tests (splitmix64): same seed, same run.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool coin() { return next() & 1; }
  Hash32 hash() {
    Hash32 h;
    for (size_t i = 0; i < 32; i += 8) {
      uint64_t v = next();
      std::memcpy(h.data() + i, &v, 8);
    }
    return h;
  }
  Bytes bytes(size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(next());
    return b;
  }

 private:
  uint64_t s_;
};

}  // namespace opt::test
