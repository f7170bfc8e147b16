// The L1 HTTP API: handlers through the Router without sockets (shapes, validation, status codes, no state
// change on refusal), then the same over loopback with L1Service and the typed L1Client.
#include <set>
#include <thread>

#include "bridge/api.h"
#include "bridge/service.h"
#include "engine/core/merkle.h"
#include "engine/state/smt.h"
#include "engine/stf/leaves.h"
#include "tests/bridge/bridge_fixture.h"

namespace opt::l1::test {

namespace {

struct Api {
  Fixture f;
  http::Router router;
  Api() { add_l1_routes(router, *f.chain); }

  http::Response call(const std::string& method, const std::string& target, const std::string& body = "") {
    http::Request req;
    req.method = method;
    req.target = target;
    req.body = body;
    return router.handle(req);
  }
  nlohmann::json get(const std::string& target, int expect = 200) {
    auto r = call("GET", target);
    CHECK_MESSAGE(r.status == expect, target << " -> " << r.status << " " << r.body);
    return nlohmann::json::parse(r.body);
  }
  std::string error_code(const http::Response& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("error")) return "<no error>";
    return j["error"]["code"].get<std::string>();
  }
  http::Response post_action(const nlohmann::json& j) { return call("POST", "/l1/v1/actions", j.dump()); }
};

}  // namespace

TEST_CASE("API: config, head, accounts") {
  Api api;
  auto c = api.get("/l1/v1/config");
  CHECK(c["chainId"] == 31337);
  CHECK(c["challengePeriodSeconds"] == 60);
  CHECK(c["dissectionDegree"] == 2);
  CHECK(c["l2ChainId"] == 777001);
  CHECK(c["rollupAddress"] == "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  CHECK(c["domain"]["name"] == "optrollup-l1");
  CHECK(c["domain"]["version"] == "1");
  CHECK_FALSE(c["domain"].contains("verifyingContract"));
  CHECK(c["types"]["Deposit"][1]["name"] == "recipient");
  CHECK(c["types"]["PostBatch"][2]["type"] == "bytes32");
  CHECK(c["actions"]["finalize_withdrawal"]["dataField"] == "proofHash");
  CHECK(c["initialBalances"].size() == 10);
  CHECK(c["initialBalances"][0]["usdc"] == "1000000000000");
  CHECK(config_from_json(c).ok());
  CHECK(*config_from_json(c) == api.f.chain->config());

  auto h = api.get("/l1/v1/head");
  CHECK(h["block"] == 0);
  CHECK(h["tipBatch"].is_null());
  CHECK(h["tipRoot"] == root_of(0).hex());
  CHECK(h["lastFinalBatch"].is_null());

  auto a = api.get("/l1/v1/accounts/0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");  // lower case is fine
  CHECK(a["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");             // answered checksummed
  CHECK(a["usdc"] == "1000000000000");
  CHECK(a["bond"] == "10000000000");
  CHECK(a["nonce"] == "0");
  CHECK(a["stake"] == "0");
  auto unknown = api.get("/l1/v1/accounts/0x0000000000000000000000000000000000000001");
  CHECK(unknown["usdc"] == "0");
  CHECK(api.error_code(api.call("GET", "/l1/v1/accounts/0x1234")) == "bad_address");
  CHECK(api.call("GET", "/l1/v1/accounts/0x1234").status == 400);
  CHECK(api.error_code(api.call("GET", "/l1/v1/accounts/0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")) == "bad_address");
  CHECK(api.error_code(api.call("GET", "/l1/v1/accounts/f39fd6e51aad88f6f4ce6ab8827279cfffb92266")) == "bad_address");
  CHECK(api.call("GET", "/l1/v1/nothing").status == 404);
  CHECK(api.call("DELETE", "/l1/v1/head").status == 405);
}

TEST_CASE("API: POST /l1/v1/actions accepts signed actions and refuses bad input with 4xx and no change") {
  Api api;
  Fixture& f = api.f;
  Action a = signed_by(*f.chain, key(1), make_deposit({}, addr(2), 25 * kUsdc, 0));
  auto body = request_to_json(a);
  // Numbers may also be JSON integers.
  body["action"]["amount"] = 25 * kUsdc;
  auto r = api.post_action(body);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["hash"] == a.digest(f.chain->domain_separator()).hex());
  CHECK(j["block"] == 0);
  CHECK(j["index"] == 0);
  CHECK(j["result"]["inboxIndex"] == 0);
  CHECK(api.get("/l1/v1/accounts/" + to_checksum(addr(1)))["nonce"] == "1");

  nlohmann::json before = snapshot(*f.chain);
  Action next = signed_by(*f.chain, key(1), make_deposit({}, addr(2), 5, 0));
  nlohmann::json good = request_to_json(next);
  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  auto mutated = [&](const std::function<void(nlohmann::json&)>& m) {
    auto x = good;
    m(x);
    return x.dump();
  };
  std::vector<Case> cases = {
      {"{not json", 400, "bad_json"},
      {"[]", 400, "bad_request"},
      {"", 400, "bad_json"},
      {mutated([](auto& x) { x["type"] = "mint"; }), 400, "unknown_action"},
      {mutated([](auto& x) { x.erase("type"); }), 400, "bad_request"},
      {mutated([](auto& x) { x["action"]["amount"] = "abc"; }), 400, "bad_field"},
      {mutated([](auto& x) { x["action"]["amount"] = -1; }), 400, "bad_field"},
      {mutated([](auto& x) { x["action"]["amount"] = "99999999999999999999"; }), 400, "bad_field"},
      {mutated([](auto& x) { x["action"]["recipient"] = "0xabc"; }), 400, "bad_field"},
      {mutated([](auto& x) { x["action"].erase("recipient"); }), 400, "bad_field"},
      {mutated([](auto& x) { x["action"]["foo"] = 1; }), 400, "bad_field"},
      {mutated([](auto& x) { x["action"] = "deposit"; }), 400, "bad_field"},
      {mutated([](auto& x) { x["signature"] = "0x00"; }), 400, "bad_signature"},
      {mutated([](auto& x) { x.erase("signature"); }), 400, "bad_signature"},
      {mutated([](auto& x) { x["data"] = "0x0g"; }), 400, "bad_data"},
      {mutated([](auto& x) { x["action"]["amount"] = "6"; }), 422, "wrong_signer"},
      {mutated([](auto& x) { x["action"]["nonce"] = "0"; }), 422, "wrong_signer"},
      {mutated([](auto& x) { x["action"]["amount"] = "0"; }), 422, "wrong_signer"},
  };
  for (const auto& c : cases) {
    auto resp = api.call("POST", "/l1/v1/actions", c.body);
    CHECK_MESSAGE(resp.status == c.status, c.body << " -> " << resp.body);
    CHECK_MESSAGE(api.error_code(resp) == c.code, c.body << " -> " << resp.body);
    CHECK(snapshot(*f.chain) == before);
  }
  // A well-formed action the rules refuse: 422 with the rule's code.
  Action broke = signed_by(*f.chain, key(1), make_deposit({}, addr(2), kGenesisUsdc, 0));
  auto resp = api.post_action(request_to_json(broke));
  CHECK(resp.status == 422);
  CHECK(api.error_code(resp) == "insufficient_funds");
  Action stale = signed_by(*f.chain, key(1), make_deposit({}, addr(2), 1, 0), 0);
  CHECK(api.error_code(api.post_action(request_to_json(stale))) == "bad_nonce");
  CHECK(snapshot(*f.chain) == before);
  CHECK(api.post_action(good).status == 200);
}

TEST_CASE("API: blocks, events, actions, batches, inbox, withdrawals") {
  Api api;
  Fixture& f = api.f;
  f.register_proposer(0, 1000 * kUsdc);
  auto dep = f.deposit(1, 10 * kUsdc);
  SparseMerkleTree tree;
  WithdrawalLeaf w{0, addr(1), addr(1), 4 * kUsdc};
  tree.put(withdrawal_key(0), encode_leaf(w));
  auto frames = some_frames(3);
  f.post_ok(0, frames, tree.root());
  f.advance(60);

  auto latest = api.get("/l1/v1/blocks/latest");
  CHECK(latest["number"] == 1);
  CHECK(latest["sealed"] == false);
  auto b0 = api.get("/l1/v1/blocks/0");
  CHECK(b0["sealed"] == true);
  CHECK(b0["actions"].size() == 3);
  CHECK(b0["actions"][1]["hash"] == dep.hash.hex());
  CHECK(b0["actions"][1]["type"] == "deposit");
  CHECK(b0["actions"][1]["action"]["amount"] == "10000000");
  CHECK(b0["hash"] == latest["parentHash"]);
  CHECK(api.call("GET", "/l1/v1/blocks/9").status == 404);
  CHECK(api.error_code(api.call("GET", "/l1/v1/blocks/-1")) == "bad_parameter");
  CHECK(api.error_code(api.call("GET", "/l1/v1/blocks/1e3")) == "bad_parameter");

  auto ev = api.get("/l1/v1/events?from=0&to=1");
  std::vector<std::string> types;
  for (const auto& e : ev["events"]) types.push_back(e["type"].get<std::string>());
  CHECK(types == std::vector<std::string>{"proposer_registered", "deposit_queued", "batch_posted", "batch_finalized"});
  CHECK(ev["events"][3]["block"] == 1);
  CHECK(ev["events"][3]["index"] == 0);
  CHECK(ev["events"][2]["fields"]["txDataRoot"] == f.chain->batch(0)->tx_data_root.hex());
  CHECK(api.get("/l1/v1/events?from=1")["events"].size() == 1);
  CHECK(api.get("/l1/v1/events?from=0&to=0&limit=1")["more"] == false);  // whole block 0
  CHECK(api.error_code(api.call("GET", "/l1/v1/events?from=2&to=1")) == "bad_parameter");
  CHECK(api.error_code(api.call("GET", "/l1/v1/events?from=x")) == "bad_parameter");
  CHECK(api.error_code(api.call("GET", "/l1/v1/events?limit=0")) == "bad_parameter");

  auto act = api.get("/l1/v1/actions/" + dep.hash.hex());
  CHECK(act["block"] == 0);
  CHECK(act["type"] == "deposit");
  CHECK(api.call("GET", "/l1/v1/actions/" + root_of(5).hex()).status == 404);
  CHECK(api.error_code(api.call("GET", "/l1/v1/actions/0x12")) == "bad_hash");

  auto batch = api.get("/l1/v1/batches/0");
  CHECK(batch["index"] == 0);
  CHECK(batch["status"] == "final");
  CHECK(batch["txCount"] == 3);
  CHECK(batch["inboxFrom"] == 0);
  CHECK(batch["inboxTo"] == 1);
  CHECK(batch["proposer"] == to_checksum(addr(0)));
  CHECK(batch["data"] == to_hex(*f.chain->batch_data(0)));
  CHECK(batch["prevLiveIndex"].is_null());
  CHECK(batch_from_json(batch).ok());
  CHECK(api.call("GET", "/l1/v1/batches/1").status == 404);
  CHECK(api.error_code(api.call("GET", "/l1/v1/batches/abc")) == "bad_parameter");
  auto list = api.get("/l1/v1/batches?from=0&limit=10");
  CHECK(list["batches"].size() == 1);
  CHECK(list["count"] == 1);
  CHECK(api.error_code(api.call("GET", "/l1/v1/batches?limit=5000")) == "bad_parameter");

  auto inbox = api.get("/l1/v1/inbox?from=0");
  CHECK(inbox["length"] == 1);
  CHECK(inbox["messages"][0]["kind"] == "deposit");
  CHECK(inbox["messages"][0]["amount"] == "10000000");
  CHECK(inbox["messages"][0]["l2Tx"] == to_hex(f.chain->inbox(0, 1)[0].l2_tx));
  CHECK(inbox["accumulator"] == f.chain->inbox_accumulator(1).hex());
  CHECK(inbox["messages"][0]["accumulator"] == f.chain->inbox_accumulator(1).hex());
  CHECK(api.get("/l1/v1/inbox?from=5")["messages"].empty());

  CHECK(api.get("/l1/v1/withdrawals/0")["claimed"] == false);
  auto claim =
      signed_by(*f.chain, key(3), make_finalize_withdrawal({}, 0, w, tree.prove(withdrawal_key(0)).encode(), 0));
  auto r = api.post_action(request_to_json(claim));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(api.get("/l1/v1/withdrawals/0")["claimed"] == true);
  CHECK(api.error_code(api.call("GET", "/l1/v1/withdrawals/x")) == "bad_parameter");
  // A forged proof through the API: 422 bad_proof.
  WithdrawalLeaf forged{1, addr(1), addr(1), 4 * kUsdc};
  auto bad =
      signed_by(*f.chain, key(3), make_finalize_withdrawal({}, 0, forged, tree.prove(withdrawal_key(0)).encode(), 0));
  auto br = api.post_action(request_to_json(bad));
  CHECK(br.status == 422);
  CHECK(api.error_code(br) == "bad_proof");
}

TEST_CASE("loopback: L1Service + L1Client sign, submit and read; concurrent submitters") {
  TempDir dir;
  ManualClock clock;
  ServiceOptions o;
  o.db_path = dir.file("l1.sqlite");
  o.port = 0;
  o.open.config = test_config();
  o.open.durable = false;
  o.clock = &clock;
  auto svc = L1Service::start(std::move(o));
  REQUIRE_MESSAGE(svc.ok(), (svc.ok() ? "" : svc.error()));
  L1Client client((*svc)->url());

  auto cfg = client.config();
  REQUIRE(cfg.ok());
  CHECK(cfg->chain_id == 31337);
  auto d = client.deposit(key(1), addr(1), 50 * kUsdc);
  REQUIRE_MESSAGE(d.ok(), why(d));
  CHECK(d->result["inboxIndex"] == 0);
  CHECK(client.account(addr(1))->nonce == 1);
  CHECK(client.account(addr(1))->usdc == kGenesisUsdc - 50 * kUsdc);
  REQUIRE(client.register_proposer(key(0), 1000 * kUsdc).ok());
  REQUIRE(client.forced_withdraw(key(2), 3).ok());

  auto inbox = client.inbox(0);
  REQUIRE(inbox.ok());
  CHECK(inbox->length == 2);
  CHECK(inbox->messages[1].kind == InboxKind::kForcedWithdraw);
  auto head = client.head();
  REQUIRE(head.ok());
  PostBatchArgs args{head->next_batch_index, head->tip_root, root_of(1), 2, 2, inbox->accumulator, head->timestamp};
  auto frames = some_frames(2);
  auto p = client.post_batch(key(0), args, compress_batch(frames));
  REQUIRE_MESSAGE(p.ok(), why(p));
  Bytes data;
  auto b = client.batch(0, &data);
  REQUIRE(b.ok());
  CHECK(b->tx_data_root == tx_data_root(frames));
  CHECK(*zstd_decompress(data) == encode_batch(frames));
  CHECK(client.batches(0)->size() == 1);

  // Errors come back as values with the API's code.
  auto refused = client.deposit(key(3), addr(3), kGenesisUsdc * 2);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().status == 422);
  CHECK(refused.error().code == "insufficient_funds");
  CHECK(refused.error().refusal() == RefusalCode::kInsufficientFunds);
  auto found = client.find_action(d->hash);
  REQUIRE(found.ok());
  CHECK(found->has_value());
  CHECK(!client.find_action(root_of(9))->has_value());

  // Blocks advance with the (manual) clock through the service's timer thread.
  clock.advance_s(61);
  for (int i = 0; i < 200 && client.head()->block == head->block; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(client.head()->block > head->block);
  CHECK(client.head()->last_final_batch == 0);
  auto events = client.events(0);
  REQUIRE(events.ok());
  CHECK(events->events.back().type == "batch_finalized");

  // Concurrent submitters, one key each: every acknowledged deposit is in the state.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (size_t t = 4; t < 8; ++t) {
    threads.emplace_back([&, t] {
      L1Client c((*svc)->url());
      for (int i = 0; i < 10; ++i)
        if (c.deposit(key(t), addr(t), 1000 + i).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 40);
  for (size_t t = 4; t < 8; ++t) CHECK(client.account(addr(t))->nonce == 10);
  CHECK(client.inbox(0, 1000)->length == 42);

  (*svc)->stop();
  L1Client dead((*svc)->url(), std::chrono::milliseconds(500));
  auto down = dead.head();
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().status == 0);
}

}  // namespace opt::l1::test

namespace opt::l1::test {

TEST_CASE("refusal codes: one wire code each, and one status each") {
  std::set<std::string> seen;
  for (size_t i = 0; i < kRefusalCodeCount; ++i) {
    const auto c = static_cast<RefusalCode>(i);
    const int status = http_status(c);
    CAPTURE(i);
    CHECK((status == 400 || status == 404 || status == 422 || status == 500 || status == 503));
    if (c == RefusalCode::kExtension || c == RefusalCode::kExtensionNotFound) continue;
    const std::string wire = to_string(c);
    CAPTURE(wire);
    CHECK(seen.insert(wire).second);
    CHECK(refusal_code(wire) == c);
    CHECK(wire.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
  }
  CHECK_FALSE(refusal_code("not_a_code").has_value());
  CHECK_FALSE(refusal_code("extension").has_value());
  // The statuses clients have always seen.
  for (auto c : {RefusalCode::kBadRequest, RefusalCode::kBadJson, RefusalCode::kUnknownAction, RefusalCode::kBadField,
                 RefusalCode::kBadSignature, RefusalCode::kBadData, RefusalCode::kBadParameter})
    CHECK(http_status(c) == 400);
  CHECK(http_status(RefusalCode::kNotFound) == 404);
  CHECK(http_status(RefusalCode::kInsufficientFunds) == 422);
  CHECK(http_status(RefusalCode::kBadNonce) == 422);
  CHECK(http_status(RefusalCode::kStorageError) == 503);
  CHECK(http_status(RefusalCode::kInternalError) == 500);
  // An extension's refusal keeps its own wire code; its class gives the status.
  Refusal rule{RefusalCode::kExtension, "not now", "not_your_turn"};
  CHECK(rule.wire_code() == "not_your_turn");
  CHECK(api_error(rule).status == 422);
  CHECK(api_error(rule).code == "not_your_turn");
  Refusal missing{RefusalCode::kExtensionNotFound, "no game 9", "unknown_game"};
  CHECK(api_error(missing).status == 404);
  CHECK(api_error(RefusalCode::kBadHash, "x").code == "bad_hash");
}

}  // namespace opt::l1::test
