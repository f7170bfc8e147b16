// A typed client of the L1 API for the CLI, the node (proposer), the challenger and the tests. Each
// action method fetches the signer's nonce, signs the EIP-712 message with the given key and submits it.
// Errors are values: an L1Error carries the HTTP status (0 when the L1 could not be reached) and the
// API's error code.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/chain.h"
#include "bridge/wire.h"
#include "engine/net/http.h"
#include "engine/stf/leaves.h"

namespace opt::l1 {

struct L1Error {
  int status = 0;    // HTTP status; 0: transport failure (connection refused, timeout)
  std::string code;  // the API's wire code (an extension's codes too, so a string)
  std::string message;

  // The L1's own refusal this is, if it is one.
  std::optional<RefusalCode> refusal() const { return refusal_code(code); }
};

template <class T>
using L1Result = Result<T, L1Error>;

// What a proposer signs for PostBatch, besides the data (its hash is computed from the data).
struct PostBatchArgs {
  uint64_t index = 0;
  Hash32 prev_root;
  Hash32 post_root;
  uint64_t tx_count = 0;
  uint64_t inbox_to = 0;
  Hash32 inbox_acc;
  uint64_t l2_timestamp = 0;
};

// Builders of the built-in actions (unsigned; sign_action sets the data binding and the signature).
Action make_deposit(const Address& sender, const Address& recipient, uint64_t amount, uint64_t nonce);
Action make_forced_withdraw(const Address& sender, uint64_t amount, uint64_t nonce);
Action make_register_proposer(const Address& sender, uint64_t stake, uint64_t nonce);
Action make_post_batch(const Address& sender, const PostBatchArgs& args, Bytes compressed_data, uint64_t nonce);
Action make_finalize_withdrawal(const Address& sender, uint64_t batch, const WithdrawalLeaf& leaf,
                                const Bytes& encoded_proof, uint64_t nonce);

struct InboxPage {
  std::vector<InboxMessage> messages;
  uint64_t length = 0;
  Hash32 accumulator;  // after `length` messages
};

struct EventPage {
  std::vector<Event> events;
  bool more = false;
  uint64_t next = 0;  // the first block of the next page when `more`
};

class L1Client {
 public:
  explicit L1Client(std::string base_url, std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));
  ~L1Client();

  // GET /l1/v1/config (cached after the first call: the config never changes).
  L1Result<nlohmann::json> config_json();
  L1Result<L1Config> config();
  L1Result<Head> head();
  L1Result<L1Account> account(const Address& a);
  L1Result<nlohmann::json> block(std::optional<uint64_t> number = std::nullopt);  // nullopt: latest
  L1Result<EventPage> events(uint64_t from, std::optional<uint64_t> to = std::nullopt);
  L1Result<BatchRecord> batch(uint64_t index, Bytes* data = nullptr);
  L1Result<std::vector<BatchRecord>> batches(uint64_t from, size_t limit = 100);
  L1Result<InboxPage> inbox(uint64_t from, size_t limit = 100);
  L1Result<bool> withdrawal_claimed(uint64_t index);
  // The action with this hash, if the L1 accepted it (how to check an action whose answer was lost).
  L1Result<std::optional<nlohmann::json>> find_action(const Hash32& hash);

  // Signs (setting sender and nonce from the key and the L1) and submits.
  L1Result<Accepted> deposit(const PrivateKey& key, const Address& recipient, uint64_t amount);
  L1Result<Accepted> forced_withdraw(const PrivateKey& key, uint64_t amount);
  L1Result<Accepted> register_proposer(const PrivateKey& key, uint64_t stake);
  L1Result<Accepted> post_batch(const PrivateKey& key, const PostBatchArgs& args, Bytes compressed_data);
  L1Result<Accepted> finalize_withdrawal(const PrivateKey& key, uint64_t batch, const WithdrawalLeaf& leaf,
                                         const Bytes& encoded_proof);
  // Any action (built-in or an extension's): sets sender to the key's address and nonce to the
  // account's nonce, signs and submits.
  L1Result<Accepted> submit(const PrivateKey& key, Action action);
  // Submits an action that is already signed.
  L1Result<Accepted> submit_signed(const Action& action);

  http::Client& http() { return *http_; }

 private:
  L1Result<nlohmann::json> get_json(const std::string& target);
  L1Result<Hash32> domain_separator();

  std::unique_ptr<http::Client> http_;
  std::optional<nlohmann::json> config_;
};

}  // namespace opt::l1
