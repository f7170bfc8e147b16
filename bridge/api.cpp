#include "bridge/api.h"

#include "bridge/wire.h"

namespace opt::l1 {

namespace {

using http::ApiError;
using http::Request;
using http::Response;

// Integer query/path parameters: decimal digits only, bounded (a page offset beyond 2^53 is nonsense, but a
// parse that wraps would be worse).
uint64_t integer(const std::string& text, const std::string& what) {
  auto v = parse_u64(text, what);
  if (!v) throw ApiError(400, "bad_parameter", what + " must be a non-negative decimal integer");
  return *v;
}

uint64_t query_u64(const Request& req, const std::string& name, uint64_t fallback) {
  auto v = req.query_param(name);
  return v ? integer(*v, name) : fallback;
}

// A query parameter the endpoint does not know is an error, not silently ignored: a typo such as
// ?form=5 must not quietly return page 0.
void allow_query(const Request& req, std::initializer_list<const char*> known) {
  for (const auto& [name, value] : req.query) {
    bool ok = false;
    for (const char* k : known) ok |= name == k;
    if (!ok) throw ApiError(400, "unknown_parameter", "unknown query parameter '" + name + "'");
  }
}

size_t limit_of(const Request& req, size_t fallback, size_t max) {
  uint64_t limit = query_u64(req, "limit", fallback);
  if (limit == 0 || limit > max)
    throw ApiError(400, "bad_parameter", "limit must be between 1 and " + std::to_string(max));
  return static_cast<size_t>(limit);
}

}  // namespace

int status_for(const Refusal& r) {
  static const char* kMalformed[] = {"bad_request", "bad_json", "unknown_action", "bad_field", "bad_signature",
                                     "bad_data"};
  for (const char* c : kMalformed)
    if (r.code == c) return 400;
  if (r.code == "storage_error") return 503;
  if (r.code == "internal_error") return 500;  // a bug in a handler, never the client's input
  return 422;
}

nlohmann::json config_json(const L1Chain& chain) {
  nlohmann::json j = config_to_json(chain.config());
  Eip712Domain d = l1_domain(chain.config().chain_id);
  j["domain"] = {{"name", d.name}, {"version", d.version}, {"chainId", d.chain_id}};
  j["domainSeparator"] = chain.domain_separator().hex();
  nlohmann::json types = nlohmann::json::object();
  nlohmann::json actions = nlohmann::json::object();
  for (const ActionSpec* s : chain.specs()) {
    types[s->primary_type] = s->types_json();
    actions[s->name] = {{"primaryType", s->primary_type},
                        {"encodeType", s->encode_type},
                        {"dataField", s->data_field.empty() ? nlohmann::json(nullptr) : nlohmann::json(s->data_field)}};
  }
  j["types"] = types;
  j["actions"] = actions;
  return j;
}

void add_l1_routes(http::Router& router, L1Chain& chain) {
  router.add("POST", "/l1/v1/actions", [&chain](const Request& req) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) throw ApiError(400, "bad_json", "the body is not valid JSON");
    auto r = chain.submit_json(body);
    if (!r) throw ApiError(status_for(r.error()), r.error().code, r.error().message);
    return http::json_response(
        200, {{"hash", r->hash.hex()}, {"block", r->block}, {"index", r->index}, {"result", r->result}});
  });

  router.add("GET", "/l1/v1/config", [&chain](const Request& req) {
    allow_query(req, {});
    return http::json_response(200, config_json(chain));
  });

  router.add("GET", "/l1/v1/head", [&chain](const Request& req) {
    allow_query(req, {});
    return http::json_response(200, head_to_json(chain.head()));
  });

  router.add("GET", "/l1/v1/accounts/{address}", [&chain](const Request& req) {
    allow_query(req, {});
    auto a = parse_address(req.param("address").value_or(""));
    if (!a) throw ApiError(400, "bad_address", std::string("address: ") + to_string(a.error()));
    return http::json_response(200, account_to_json(*a, chain.account(*a)));
  });

  router.add("GET", "/l1/v1/blocks/{n}", [&chain](const Request& req) {
    allow_query(req, {});
    std::string n = req.param("n").value_or("");
    uint64_t number = n == "latest" ? chain.head().block : integer(n, "block number");
    auto b = chain.block(number);
    if (!b) throw ApiError(404, "not_found", "no block " + n);
    nlohmann::json j = block_to_json(*b);
    j["actions"] = chain.block_actions(number);
    return http::json_response(200, j);
  });

  router.add("GET", "/l1/v1/events", [&chain](const Request& req) {
    allow_query(req, {"from", "to", "limit"});
    uint64_t head = chain.head().block;
    uint64_t from = query_u64(req, "from", 0);
    uint64_t to = query_u64(req, "to", head);
    if (to < from) throw ApiError(400, "bad_parameter", "to must not be below from");
    size_t limit = limit_of(req, kMaxEventsPerPage, kMaxEventsPerPage);
    bool more = false;
    auto events = chain.events(from, to, limit, &more);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : events) list.push_back(event_to_json(e));
    // With `more`, the next page starts after the last block returned (pages hold whole blocks).
    nlohmann::json j = {{"from", from}, {"to", std::min(to, head)}, {"events", list}, {"more", more}};
    if (more) j["next"] = events.back().block + 1;
    return http::json_response(200, j);
  });

  router.add("GET", "/l1/v1/actions/{hash}", [&chain](const Request& req) {
    allow_query(req, {});
    auto h = Hash32::from_hex(req.param("hash").value_or(""), true);
    if (!h) throw ApiError(400, "bad_hash", std::string("hash: ") + to_string(h.error()));
    auto a = chain.find_action(*h);
    if (!a) throw ApiError(404, "not_found", "no action " + h->hex());
    return http::json_response(200, *a);
  });

  router.add("GET", "/l1/v1/batches/{index}", [&chain](const Request& req) {
    allow_query(req, {});
    uint64_t index = integer(req.param("index").value_or(""), "batch index");
    auto b = chain.batch(index);
    if (!b) throw ApiError(404, "not_found", "no batch " + std::to_string(index));
    nlohmann::json j = batch_to_json(*b);
    auto data = chain.batch_data(index);
    j["data"] = data ? to_hex(*data) : std::string("0x");
    return http::json_response(200, j);
  });

  router.add("GET", "/l1/v1/batches", [&chain](const Request& req) {
    allow_query(req, {"from", "limit"});
    uint64_t from = query_u64(req, "from", 0);
    size_t limit = limit_of(req, 100, kMaxListLimit);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& b : chain.batches(from, limit)) list.push_back(batch_to_json(b));
    return http::json_response(200, {{"batches", list}, {"count", chain.batch_count()}});
  });

  router.add("GET", "/l1/v1/inbox", [&chain](const Request& req) {
    allow_query(req, {"from", "limit"});
    uint64_t from = query_u64(req, "from", 0);
    size_t limit = limit_of(req, 100, kMaxListLimit);
    // One lock for the page and the totals would be nicer; reading the length first keeps the page
    // consistent with it (the inbox only grows).
    uint64_t length = chain.inbox_length();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : chain.inbox(from, limit)) {
      if (m.index >= length) break;
      list.push_back(inbox_to_json(m, chain.inbox_accumulator(m.index + 1)));
    }
    return http::json_response(
        200, {{"messages", list}, {"length", length}, {"accumulator", chain.inbox_accumulator(length).hex()}});
  });

  router.add("GET", "/l1/v1/withdrawals/{index}", [&chain](const Request& req) {
    allow_query(req, {});
    uint64_t index = integer(req.param("index").value_or(""), "withdrawal index");
    return http::json_response(200, {{"index", index}, {"claimed", chain.withdrawal_claimed(index)}});
  });
}

}  // namespace opt::l1
