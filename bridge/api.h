// The L1's JSON HTTP API (docs/l1.md, section 7): pure handlers over opt::http::Request and
// Response, registered on a Router, so they are tested without sockets.
//
//   POST /l1/v1/actions                 GET /l1/v1/config           GET /l1/v1/head
//   GET  /l1/v1/accounts/{address}      GET /l1/v1/blocks/{n|latest}
//   GET  /l1/v1/events?from=&to=        GET /l1/v1/actions/{hash}
//   GET  /l1/v1/batches/{index}         GET /l1/v1/batches?from=&limit=
//   GET  /l1/v1/inbox?from=&limit=      GET /l1/v1/withdrawals/{index}
//
// Malformed input is a 400, a well-formed action the chain refuses a 422, an unknown resource a 404;
// errors are {"error": {"code", "message"}}. A refused request never changes the state.
#pragma once

#include "bridge/chain.h"
#include "engine/api/http.h"

namespace opt::l1 {

// The chain must outlive the router.
void add_l1_routes(http::Router& router, L1Chain& chain);

// GET /l1/v1/config: the genesis config plus the EIP-712 domain and the types of every action, so a
// wallet (ethers.js signTypedData) can sign without hard-coding them.
nlohmann::json config_json(const L1Chain& chain);

// The HTTP status for a refusal code: 400 for malformed requests, 503 for a storage failure, 500 for a
// handler that failed (a bug), 422 for an action the rules refuse.
int status_for(const Refusal& r);

// Page-size bounds of the list endpoints.
inline constexpr size_t kMaxListLimit = 1000;
inline constexpr size_t kMaxEventsPerPage = 10'000;

}  // namespace opt::l1
