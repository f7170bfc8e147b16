// L1 actions: EIP-712 typed messages under the domain {name "optrollup-l1", version "1", chainId}
// (docs/l1.md, section 2). One generic representation serves the built-in actions and those a module
// adds later (the fraud-proof game): an ActionSpec is parsed from its encodeType string, so the string is
// the single source of truth for the struct hash, the JSON field names and the field widths.
//
// Every action struct starts with `address sender` and ends with `uint64 nonce`. Bytes that are too
// large for a struct field (a batch's compressed data, a Merkle proof) travel beside the message as
// `data` and are bound to the signature by a bytes32 field holding keccak256(data).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bridge/refusal.h"
#include "engine/core/bytes.h"
#include "engine/core/crypto.h"
#include "engine/core/eip712.h"

namespace opt::l1 {

// ---- the built-in action types (docs/l1.md) ----
inline constexpr std::string_view kDepositType = "Deposit(address sender,address recipient,uint64 amount,uint64 nonce)";
inline constexpr std::string_view kForcedWithdrawType = "ForcedWithdraw(address sender,uint64 amount,uint64 nonce)";
inline constexpr std::string_view kRegisterProposerType = "RegisterProposer(address sender,uint64 stake,uint64 nonce)";
inline constexpr std::string_view kPostBatchType =
    "PostBatch(address sender,uint64 index,bytes32 prevRoot,bytes32 postRoot,uint64 txCount,bytes32 dataHash,"
    "uint64 inboxTo,bytes32 inboxAcc,uint64 l2Timestamp,uint64 nonce)";
inline constexpr std::string_view kFinalizeWithdrawalType =
    "FinalizeWithdrawal(address sender,uint64 batch,uint64 index,address account,address recipient,uint64 amount,"
    "bytes32 proofHash,uint64 nonce)";

// JSON names of the built-in actions ("type" in POST /l1/v1/actions).
inline constexpr std::string_view kDeposit = "deposit";
inline constexpr std::string_view kForcedWithdraw = "forced_withdraw";
inline constexpr std::string_view kRegisterProposer = "register_proposer";
inline constexpr std::string_view kPostBatch = "post_batch";
inline constexpr std::string_view kFinalizeWithdrawal = "finalize_withdrawal";

// Bounds on the bytes beside a message. A batch is bounded by what the L1 is willing to store per action;
// the decompressed size is bounded separately (kMaxBatchBytes in rollup.h).
inline constexpr size_t kMaxBatchDataBytes = 16u << 20;
inline constexpr size_t kMaxProofDataBytes = 64u << 10;
// Arrays in a struct (e.g. the roots of a dissection) are bounded so one action hashes a bounded amount.
inline constexpr size_t kMaxArrayLength = 256;

enum class FieldKind : uint8_t { kAddress, kUint, kBool, kBytes32, kBytes32Array };

struct FieldSpec {
  std::string name;  // camelCase, as in the encodeType string and the JSON message
  std::string type;  // Solidity type as written ("uint64", "bytes32[]")
  FieldKind kind = FieldKind::kUint;
  unsigned bits = 64;  // kUint: 8, 16, 32 or 64
};

using FieldValue = std::variant<uint64_t, bool, Address, Hash32, std::vector<Hash32>>;

struct ActionSpec {
  std::string name;          // JSON type tag, snake_case ("post_batch")
  std::string encode_type;   // EIP-712 encodeType
  std::string primary_type;  // "PostBatch"
  std::vector<FieldSpec> fields;
  Hash32 type_hash;
  std::string data_field;  // bytes32 field binding keccak256(data); empty: the action carries no data
  size_t max_data_bytes = 0;

  // Parses and checks an encodeType string: supported field types are address, bool, uint8..uint64,
  // bytes32 and bytes32[]; the first field must be `address sender` and the last `uint64 nonce`.
  static Result<ActionSpec, std::string> make(std::string name, std::string_view encode_type,
                                              std::string data_field = "", size_t max_data_bytes = 0);
  std::optional<size_t> field_index(std::string_view field) const;
  // The EIP-712 `types` entry ethers.js signTypedData expects: [{name, type}, ...].
  nlohmann::json types_json() const;
};

// The built-in specs (static storage, valid for the life of the program).
const ActionSpec& deposit_spec();
const ActionSpec& forced_withdraw_spec();
const ActionSpec& register_proposer_spec();
const ActionSpec& post_batch_spec();
const ActionSpec& finalize_withdrawal_spec();
std::vector<const ActionSpec*> builtin_specs();

// One action: its spec, a value per field (in the spec's order), the bytes beside it and the signature.
class Action {
 public:
  Action() = default;
  explicit Action(const ActionSpec& spec);  // every field zero

  const ActionSpec& spec() const { return *spec_; }
  bool has_spec() const { return spec_ != nullptr; }
  const std::vector<FieldValue>& values() const { return values_; }

  // Setters and getters by field name. The name and the kind must match the spec: a mismatch is a bug
  // of the caller (the spec is known at compile time), so it aborts rather than returning an error.
  Action& set(std::string_view field, FieldValue v);
  uint64_t u64(std::string_view field) const;
  bool flag(std::string_view field) const;
  const Address& address(std::string_view field) const;
  const Hash32& b32(std::string_view field) const;
  const std::vector<Hash32>& b32s(std::string_view field) const;

  Address sender() const { return address("sender"); }
  uint64_t nonce() const { return u64("nonce"); }

  Bytes data;
  Signature signature;

  Hash32 struct_hash() const;
  Hash32 digest(const Hash32& domain_separator) const;  // also the action's hash on the L1

 private:
  const FieldValue& get(std::string_view field) const;
  const ActionSpec* spec_ = nullptr;
  std::vector<FieldValue> values_;
};

Eip712Domain l1_domain(uint64_t chain_id);

// Sets data (and its binding field, if the spec has one) and signs with `key`; the sender field must
// already be the key's address. Refusal code `bad_key` for an invalid key.
Status<Refusal> sign_action(Action& action, const PrivateKey& key, const Hash32& domain_separator);

// ---- JSON (the wire form of POST /l1/v1/actions) ----
// uint64 values as decimal strings (they may exceed 2^53), addresses EIP-55 checksummed, bytes32 as
// 0x-hex, bools as JSON booleans.
nlohmann::json message_to_json(const Action& action);
// Strict: every field present with the right JSON type, no unknown fields, numbers in range (decimal
// strings or non-negative JSON integers). Refusal code `bad_field` naming the field.
Result<Action, Refusal> message_from_json(const ActionSpec& spec, const nlohmann::json& message);
// {"type", "action", "signature", "data"}
nlohmann::json request_to_json(const Action& action);

// Helpers shared by the API and the client for the value forms above.
Result<uint64_t, Refusal> json_u64(const nlohmann::json& v, std::string_view what, uint64_t max = UINT64_MAX);
Result<uint64_t, Refusal> parse_u64(std::string_view s, std::string_view what);
std::string u64_string(uint64_t v);

}  // namespace opt::l1
