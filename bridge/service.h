// The L1 as a running service: the chain, a thread that seals blocks on time, and the HTTP API. Used by
// `optrollup l1` and (later) `optrollup devnet`; tests use it for loopback HTTP.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bridge/chain.h"
#include "engine/net/http.h"

namespace opt::l1 {

struct ServiceOptions {
  std::string db_path;  // the SQLite file
  std::string host = "127.0.0.1";
  uint16_t port = 8545;  // 0: any free port (see L1Service::port())
  OpenOptions open;
  const Clock* clock = nullptr;  // nullptr: the system clock
  int http_threads = 4;
  // A PostBatch body carries up to kMaxBatchDataBytes as hex, twice that many characters.
  size_t max_body_bytes = 2 * kMaxBatchDataBytes + (1 << 20);
};

class L1Service {
 public:
  // Opens the chain, starts the block timer and the HTTP server. Errors: the chain cannot be opened or
  // the address cannot be bound.
  static Result<std::unique_ptr<L1Service>, std::string> start(ServiceOptions options);
  ~L1Service();  // stop()
  L1Service(const L1Service&) = delete;
  L1Service& operator=(const L1Service&) = delete;

  void stop();  // stops serving and sealing; idempotent
  uint16_t port() const { return port_; }
  std::string url() const;
  L1Chain& chain() { return *chain_; }

 private:
  L1Service() = default;
  void run_ticker();

  SystemClock system_clock_;
  const Clock* clock_ = nullptr;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<L1Chain> chain_;
  std::shared_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::thread ticker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace opt::l1
