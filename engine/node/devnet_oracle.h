// The devnet's oracle: the committee's dev keys (engine/common/devnet.h) sign a random walk of ETH and
// BTC prices on a timer, submitted through the node's normal command path like any other price report.
// Integers only: a seeded std::mt19937_64 and steps in parts per million, so a run is reproducible.
// Not part of a production node: NodeConfig::oracle_feeder switches it on for devnets and demos.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "engine/core/tx.h"
#include "engine/stf/leaves.h"
#include "engine/stf/params.h"

namespace opt::node {

struct DevnetOracleConfig {
  Hash32 domain_separator;
  uint64_t interval_ms = 3000;
  uint64_t seed = 12345;
  int64_t max_step_ppm = 2000;  // each report moves the price by at most this (uniform in +-max)
  // The node: the underlying's oracle leaf, the L2 time a report submitted now may carry at most, and
  // the submission itself (true when accepted).
  std::function<std::optional<OracleLeaf>(uint32_t)> oracle;
  std::function<uint64_t()> step_timestamp;
  std::function<bool(const PriceReportTx&)> submit;
};

class DevnetOracle {
 public:
  explicit DevnetOracle(DevnetOracleConfig cfg);
  ~DevnetOracle();  // stop()
  void start();
  void stop();

  // One report for `underlying` at time `ts` (nullopt when the oracle already has one at or after ts).
  // Public for tests: the walk is a function of the seed and the prices read.
  std::optional<PriceReportTx> next_report(uint32_t underlying, uint64_t ts);

 private:
  void loop();

  DevnetOracleConfig cfg_;
  std::mt19937_64 rng_;                // feeder thread only
  std::map<uint32_t, int64_t> price_;  // feeder thread only: the walk's last price per underlying
  std::mutex mu_;                      // guards stopping_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace opt::node
