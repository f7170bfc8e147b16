// The JSON forms of the L1's records, shared by the HTTP API (server side) and L1Client (client side).
// Token amounts, balances and nonces travel as decimal strings (they may exceed 2^53); block numbers,
// indexes, counts and timestamps as JSON integers; addresses EIP-55 checksummed; hashes 0x-hex.
#pragma once

#include <nlohmann/json.hpp>

#include "bridge/chain.h"

namespace opt::l1 {

nlohmann::json account_to_json(const Address& address, const L1Account& a);
nlohmann::json head_to_json(const Head& h);
nlohmann::json batch_to_json(const BatchRecord& b);
nlohmann::json inbox_to_json(const InboxMessage& m, const Hash32& acc_after);
nlohmann::json event_to_json(const Event& e);
nlohmann::json block_to_json(const BlockHeader& b);

// Client side. Strict about the fields it needs; extra fields are ignored (newer servers may add some).
Result<L1Account, Refusal> account_from_json(const nlohmann::json& j);
Result<Head, Refusal> head_from_json(const nlohmann::json& j);
Result<BatchRecord, Refusal> batch_from_json(const nlohmann::json& j);
Result<InboxMessage, Refusal> inbox_from_json(const nlohmann::json& j);
Result<Event, Refusal> event_from_json(const nlohmann::json& j);

}  // namespace opt::l1
