// The rollup API's JSON forms (docs/api.md, docs/openapi.yaml): strict parsing of the signed messages clients POST,
// and the JSON of the node's views. Shared by the HTTP handlers, the WebSocket handler and the tests.
//
// Numbers: amounts, prices, quantities, nonces, collateral, equity, margins, marks and strikes may exceed
// 2^53 (a JavaScript number loses them), so they travel as decimal strings; ids, indexes, timestamps and
// counts as JSON integers. Addresses are EIP-55 checksummed, hashes lower-case 0x-hex.
//
// Inputs are refused with http::ApiError 400 and one of these codes (docs/api.md lists them):
//   missing_field, unknown_field, bad_field (wrong JSON type), out_of_range, bad_address, bad_hex,
//   bad_signature, high_s_signature, bad_flags.
// Refusing unknown fields matters for signed messages: a client that misspells "limitPrice" must not have
// an order signed with limitPrice 0 accepted in its name.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/tx.h"
#include "engine/node/node.h"

namespace opt::api {

// ---- inputs (throw http::ApiError 400) ----

// Reads the fields of one JSON object. The constructor refuses a non-object (bad_field) and any field not
// in `allowed` (unknown_field) before anything else, so a misspelt name is reported as such rather than as
// the missing field it was meant to be.
class FieldReader {
 public:
  // `where` names the object in messages ("order", "body").
  FieldReader(const nlohmann::json& object, std::string where, std::initializer_list<const char*> allowed);

  // A uint64: a decimal string of digits, or a non-negative JSON integer up to 2^53 (beyond it a JSON
  // number may already have been rounded by the client, so it must be a string).
  uint64_t u64(const char* name);
  uint64_t u64_max(const char* name, uint64_t max);  // the same, refused above max (out_of_range)
  bool boolean(const char* name);
  std::string string(const char* name);
  Address address(const char* name);
  Hash32 hash(const char* name);                   // 0x + 64 hex digits
  const nlohmann::json& object(const char* name);  // a nested JSON object
  Signature signature(const char* name);           // 0x + 65 bytes, low-s, v normalised to 27/28

 private:
  const nlohmann::json& field(const char* name) const;  // missing_field if absent
  std::string path(const char* name) const;

  const nlohmann::json& object_;
  std::string where_;
};

// Parses a request body with a bound on nesting (a deep "[[[[..." must not cost stack or time) and
// requires a JSON object. Malformed JSON -> 400 bad_json.
nlohmann::json parse_body(const std::string& body);

// Parsing of a uint64 text (a path or query parameter, or a JSON string field): digits only, no sign,
// at most 20 digits, at most 2^64-1. nullopt otherwise.
std::optional<uint64_t> parse_u64_text(std::string_view s);

// {"order": {account, instrument, isBuy, quantity, limitPrice, maxFee, nonce, expiry, flags}, "signature"}
SignedOrder signed_order_from_json(const nlohmann::json& body);
// {"cancel": {account, orderHash}, "signature"}
CancelTx cancel_from_json(const nlohmann::json& body);
// {"withdraw": {account, amount, recipient, nonce}, "signature"}
WithdrawTx withdraw_from_json(const nlohmann::json& body);

Order order_fields_from_json(const nlohmann::json& order);  // the signed fields alone

// ---- outputs ----

// The EIP-712 types of Order, Cancel and Withdraw in ethers.js form: {"Order": [{"name", "type"}, ...], ...},
// derived from the encodeType strings in engine/core/eip712.h, so they cannot drift from the digests.
nlohmann::json eip712_types_json();
// One encodeType string ("Order(address account,...)") as [name, [{"name", "type"}, ...]].
std::pair<std::string, nlohmann::json> type_fields(std::string_view encode_type);

nlohmann::json order_to_json(const Order& o);  // the signed fields, as a client signs them
nlohmann::json order_view_to_json(const node::OrderView& v);
nlohmann::json order_ack_to_json(const node::OrderAck& a);
nlohmann::json instrument_to_json(const node::InstrumentView& v);
nlohmann::json book_to_json(const node::BookView& b);
// The same JSON written straight into text: GET /v1/orderbook is the hottest read, and building a DOM of
// a hundred small objects first costs most of its time.
std::string book_json_text(const node::BookView& b);
nlohmann::json trade_to_json(const node::TradeView& t);
nlohmann::json account_to_json(const node::AccountView& a);
nlohmann::json withdrawal_to_json(const node::WithdrawalView& w);
nlohmann::json batch_to_json(const node::BatchView& b);
nlohmann::json game_to_json(const fp::Game& g);

// ---- the node's events, as WebSocket channels and messages ----

// The channels an event is published on: "orderbook:<instrument>", "trades" and "trades:<instrument>",
// "batches", "account:<0x address, lower case>".
std::vector<std::string> event_channels(const node::Event& e);
// The message's data. An account event carries only {"address"}: the publisher renders the account as
// GET /v1/accounts/{address} shows it (account_to_json of Node::account) when it sends it.
nlohmann::json event_to_json(const node::Event& e);

// "ETH" for 1, "BTC" for 2, "U<n>" otherwise (as in node::instrument_name).
std::string underlying_symbol(uint32_t underlying);

}  // namespace opt::api
