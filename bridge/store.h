// SQLite persistence of the L1: the genesis config, the block headers and the log of accepted actions.
// The chain's state is not stored; it is rebuilt at startup by replaying the log (docs/l1.md,
// "Persistence"). WAL mode; an action is acknowledged only after its row is committed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/bytes.h"

struct sqlite3;

namespace opt::l1 {

struct BlockRow {
  uint64_t number = 0;
  uint64_t timestamp = 0;  // unix seconds
  uint64_t time_ms = 0;    // when the block opened (unix ms): schedules the next block
  Hash32 parent;
  std::optional<Hash32> hash;  // set when the block is sealed
};

struct ActionRow {
  uint64_t seq = 0;  // position in the log, from 1
  uint64_t block = 0;
  uint32_t index = 0;  // within the block
  std::string type;
  std::string message;  // the message as canonical JSON (message_to_json)
  Bytes signature;
  Bytes data;
  Hash32 hash;
};

class Store {
 public:
  // `durable`: synchronous=FULL (an acknowledged action survives power loss); otherwise NORMAL, which
  // survives a killed process but may lose the last commits on power loss. ":memory:" is accepted.
  static Result<std::unique_ptr<Store>, std::string> open(const std::string& path, bool durable = true);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::optional<std::string> meta(const std::string& key);
  // Creates a new chain: its config and genesis block, in one transaction.
  Status<std::string> create(const std::string& config_json, const BlockRow& genesis);

  Result<std::vector<BlockRow>, std::string> blocks();
  // Calls fn for every action in log order; stops at the first error fn returns.
  Status<std::string> for_each_action(const std::function<Status<std::string>(ActionRow&&)>& fn);

  // Appends an accepted action; returns its seq once committed.
  Result<uint64_t, std::string> append_action(const ActionRow& row);
  // Seals block `sealed` with its hash and opens `next`, in one transaction.
  Status<std::string> seal(uint64_t sealed, const Hash32& hash, const BlockRow& next);

  std::optional<Bytes> action_data(uint64_t seq);
  std::vector<ActionRow> block_actions(uint64_t block);      // without data
  std::optional<ActionRow> find_action(const Hash32& hash);  // without data

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status<std::string> exec(const char* sql);
  std::string error_text() const;
  sqlite3* db_;
};

}  // namespace opt::l1
