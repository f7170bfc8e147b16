// The L1's refusals as values: one enum for every reason the L1 (chain, rules, API) refuses an action or a
// request. to_string gives the snake_case wire code of the API's {"error": {"code", "message"}}; the HTTP
// status of each is in one table, http_status() in bridge/api.h.
//
// An extension (the fraud-proof game) refuses with its own enum: its refusal travels as kExtension (a rule
// of the extension, 422) or kExtensionNotFound (a resource of the extension that does not exist, 404),
// carrying the extension's wire code, so the L1 serves it without knowing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.h"

namespace opt::l1 {

enum class RefusalCode : uint8_t {
  // A malformed request (400).
  kBadRequest,        // not an action request
  kBadJson,           // the body is not JSON
  kUnknownAction,     // no such action type
  kBadField,          // a message field is missing, mistyped or out of range
  kBadSignature,      // the signature does not recover to the sender
  kBadData,           // the data beside the message does not match its hash field
  kBadParameter,      // a path or query parameter is not a decimal integer, or is out of range
  kUnknownParameter,  // a query parameter the endpoint does not know
  kBadQuery,          // a query parameter of an extension's route is out of range
  kBadAddress,        // not an EIP-55 address
  kBadHash,           // not a 0x-hex 32-byte hash
  // An unknown resource (404).
  kNotFound,
  // A well-formed action the rules refuse (422).
  kBadNonce,
  kBadKey,  // the signing key is invalid (client side)
  kZeroAmount,
  kInsufficientFunds,
  kInsufficientEscrow,
  kInsufficientStake,
  kOverflow,
  kBadRecipient,
  kNotProposer,
  kBadIndex,
  kPrevRootMismatch,
  kTxCountMismatch,
  kBadInboxRange,
  kInboxAccMismatch,
  kForcedInclusion,
  kTimestampTooOld,
  kTimestampInFuture,
  kDataTooLarge,
  kDataHashMismatch,
  kBadCompression,
  kBadBatchData,
  kBadEmptyBatch,
  kUnexpectedData,
  kUnknownBatch,
  kRemovedBatch,
  kFinalBatch,
  kNotFinal,
  kBadStep,
  kBadProof,
  kAlreadyClaimed,
  kWrongSigner,
  kBadResponse,  // an answer of the L1 the client cannot read (client side, never served)
  // An extension's refusal; its wire code is Refusal::extension_code.
  kExtension,          // a rule of the extension (422)
  kExtensionNotFound,  // no such resource of the extension (404)
  // The L1 failed.
  kStorageError,   // the action could not be persisted (503)
  kInternalError,  // a handler failed: a bug, never the client's input (500)
};
inline constexpr size_t kRefusalCodeCount = static_cast<size_t>(RefusalCode::kInternalError) + 1;

// The wire code ("bad_nonce"); kExtension and kExtensionNotFound give "extension" (see Refusal::wire_code).
const char* to_string(RefusalCode c);
// The code with this wire name, if it is one of the L1's own.
std::optional<RefusalCode> refusal_code(std::string_view wire);

// A refused action or request: the reason and a message for humans.
struct Refusal {
  RefusalCode code = RefusalCode::kInternalError;
  std::string message;
  // For kExtension / kExtensionNotFound: the extension's wire code (static storage: its to_string).
  const char* extension_code = nullptr;

  // The API's error code for this refusal.
  std::string wire_code() const;
};

inline Err<Refusal> refuse(RefusalCode code, std::string message) {
  return err(Refusal{code, std::move(message), nullptr});
}
// An extension's refusal: `code` must have static storage (an extension enum's to_string).
inline Err<Refusal> refuse_extension(const char* code, std::string message, bool not_found = false) {
  return err(Refusal{not_found ? RefusalCode::kExtensionNotFound : RefusalCode::kExtension, std::move(message), code});
}

}  // namespace opt::l1
