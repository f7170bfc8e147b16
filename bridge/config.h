// The L1's genesis configuration. Fixed for the life of a chain: persisted when the chain is created and
// checked when it is reopened (a restart with other parameters would silently change what the stored
// actions mean).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/bytes.h"
#include "engine/core/crypto.h"

namespace opt::l1 {

// Token amounts are 6-decimal integers (micro-units), like USDC.
inline constexpr uint64_t kTokenUnit = 1'000'000;

struct GenesisBalance {
  Address address;
  uint64_t usdc = 0;
  uint64_t bond = 0;
  bool operator==(const GenesisBalance&) const = default;
};

struct L1Config {
  uint64_t chain_id = 31337;
  uint64_t block_time_ms = 1000;
  uint64_t challenge_period_seconds = 60;
  uint64_t clock_seconds = 20;           // each party's total time in a game (chess clock)
  uint64_t clock_extension_seconds = 5;  // a late move leaves the other side at least this much
  uint64_t dissection_degree = 2;
  uint64_t min_proposer_stake = 1'000 * kTokenUnit;  // bond tokens
  uint64_t challenge_bond = 100 * kTokenUnit;        // bond tokens
  uint64_t forced_inclusion_delay_seconds = 120;
  uint64_t max_timestamp_drift_seconds = 30;
  Hash32 genesis_root;  // the L2 genesis state root (all zero = the empty tree)
  Address rollup_address = default_rollup_address();
  uint64_t l2_chain_id = 777001;
  std::vector<GenesisBalance> balances = dev_balances();
  // The L2 genesis (parameters, option ladder, time) whose state root is genesis_root: the fraud-proof
  // referee needs the parameters, and watchers read them here (engine/common/genesis_json.h). Null for a
  // bare chain without a rollup game.
  nlohmann::json l2_genesis;

  bool operator==(const L1Config&) const = default;

  static Address default_rollup_address();
  // The ten anvil dev accounts, each with 1,000,000 USDC and 10,000 bond tokens.
  static std::vector<GenesisBalance> dev_balances(uint64_t usdc = 1'000'000 * kTokenUnit,
                                                  uint64_t bond = 10'000 * kTokenUnit);
};

// The well-known anvil/hardhat development keys ("test test ... junk"), public by design (docs/operations.md).
struct DevAccount {
  PrivateKey key;
  Address address;
};
const std::vector<DevAccount>& dev_accounts();

nlohmann::json config_to_json(const L1Config& c);
// Strict (used for the persisted copy and by clients reading GET /l1/v1/config).
Result<L1Config, std::string> config_from_json(const nlohmann::json& j);
// Checks the values a chain cannot run with (zero block time, degree < 2, ...).
Status<std::string> validate(const L1Config& c);
// The first field where two configs differ, for the error when a chain is reopened with other flags.
std::string first_difference(const L1Config& a, const L1Config& b);

}  // namespace opt::l1
