#include "engine/node/devnet_oracle.h"

#include <algorithm>

#include "engine/common/devnet.h"
#include "engine/core/amount.h"
#include "engine/core/eip712.h"

namespace opt::node {

DevnetOracle::DevnetOracle(DevnetOracleConfig cfg) : cfg_(std::move(cfg)), rng_(cfg_.seed) {
  price_[devnet::kEth] = 3000 * kMicro;
  price_[devnet::kBtc] = 60000 * kMicro;
}

DevnetOracle::~DevnetOracle() {
  stop();
}

void DevnetOracle::start() {
  thread_ = std::thread([this] { loop(); });
}

void DevnetOracle::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<PriceReportTx> DevnetOracle::next_report(uint32_t u, uint64_t ts) {
  auto o = cfg_.oracle ? cfg_.oracle(u) : std::nullopt;
  if (o && o->timestamp >= ts) return std::nullopt;
  int64_t& px = price_[u];
  if (o) px = static_cast<int64_t>(o->price);  // reports from elsewhere move the walk too
  const uint64_t span = static_cast<uint64_t>(2 * cfg_.max_step_ppm + 1);
  const int64_t step_ppm = static_cast<int64_t>(rng_() % span) - cfg_.max_step_ppm;
  const i128 next = static_cast<i128>(px) + static_cast<i128>(px) * step_ppm / 1'000'000;
  px = static_cast<int64_t>(std::clamp<i128>(next, kMicro, INT64_MAX / 2));
  PriceReport r{u, static_cast<uint64_t>(px), 650'000 + rng_() % 100'000, ts};
  PriceReportTx t{r, {}};
  for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
    t.sigs.push_back(*sign(typed_digest(cfg_.domain_separator, r), devnet::dev_keys()[devnet::kOracleFirst + i]));
  return t;
}

void DevnetOracle::loop() {
  for (;;) {
    for (uint32_t u : {devnet::kEth, devnet::kBtc})
      if (auto rep = next_report(u, cfg_.step_timestamp())) (void)cfg_.submit(*rep);
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(cfg_.interval_ms), [&] { return stopping_; })) return;
  }
}

}  // namespace opt::node
