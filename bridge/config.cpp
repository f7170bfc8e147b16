#include "bridge/config.h"

#include "bridge/actions.h"

namespace opt::l1 {

namespace {

// The anvil/hardhat development keys; their addresses are derived (and checked in the tests against
// tests/data/ethereum.json).
constexpr const char* kDevKeys[] = {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

Result<uint64_t, std::string> get_u64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return err(std::string("missing ") + key);
  auto v = json_u64(*it, key);
  if (!v) return err(v.error().message);
  return *v;
}

}  // namespace

Address L1Config::default_rollup_address() {
  return *Address::from_hex("0x5FbDB2315678afecb367f032d93F642f64180aa3");
}

std::vector<GenesisBalance> L1Config::dev_balances(uint64_t usdc, uint64_t bond) {
  std::vector<GenesisBalance> out;
  for (const auto& d : dev_accounts()) out.push_back({d.address, usdc, bond});
  return out;
}

const std::vector<DevAccount>& dev_accounts() {
  static const std::vector<DevAccount> accounts = [] {
    std::vector<DevAccount> v;
    for (const char* k : kDevKeys) {
      PrivateKey key = *PrivateKey::from_hex(k);
      v.push_back({key, *address_of(key)});
    }
    return v;
  }();
  return accounts;
}

nlohmann::json config_to_json(const L1Config& c) {
  nlohmann::json balances = nlohmann::json::array();
  for (const auto& b : c.balances)
    balances.push_back(
        {{"address", to_checksum(b.address)}, {"usdc", u64_string(b.usdc)}, {"bond", u64_string(b.bond)}});
  return {
      {"chainId", c.chain_id},
      {"blockTimeMs", c.block_time_ms},
      {"challengePeriodSeconds", c.challenge_period_seconds},
      {"clockSeconds", c.clock_seconds},
      {"clockExtensionSeconds", c.clock_extension_seconds},
      {"dissectionDegree", c.dissection_degree},
      {"minProposerStake", u64_string(c.min_proposer_stake)},
      {"challengeBond", u64_string(c.challenge_bond)},
      {"forcedInclusionDelaySeconds", c.forced_inclusion_delay_seconds},
      {"maxTimestampDriftSeconds", c.max_timestamp_drift_seconds},
      {"genesisRoot", c.genesis_root.hex()},
      {"rollupAddress", to_checksum(c.rollup_address)},
      {"l2ChainId", c.l2_chain_id},
      {"initialBalances", balances},
      {"l2Genesis", c.l2_genesis},
  };
}

Result<L1Config, std::string> config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return err(std::string("config must be a JSON object"));
  L1Config c;
  struct U64Field {
    const char* key;
    uint64_t* out;
  };
  const U64Field fields[] = {
      {"chainId", &c.chain_id},
      {"blockTimeMs", &c.block_time_ms},
      {"challengePeriodSeconds", &c.challenge_period_seconds},
      {"clockSeconds", &c.clock_seconds},
      {"clockExtensionSeconds", &c.clock_extension_seconds},
      {"dissectionDegree", &c.dissection_degree},
      {"minProposerStake", &c.min_proposer_stake},
      {"challengeBond", &c.challenge_bond},
      {"forcedInclusionDelaySeconds", &c.forced_inclusion_delay_seconds},
      {"maxTimestampDriftSeconds", &c.max_timestamp_drift_seconds},
      {"l2ChainId", &c.l2_chain_id},
  };
  for (const auto& f : fields) {
    auto v = get_u64(j, f.key);
    if (!v) return err(v.error());
    *f.out = *v;
  }
  auto root = j.find("genesisRoot");
  if (root == j.end() || !root->is_string()) return err(std::string("missing genesisRoot"));
  auto r = Hash32::from_hex(root->get<std::string>(), true);
  if (!r) return err(std::string("genesisRoot: ") + to_string(r.error()));
  c.genesis_root = *r;
  auto ra = j.find("rollupAddress");
  if (ra == j.end() || !ra->is_string()) return err(std::string("missing rollupAddress"));
  auto a = parse_address(ra->get<std::string>());
  if (!a) return err(std::string("rollupAddress: ") + to_string(a.error()));
  c.rollup_address = *a;
  auto bal = j.find("initialBalances");
  if (bal == j.end() || !bal->is_array()) return err(std::string("missing initialBalances"));
  c.balances.clear();
  for (const auto& b : *bal) {
    if (!b.is_object() || !b.contains("address") || !b["address"].is_string())
      return err(std::string("initialBalances: each entry needs an address"));
    auto addr = parse_address(b["address"].get<std::string>());
    if (!addr) return err(std::string("initialBalances: ") + to_string(addr.error()));
    auto usdc = get_u64(b, "usdc");
    if (!usdc) return err(usdc.error());
    auto bond = get_u64(b, "bond");
    if (!bond) return err(bond.error());
    c.balances.push_back({*addr, *usdc, *bond});
  }
  if (auto g = j.find("l2Genesis"); g != j.end()) {
    if (!g->is_null() && !g->is_object()) return err(std::string("l2Genesis must be an object"));
    c.l2_genesis = *g;
  }
  return c;
}

Status<std::string> validate(const L1Config& c) {
  if (c.block_time_ms == 0) return err(std::string("block time must be positive"));
  if (c.challenge_period_seconds == 0) return err(std::string("challenge period must be positive"));
  if (c.dissection_degree < 2 || c.dissection_degree > 64)
    return err(std::string("dissection degree must be in [2, 64]"));
  if (c.clock_seconds == 0) return err(std::string("game clock must be positive"));
  // Supplies are summed in uint64: refuse a genesis whose totals would overflow.
  uint64_t usdc = 0, bond = 0;
  for (const auto& b : c.balances) {
    if (__builtin_add_overflow(usdc, b.usdc, &usdc) || __builtin_add_overflow(bond, b.bond, &bond))
      return err(std::string("genesis balances overflow uint64"));
  }
  for (size_t i = 0; i < c.balances.size(); ++i)
    for (size_t k = i + 1; k < c.balances.size(); ++k)
      if (c.balances[i].address == c.balances[k].address)
        return err("genesis lists " + to_checksum(c.balances[i].address) + " twice");
  return {};
}

namespace {
// The path of the first difference between two JSON values, with both values (shortened).
std::string json_difference(const std::string& path, const nlohmann::json& a, const nlohmann::json& b) {
  if (a == b) return "";
  if (a.is_object() && b.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto d =
          json_difference(path + "." + it.key(), it.value(), b.contains(it.key()) ? b.at(it.key()) : nlohmann::json());
      if (!d.empty()) return d;
    }
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key())) return path + "." + it.key() + " (not stored, given " + it.value().dump() + ")";
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) {
      auto d = json_difference(path + "[" + std::to_string(i) + "]", a[i], b[i]);
      if (!d.empty()) return d;
    }
  }
  auto shorten = [](std::string s) { return s.size() > 80 ? s.substr(0, 77) + "..." : s; };
  return path + " (stored " + shorten(a.dump()) + ", given " + shorten(b.dump()) + ")";
}
}  // namespace

std::string first_difference(const L1Config& a, const L1Config& b) {
  nlohmann::json ja = config_to_json(a), jb = config_to_json(b);
  for (auto it = ja.begin(); it != ja.end(); ++it) {
    auto d = json_difference(it.key(), it.value(), jb[it.key()]);
    if (!d.empty()) return d;
  }
  return "";
}

}  // namespace opt::l1
