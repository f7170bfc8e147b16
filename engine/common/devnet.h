// The development network's fixed cast (docs/operations.md, section 8): the ten well-known anvil/hardhat keys
// (mnemonic "test test ... junk", public by design) and the roles the devnet gives them, plus the devnet's
// L2 genesis (parameters and the option ladder).
//
//   dev 0-3  traders (funded on L1; what ethers.js users pick first)
//   dev 4    admin: lists instruments
//   dev 5-7  oracle committee (2 of 3 sign each price report)
//   dev 8    the devnet's honest challenger
//   dev 9    the sequencer / proposer
#pragma once

#include <vector>

#include "engine/core/crypto.h"
#include "engine/stf/genesis.h"

namespace opt::devnet {

const std::vector<PrivateKey>& dev_keys();
const std::vector<Address>& dev_addresses();

inline constexpr size_t kAdmin = 4;
inline constexpr size_t kOracleFirst = 5, kOracleCount = 3, kOracleThreshold = 2;
inline constexpr size_t kChallenger = 8;
inline constexpr size_t kProposer = 9;
inline constexpr uint32_t kEth = 1, kBtc = 2;

// The rollup contract's address on L1: the first contract anvil's dev account 0 deploys.
Address rollup_address();

// Chain id 777001, the roles above, the default fee schedule and margin; a ladder of ETH and BTC calls
// and puts at three strikes around 3,000 / 60,000 USDC and three expiries: the first 30-minute grid point
// at least an hour after `genesis_time`, one day and one week later.
Genesis genesis(uint64_t genesis_time, uint64_t chain_id = 777001);

}  // namespace opt::devnet
