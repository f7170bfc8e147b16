// How the fraud-proof agents (challenger, proposer's defender) reach the L1: in process (the simulator,
// the devnet) or over its HTTP API (`optrollup challenger --l1 URL`). Both give the same answers.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bridge/chain.h"
#include "bridge/client.h"
#include "fraudproof/game.h"

namespace opt::fp {

// The API's wire code (the L1's RefusalCode, the game's GameRefusal or a proof verdict; "unreachable" when
// the L1 cannot be reached) and a message.
struct PortError {
  std::string code;
  std::string message;
};
template <class T>
using PortResult = Result<T, PortError>;

struct EventsPage {
  std::vector<l1::Event> events;
  bool more = false;
  uint64_t next = 0;  // first block of the next page when `more`
};

class L1Port {
 public:
  virtual ~L1Port() = default;
  virtual PortResult<l1::L1Config> config() = 0;
  virtual PortResult<l1::Head> head() = 0;
  virtual PortResult<EventsPage> events(uint64_t from_block) = 0;
  virtual PortResult<l1::BatchRecord> batch(uint64_t index) = 0;
  // The batch's sequencer transactions, decompressed and framed from the L1's data.
  virtual PortResult<std::vector<Bytes>> frames(uint64_t index) = 0;
  virtual PortResult<std::vector<l1::InboxMessage>> inbox(uint64_t from, size_t limit) = 0;
  virtual PortResult<std::optional<Game>> game(uint64_t id) = 0;
  virtual PortResult<std::vector<Game>> games_of_batch(uint64_t batch) = 0;
  virtual PortResult<l1::L1Account> account(const Address& a) = 0;
  // Sets sender and nonce from the key and the L1, signs and submits.
  virtual PortResult<l1::Accepted> submit(const PrivateKey& key, l1::Action action) = 0;
};

class LocalL1 final : public L1Port {
 public:
  LocalL1(l1::L1Chain& chain, const GameModule& games) : chain_(chain), games_(games) {}
  PortResult<l1::L1Config> config() override;
  PortResult<l1::Head> head() override;
  PortResult<EventsPage> events(uint64_t from_block) override;
  PortResult<l1::BatchRecord> batch(uint64_t index) override;
  PortResult<std::vector<Bytes>> frames(uint64_t index) override;
  PortResult<std::vector<l1::InboxMessage>> inbox(uint64_t from, size_t limit) override;
  PortResult<std::optional<Game>> game(uint64_t id) override;
  PortResult<std::vector<Game>> games_of_batch(uint64_t batch) override;
  PortResult<l1::L1Account> account(const Address& a) override;
  PortResult<l1::Accepted> submit(const PrivateKey& key, l1::Action action) override;

 private:
  l1::L1Chain& chain_;
  const GameModule& games_;
};

// Thread-safe: every call holds the port's lock (one HTTP connection, kept alive).
class RemoteL1 final : public L1Port {
 public:
  explicit RemoteL1(std::string url);
  PortResult<l1::L1Config> config() override;
  PortResult<l1::Head> head() override;
  PortResult<EventsPage> events(uint64_t from_block) override;
  PortResult<l1::BatchRecord> batch(uint64_t index) override;
  PortResult<std::vector<Bytes>> frames(uint64_t index) override;
  PortResult<std::vector<l1::InboxMessage>> inbox(uint64_t from, size_t limit) override;
  PortResult<std::optional<Game>> game(uint64_t id) override;
  PortResult<std::vector<Game>> games_of_batch(uint64_t batch) override;
  PortResult<l1::L1Account> account(const Address& a) override;
  PortResult<l1::Accepted> submit(const PrivateKey& key, l1::Action action) override;

 private:
  std::mutex mu_;
  l1::L1Client client_;
};

Result<Game, std::string> game_from_json(const nlohmann::json& j);

}  // namespace opt::fp
