#include "bridge/refusal.h"

namespace opt::l1 {

const char* to_string(RefusalCode c) {
  switch (c) {
    case RefusalCode::kBadRequest: return "bad_request";
    case RefusalCode::kBadJson: return "bad_json";
    case RefusalCode::kUnknownAction: return "unknown_action";
    case RefusalCode::kBadField: return "bad_field";
    case RefusalCode::kBadSignature: return "bad_signature";
    case RefusalCode::kBadData: return "bad_data";
    case RefusalCode::kBadParameter: return "bad_parameter";
    case RefusalCode::kUnknownParameter: return "unknown_parameter";
    case RefusalCode::kBadQuery: return "bad_query";
    case RefusalCode::kBadAddress: return "bad_address";
    case RefusalCode::kBadHash: return "bad_hash";
    case RefusalCode::kNotFound: return "not_found";
    case RefusalCode::kBadNonce: return "bad_nonce";
    case RefusalCode::kBadKey: return "bad_key";
    case RefusalCode::kZeroAmount: return "zero_amount";
    case RefusalCode::kInsufficientFunds: return "insufficient_funds";
    case RefusalCode::kInsufficientEscrow: return "insufficient_escrow";
    case RefusalCode::kInsufficientStake: return "insufficient_stake";
    case RefusalCode::kOverflow: return "overflow";
    case RefusalCode::kBadRecipient: return "bad_recipient";
    case RefusalCode::kNotProposer: return "not_proposer";
    case RefusalCode::kBadIndex: return "bad_index";
    case RefusalCode::kPrevRootMismatch: return "prev_root_mismatch";
    case RefusalCode::kTxCountMismatch: return "tx_count_mismatch";
    case RefusalCode::kBadInboxRange: return "bad_inbox_range";
    case RefusalCode::kInboxAccMismatch: return "inbox_acc_mismatch";
    case RefusalCode::kForcedInclusion: return "forced_inclusion";
    case RefusalCode::kTimestampTooOld: return "timestamp_too_old";
    case RefusalCode::kTimestampInFuture: return "timestamp_in_future";
    case RefusalCode::kDataTooLarge: return "data_too_large";
    case RefusalCode::kDataHashMismatch: return "data_hash_mismatch";
    case RefusalCode::kBadCompression: return "bad_compression";
    case RefusalCode::kBadBatchData: return "bad_batch_data";
    case RefusalCode::kBadEmptyBatch: return "bad_empty_batch";
    case RefusalCode::kUnexpectedData: return "unexpected_data";
    case RefusalCode::kUnknownBatch: return "unknown_batch";
    case RefusalCode::kRemovedBatch: return "removed_batch";
    case RefusalCode::kFinalBatch: return "final_batch";
    case RefusalCode::kNotFinal: return "not_final";
    case RefusalCode::kBadStep: return "bad_step";
    case RefusalCode::kBadProof: return "bad_proof";
    case RefusalCode::kAlreadyClaimed: return "already_claimed";
    case RefusalCode::kWrongSigner: return "wrong_signer";
    case RefusalCode::kBadResponse: return "bad_response";
    case RefusalCode::kExtension: return "extension";
    case RefusalCode::kExtensionNotFound: return "extension";
    case RefusalCode::kStorageError: return "storage_error";
    case RefusalCode::kInternalError: return "internal_error";
  }
  return "internal_error";
}

std::optional<RefusalCode> refusal_code(std::string_view wire) {
  for (size_t i = 0; i < kRefusalCodeCount; ++i) {
    auto c = static_cast<RefusalCode>(i);
    if (c != RefusalCode::kExtension && c != RefusalCode::kExtensionNotFound && wire == to_string(c)) return c;
  }
  return std::nullopt;
}

std::string Refusal::wire_code() const {
  if ((code == RefusalCode::kExtension || code == RefusalCode::kExtensionNotFound) && extension_code)
    return extension_code;
  return to_string(code);
}

}  // namespace opt::l1
