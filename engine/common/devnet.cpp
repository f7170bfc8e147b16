#include "engine/common/devnet.h"

namespace opt::devnet {

namespace {
constexpr const char* kKeys[] = {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};
}  // namespace

const std::vector<PrivateKey>& dev_keys() {
  static const std::vector<PrivateKey> keys = [] {
    std::vector<PrivateKey> v;
    for (const char* k : kKeys) v.push_back(*PrivateKey::from_hex(k));
    return v;
  }();
  return keys;
}

const std::vector<Address>& dev_addresses() {
  static const std::vector<Address> addrs = [] {
    std::vector<Address> v;
    for (const auto& k : dev_keys()) v.push_back(*address_of(k));
    return v;
  }();
  return addrs;
}

Address rollup_address() {
  return *Address::from_hex("0x5FbDB2315678afecb367f032d93F642f64180aa3");
}

Genesis genesis(uint64_t genesis_time, uint64_t chain_id) {
  Genesis g;
  g.time = genesis_time;
  Params& p = g.params;
  p.chain_id = chain_id;
  p.rollup_address = rollup_address();
  p.admin = dev_addresses()[kAdmin];
  for (size_t i = 0; i < kOracleCount; ++i) p.oracle_committee.push_back(dev_addresses()[kOracleFirst + i]);
  p.oracle_threshold = kOracleThreshold;
  p.seal();
  constexpr uint64_t kGrid = 1800, kUsdc = 1'000'000;
  uint64_t first = ((genesis_time + 3600 + kGrid - 1) / kGrid) * kGrid;
  for (uint64_t expiry : {first, first + 86400, first + 7 * 86400}) {
    for (uint64_t strike : {2500, 3000, 3500})
      for (bool call : {true, false}) g.ladder.push_back({kEth, strike * kUsdc, expiry, call});
    for (uint64_t strike : {50000, 60000, 70000})
      for (bool call : {true, false}) g.ladder.push_back({kBtc, strike * kUsdc, expiry, call});
  }
  return g;
}

}  // namespace opt::devnet
