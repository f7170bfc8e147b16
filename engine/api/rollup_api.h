// The rollup's JSON HTTP + WebSocket API (docs/api.md, docs/openapi.yaml): pure
// handlers over the sequencer node, registered on an http::Router, so they are tested without sockets.
//
//   GET  /v1/health                    GET  /v1/config                 GET /metrics (Prometheus text)
//   GET  /v1/instruments               GET  /v1/instruments/{id}
//   GET  /v1/orderbook/{instrument}?depth=
//   GET  /v1/trades?instrument=&limit=
//   GET  /v1/accounts/{address}
//   POST /v1/orders                    GET  /v1/orders/{orderHash}     GET /v1/orders?account=&status=&limit=
//   POST /v1/cancels
//   POST /v1/withdrawals               GET  /v1/withdrawals/{address}
//   GET  /v1/batches?from=&limit=      GET  /v1/batches/{index}
//   GET  /v1/ws (WebSocket; see rollup_ws_handler)
//
// Malformed input is a 400, a well-formed request the rules refuse a 422, an unknown resource a 404, a
// node that cannot take commands now (stopping, storage failure) a 503. Errors are
// {"error": {"code", "message"}}; a refused request never changes the node's state.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "engine/net/http.h"
#include "engine/node/node.h"

namespace opt::api {

struct RollupApiOptions {
  std::string l1_url;  // advertised in /v1/config as l1Url when not empty
  // Request bodies above this are refused with 413 (set ServerOptions::max_body_bytes to the same, see
  // rollup_server_options, so the server refuses them before reading them whole).
  size_t max_body_bytes = 64 * 1024;
  size_t default_list_limit = 100;
  size_t max_list_limit = 1000;
  size_t default_book_depth = 50;
  size_t max_book_depth = 1000;
  // Appended to GET /metrics (e.g. server_metrics_text of the Server serving this router, which is built
  // after the router and so cannot be passed in directly).
  std::function<std::string()> extra_metrics;
};

// The node must outlive the router.
void add_rollup_routes(http::Router& router, node::Node& node, const RollupApiOptions& opts);

// Server options suited to the node API: the body limit above, and enough io threads for commands that
// block until durable (each holds a thread for one group commit).
http::ServerOptions rollup_server_options(const RollupApiOptions& opts, std::string host, uint16_t port);

// GET /v1/ws. Client -> server JSON text messages:
//   {"op":"subscribe","channel":"orderbook","instrument":7}     snapshot in the reply, then deltas
//   {"op":"subscribe","channel":"trades"[,"instrument":7]}
//   {"op":"subscribe","channel":"batches"}
//   {"op":"subscribe","channel":"account","address":"0x..."}
//   {"op":"unsubscribe", ...the same fields...}                  {"op":"ping"}
// Replies: {"op":"subscribed"|"unsubscribed","channel":...,"topic":"orderbook:7"[,"snapshot":{...}]},
// {"op":"pong"}, or {"op":"error","error":{"code","message"}}. Published messages (attach_publisher):
// {"channel":"orderbook:7","data":{...}}.
http::WsHandler rollup_ws_handler(node::Node& node);
inline constexpr size_t kMaxSubscriptionsPerSession = 64;

// Forwards everything the node publishes to the server's WebSocket sessions as
// {"channel": "...", "data": {...}}. Both must outlive the node's publishing (stop the node first, or
// call node.set_event_sink(nullptr) before destroying the server).
void attach_publisher(node::Node& node, http::Server& server);

// Node-side metrics in the Prometheus text format (version 0.0.4), without the HTTP counters that
// add_rollup_routes keeps per router.
std::string node_metrics_text(const node::NodeStats& s);
// Connection gauges of a server, for RollupApiOptions::extra_metrics.
std::string server_metrics_text(const http::Server& server);

// A node refusal on the wire: 400 malformed, 422 refused by the rules, 503 not ready, 500 a node bug, and
// its snake_case code (a state-machine refusal keeps the Code's own name).
struct WireError {
  int status = 500;
  const char* code = "internal";
};
WireError wire_error(const node::Refusal& r);
int status_for(const node::Refusal& r);  // wire_error(r).status

}  // namespace opt::api
