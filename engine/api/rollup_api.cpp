#include "engine/api/rollup_api.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "bridge/config.h"
#include "engine/api/json_mapping.h"
#include "engine/common/genesis_json.h"
#include "engine/core/eip712.h"

namespace opt::api {

namespace {

using http::ApiError;
using http::Request;
using http::Response;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------------------
// Parameters of GET requests. Every query parameter must be one the route knows (a typo such as
// "?acount=" would otherwise silently list nothing); an empty value counts as absent, so the template
// form "?instrument=&limit=" in docs/api.md works as written.

void allow_query(const Request& req, std::initializer_list<const char*> allowed) {
  for (const auto& [name, value] : req.query) {
    bool known = false;
    for (const char* a : allowed) known = known || name == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw ApiError(
          400, "unknown_parameter",
          "unknown query parameter '" + name + "'" + (list.empty() ? " (none expected)" : " (expected: " + list + ")"));
    }
  }
}

std::optional<std::string> query_value(const Request& req, const char* name) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

uint64_t integer_param(const std::string& text, const std::string& what) {
  auto v = parse_u64_text(text);
  if (!v) throw ApiError(400, "bad_parameter", what + " must be a non-negative decimal integer, got '" + text + "'");
  return *v;
}

std::optional<uint64_t> query_u64(const Request& req, const char* name) {
  auto v = query_value(req, name);
  if (!v) return std::nullopt;
  return integer_param(*v, name);
}

size_t bounded(const Request& req, const char* name, size_t fallback, size_t max) {
  auto v = query_u64(req, name);
  if (!v) return fallback;
  if (*v == 0 || *v > max)
    throw ApiError(400, "bad_parameter", std::string(name) + " must be between 1 and " + std::to_string(max));
  return static_cast<size_t>(*v);
}

Address address_param(const std::string& text, const std::string& what) {
  auto a = parse_address(text);
  if (!a) {
    std::string why = a.error() == HexError::kBadChecksum
                          ? "mixed-case address with a wrong EIP-55 checksum"
                          : std::string("not 0x + 40 hex digits (") + to_string(a.error()) + ")";
    throw ApiError(400, "bad_address", what + ": " + why);
  }
  return *a;
}

OrderHash hash_param(const std::string& text) {
  auto h = OrderHash::from_hex(text, true);
  if (!h)
    throw ApiError(400, "bad_hash",
                   std::string("order hash must be 0x + 64 hex digits (") + to_string(h.error()) + ")");
  return *h;
}

std::optional<node::OrderStatus> status_param(const std::string& text) {
  for (auto s : {node::OrderStatus::kOpen, node::OrderStatus::kFilled, node::OrderStatus::kCancelled,
                 node::OrderStatus::kRejected, node::OrderStatus::kExpired})
    if (text == node::to_string(s)) return s;
  throw ApiError(400, "bad_parameter",
                 "status must be one of open, filled, cancelled, rejected, expired; got '" + text + "'");
}

void check_body_size(const Request& req, size_t max) {
  // The server refuses larger bodies itself (ServerOptions::max_body_bytes); this keeps the handler's
  // contract the same when it runs behind another server or in tests.
  if (req.body.size() > max)
    throw ApiError(413, "body_too_large", "the body is larger than " + std::to_string(max) + " bytes");
}

Response refusal_response(const node::Refusal& r) {
  const WireError w = wire_error(r);
  return http::error_response(w.status, w.code, r.message);
}

// ---------------------------------------------------------------------------------------------------------
// HTTP counters: per route (the pattern, not the path, so cardinality stays bounded whatever clients
// send), by status class, plus a latency histogram. Atomics only: handlers run on many threads at once.

constexpr std::array<double, 12> kBucketsSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

struct RouteCounters {
  std::string method, route;
  std::array<std::atomic<uint64_t>, 6> by_class{};                          // index status / 100 (1..5), 0 unused
  std::array<std::atomic<uint64_t>, kBucketsSeconds.size() + 1> buckets{};  // last: +Inf
  std::atomic<uint64_t> micros{0};

  void record(int status, std::chrono::steady_clock::duration d) {
    int cls = status / 100;
    if (cls >= 1 && cls <= 5) by_class[static_cast<size_t>(cls)].fetch_add(1, std::memory_order_relaxed);
    double s = std::chrono::duration<double>(d).count();
    size_t b = 0;
    while (b < kBucketsSeconds.size() && s > kBucketsSeconds[b]) ++b;
    buckets[b].fetch_add(1, std::memory_order_relaxed);
    micros.fetch_add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()),
                     std::memory_order_relaxed);
  }
};

class HttpMetrics {
 public:
  RouteCounters& add(const std::string& method, const std::string& route) {
    std::lock_guard lock(mu_);
    auto& c = routes_.emplace_back();  // a deque: earlier elements keep their addresses
    c.method = method;
    c.route = route;
    return c;
  }

  std::string text() const {
    std::lock_guard lock(mu_);
    std::string out;
    out +=
        "# HELP optrollup_http_requests_total HTTP requests answered by the rollup API, by route and status class.\n";
    out += "# TYPE optrollup_http_requests_total counter\n";
    for (const auto& c : routes_) {
      for (int cls = 2; cls <= 5; ++cls)
        out += "optrollup_http_requests_total{method=\"" + c.method + "\",route=\"" + c.route + "\",code=\"" +
               std::to_string(cls) + "xx\"} " + std::to_string(c.by_class[static_cast<size_t>(cls)].load()) + "\n";
    }
    out += "# HELP optrollup_http_request_duration_seconds Time to answer a request in the handler, by route.\n";
    out += "# TYPE optrollup_http_request_duration_seconds histogram\n";
    for (const auto& c : routes_) {
      std::string labels = "method=\"" + c.method + "\",route=\"" + c.route + "\"";
      uint64_t cumulative = 0;
      for (size_t b = 0; b <= kBucketsSeconds.size(); ++b) {
        cumulative += c.buckets[b].load();
        std::string le = b < kBucketsSeconds.size() ? format_seconds(kBucketsSeconds[b]) : "+Inf";
        out += "optrollup_http_request_duration_seconds_bucket{" + labels + ",le=\"" + le + "\"} " +
               std::to_string(cumulative) + "\n";
      }
      out += "optrollup_http_request_duration_seconds_sum{" + labels + "} " +
             format_seconds(static_cast<double>(c.micros.load()) / 1e6) + "\n";
      out += "optrollup_http_request_duration_seconds_count{" + labels + "} " + std::to_string(cumulative) + "\n";
    }
    return out;
  }

 private:
  static std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", s);
    return buf;
  }

  mutable std::mutex mu_;
  std::deque<RouteCounters> routes_;
};

// ---------------------------------------------------------------------------------------------------------

json config_json(const node::Node& node, const RollupApiOptions& opts) {
  const Genesis& g = node.genesis();
  const Params& p = g.params;
  const json l1 = l1::config_to_json(node.l1_config());
  auto l1_u64 = [&](const char* key) -> json {
    auto it = l1.find(key);
    return it != l1.end() && it->is_number_unsigned() ? *it : json(nullptr);
  };
  json committee = json::array();
  for (const auto& a : p.oracle_committee) committee.push_back(to_checksum(a));
  json j = {
      {"chainId", p.chain_id},
      {"l1ChainId", l1_u64("chainId")},
      {"domain",
       {{"name", "optrollup"},
        {"version", "1"},
        {"chainId", p.chain_id},
        {"verifyingContract", to_checksum(p.rollup_address)}}},
      {"domainSeparator", node.domain_separator().hex()},
      {"rollupAddress", to_checksum(p.rollup_address)},
      {"types", eip712_types_json()},
      {"feeSchedule",
       {{"makerFee", std::to_string(p.fees.maker_fee)},
        {"takerFee", std::to_string(p.fees.taker_fee)},
        {"unit", "micro-USDC per contract"}}},
      {"oracleCommittee", committee},
      {"oracleThreshold", p.oracle_threshold},
      {"oracleStalenessSeconds", p.oracle_staleness},
      {"admin", to_checksum(p.admin)},
      {"challengePeriodSeconds", l1_u64("challengePeriodSeconds")},
      {"dissectionDegree", l1_u64("dissectionDegree")},
      {"clockSeconds", l1_u64("clockSeconds")},
      {"forcedInclusionDelaySeconds", l1_u64("forcedInclusionDelaySeconds")},
      {"genesisRoot", g.root().hex()},
      {"l2Genesis", genesis_to_json(g)},
      {"decimals", {{"collateral", 6}, {"price", 6}, {"quantity", 6}}},
      {"orderFlags", {{"postOnly", kPostOnly}, {"ioc", kIoc}, {"fok", kFok}, {"reduceOnly", kReduceOnly}}},
      {"instrumentsUrl", "/v1/instruments"},
      {"wsUrl", "/v1/ws"},
      {"maxBodyBytes", opts.max_body_bytes},
  };
  if (!opts.l1_url.empty()) j["l1Url"] = opts.l1_url;
  return j;
}

}  // namespace

namespace {

// The HTTP status of a state-machine refusal: malformed input 400 (it could never be valid, whatever the
// state), a corrupt state 500 (a node bug), anything else 422 (well-formed, refused by the rules or the
// current state). The wire code is the Code's own snake_case name.
int status_of(Code c) {
  switch (c) {
    case Code::kMalformed:
    case Code::kBadSignature:
    case Code::kHighSignature:
    case Code::kZeroAmount:
    case Code::kBadFlags:
    case Code::kOverflow: return 400;
    case Code::kCorruptState: return 500;
    default: return 422;
  }
}

}  // namespace

// The one table from the node's refusals to HTTP: each reason's status and wire code.
WireError wire_error(const node::Refusal& r) {
  using E = node::NodeError;
  switch (r.code) {
    case E::kRefusedByRules: return {status_of(r.stf), opt::to_string(r.stf)};
    case E::kZeroAmount: return {400, "zero_amount"};
    case E::kOutOfRange: return {400, "out_of_range"};
    case E::kBadFlags: return {400, "bad_flags"};
    case E::kBadSignature: return {400, "bad_signature"};
    case E::kHighSSignature: return {400, "high_s_signature"};
    case E::kOrderExpired: return {422, "order_expired"};
    case E::kFeeAboveMax: return {422, "fee_above_max"};
    case E::kUnknownInstrument: return {422, "unknown_instrument"};
    case E::kInstrumentExpired: return {422, "instrument_expired"};
    case E::kDuplicateOrder: return {422, "duplicate_order"};
    case E::kOrderReplayed: return {422, "order_replayed"};
    case E::kReduceOnlyViolated: return {422, "reduce_only_violated"};
    case E::kTooManyPositions: return {422, "too_many_positions"};
    case E::kNoOraclePrice: return {422, "no_oracle_price"};
    case E::kStaleOracle: return {422, "stale_oracle"};
    case E::kInsufficientMargin: return {422, "insufficient_margin"};
    case E::kSignerMismatch: return {422, "signer_mismatch"};  // e.g. signed for another chain
    case E::kNotReady: return {503, "not_ready"};
    case E::kStorage: return {503, "storage"};
    case E::kInternal: return {500, "internal"};
  }
  return {500, "internal"};
}

int status_for(const node::Refusal& r) {
  return wire_error(r).status;
}

http::ServerOptions rollup_server_options(const RollupApiOptions& opts, std::string host, uint16_t port) {
  http::ServerOptions o;
  o.host = std::move(host);
  o.port = port;
  o.max_body_bytes = opts.max_body_bytes;
  // Commands answer asynchronously (no io thread waits for a group commit) and an order's signature is
  // recovered on the io thread that parsed it, so a few io threads per core keep every core busy; a few
  // rather than one, so a slower read (a withdrawal proof) does not hold up the requests behind it.
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  o.threads = static_cast<int>(std::clamp(2u * cores, 4u, 16u));
  o.server_name = "optrollup-node";
  return o;
}

std::string node_metrics_text(const node::NodeStats& s) {
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
    uint64_t value;
  };
  const Metric metrics[] = {
      {"optrollup_orders_accepted_total", "counter", "Orders accepted by the sequencer.", s.orders_accepted},
      {"optrollup_orders_rejected_total", "counter", "Orders refused by the sequencer's admission checks.",
       s.orders_rejected},
      {"optrollup_trades_total", "counter", "Trades executed.", s.trades},
      {"optrollup_trades_refused_total", "counter",
       "Matches the state machine refused (the order book was ahead of the rules).", s.trades_refused},
      {"optrollup_batches_closed_total", "counter", "Batches closed by the sequencer.", s.batches_closed},
      {"optrollup_batches_posted_total", "counter", "Batches posted to the L1.", s.batches_posted},
      {"optrollup_batches_final_total", "counter", "Batches that became final on the L1.", s.batches_final},
      {"optrollup_batches_removed_total", "counter", "Batches removed by a lost fraud-proof game.", s.batches_removed},
      {"optrollup_resting_orders", "gauge", "Orders resting in the order books.", s.resting_orders},
      {"optrollup_pending_txs", "gauge", "Transactions in the open batch.", s.pending_txs},
      {"optrollup_log_commits_total", "counter", "Group commits of the input log (fsyncs).", s.log_commits},
      {"optrollup_log_records_total", "counter", "Records appended to the input log.", s.log_records},
      {"optrollup_l1_errors_total", "counter", "Failed calls to the L1.", s.l1_errors},
      {"optrollup_batches_checked_total", "counter",
       "Batches whose state was checked against the conservation identity.", s.batches_checked},
      {"optrollup_conservation_failures_total", "counter",
       "Batches after which the conservation identity did not hold (never, unless apply() has a bug).",
       s.conservation_failures},
  };
  std::string out;
  for (const auto& m : metrics) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n";
    out += std::string("# TYPE ") + m.name + " " + m.type + "\n";
    out += std::string(m.name) + " " + std::to_string(m.value) + "\n";
  }
  return out;
}

std::string server_metrics_text(const http::Server& server) {
  std::string out;
  out += "# HELP optrollup_http_open_connections Connections open now (HTTP and WebSocket).\n";
  out += "# TYPE optrollup_http_open_connections gauge\n";
  out += "optrollup_http_open_connections " + std::to_string(server.open_connections()) + "\n";
  out += "# HELP optrollup_http_connections_accepted_total Connections accepted since the server started.\n";
  out += "# TYPE optrollup_http_connections_accepted_total counter\n";
  out += "optrollup_http_connections_accepted_total " + std::to_string(server.connections_accepted()) + "\n";
  out += "# HELP optrollup_websocket_sessions WebSocket sessions open now.\n";
  out += "# TYPE optrollup_websocket_sessions gauge\n";
  out += "optrollup_websocket_sessions " + std::to_string(server.websocket_sessions()) + "\n";
  return out;
}

void add_rollup_routes(http::Router& router, node::Node& node, const RollupApiOptions& opts) {
  auto metrics = std::make_shared<HttpMetrics>();
  // Every route counts its answers: the handler runs under guarded() here so that errors it throws are
  // counted with the status they become.
  auto add = [&](const std::string& method, const std::string& pattern, http::Handler h) {
    RouteCounters* counters = &metrics->add(method, pattern);
    router.add(method, pattern,
               [metrics, counters, h = std::move(h), context = method + " " + pattern](const Request& req) {
                 auto t0 = std::chrono::steady_clock::now();
                 Response r = http::guarded(context, [&] { return h(req); });
                 counters->record(r.status, std::chrono::steady_clock::now() - t0);
                 return r;
               });
  };
  // Commands answer once their inputs are durable: asynchronously, so a waiting command holds no io thread.
  // `h` parses and submits (what it throws is answered at once); the node's answer comes through the
  // Respond it was given, counted when it is sent.
  auto add_async = [&](const std::string& method, const std::string& pattern, http::AsyncHandler h) {
    RouteCounters* counters = &metrics->add(method, pattern);
    router.add_async(method, pattern,
                     [metrics, counters, h = std::move(h), context = method + " " + pattern](const Request& req,
                                                                                             http::Respond respond) {
                       auto t0 = std::chrono::steady_clock::now();
                       http::Respond counted = [counters, t0, respond = std::move(respond)](Response r) {
                         counters->record(r.status, std::chrono::steady_clock::now() - t0);
                         respond(std::move(r));
                       };
                       bool submitted = false;
                       Response failed = http::guarded(context, [&] {
                         h(req, counted);
                         submitted = true;
                         return Response{};
                       });
                       if (!submitted) counted(std::move(failed));
                     });
  };
  // The config never changes while the node runs: serve one rendering of it.
  const std::string config_body = config_json(node, opts).dump();
  const size_t max_body = opts.max_body_bytes;
  const RollupApiOptions o = opts;

  // The WebSocket endpoint, asked for without the upgrade handshake (the server answers upgrades itself).
  add("GET", "/v1/ws", [](const Request&) -> Response {
    throw http::ApiError(426, "upgrade_required",
                         "GET /v1/ws is a WebSocket endpoint: connect with a WebSocket client");
  });
  add("GET", "/v1/health", [&node](const Request& req) {
    allow_query(req, {});
    node::NodeStats s = node.stats();
    return http::json_response(200, {{"status", "ok"},
                                     {"chainId", node.genesis().params.chain_id},
                                     {"root", s.root.hex()},
                                     {"batchesClosed", s.batches_closed},
                                     {"batchesPosted", s.batches_posted},
                                     {"batchesFinal", s.batches_final},
                                     {"pendingTxs", s.pending_txs},
                                     {"restingOrders", s.resting_orders},
                                     {"l1Errors", s.l1_errors}});
  });

  add("GET", "/v1/config", [config_body](const Request& req) {
    allow_query(req, {});
    Response r;
    r.body = config_body;
    return r;
  });

  add("GET", "/v1/instruments", [&node](const Request& req) {
    allow_query(req, {"status"});
    auto status = query_value(req, "status");
    if (status && *status != "active" && *status != "expired" && *status != "settled")
      throw ApiError(400, "bad_parameter", "status must be one of active, expired, settled");
    json list = json::array();
    for (const auto& v : node.instruments())
      if (!status || v.status == *status) list.push_back(instrument_to_json(v));
    return http::json_response(200, {{"instruments", list}});
  });

  add("GET", "/v1/instruments/{id}", [&node](const Request& req) {
    allow_query(req, {});
    uint64_t id = integer_param(*req.param("id"), "instrument id");
    auto v = node.instrument(id);
    if (!v) throw ApiError(404, "unknown_instrument", "no instrument " + std::to_string(id));
    return http::json_response(200, instrument_to_json(*v));
  });

  add("GET", "/v1/orderbook/{instrument}", [&node, o](const Request& req) {
    allow_query(req, {"depth"});
    uint64_t id = integer_param(*req.param("instrument"), "instrument id");
    size_t depth = bounded(req, "depth", o.default_book_depth, o.max_book_depth);
    auto b = node.book(id, depth);
    if (!b) throw ApiError(404, "unknown_instrument", "no instrument " + std::to_string(id));
    Response r;
    r.body = book_json_text(*b);
    return r;
  });

  add("GET", "/v1/trades", [&node, o](const Request& req) {
    allow_query(req, {"instrument", "limit"});
    auto instrument = query_u64(req, "instrument");
    size_t limit = bounded(req, "limit", o.default_list_limit, o.max_list_limit);
    if (instrument && !node.instrument(*instrument))
      throw ApiError(404, "unknown_instrument", "no instrument " + std::to_string(*instrument));
    json list = json::array();
    for (const auto& t : node.trades(instrument, limit)) list.push_back(trade_to_json(t));
    return http::json_response(200, {{"trades", list}});
  });

  add("GET", "/v1/accounts/{address}", [&node](const Request& req) {
    allow_query(req, {});
    Address a = address_param(*req.param("address"), "address");
    return http::json_response(200, account_to_json(node.account(a)));
  });

  add_async("POST", "/v1/orders", [&node, max_body](const Request& req, http::Respond respond) {
    check_body_size(req, max_body);
    allow_query(req, {});
    SignedOrder order = signed_order_from_json(parse_body(req.body));
    // Answered once the order and its fills are in the durable log: the answer is a promise.
    node.submit_order_async(order, [respond](Result<node::OrderAck, node::Refusal> r) {
      respond(r ? http::json_response(200, order_ack_to_json(*r)) : refusal_response(r.error()));
    });
  });

  add("GET", "/v1/orders/{orderHash}", [&node](const Request& req) {
    allow_query(req, {});
    OrderHash h = hash_param(*req.param("orderHash"));
    auto v = node.order(h);
    if (!v) throw ApiError(404, "unknown_order", "no order " + h.hex());
    return http::json_response(200, order_view_to_json(*v));
  });

  add("GET", "/v1/orders", [&node, o](const Request& req) {
    allow_query(req, {"account", "status", "limit"});
    auto account = query_value(req, "account");
    if (!account) throw ApiError(400, "missing_parameter", "query parameter 'account' is required");
    Address a = address_param(*account, "account");
    std::optional<node::OrderStatus> status;
    if (auto s = query_value(req, "status")) status = status_param(*s);
    size_t limit = bounded(req, "limit", o.default_list_limit, o.max_list_limit);
    json list = json::array();
    for (const auto& v : node.orders(a, status, limit)) list.push_back(order_view_to_json(v));
    return http::json_response(200, {{"orders", list}});
  });

  add_async("POST", "/v1/cancels", [&node, max_body](const Request& req, http::Respond respond) {
    check_body_size(req, max_body);
    allow_query(req, {});
    CancelTx cancel = cancel_from_json(parse_body(req.body));
    node.submit_cancel_async(cancel, [&node, respond](Result<OrderHash, node::Refusal> r) {
      if (!r) return respond(refusal_response(r.error()));
      // A cancel of an order the node never saw is still applied (it stops that order from ever filling),
      // so the answer does not depend on the order being known here.
      json j = {{"orderHash", r->hex()}, {"cancelled", true}, {"status", "cancelled"}};
      if (auto v = node.order(*r)) {
        j["status"] = node::to_string(v->status);
        j["filled"] = std::to_string(v->filled);
      }
      respond(http::json_response(200, j));
    });
  });

  add_async("POST", "/v1/withdrawals", [&node, max_body](const Request& req, http::Respond respond) {
    check_body_size(req, max_body);
    allow_query(req, {});
    WithdrawTx w = withdraw_from_json(parse_body(req.body));
    node.submit_withdrawal_async(w, [&node, w, respond](Result<uint64_t, node::Refusal> r) {
      if (!r) return respond(refusal_response(r.error()));
      for (const auto& v : node.withdrawals(w.withdraw.account))
        if (v.leaf.index == *r) return respond(http::json_response(200, withdrawal_to_json(v)));
      // Not listed yet (a view updated after the answer): the request's own fields say the same.
      respond(http::json_response(200, {{"index", *r},
                                        {"account", to_checksum(w.withdraw.account)},
                                        {"recipient", to_checksum(w.withdraw.recipient)},
                                        {"amount", std::to_string(w.withdraw.amount)},
                                        {"status", "pending"}}));
    });
  });

  add("GET", "/v1/withdrawals/{address}", [&node](const Request& req) {
    allow_query(req, {});
    Address a = address_param(*req.param("address"), "address");
    json list = json::array();
    for (const auto& w : node.withdrawals(a)) list.push_back(withdrawal_to_json(w));
    return http::json_response(200, {{"withdrawals", list}});
  });

  add("GET", "/v1/batches", [&node, o](const Request& req) {
    allow_query(req, {"from", "limit"});
    uint64_t from = query_u64(req, "from").value_or(0);
    size_t limit = bounded(req, "limit", o.default_list_limit, o.max_list_limit);
    json list = json::array();
    for (const auto& b : node.batches(from, limit)) list.push_back(batch_to_json(b));
    json j = {{"batches", list}};
    if (list.size() == limit) j["next"] = list.back()["index"].get<uint64_t>() + 1;
    return http::json_response(200, j);
  });

  add("GET", "/v1/batches/{index}", [&node](const Request& req) {
    allow_query(req, {});
    uint64_t index = integer_param(*req.param("index"), "batch index");
    auto b = node.batch(index);
    if (!b) throw ApiError(404, "unknown_batch", "no batch " + std::to_string(index));
    return http::json_response(200, batch_to_json(*b));
  });

  add("GET", "/metrics", [&node, metrics, o](const Request& req) {
    allow_query(req, {});
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = node_metrics_text(node.stats()) + metrics->text();
    if (o.extra_metrics) r.body += o.extra_metrics();
    return r;
  });
}

// ---------------------------------------------------------------------------------------------------------
// WebSocket

namespace {

struct Subscription {
  std::string channel;  // as the client named it
  std::string topic;    // the node's publisher channel
  json snapshot;        // null if the channel has none
  json echo;            // fields echoed in the reply
};

Subscription resolve(const node::Node& node, const json& msg, bool subscribing) {
  FieldReader r(msg, "", {"op", "channel", "instrument", "address", "id"});
  Subscription s;
  s.channel = r.string("channel");
  s.echo = {{"channel", s.channel}};
  auto instrument = [&]() {
    uint64_t id = r.u64("instrument");
    if (!node.instrument(id)) throw ApiError(404, "unknown_instrument", "no instrument " + std::to_string(id));
    s.echo["instrument"] = id;
    return id;
  };
  auto refuse_field = [&](const char* name) {
    if (msg.contains(name))
      throw ApiError(400, "unknown_field", std::string("field '") + name + "' does not apply to channel " + s.channel);
  };
  if (s.channel == "orderbook") {
    refuse_field("address");
    uint64_t id = instrument();
    s.topic = "orderbook:" + std::to_string(id);
    if (subscribing) {
      auto b = node.book(id, 1000);
      if (b) s.snapshot = book_to_json(*b);
    }
  } else if (s.channel == "trades") {
    refuse_field("address");
    s.topic = msg.contains("instrument") ? "trades:" + std::to_string(instrument()) : "trades";
  } else if (s.channel == "batches") {
    refuse_field("address");
    refuse_field("instrument");
    s.topic = "batches";
  } else if (s.channel == "account") {
    refuse_field("instrument");
    Address a = r.address("address");
    s.echo["address"] = to_checksum(a);
    s.topic = "account:" + to_hex(a.view());  // the node names account channels in lower case
    if (subscribing) s.snapshot = account_to_json(node.account(a));
  } else {
    throw ApiError(400, "unknown_channel", "channel must be one of orderbook, trades, batches, account");
  }
  return s;
}

std::string ws_error(const json& id, const std::string& code, const std::string& message) {
  json j = {{"op", "error"}, {"error", {{"code", code}, {"message", message}}}};
  if (!id.is_null()) j["id"] = id;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

http::WsHandler rollup_ws_handler(node::Node& node) {
  return [&node](http::WsSession& session, const std::string& message) -> std::string {
    json id;
    try {
      json msg = parse_body(message);
      if (msg.contains("id")) id = msg["id"];
      const std::string op = FieldReader(msg, "", {"op", "channel", "instrument", "address", "id"}).string("op");
      json reply;
      if (op == "ping") {
        FieldReader ping(msg, "", {"op", "id"});  // refuses fields a ping does not take
        reply = {{"op", "pong"}};
      } else if (op == "subscribe" || op == "unsubscribe") {
        const bool subscribing = op == "subscribe";
        Subscription s = resolve(node, msg, subscribing);
        auto& subs = session.subscriptions;
        auto it = std::find(subs.begin(), subs.end(), s.topic);
        if (subscribing) {
          if (it == subs.end()) {
            // Bounded: each subscription costs the server a string compare per published message.
            if (subs.size() >= kMaxSubscriptionsPerSession)
              throw ApiError(
                  400, "too_many_subscriptions",
                  "at most " + std::to_string(kMaxSubscriptionsPerSession) + " subscriptions per connection");
            subs.push_back(s.topic);
          }
        } else if (it != subs.end()) {
          subs.erase(it);
        }
        reply = s.echo;
        reply["op"] = subscribing ? "subscribed" : "unsubscribed";
        reply["topic"] = s.topic;
        if (!s.snapshot.is_null()) reply["snapshot"] = s.snapshot;
      } else {
        throw ApiError(400, "unknown_op", "op must be subscribe, unsubscribe or ping");
      }
      if (!id.is_null()) reply["id"] = id;
      return reply.dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const ApiError& e) {
      return ws_error(id, e.code, e.message);
    } catch (const json::exception& e) {
      return ws_error(id, "bad_json", http::json_error_message(e));
    }
  };
}

namespace {

// Renders the node's events as {"channel": "...", "data": {...}} frames for the server's sessions.
class WsPublisher final : public node::EventSink {
 public:
  WsPublisher(node::Node& node, http::Server& server) : node_(node), server_(server) {}
  // Nobody connected: the node need not build events at all.
  bool active() const override { return server_.websocket_sessions() > 0; }
  void on_event(const node::Event& e) override {
    json data;
    if (const auto* a = std::get_if<node::AccountChangedEvent>(&e)) {
      // The account exactly as GET /v1/accounts/{address} shows it (the node calls this outside its locks).
      data = account_to_json(node_.account(a->address));
    } else {
      data = event_to_json(e);
    }
    // Built as text around the JSON: no copy of the message into a wrapper object.
    const std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
    for (const auto& channel : event_channels(e))
      server_.publish(channel, "{\"channel\":" + json(channel).dump() + ",\"data\":" + text + "}");
  }

 private:
  node::Node& node_;
  http::Server& server_;
};

}  // namespace

void attach_publisher(node::Node& node, http::Server& server) {
  node.set_event_sink(std::make_shared<WsPublisher>(node, server));
}

}  // namespace opt::api
