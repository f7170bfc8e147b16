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
#include "engine/net/http.h"

namespace opt::l1 {

// The built-in routes and every extension's (L1Extension::add_routes). The chain must outlive the router.
void add_l1_routes(http::Router& router, L1Chain& chain);

// GET /l1/v1/config: the genesis config plus the EIP-712 domain and the types of every action, so a
// wallet (ethers.js signTypedData) can sign without hard-coding them.
nlohmann::json config_json(const L1Chain& chain);

// The HTTP status of each refusal (the one table): 400 for a malformed request, 404 for an unknown
// resource, 422 for an action the rules refuse, 503 for a storage failure, 500 for a handler that failed.
int http_status(RefusalCode code);
inline int status_for(const Refusal& r) {
  return http_status(r.code);
}

// The API's error for a refusal (status from http_status, code from its wire code), for handlers to throw.
http::ApiError api_error(const Refusal& r);
http::ApiError api_error(RefusalCode code, std::string message);

// Refuses (unknown_parameter) a query parameter not in `known`: a typo such as ?form=5 must not quietly
// return page 0. Shared by the extensions' routes.
void allow_query(const http::Request& req, std::initializer_list<const char*> known);

// Page-size bounds of the list endpoints.
inline constexpr size_t kMaxListLimit = 1000;
inline constexpr size_t kMaxEventsPerPage = 10'000;

}  // namespace opt::l1
