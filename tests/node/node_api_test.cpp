// The rollup API (engine/api/rollup_api.h) over a real node and a real in-process L1: the handlers through
// Router::handle without sockets (shapes of docs/api.md, every class of bad input refused with a
// 4xx and no state change), the WebSocket handler, then one round trip over real loopback HTTP + WebSocket.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "engine/api/json_mapping.h"
#include "engine/api/rollup_api.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/net/http.h"
#include "tests/node/node_fixture.h"

using namespace opt;
using namespace opt::node::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

class Api {
 public:
  explicit Api(NodeFixture& f, api::RollupApiOptions o = {}) { api::add_rollup_routes(router_, f.node(), o); }

  http::Response call(const std::string& method, const std::string& target, const std::string& body = "") const {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    return router_.handle(r);
  }
  json get(const std::string& target, int expect = 200) const {
    auto r = call("GET", target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == expect);
    return json::parse(r.body);
  }
  http::Response post(const std::string& target, const json& body) const { return call("POST", target, body.dump()); }
  const http::Router& router() const { return router_; }

 private:
  http::Router router_;
};

json order_body(const SignedOrder& s) {
  return {{"order", api::order_to_json(s.order)}, {"signature", s.sig.hex()}};
}

json cancel_body(const NodeFixture& f, size_t dev, const OrderHash& h, std::optional<size_t> signer = {}) {
  Cancel c{dev_addr(dev), h};
  Signature sig = *sign(typed_digest(f.domain(), c), dev_key(signer.value_or(dev)));
  return {{"cancel", {{"account", to_checksum(c.account)}, {"orderHash", h.hex()}}}, {"signature", sig.hex()}};
}

json withdraw_body(const NodeFixture& f, size_t dev, uint64_t amount, uint64_t nonce) {
  Withdraw w{dev_addr(dev), amount, dev_addr(dev), nonce};
  Signature sig = *sign(typed_digest(f.domain(), w), dev_key(dev));
  return {{"withdraw",
           {{"account", to_checksum(w.account)},
            {"amount", std::to_string(amount)},
            {"recipient", to_checksum(w.recipient)},
            {"nonce", std::to_string(nonce)}}},
          {"signature", sig.hex()}};
}

// The malleated twin of a signature: s' = n - s, v flipped (what EIP-2 forbids).
std::string high_s_twin(const Signature& sig) {
  static const uint8_t kN[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48,
                                 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
  Signature out = sig;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kN[i] - sig[32 + static_cast<size_t>(i)] - borrow;
    borrow = d < 0;
    out[32 + static_cast<size_t>(i)] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  out[64] = sig[64] == 27 ? 28 : 27;
  return out.hex();
}

std::string error_code(const http::Response& r) {
  auto j = json::parse(r.body);
  return j.at("error").at("code").get<std::string>();
}

// What must not change when a request is refused.
struct Snapshot {
  StateRoot root;
  uint64_t accepted, trades, resting;
  json accounts;
  bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(NodeFixture& f) {
  auto s = f.node().stats();
  json accounts = json::array();
  for (size_t i = 0; i < 4; ++i) accounts.push_back(api::account_to_json(f.node().account(dev_addr(i))));
  return {f.node().root(), s.orders_accepted, s.trades, s.resting_orders, accounts};
}

void check_refused(const http::Response& r, int status, const std::string& code, const std::string& what) {
  INFO(what << ": " << r.status << " " << r.body);
  CHECK(r.status == status);
  CHECK(r.status >= 400);
  CHECK(r.status < 500);
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("error"));
  CHECK(j["error"].size() == 2);
  CHECK(j["error"]["code"] == code);
  CHECK(j["error"]["message"].is_string());
}

bool is_decimal_string(const json& v) {
  return v.is_string() && std::regex_match(v.get<std::string>(), std::regex("-?[0-9]+"));
}
bool is_hex32(const json& v) {
  return v.is_string() && std::regex_match(v.get<std::string>(), std::regex("0x[0-9a-f]{64}"));
}
bool is_checksummed(const json& v) {
  if (!v.is_string()) return false;
  auto a = parse_address(v.get<std::string>());
  return a && to_checksum(*a) == v.get<std::string>();
}

}  // namespace

TEST_CASE("config, health, instruments, order book and metrics shapes") {
  NodeFixture f;
  api::RollupApiOptions opts;
  opts.l1_url = "http://127.0.0.1:8545";
  Api api(f, opts);

  json c = api.get("/v1/config");
  CHECK(c["chainId"] == 777001);
  CHECK(c["l1ChainId"] == 31337);
  CHECK(c["domain"]["name"] == "optrollup");
  CHECK(c["domain"]["version"] == "1");
  CHECK(c["domain"]["chainId"] == 777001);
  CHECK(c["domain"]["verifyingContract"] == to_checksum(f.genesis().params.rollup_address));
  CHECK(c["rollupAddress"] == c["domain"]["verifyingContract"]);
  CHECK(c["domainSeparator"] == f.domain().hex());
  CHECK(c["feeSchedule"]["makerFee"] == "100000");
  CHECK(c["feeSchedule"]["takerFee"] == "300000");
  REQUIRE(c["oracleCommittee"].size() == 3);
  CHECK(c["oracleCommittee"][0] == to_checksum(dev_addr(devnet::kOracleFirst)));
  CHECK(c["oracleThreshold"] == 2);
  CHECK(c["challengePeriodSeconds"] == 60);
  CHECK(c["dissectionDegree"] == 2);
  CHECK(c["l1Url"] == "http://127.0.0.1:8545");
  CHECK(c["instrumentsUrl"] == "/v1/instruments");
  CHECK(c["l2Genesis"]["chainId"] == 777001);
  // The types as ethers.js signTypedData takes them, derived from the encodeType strings.
  json order_type = json::array();
  for (auto [n, t] : std::vector<std::pair<const char*, const char*>>{{"account", "address"},
                                                                      {"instrument", "uint64"},
                                                                      {"isBuy", "bool"},
                                                                      {"quantity", "uint64"},
                                                                      {"limitPrice", "uint64"},
                                                                      {"maxFee", "uint64"},
                                                                      {"nonce", "uint64"},
                                                                      {"expiry", "uint64"},
                                                                      {"flags", "uint8"}})
    order_type.push_back({{"name", n}, {"type", t}});
  CHECK(c["types"]["Order"] == order_type);
  CHECK(c["types"]["Cancel"] ==
        json::parse(R"([{"name":"account","type":"address"},{"name":"orderHash","type":"bytes32"}])"));
  CHECK(
      c["types"]["Withdraw"] ==
      json::parse(
          R"([{"name":"account","type":"address"},{"name":"amount","type":"uint64"},{"name":"recipient","type":"address"},{"name":"nonce","type":"uint64"}])"));
  CHECK_FALSE(c["types"].contains("EIP712Domain"));

  json h = api.get("/v1/health");
  CHECK(h["status"] == "ok");
  CHECK(h["root"] == f.node().root().hex());

  json list = api.get("/v1/instruments")["instruments"];
  REQUIRE(list.size() == f.genesis().ladder.size());
  for (const auto& i : list) {
    CHECK(i["id"].is_number_unsigned());
    CHECK(std::regex_match(i["name"].get<std::string>(), std::regex("(ETH|BTC)-[0-9]{8}(T[0-9]{4})?-[0-9.]+-[CP]")));
    CHECK(i["underlying"].is_number_unsigned());
    CHECK(is_decimal_string(i["strike"]));
    CHECK(i["expiry"].is_number_unsigned());
    CHECK(i["isCall"].is_boolean());
    CHECK(i["status"] == "active");
  }
  CHECK(list[0]["id"] == 1);
  CHECK(api.get("/v1/instruments/1") == list[0]);
  CHECK(api.get("/v1/instruments?status=expired")["instruments"].empty());

  json book = api.get("/v1/orderbook/1");
  CHECK(book["instrument"] == 1);
  CHECK(book["bids"].empty());
  CHECK(book["asks"].empty());
  CHECK(book["sequence"].is_number_unsigned());

  json a = api.get("/v1/accounts/" + to_hex(dev_addr(0).view()));  // lower case is accepted
  CHECK(a["address"] == to_checksum(dev_addr(0)));
  CHECK(a["collateral"] == std::to_string(100'000 * kUsdc));
  CHECK(a["positions"].empty());
  CHECK(a["equity"] == a["collateral"]);
  CHECK(a["initialMargin"] == "0");
  CHECK(a["maintenanceMargin"] == "0");
  CHECK(a["nonce"] == "0");

  auto m = api.call("GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  for (const char* name : {"optrollup_orders_accepted_total", "optrollup_orders_rejected_total",
                           "optrollup_trades_total", "optrollup_trades_refused_total", "optrollup_batches_closed_total",
                           "optrollup_batches_posted_total", "optrollup_batches_final_total",
                           "optrollup_batches_removed_total", "optrollup_resting_orders", "optrollup_pending_txs",
                           "optrollup_log_commits_total", "optrollup_log_records_total", "optrollup_l1_errors_total"}) {
    INFO(name);
    CHECK(m.body.find(std::string("# HELP ") + name + " ") != std::string::npos);
    CHECK(m.body.find(std::string("# TYPE ") + name + " ") != std::string::npos);
  }
  CHECK(m.body.find("optrollup_http_requests_total{method=\"GET\",route=\"/v1/config\",code=\"2xx\"} 1\n") !=
        std::string::npos);
  CHECK(m.body.find(
            "optrollup_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/health\",le=\"+Inf\"} 1\n") !=
        std::string::npos);
  // Every sample line is "name{labels} value" or "name value" with a numeric value.
  std::istringstream lines(m.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    INFO(line);
    CHECK(std::regex_match(line, std::regex(R"([a-z_][a-z0-9_]*(\{.*\})? [0-9.e+-]+)")));
  }
}

TEST_CASE("orders: post, get, fill, trades, accounts, cancel, replay, other chain") {
  NodeFixture f;
  Api api(f);
  const uint64_t inst = 1;

  // A resting sell from dev 0.
  SignedOrder ask = f.signed_order(0, f.order(0, inst, false, 2 * kContract, 150 * kUsdc, 1));
  auto r = api.post("/v1/orders", order_body(ask));
  INFO(r.body);
  REQUIRE(r.status == 200);
  json ack = json::parse(r.body);
  CHECK(ack["orderHash"] == order_hash(f.domain(), ask.order).hex());
  CHECK(ack["status"] == "open");
  CHECK(ack["filled"] == "0");
  CHECK(ack["tradeIds"].empty());

  json got = api.get("/v1/orders/" + ack["orderHash"].get<std::string>());
  CHECK(got["orderHash"] == ack["orderHash"]);
  CHECK(got["order"] == api::order_to_json(ask.order));
  CHECK(got["order"]["account"] == to_checksum(dev_addr(0)));
  CHECK(got["order"]["quantity"] == "2000000");
  CHECK(got["order"]["limitPrice"] == "150000000");
  CHECK(got["status"] == "open");
  CHECK(got["filled"] == "0");
  CHECK(got["createdAt"].is_number_unsigned());

  json book = api.get("/v1/orderbook/1");
  REQUIRE(book["asks"].size() == 1);
  CHECK(book["asks"][0]["price"] == "150000000");
  CHECK(book["asks"][0]["quantity"] == "2000000");
  CHECK(book["asks"][0]["orders"] == 1);

  // A crossing buy from dev 1 fills one contract against it.
  SignedOrder bid = f.signed_order(1, f.order(1, inst, true, 1 * kContract, 160 * kUsdc, 2));
  r = api.post("/v1/orders", order_body(bid));
  INFO(r.body);
  REQUIRE(r.status == 200);
  json fill = json::parse(r.body);
  CHECK(fill["status"] == "filled");
  CHECK(fill["filled"] == "1000000");
  REQUIRE(fill["tradeIds"].size() == 1);

  json trades = api.get("/v1/trades?instrument=1&limit=10")["trades"];
  REQUIRE(trades.size() == 1);
  CHECK(trades[0]["id"] == fill["tradeIds"][0]);
  CHECK(trades[0]["price"] == "150000000");
  CHECK(trades[0]["quantity"] == "1000000");
  CHECK(trades[0]["side"] == "buy");
  CHECK(trades[0]["maker"] == to_checksum(dev_addr(0)));
  CHECK(is_checksummed(trades[0]["taker"]));
  CHECK(trades[0]["taker"] == to_checksum(dev_addr(1)));
  CHECK(trades[0]["makerOrder"] == ack["orderHash"]);
  CHECK(api.get("/v1/trades")["trades"].size() == 1);
  CHECK(api.get("/v1/trades?instrument=&limit=")["trades"].size() == 1);  // the template form
  CHECK(api.get("/v1/trades?instrument=2")["trades"].empty());

  got = api.get("/v1/orders/" + ack["orderHash"].get<std::string>());
  CHECK(got["status"] == "open");
  CHECK(got["filled"] == "1000000");
  // The hand-written text of the hot path equals the DOM form byte for byte.
  node::BookView view{7, {{100, 2, 1}, {99, 18446744073709551615ULL, 4000000000U}}, {{101, 5, 2}}, 42};
  CHECK(api::book_json_text(view) == api::book_to_json(view).dump());
  CHECK(api::book_json_text(node::BookView{}) == api::book_to_json(node::BookView{}).dump());
  CHECK(api.call("GET", "/v1/orderbook/1").body == api::book_to_json(*f.node().book(1, 50)).dump());
  book = api.get("/v1/orderbook/1?depth=5");
  REQUIRE(book["asks"].size() == 1);
  CHECK(book["asks"][0]["quantity"] == "1000000");

  json buyer = api.get("/v1/accounts/" + to_checksum(dev_addr(1)));
  REQUIRE(buyer["positions"].size() == 1);
  CHECK(buyer["positions"][0]["instrument"] == 1);
  CHECK(buyer["positions"][0]["qty"] == "1000000");
  CHECK(is_decimal_string(buyer["positions"][0]["mark"]));
  CHECK(is_decimal_string(buyer["equity"]));
  CHECK(is_decimal_string(buyer["initialMargin"]));
  CHECK(is_decimal_string(buyer["maintenanceMargin"]));
  json seller = api.get("/v1/accounts/" + to_checksum(dev_addr(0)));
  REQUIRE(seller["positions"].size() == 1);
  CHECK(seller["positions"][0]["qty"] == "-1000000");
  CHECK(seller["initialMargin"] != "0");  // a short option carries margin

  json mine = api.get("/v1/orders?account=" + to_checksum(dev_addr(1)) + "&status=filled")["orders"];
  REQUIRE(mine.size() == 1);
  CHECK(mine[0]["orderHash"] == fill["orderHash"]);
  CHECK(api.get("/v1/orders?account=" + to_checksum(dev_addr(1)) + "&status=open")["orders"].empty());
  CHECK(api.get("/v1/orders?account=" + to_checksum(dev_addr(0)))["orders"].size() == 1);

  // Replays: the same filled order again, and the resting one again.
  Snapshot before = snapshot(f);
  for (const SignedOrder* o : {&bid, &ask}) {
    auto again = api.post("/v1/orders", order_body(*o));
    INFO(again.body);
    CHECK(again.status == 422);
    std::string code = error_code(again);
    CHECK((code == "duplicate_order" || code == "order_replayed"));
  }
  CHECK(snapshot(f) == before);

  // Signed for another chain id: the signature recovers to another address.
  {
    Eip712Domain other{"optrollup", "1", 1, f.genesis().params.rollup_address};
    Order o = f.order(2, inst, true, kContract, 100 * kUsdc, 77);
    SignedOrder s{o, *sign(typed_digest(other.separator(), o), dev_key(2))};
    check_refused(api.post("/v1/orders", order_body(s)), 422, "signer_mismatch", "other chain id");
    // ...and for another verifying contract.
    Eip712Domain other_contract{"optrollup", "1", 777001, dev_addr(3)};
    s.sig = *sign(typed_digest(other_contract.separator(), o), dev_key(2));
    check_refused(api.post("/v1/orders", order_body(s)), 422, "signer_mismatch", "other contract");
    CHECK(snapshot(f) == before);
  }

  // Cancel the rest of the ask: its owner may, nobody else.
  OrderHash ask_hash = order_hash(f.domain(), ask.order);
  check_refused(api.post("/v1/cancels", cancel_body(f, 0, ask_hash, 2)), 422, "signer_mismatch",
                "cancel signed by another key");
  CHECK(snapshot(f) == before);
  r = api.post("/v1/cancels", cancel_body(f, 0, ask_hash));
  INFO(r.body);
  REQUIRE(r.status == 200);
  json cancelled = json::parse(r.body);
  CHECK(cancelled["orderHash"] == ask_hash.hex());
  CHECK(cancelled["status"] == "cancelled");
  CHECK(api.get("/v1/orders/" + ask_hash.hex())["status"] == "cancelled");
  CHECK(api.get("/v1/orderbook/1")["asks"].empty());
  CHECK(api.get("/v1/orders?account=" + to_checksum(dev_addr(0)) + "&status=cancelled")["orders"].size() == 1);
  // Cancelled: posting it again is a replay.
  CHECK(api.post("/v1/orders", order_body(ask)).status == 422);

  // Unknown order: 404.
  check_refused(api.call("GET", "/v1/orders/0x" + std::string(64, '7')), 404, "unknown_order", "unknown order");
}

TEST_CASE("withdrawals and batches") {
  NodeFixture f;
  Api api(f);
  const std::string who = to_checksum(dev_addr(2));

  Snapshot before = snapshot(f);
  check_refused(api.post("/v1/withdrawals", withdraw_body(f, 2, 10 * kUsdc, 5)), 422, "bad_nonce", "wrong nonce");
  check_refused(api.post("/v1/withdrawals", withdraw_body(f, 2, 1'000'000 * kUsdc, 0)), 422, "insufficient_collateral",
                "above the collateral");
  CHECK(snapshot(f) == before);

  auto r = api.post("/v1/withdrawals", withdraw_body(f, 2, 250 * kUsdc, 0));
  INFO(r.body);
  REQUIRE(r.status == 200);
  json w = json::parse(r.body);
  CHECK(w["index"] == 0);
  CHECK(w["account"] == who);
  CHECK(w["recipient"] == who);
  CHECK(w["amount"] == "250000000");
  CHECK(w["status"] == "pending");
  CHECK(api.get("/v1/accounts/" + who)["nonce"] == "1");
  CHECK(api.get("/v1/accounts/" + who)["collateral"] == std::to_string(100'000 * kUsdc - 250 * kUsdc));
  // The same signed withdrawal again: its nonce is spent.
  check_refused(api.post("/v1/withdrawals", withdraw_body(f, 2, 250 * kUsdc, 0)), 422, "bad_nonce",
                "replayed withdrawal");

  json list = api.get("/v1/withdrawals/" + who)["withdrawals"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["index"] == 0);
  CHECK(list[0]["status"] == "pending");
  CHECK_FALSE(list[0].contains("proof"));
  CHECK(api.get("/v1/withdrawals/" + to_checksum(dev_addr(3)))["withdrawals"].empty());

  // Its batch closes and reaches the L1, then the challenge period passes: final, with a proof.
  NodeFixture::wait_for(
      [&] {
        auto s = f.node().stats();
        return s.pending_txs == 0 && s.batches_closed > 0 && s.batches_posted == s.batches_closed;
      },
      "every closed batch is posted");
  auto last_advance = std::chrono::steady_clock::now();
  f.advance_l1(61);
  NodeFixture::wait_for(
      [&] {
        if (api.get("/v1/withdrawals/" + who)["withdrawals"][0]["status"] == "final") return true;
        // A batch posted after the clock moved needs its own challenge period.
        if (std::chrono::steady_clock::now() - last_advance > 2s) {
          f.advance_l1(61);
          last_advance = std::chrono::steady_clock::now();
        }
        return false;
      },
      "the withdrawal is final");
  json fin = api.get("/v1/withdrawals/" + who)["withdrawals"][0];
  CHECK(fin["proofBatch"].is_number_unsigned());
  REQUIRE(fin["proof"].is_string());
  CHECK(fin["proof"].get<std::string>().rfind("0x", 0) == 0);
  CHECK(fin["proof"].get<std::string>().size() > 2);

  json batches = api.get("/v1/batches?from=0&limit=10")["batches"];
  REQUIRE(!batches.empty());
  json b0 = batches[0];
  CHECK(b0["index"] == 0);
  CHECK(is_hex32(b0["prevRoot"]));
  CHECK(b0["prevRoot"] == f.genesis().root().hex());
  CHECK(is_hex32(b0["postRoot"]));
  CHECK(is_hex32(b0["txDataRoot"]));
  CHECK(b0["txCount"].is_number_unsigned());
  CHECK(b0["status"] == "final");
  CHECK(b0["l1Block"].is_number_unsigned());
  CHECK(b0["postedAt"].is_number_unsigned());
  CHECK(b0["games"].empty());
  CHECK(api.get("/v1/batches/0") == b0);
  check_refused(api.call("GET", "/v1/batches/999999"), 404, "unknown_batch", "unknown batch");
  CHECK(api.get("/v1/batches?from=999999")["batches"].empty());
}

TEST_CASE("bad input: every class is a 4xx with the error shape and changes nothing") {
  NodeFixture f;
  Api api(f);
  const Hash32& dom = f.domain();
  SignedOrder good = f.signed_order(0, f.order(0, 1, true, kContract, 50 * kUsdc, 9));
  const json ob = order_body(good);
  Snapshot before = snapshot(f);

  struct Case {
    std::string what;
    std::string body;
    int status;
    std::string code;
  };
  auto with = [&](const std::function<void(json&)>& edit) {
    json b = ob;
    edit(b);
    return b.dump();
  };
  std::string twin = high_s_twin(good.sig);
  std::vector<Case> order_cases = {
      {"empty body", "", 400, "bad_json"},
      {"truncated JSON", "{\"order\": {", 400, "bad_json"},
      {"not JSON", "order=1", 400, "bad_json"},
      {"array body", "[]", 400, "bad_field"},
      {"deep nesting", "{\"order\":" + std::string(100, '[') + std::string(100, ']') + "}", 400, "bad_json"},
      {"number beyond a double", "{\"order\": 4e45054}", 400, "bad_json"},  // found by fuzz_api_json
      {"missing order", with([](json& b) { b.erase("order"); }), 400, "missing_field"},
      {"missing signature", with([](json& b) { b.erase("signature"); }), 400, "missing_field"},
      {"missing nonce", with([](json& b) { b["order"].erase("nonce"); }), 400, "missing_field"},
      {"missing flags", with([](json& b) { b["order"].erase("flags"); }), 400, "missing_field"},
      {"unknown top-level field", with([](json& b) { b["extra"] = 1; }), 400, "unknown_field"},
      {"unknown order field", with([](json& b) { b["order"]["limitprice"] = "1"; }), 400, "unknown_field"},
      {"order not an object", with([](json& b) { b["order"] = "x"; }), 400, "bad_field"},
      {"isBuy as string", with([](json& b) { b["order"]["isBuy"] = "true"; }), 400, "bad_field"},
      {"isBuy as number", with([](json& b) { b["order"]["isBuy"] = 1; }), 400, "bad_field"},
      {"quantity as bool", with([](json& b) { b["order"]["quantity"] = true; }), 400, "bad_field"},
      {"quantity as null", with([](json& b) { b["order"]["quantity"] = nullptr; }), 400, "bad_field"},
      {"quantity fraction", with([](json& b) { b["order"]["quantity"] = 1.5; }), 400, "bad_field"},
      {"quantity not digits", with([](json& b) { b["order"]["quantity"] = "12a"; }), 400, "bad_field"},
      {"quantity decimal point", with([](json& b) { b["order"]["quantity"] = "1.0"; }), 400, "bad_field"},
      {"quantity empty string", with([](json& b) { b["order"]["quantity"] = ""; }), 400, "bad_field"},
      {"quantity negative", with([](json& b) { b["order"]["quantity"] = -1; }), 400, "out_of_range"},
      {"quantity negative string", with([](json& b) { b["order"]["quantity"] = "-1"; }), 400, "out_of_range"},
      {"quantity above 2^53 as number", with([](json& b) { b["order"]["quantity"] = 9007199254740993ULL; }), 400,
       "out_of_range"},
      {"quantity above 2^64", with([](json& b) { b["order"]["quantity"] = "18446744073709551616"; }), 400,
       "out_of_range"},
      {"nonce huge float", with([](json& b) { b["order"]["nonce"] = 1e300; }), 400, "out_of_range"},
      {"flags above 255", with([](json& b) { b["order"]["flags"] = 256; }), 400, "out_of_range"},
      {"unknown flag bits", with([](json& b) { b["order"]["flags"] = 16; }), 400, "bad_flags"},
      {"account too short", with([](json& b) { b["order"]["account"] = "0x1234"; }), 400, "bad_address"},
      {"account bad checksum",
       with([](json& b) { b["order"]["account"] = "0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266"; }), 400, "bad_address"},
      {"account as number", with([](json& b) { b["order"]["account"] = 5; }), 400, "bad_field"},
      {"signature not hex", with([](json& b) { b["signature"] = "0x" + std::string(130, 'z'); }), 400, "bad_hex"},
      {"signature without 0x", with([&](json& b) { b["signature"] = good.sig.hex().substr(2); }), 400, "bad_hex"},
      {"signature odd length", with([&](json& b) { b["signature"] = good.sig.hex() + "0"; }), 400, "bad_hex"},
      {"signature 64 bytes", with([&](json& b) { b["signature"] = good.sig.hex().substr(0, 130); }), 400,
       "bad_signature"},
      {"signature v = 29", with([&](json& b) { b["signature"] = good.sig.hex().substr(0, 130) + "1d"; }), 400,
       "bad_signature"},
      {"signature r = 0",
       with([&](json& b) { b["signature"] = "0x" + std::string(64, '0') + good.sig.hex().substr(66); }), 400,
       "bad_signature"},
      {"high-s twin", with([&](json& b) { b["signature"] = twin; }), 400, "high_s_signature"},
      {"zero quantity (re-signed)",
       [&] {
         Order o = good.order;
         o.quantity = 0;
         return order_body(f.signed_order(0, o)).dump();
       }(),
       400, "zero_amount"},
      {"field edited after signing", with([](json& b) { b["order"]["limitPrice"] = "51000000"; }), 422,
       "signer_mismatch"},
      {"signed by another key",
       [&] {
         return order_body(SignedOrder{good.order, *sign(typed_digest(dom, good.order), dev_key(3))}).dump();
       }(),
       422, "signer_mismatch"},
      {"unknown instrument",
       [&] {
         Order o = good.order;
         o.instrument = 999;
         return order_body(f.signed_order(0, o)).dump();
       }(),
       422, "unknown_instrument"},
      {"expired order",
       [&] {
         Order o = good.order;
         o.expiry = wall_s() - 10;
         return order_body(f.signed_order(0, o)).dump();
       }(),
       422, "order_expired"},
      {"maxFee below the fee",
       [&] {
         Order o = good.order;
         o.max_fee = 0;
         return order_body(f.signed_order(0, o)).dump();
       }(),
       422, "fee_above_max"},
      {"far beyond margin",
       [&] {
         Order o = f.order(0, 1, false, 1'000'000 * kContract, 1, 10);  // selling a million calls for nothing
         return order_body(f.signed_order(0, o)).dump();
       }(),
       422, "insufficient_margin"},
  };
  for (const auto& c : order_cases)
    check_refused(api.call("POST", "/v1/orders", c.body), c.status, c.code, "order: " + c.what);

  // An unsigned number within 2^53 and decimal strings are both fine: the good body with integers is accepted
  // below, after every refusal has been checked for no change.
  CHECK(snapshot(f) == before);

  OrderHash h = order_hash(dom, good.order);
  json cb = cancel_body(f, 0, h);
  auto cwith = [&](const std::function<void(json&)>& edit) {
    json b = cb;
    edit(b);
    return b.dump();
  };
  std::vector<Case> cancel_cases = {
      {"empty", "", 400, "bad_json"},
      {"missing cancel", cwith([](json& b) { b.erase("cancel"); }), 400, "missing_field"},
      {"missing orderHash", cwith([](json& b) { b["cancel"].erase("orderHash"); }), 400, "missing_field"},
      {"unknown field", cwith([](json& b) { b["cancel"]["order"] = "x"; }), 400, "unknown_field"},
      {"orderHash not hex", cwith([](json& b) { b["cancel"]["orderHash"] = "0x" + std::string(64, 'g'); }), 400,
       "bad_hex"},
      {"orderHash short", cwith([](json& b) { b["cancel"]["orderHash"] = "0x1234"; }), 400, "bad_hex"},
      {"orderHash as number", cwith([](json& b) { b["cancel"]["orderHash"] = 7; }), 400, "bad_field"},
      {"bad account", cwith([](json& b) { b["cancel"]["account"] = "0xzz"; }), 400, "bad_address"},
      {"high-s", cwith([&](json& b) {
         Signature s = *Signature::from_hex(b["signature"].get<std::string>(), true);
         b["signature"] = high_s_twin(s);
       }),
       400, "high_s_signature"},
      {"wrong signer", cancel_body(f, 0, h, 1).dump(), 422, "signer_mismatch"},
  };
  for (const auto& c : cancel_cases)
    check_refused(api.call("POST", "/v1/cancels", c.body), c.status, c.code, "cancel: " + c.what);

  json wb = withdraw_body(f, 0, 10 * kUsdc, 0);
  auto wwith = [&](const std::function<void(json&)>& edit) {
    json b = wb;
    edit(b);
    return b.dump();
  };
  std::vector<Case> withdraw_cases = {
      {"bad JSON", "{", 400, "bad_json"},
      {"missing withdraw", wwith([](json& b) { b.erase("withdraw"); }), 400, "missing_field"},
      {"missing amount", wwith([](json& b) { b["withdraw"].erase("amount"); }), 400, "missing_field"},
      {"unknown field", wwith([](json& b) { b["withdraw"]["memo"] = "hi"; }), 400, "unknown_field"},
      {"amount not digits", wwith([](json& b) { b["withdraw"]["amount"] = "ten"; }), 400, "bad_field"},
      {"amount negative", wwith([](json& b) { b["withdraw"]["amount"] = -5; }), 400, "out_of_range"},
      {"bad recipient", wwith([](json& b) { b["withdraw"]["recipient"] = "0x12"; }), 400, "bad_address"},
      {"signature bad hex", wwith([](json& b) { b["signature"] = "0xnothex"; }), 400, "bad_hex"},
      {"zero amount (re-signed)", withdraw_body(f, 0, 0, 0).dump(), 400, "zero_amount"},
      {"edited after signing", wwith([](json& b) { b["withdraw"]["amount"] = "11000000"; }), 422, "signer_mismatch"},
      {"wrong nonce", withdraw_body(f, 0, 10 * kUsdc, 3).dump(), 422, "bad_nonce"},
  };
  for (const auto& c : withdraw_cases)
    check_refused(api.call("POST", "/v1/withdrawals", c.body), c.status, c.code, "withdraw: " + c.what);

  check_refused(api.call("POST", "/v1/orders?dry=1", ob.dump()), 400, "unknown_parameter", "query on a POST");

  // Oversized bodies: 413 before any parsing.
  std::string big = "{\"order\":\"" + std::string(70 * 1024, 'x') + "\"}";
  for (const char* path : {"/v1/orders", "/v1/cancels", "/v1/withdrawals"})
    check_refused(api.call("POST", path, big), 413, "body_too_large", path);

  // GET parameters.
  const std::string a0 = to_checksum(dev_addr(0));
  struct GetCase {
    std::string target;
    int status;
    std::string code;
  };
  std::vector<GetCase> get_cases = {
      {"/v1/accounts/0x1234", 400, "bad_address"},
      {"/v1/accounts/0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", 400, "bad_address"},
      {"/v1/accounts/hello", 400, "bad_address"},
      {"/v1/accounts/" + a0 + "?x=1", 400, "unknown_parameter"},
      {"/v1/withdrawals/0x12", 400, "bad_address"},
      {"/v1/orders/0x1234", 400, "bad_hash"},
      {"/v1/orders/" + std::string(64, 'a'), 400, "bad_hash"},
      {"/v1/orders/0x" + std::string(64, 'z'), 400, "bad_hash"},
      {"/v1/orders", 400, "missing_parameter"},
      {"/v1/orders?account=0x12", 400, "bad_address"},
      {"/v1/orders?account=" + a0 + "&status=bogus", 400, "bad_parameter"},
      {"/v1/orders?account=" + a0 + "&limit=0", 400, "bad_parameter"},
      {"/v1/orders?account=" + a0 + "&limit=1000000", 400, "bad_parameter"},
      {"/v1/orders?account=" + a0 + "&limit=-1", 400, "bad_parameter"},
      {"/v1/orders?acount=" + a0, 400, "unknown_parameter"},
      {"/v1/orderbook/abc", 400, "bad_parameter"},
      {"/v1/orderbook/-1", 400, "bad_parameter"},
      {"/v1/orderbook/99999999999999999999999", 400, "bad_parameter"},
      {"/v1/orderbook/999", 404, "unknown_instrument"},
      {"/v1/orderbook/1?depth=0", 400, "bad_parameter"},
      {"/v1/orderbook/1?depth=x", 400, "bad_parameter"},
      {"/v1/instruments/77", 404, "unknown_instrument"},
      {"/v1/instruments?status=bogus", 400, "bad_parameter"},
      {"/v1/trades?limit=abc", 400, "bad_parameter"},
      {"/v1/trades?limit=0", 400, "bad_parameter"},
      {"/v1/trades?instrument=999", 404, "unknown_instrument"},
      {"/v1/trades?instrument=1.5", 400, "bad_parameter"},
      {"/v1/batches?from=-1", 400, "bad_parameter"},
      {"/v1/batches?limit=100000", 400, "bad_parameter"},
      {"/v1/batches/abc", 400, "bad_parameter"},
      {"/v1/batches/%zz", 400, "bad_request"},
      {"/v1/nothing", 404, "not_found"},
  };
  for (const auto& c : get_cases) check_refused(api.call("GET", c.target), c.status, c.code, "GET " + c.target);
  check_refused(api.call("POST", "/v1/health"), 405, "method_not_allowed", "POST /v1/health");
  check_refused(api.call("DELETE", "/v1/orders"), 405, "method_not_allowed", "DELETE /v1/orders");

  CHECK(snapshot(f) == before);
  CHECK(f.node().orders(dev_addr(0), std::nullopt, 100).empty());

  // The refusals are counted by route and status class.
  auto m = api.call("GET", "/metrics").body;
  CHECK(m.find("optrollup_http_requests_total{method=\"POST\",route=\"/v1/orders\",code=\"4xx\"} " +
               std::to_string(order_cases.size() + 2) + "\n") != std::string::npos);
  CHECK(m.find("optrollup_http_requests_total{method=\"POST\",route=\"/v1/orders\",code=\"5xx\"} 0\n") !=
        std::string::npos);

  // And the good order, with its integers as JSON numbers, is accepted.
  json numeric = ob;
  for (const char* k : {"quantity", "limitPrice", "maxFee", "nonce"})
    numeric["order"][k] = std::stoull(numeric["order"][k].get<std::string>());
  numeric["order"]["account"] = to_hex(dev_addr(0).view());  // lower case
  auto r = api.post("/v1/orders", numeric);
  INFO(r.body);
  CHECK(r.status == 200);
  CHECK(json::parse(r.body)["orderHash"] == h.hex());
  // v as 0/1 is accepted too; the order is then a duplicate of the one just accepted.
  json v01 = ob;
  Signature low = good.sig;
  low[64] = static_cast<uint8_t>(low[64] - 27);
  v01["signature"] = low.hex();
  r = api.post("/v1/orders", v01);
  CHECK(r.status == 422);
  CHECK(error_code(r) != "bad_signature");
}

TEST_CASE("WebSocket handler: subscribe, unsubscribe, errors") {
  FixtureOptions fo;
  fo.funded = {0};
  NodeFixture f(fo);
  http::WsHandler ws = api::rollup_ws_handler(f.node());
  http::WsSession s;
  auto send = [&](const json& m) { return json::parse(ws(s, m.dump())); };

  json r = send({{"op", "subscribe"}, {"channel", "orderbook"}, {"instrument", 1}, {"id", 5}});
  CHECK(r["op"] == "subscribed");
  CHECK(r["channel"] == "orderbook");
  CHECK(r["topic"] == "orderbook:1");
  CHECK(r["id"] == 5);
  CHECK(r["snapshot"]["instrument"] == 1);
  CHECK(r["snapshot"]["bids"].is_array());
  CHECK(s.subscriptions == std::vector<std::string>{"orderbook:1"});

  r = send({{"op", "subscribe"}, {"channel", "trades"}});
  CHECK(r["topic"] == "trades");
  r = send({{"op", "subscribe"}, {"channel", "trades"}, {"instrument", "2"}});
  CHECK(r["topic"] == "trades:2");
  r = send({{"op", "subscribe"}, {"channel", "batches"}});
  CHECK(r["topic"] == "batches");
  r = send({{"op", "subscribe"}, {"channel", "account"}, {"address", to_checksum(dev_addr(0))}});
  CHECK(r["topic"] == "account:" + to_hex(dev_addr(0).view()));
  CHECK(r["snapshot"]["collateral"] == std::to_string(100'000 * kUsdc));
  CHECK(s.subscriptions.size() == 5);
  send({{"op", "subscribe"}, {"channel", "batches"}});  // idempotent
  CHECK(s.subscriptions.size() == 5);

  r = send({{"op", "unsubscribe"}, {"channel", "trades"}, {"instrument", 2}});
  CHECK(r["op"] == "unsubscribed");
  CHECK(s.subscriptions.size() == 4);
  CHECK(send({{"op", "ping"}})["op"] == "pong");

  auto error_of = [&](const std::string& text) {
    json e = json::parse(ws(s, text));
    CHECK(e["op"] == "error");
    return e["error"]["code"].get<std::string>();
  };
  CHECK(error_of("not json") == "bad_json");
  {
    // The reason in words, as over HTTP; not the parser's internal exception text.
    json e = json::parse(ws(s, "not json"));
    std::string message = e["error"]["message"].get<std::string>();
    CHECK(message.rfind("malformed JSON: ", 0) == 0);
    CHECK(message.find("json.exception") == std::string::npos);
    CHECK(message.find('[') == std::string::npos);
  }
  CHECK(error_of("[1]") == "bad_field");
  CHECK(error_of(R"({"channel":"trades"})") == "missing_field");
  CHECK(error_of(R"({"op":"dance"})") == "unknown_op");
  CHECK(error_of(R"({"op":"subscribe"})") == "missing_field");
  CHECK(error_of(R"({"op":"subscribe","channel":"weather"})") == "unknown_channel");
  CHECK(error_of(R"({"op":"subscribe","channel":"orderbook"})") == "missing_field");
  CHECK(error_of(R"({"op":"subscribe","channel":"orderbook","instrument":999})") == "unknown_instrument");
  CHECK(error_of(R"({"op":"subscribe","channel":"orderbook","instrument":"x"})") == "bad_field");
  CHECK(error_of(R"({"op":"subscribe","channel":"account","address":"0x12"})") == "bad_address");
  CHECK(error_of(R"({"op":"subscribe","channel":"batches","instrument":1})") == "unknown_field");
  CHECK(error_of(R"({"op":"subscribe","channel":"batches","colour":1})") == "unknown_field");
  CHECK(s.subscriptions.size() == 4);

  for (uint64_t i = 0; s.subscriptions.size() < api::kMaxSubscriptionsPerSession; ++i)
    send({{"op", "subscribe"},
          {"channel", "account"},
          {"address", to_hex(ByteView(keccak256(std::string_view(std::to_string(i))).data(), 20))}});
  CHECK(error_of(R"({"op":"subscribe","channel":"trades","instrument":3})") == "too_many_subscriptions");
}

TEST_CASE("loopback: HTTP + WebSocket: order book delta and account update") {
  NodeFixture f;
  auto router = std::make_shared<http::Router>();
  api::RollupApiOptions opts;
  std::unique_ptr<http::Server> server;
  opts.extra_metrics = [&server] { return server ? api::server_metrics_text(*server) : std::string(); };
  api::add_rollup_routes(*router, f.node(), opts);
  http::ServerOptions so = api::rollup_server_options(opts, "127.0.0.1", 0);
  so.threads = 8;
  server = std::make_unique<http::Server>(so, router);
  server->set_websocket("/v1/ws", api::rollup_ws_handler(f.node()));
  server->start();
  api::attach_publisher(f.node(), *server);

  http::WsClient ws("127.0.0.1", server->port(), "/v1/ws");
  auto next = [&](const std::function<bool(const json&)>& want) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = ws.receive(200ms);
      if (!m) continue;
      json j = json::parse(*m);
      if (want(j)) return j;
    }
    FAIL("no wanted WebSocket message within 10 s");
    return json();
  };
  ws.send(R"({"op":"subscribe","channel":"orderbook","instrument":1})");
  json sub = next([](const json& j) { return j.value("op", "") == "subscribed"; });
  CHECK(sub["topic"] == "orderbook:1");
  CHECK(sub["snapshot"]["asks"].empty());
  ws.send(json{{"op", "subscribe"}, {"channel", "account"}, {"address", to_checksum(dev_addr(1))}}.dump());
  json asub = next([](const json& j) { return j.value("op", "") == "subscribed"; });
  CHECK(asub["topic"] == "account:" + to_hex(dev_addr(1).view()));

  http::Client client("http://127.0.0.1:" + std::to_string(server->port()));
  SignedOrder ask = f.signed_order(0, f.order(0, 1, false, kContract, 120 * kUsdc, 1));
  auto r = client.post("/v1/orders", order_body(ask));
  INFO(r.body);
  REQUIRE(r.status == 200);
  json delta = next([](const json& j) { return j.value("channel", "") == "orderbook:1"; });
  CHECK(delta["data"]["instrument"] == 1);
  REQUIRE(delta["data"]["asks"].size() == 1);
  CHECK(delta["data"]["asks"][0]["price"] == "120000000");
  CHECK(delta["data"]["asks"][0]["quantity"] == "1000000");
  CHECK(delta["data"]["sequence"].get<uint64_t>() > sub["snapshot"]["sequence"].get<uint64_t>());

  // dev 1 buys it: its account channel sees the new position.
  SignedOrder bid = f.signed_order(1, f.order(1, 1, true, kContract, 120 * kUsdc, 2));
  r = client.post("/v1/orders", order_body(bid));
  REQUIRE(r.status == 200);
  json acc = next([](const json& j) { return j.value("channel", "").rfind("account:", 0) == 0; });
  CHECK(acc["channel"] == "account:" + to_hex(dev_addr(1).view()));
  CHECK(acc["data"]["address"] == to_checksum(dev_addr(1)));
  REQUIRE(acc["data"]["positions"].size() == 1);
  CHECK(acc["data"]["positions"][0]["qty"] == "1000000");

  // Errors over the wire keep the error shape; /metrics includes the server gauges.
  auto bad = client.post("/v1/orders", json{{"order", 1}});
  CHECK(bad.status == 400);
  CHECK(error_code(bad) == "bad_field");
  auto m = client.get("/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("optrollup_websocket_sessions 1\n") != std::string::npos);

  f.node().set_event_sink(nullptr);
  ws.close();
  server->stop();
}
