// Why the node refused a command: the node's own reasons, or the state machine's Code when a step was
// refused. engine/api maps each to its HTTP status and wire code in one table (rollup_api.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "engine/stf/receipt.h"

namespace opt::node {

enum class NodeError : uint8_t {
  kRefusedByRules,  // the state machine refused the step: Refusal::stf says why
  // Admission checks of an order (before it rests or matches).
  kZeroAmount,
  kOutOfRange,
  kBadFlags,
  kOrderExpired,
  kFeeAboveMax,
  kUnknownInstrument,
  kInstrumentExpired,
  kDuplicateOrder,
  kOrderReplayed,
  kReduceOnlyViolated,
  kTooManyPositions,
  kNoOraclePrice,
  kStaleOracle,
  kInsufficientMargin,
  // The order's signature, checked before it is queued.
  kBadSignature,
  kHighSSignature,
  kSignerMismatch,
  // The node cannot take commands now (stopping, no batch can be opened) or cannot write its log.
  kNotReady,
  kStorage,
  kInternal,  // a node bug, never the client's input
};
const char* to_string(NodeError e);  // snake_case, for logs

struct Refusal {
  NodeError code = NodeError::kInternal;
  Code stf = Code::kOk;  // with kRefusedByRules
  std::string message;
};

}  // namespace opt::node
