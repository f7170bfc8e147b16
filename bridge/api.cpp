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
  if (!v) throw api_error(RefusalCode::kBadParameter, what + " must be a non-negative decimal integer");
  return *v;
}

uint64_t query_u64(const Request& req, const std::string& name, uint64_t fallback) {
  auto v = req.query_param(name);
  return v ? integer(*v, name) : fallback;
}

size_t limit_of(const Request& req, size_t fallback, size_t max) {
  uint64_t limit = query_u64(req, "limit", fallback);
  if (limit == 0 || limit > max)
    throw api_error(RefusalCode::kBadParameter, "limit must be between 1 and " + std::to_string(max));
  return static_cast<size_t>(limit);
}

}  // namespace

int http_status(RefusalCode code) {
  // A switch, so a new code that is not given a status here does not compile (-Wswitch).
  switch (code) {
    case RefusalCode::kBadRequest:
    case RefusalCode::kBadJson:
    case RefusalCode::kUnknownAction:
    case RefusalCode::kBadField:
    case RefusalCode::kBadSignature:
    case RefusalCode::kBadData:
    case RefusalCode::kBadParameter:
    case RefusalCode::kUnknownParameter:
    case RefusalCode::kBadQuery:
    case RefusalCode::kBadAddress:
    case RefusalCode::kBadHash: return 400;  // a malformed request
    case RefusalCode::kNotFound:
    case RefusalCode::kExtensionNotFound: return 404;  // an unknown resource
    case RefusalCode::kBadNonce:
    case RefusalCode::kBadKey:
    case RefusalCode::kZeroAmount:
    case RefusalCode::kInsufficientFunds:
    case RefusalCode::kInsufficientEscrow:
    case RefusalCode::kInsufficientStake:
    case RefusalCode::kOverflow:
    case RefusalCode::kBadRecipient:
    case RefusalCode::kNotProposer:
    case RefusalCode::kBadIndex:
    case RefusalCode::kPrevRootMismatch:
    case RefusalCode::kTxCountMismatch:
    case RefusalCode::kBadInboxRange:
    case RefusalCode::kInboxAccMismatch:
    case RefusalCode::kForcedInclusion:
    case RefusalCode::kTimestampTooOld:
    case RefusalCode::kTimestampInFuture:
    case RefusalCode::kDataTooLarge:
    case RefusalCode::kDataHashMismatch:
    case RefusalCode::kBadCompression:
    case RefusalCode::kBadBatchData:
    case RefusalCode::kBadEmptyBatch:
    case RefusalCode::kUnexpectedData:
    case RefusalCode::kUnknownBatch:
    case RefusalCode::kRemovedBatch:
    case RefusalCode::kFinalBatch:
    case RefusalCode::kNotFinal:
    case RefusalCode::kBadStep:
    case RefusalCode::kBadProof:
    case RefusalCode::kAlreadyClaimed:
    case RefusalCode::kWrongSigner:
    case RefusalCode::kBadResponse:
    case RefusalCode::kExtension: return 422;      // a well-formed action the rules refuse
    case RefusalCode::kStorageError: return 503;   // the action could not be persisted
    case RefusalCode::kInternalError: return 500;  // a bug in a handler, never the client's input
  }
  return 500;
}

http::ApiError api_error(const Refusal& r) {
  return ApiError(status_for(r), r.wire_code(), r.message);
}

http::ApiError api_error(RefusalCode code, std::string message) {
  return ApiError(http_status(code), to_string(code), std::move(message));
}

void allow_query(const Request& req, std::initializer_list<const char*> known) {
  for (const auto& [name, value] : req.query) {
    bool ok = false;
    for (const char* k : known) ok |= name == k;
    if (!ok) throw api_error(RefusalCode::kUnknownParameter, "unknown query parameter '" + name + "'");
  }
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
  for (const auto& ext : chain.extensions()) ext->add_routes(router);

  router.add("POST", "/l1/v1/actions", [&chain](const Request& req) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) throw api_error(RefusalCode::kBadJson, "the body is not valid JSON");
    auto r = chain.submit_json(body);
    if (!r) throw api_error(r.error());
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
    if (!a) throw api_error(RefusalCode::kBadAddress, std::string("address: ") + to_string(a.error()));
    return http::json_response(200, account_to_json(*a, chain.account(*a)));
  });

  router.add("GET", "/l1/v1/blocks/{n}", [&chain](const Request& req) {
    allow_query(req, {});
    std::string n = req.param("n").value_or("");
    uint64_t number = n == "latest" ? chain.head().block : integer(n, "block number");
    auto b = chain.block(number);
    if (!b) throw api_error(RefusalCode::kNotFound, "no block " + n);
    nlohmann::json j = block_to_json(*b);
    j["actions"] = chain.block_actions(number);
    return http::json_response(200, j);
  });

  router.add("GET", "/l1/v1/events", [&chain](const Request& req) {
    allow_query(req, {"from", "to", "limit"});
    uint64_t head = chain.head().block;
    uint64_t from = query_u64(req, "from", 0);
    uint64_t to = query_u64(req, "to", head);
    if (to < from) throw api_error(RefusalCode::kBadParameter, "to must not be below from");
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
    if (!h) throw api_error(RefusalCode::kBadHash, std::string("hash: ") + to_string(h.error()));
    auto a = chain.find_action(*h);
    if (!a) throw api_error(RefusalCode::kNotFound, "no action " + h->hex());
    return http::json_response(200, *a);
  });

  router.add("GET", "/l1/v1/batches/{index}", [&chain](const Request& req) {
    allow_query(req, {});
    uint64_t index = integer(req.param("index").value_or(""), "batch index");
    auto b = chain.batch(index);
    if (!b) throw api_error(RefusalCode::kNotFound, "no batch " + std::to_string(index));
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
