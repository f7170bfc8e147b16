// The node's input log: every input the sequencer accepted (orders, cancels, withdrawals, price reports)
// and where its batches opened, closed and were posted, in SQLite. It records inputs, not effects: state,
// book and batches are a function of it, so a restart (also after kill -9) replays it to exactly the same
// roots. Appends are group commits: the sequencer writes all records of a command group in one
// transaction (one fsync with durable), and answers the group only after it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/common/sqlite.h"
#include "engine/core/bytes.h"
#include "engine/core/result.h"

namespace opt::node {

enum class LogKind : uint8_t {
  kBatchOpen = 1,    // u64 l2 timestamp, u64 inbox_to
  kOrder = 2,        // signed order, its hash and signer (checked before it was logged)
  kCancel = 3,       // encoded CancelTx
  kWithdraw = 4,     // encoded WithdrawTx
  kPriceReport = 5,  // encoded PriceReportTx
  kBatchClose = 6,   // u64 local sequence
  kBatchPosted = 7,  // u64 local sequence, u64 L1 index
};

struct LogRecord {
  LogKind kind;
  uint64_t at = 0;  // unix ms when it was taken
  Bytes body;
};

class InputLog {
 public:
  // Opens (creating) data_dir/node.sqlite. durable: synchronous=FULL.
  static Result<std::unique_ptr<InputLog>, std::string> open(const std::string& data_dir, bool durable);

  // One transaction for all of them (group commit). Safe from any thread.
  Status<std::string> append(const std::vector<LogRecord>& records);
  // Every record in order; stops at the first error `fn` returns.
  Status<std::string> replay(const std::function<Status<std::string>(const LogRecord&)>& fn);

  uint64_t commits() const { return commits_.load(); }
  uint64_t records() const { return records_.load(); }

 private:
  std::mutex mu_;               // guards db_
  std::unique_ptr<db::Db> db_;  // guarded by mu_
  std::atomic<uint64_t> commits_{0}, records_{0};
};

}  // namespace opt::node
