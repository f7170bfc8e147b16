// The chain itself: action types and signing, nonces, refusals that change nothing, deposits and the
// inbox accumulator, forced withdrawals, proposer stakes, blocks and events.
#include "engine/core/eip712.h"
#include "tests/bridge/bridge_fixture.h"
#include "tests/test_util.h"

namespace opt::l1::test {

TEST_CASE("action specs parse their encodeType strings") {
  const ActionSpec& s = post_batch_spec();
  CHECK(s.primary_type == "PostBatch");
  REQUIRE(s.fields.size() == 10);
  CHECK(s.fields[0].name == "sender");
  CHECK(s.fields[2].kind == FieldKind::kBytes32);
  CHECK(s.fields[9].name == "nonce");
  CHECK(s.data_field == "dataHash");
  CHECK(s.type_hash == keccak256(kPostBatchType));
  CHECK(deposit_spec().type_hash ==
        keccak256(std::string_view("Deposit(address sender,address recipient,uint64 amount,uint64 nonce)")));

  CHECK_FALSE(ActionSpec::make("x", "X(uint64 nonce)").ok());                           // no sender
  CHECK_FALSE(ActionSpec::make("x", "X(address sender,uint64 amount)").ok());           // no nonce last
  CHECK_FALSE(ActionSpec::make("x", "X(address sender,uint256 a,uint64 nonce)").ok());  // unsupported
  CHECK_FALSE(ActionSpec::make("x", "X(address sender,uint64 a,uint64 a,uint64 nonce)").ok());
  CHECK_FALSE(ActionSpec::make("x", "X(address sender,uint64 nonce)", "nonce").ok());  // data field not bytes32
  auto arr =
      ActionSpec::make("dissect", "Dissect(address sender,uint64 game,bytes32[] roots,uint8 k,bool b,uint64 nonce)");
  REQUIRE(arr.ok());
  CHECK(arr->fields[2].kind == FieldKind::kBytes32Array);
  CHECK(arr->fields[3].bits == 8);
}

TEST_CASE("struct hash follows EIP-712 encodeData (checked by hand for Deposit and a bytes32[] type)") {
  Action a = make_deposit(addr(0), addr(1), 5 * kUsdc, 7);
  Bytes enc;
  append(enc, keccak256(kDepositType).view());
  auto word_addr = [&](const Address& x) {
    enc.insert(enc.end(), 12, 0);
    append(enc, x.view());
  };
  auto word_u64 = [&](uint64_t v) {
    enc.insert(enc.end(), 24, 0);
    append_be64(enc, v);
  };
  word_addr(addr(0));
  word_addr(addr(1));
  word_u64(5 * kUsdc);
  word_u64(7);
  CHECK(a.struct_hash() == keccak256(enc));
  Hash32 sep = l1_domain(31337).separator();
  CHECK(sep == keccak256(Bytes([&] {
          Bytes d;
          append(d, keccak256(std::string_view("EIP712Domain(string name,string version,uint256 chainId)")).view());
          append(d, keccak256(std::string_view("optrollup-l1")).view());
          append(d, keccak256(std::string_view("1")).view());
          d.insert(d.end(), 24, 0);
          append_be64(d, 31337);
          return d;
        }())));
  CHECK(a.digest(sep) == eip712_digest(sep, a.struct_hash()));

  auto spec = *ActionSpec::make("t", "T(address sender,bytes32[] roots,uint64 nonce)");
  Action t(spec);
  Hash32 r1 = root_of(1), r2 = root_of(2);
  t.set("sender", addr(0)).set("roots", std::vector<Hash32>{r1, r2}).set("nonce", uint64_t{3});
  Bytes e2;
  append(e2, keccak256(std::string_view("T(address sender,bytes32[] roots,uint64 nonce)")).view());
  e2.insert(e2.end(), 12, 0);
  append(e2, addr(0).view());
  Bytes cat;
  append(cat, r1.view());
  append(cat, r2.view());
  append(e2, keccak256(cat).view());
  e2.insert(e2.end(), 24, 0);
  append_be64(e2, 3);
  CHECK(t.struct_hash() == keccak256(e2));
}

// Golden values computed with ethers v6 (TypedDataEncoder.hash / Wallet.signTypedData) under the domain
// {name: "optrollup-l1", version: "1", chainId: 31337}, an independent EIP-712 implementation.
TEST_CASE("L1 action digests and signatures match ethers v6") {
  const Hash32 sep = l1_domain(31337).separator();
  Action d = make_deposit(addr(1), addr(1), 250'000'000, 0);
  CHECK(d.digest(sep).hex() == "0xcb86efc22a87286ca3a1e6e935b45934a607f9376c46ebf39e6b42d43ba0b013");
  REQUIRE(sign_action(d, key(1), sep).ok());
  CHECK(d.signature.hex() ==
        "0x8b262dbe77fe1043aba76360017b91a7eecff93d52a9c43d1b1344b76f4654895f0fec12e240698e91d39991e50e252acbcc73a45aa7"
        "014dc"
        "415d6a12ad8aff51b");

  Hash32 z;
  for (auto& b : z.bytes) b = 0x11;
  Action p(post_batch_spec());
  p.set("sender", addr(1)).set("index", uint64_t{3}).set("prevRoot", z).set("postRoot", z).set("txCount", uint64_t{4});
  p.set("dataHash", z)
      .set("inboxTo", uint64_t{5})
      .set("inboxAcc", z)
      .set("l2Timestamp", uint64_t{6})
      .set("nonce", uint64_t{7});
  CHECK(p.digest(sep).hex() == "0xa4dce291b721639a808f40679bbc4f58d0e661ef048e2d378b800d38298fadef");

  Hash32 z2;
  for (auto& b : z2.bytes) b = 0x22;
  auto spec = *ActionSpec::make("t", "T(address sender,bytes32[] roots,uint64 nonce)");
  Action t(spec);
  t.set("sender", addr(1)).set("roots", std::vector<Hash32>{z, z2}).set("nonce", uint64_t{3});
  CHECK(t.digest(sep).hex() == "0xd06bab9d17381f5d9ce25a073551e3b245c38887cc57a859dfe0a6f90759d42c");
}

TEST_CASE("dev accounts match the reference addresses") {
  auto v = opt::test::load_json("ethereum.json");
  REQUIRE(dev_accounts().size() == 10);
  for (size_t i = 0; i < 10; ++i) {
    CHECK(to_checksum(addr(i)) == v["devKeys"][i]["address"].get<std::string>());
    CHECK(key(i) == opt::test::dev_key(i));
  }
}

TEST_CASE("message JSON round-trips and is strict") {
  Action a = make_post_batch(addr(0), PostBatchArgs{3, root_of(1), root_of(2), 4, 5, root_of(3), 6}, Bytes{1, 2}, 9);
  auto j = message_to_json(a);
  CHECK(j["index"] == "3");
  CHECK(j["sender"] == to_checksum(addr(0)));
  auto back = message_from_json(post_batch_spec(), j);
  REQUIRE(back.ok());
  CHECK(back->struct_hash() == a.struct_hash());

  auto refused = [](nlohmann::json m) {
    auto r = message_from_json(deposit_spec(), m);
    return r.ok() ? std::string("ok") : r.error().wire_code() + ": " + r.error().message;
  };
  nlohmann::json good = {
      {"sender", to_checksum(addr(0))}, {"recipient", to_checksum(addr(1))}, {"amount", "5"}, {"nonce", 0}};
  CHECK(refused(good) == "ok");
  auto with = [&](const char* k, nlohmann::json v) {
    auto m = good;
    m[k] = v;
    return refused(m);
  };
  CHECK(with("amount", "-5").find("bad_field") == 0);
  CHECK(with("amount", -5).find("bad_field") == 0);
  CHECK(with("amount", 1.5).find("bad_field") == 0);
  CHECK(with("amount", "18446744073709551616").find("bad_field") == 0);  // 2^64
  CHECK(with("amount", "0x10").find("bad_field") == 0);
  CHECK(with("amount", "").find("bad_field") == 0);
  CHECK(with("amount", true).find("bad_field") == 0);
  CHECK(with("amount", "18446744073709551615") == "ok");
  CHECK(with("recipient", "0x1234").find("bad_field") == 0);
  CHECK(with("recipient", "70997970C51812dc3A010C7d01b50e0d17dc79C8").find("bad_field") == 0);    // no 0x
  CHECK(with("recipient", "0x70997970c51812dc3A010C7d01b50e0d17dc79C8").find("bad_field") == 0);  // bad checksum
  CHECK(with("recipient", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8") == "ok");                 // all lower
  CHECK(with("extra", 1).find("bad_field") == 0);
  auto m = good;
  m.erase("nonce");
  CHECK(refused(m).find("missing field 'nonce'") != std::string::npos);
  CHECK(refused(nlohmann::json::array()).find("bad_field") == 0);

  auto spec = *ActionSpec::make("t", "T(address sender,uint8 small,bytes32 h,uint64 nonce)");
  nlohmann::json t = {{"sender", to_checksum(addr(0))}, {"small", 256}, {"h", root_of(1).hex()}, {"nonce", 0}};
  CHECK(message_from_json(spec, t).error().wire_code() == "bad_field");
  t["small"] = 255;
  CHECK(message_from_json(spec, t).ok());
  t["h"] = "0x1234";
  CHECK(message_from_json(spec, t).error().wire_code() == "bad_field");
}

TEST_CASE("deposits: escrow, inbox message, accumulator, events") {
  Fixture f;
  auto r = f.deposit(1, 500 * kUsdc, addr(2));
  CHECK(r.result["inboxIndex"] == 0);
  CHECK(f.chain->account(addr(1)).usdc == kGenesisUsdc - 500 * kUsdc);
  CHECK(f.chain->account(addr(1)).nonce == 1);
  CHECK(f.chain->totals().escrow == 500 * kUsdc);
  f.deposit(3, 7);
  REQUIRE(f.chain->inbox_length() == 2);

  auto msgs = f.chain->inbox(0, 10);
  CHECK(msgs[0].kind == InboxKind::kDeposit);
  CHECK(msgs[0].sender == addr(1));
  CHECK(msgs[0].recipient == addr(2));
  CHECK(msgs[0].l1_time == f.chain->now());
  // The L2 step is exactly the DepositTx the L1 wrote.
  CHECK(msgs[0].l2_tx == encode_tx(DepositTx{0, addr(1), addr(2), 500 * kUsdc}));
  CHECK(msgs[1].l2_tx == encode_tx(DepositTx{1, addr(3), addr(3), 7}));
  // acc_{n+1} = keccak256(acc_n || keccak256(message))
  Hash32 acc0{};
  Keccak k;
  Hash32 acc1 = k.update(acc0).update(keccak256(msgs[0].l2_tx)).finish();
  Hash32 acc2 = k.update(acc1).update(keccak256(msgs[1].l2_tx)).finish();
  CHECK(f.chain->inbox_accumulator(0) == acc0);
  CHECK(f.chain->inbox_accumulator(1) == acc1);
  CHECK(f.chain->inbox_accumulator(2) == acc2);

  auto events = f.chain->events(0, UINT64_MAX, 100);
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "deposit_queued");
  CHECK(events[0].index == 0);
  CHECK(events[1].index == 1);
  CHECK(events[0].fields["recipient"] == to_checksum(addr(2)));
  CHECK(events[0].fields["amount"] == "500000000");
  f.check_invariants();
}

TEST_CASE("refusals change nothing, not even the nonce") {
  Fixture f;
  f.deposit(0, 10);
  nlohmann::json before = snapshot(*f.chain);
  auto expect = [&](Result<Accepted, Refusal> r, const std::string& code) {
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().wire_code() == code, why(r));
    CHECK(snapshot(*f.chain) == before);
  };

  SUBCASE("insufficient funds") {
    expect(f.submit(1, make_deposit({}, addr(1), kGenesisUsdc + 1, 0)), "insufficient_funds");
  }
  SUBCASE("zero amount") {
    expect(f.submit(1, make_deposit({}, addr(1), 0, 0)), "zero_amount");
  }
  SUBCASE("zero recipient") {
    expect(f.submit(1, make_deposit({}, Address{}, 5, 0)), "bad_recipient");
  }
  SUBCASE("wrong nonce (replay of an accepted action)") {
    expect(f.chain->submit(signed_by(*f.chain, key(0), make_deposit({}, addr(0), 10, 0), 0)), "bad_nonce");
  }
  SUBCASE("nonce from the future") {
    expect(f.chain->submit(signed_by(*f.chain, key(1), make_deposit({}, addr(1), 10, 0), 5)), "bad_nonce");
  }
  SUBCASE("signed by another key than the sender") {
    Action a = signed_by(*f.chain, key(1), make_deposit({}, addr(1), 10, 0));
    a.set("sender", addr(2));  // claims to be dev 2, signed by dev 1
    expect(f.chain->submit(a), "wrong_signer");
  }
  SUBCASE("tampered message") {
    Action a = signed_by(*f.chain, key(1), make_deposit({}, addr(1), 10, 0));
    a.set("amount", uint64_t{11});
    expect(f.chain->submit(a), "wrong_signer");
  }
  SUBCASE("signed for another chain id") {
    Action a = make_deposit(addr(1), addr(1), 10, 0);
    REQUIRE(sign_action(a, key(1), l1_domain(1).separator()).ok());
    expect(f.chain->submit(a), "wrong_signer");
  }
  SUBCASE("high-s signature (malleated twin)") {
    Action a = signed_by(*f.chain, key(1), make_deposit({}, addr(1), 10, 0));
    // s' = n - s flips v: the twin of a valid signature.
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    int borrow = 0;
    for (int i = 31; i >= 0; --i) {
      int d = n[i] - a.signature[32 + i] - borrow;
      borrow = d < 0;
      a.signature[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
    }
    a.signature[64] = a.signature[64] == 27 ? 28 : 27;
    expect(f.chain->submit(a), "bad_signature");
  }
  SUBCASE("garbage signature") {
    Action a = signed_by(*f.chain, key(1), make_deposit({}, addr(1), 10, 0));
    a.signature[64] = 30;
    expect(f.chain->submit(a), "bad_signature");
    a.signature = Signature{};
    expect(f.chain->submit(a), "bad_signature");
  }
  SUBCASE("data on an action that carries none") {
    Action a = make_deposit(addr(1), addr(1), 10, 0);
    a.data = Bytes{1};
    REQUIRE(sign_action(a, key(1), f.chain->domain_separator()).ok());
    expect(f.chain->submit(a), "unexpected_data");
  }
  SUBCASE("data not bound by its hash") {
    Action a = signed_by(*f.chain, key(1), make_post_batch({}, PostBatchArgs{}, Bytes{1, 2, 3}, 0));
    a.data.push_back(4);  // swapped after signing
    expect(f.chain->submit(a), "data_hash_mismatch");
  }
  SUBCASE("unknown action type") {
    auto spec = *ActionSpec::make("mint", "Mint(address sender,uint64 amount,uint64 nonce)");
    Action a(spec);
    expect(f.submit(1, a), "unknown_action");
    // Same name as a built-in, another type: also unknown (the type hash is what was signed).
    auto fake = *ActionSpec::make("deposit", "Deposit(address sender,uint64 amount,uint64 nonce)");
    expect(f.submit(1, Action(fake)), "unknown_action");
  }
  SUBCASE("forced withdrawal of nothing") {
    expect(f.submit(1, make_forced_withdraw({}, 0, 0)), "zero_amount");
  }
  SUBCASE("stake above the bond balance") {
    expect(f.submit(1, make_register_proposer({}, kGenesisBond + 1, 0)), "insufficient_funds");
  }
}

TEST_CASE("submit_json validates the request shape") {
  Fixture f;
  Action a = signed_by(*f.chain, key(1), make_deposit({}, addr(1), 10, 0));
  nlohmann::json good = request_to_json(a);
  auto code = [&](nlohmann::json j) {
    auto r = f.chain->submit_json(j);
    return r.ok() ? std::string("ok") : r.error().wire_code();
  };
  auto with = [&](const char* k, nlohmann::json v) {
    auto j = good;
    j[k] = v;
    return code(j);
  };
  CHECK(code(nlohmann::json::array()) == "bad_request");
  CHECK(with("type", 5) == "bad_request");
  CHECK(with("type", "mint") == "unknown_action");
  CHECK(with("extra", 1) == "bad_request");
  CHECK(with("signature", "0x1234") == "bad_signature");
  CHECK(with("signature", "nothex") == "bad_signature");
  CHECK(with("signature", 7) == "bad_signature");
  CHECK(with("data", "0xzz") == "bad_data");
  CHECK(with("data", 1) == "bad_data");
  CHECK(with("data", "0x01") == "unexpected_data");
  auto no_action = good;
  no_action.erase("action");
  CHECK(code(no_action) == "bad_request");
  CHECK(f.chain->account(addr(1)).nonce == 0);
  CHECK(code(good) == "ok");
  CHECK(f.chain->account(addr(1)).nonce == 1);
  CHECK(code(good) == "bad_nonce");  // the same request again is a replay
}

TEST_CASE("forced withdrawal queues an inbox message and moves no tokens") {
  Fixture f;
  auto r = f.submit(4, make_forced_withdraw({}, 123, 0));
  REQUIRE(r.ok());
  CHECK(r->result["inboxIndex"] == 0);
  auto m = f.chain->inbox(0, 1).at(0);
  CHECK(m.kind == InboxKind::kForcedWithdraw);
  CHECK(m.recipient == addr(4));
  CHECK(m.l2_tx == encode_tx(ForcedWithdrawTx{0, addr(4), 123}));
  CHECK(f.chain->account(addr(4)).usdc == kGenesisUsdc);
  CHECK(f.chain->totals().escrow == 0);
  CHECK(f.chain->events(0, UINT64_MAX, 10).at(0).type == "forced_withdraw_queued");
  f.check_invariants();
}

TEST_CASE("proposer registration moves bond tokens into the stake, with top-ups") {
  Fixture f;
  f.register_proposer(0, 600 * kUsdc);
  f.register_proposer(0, 400 * kUsdc);
  L1Account a = f.chain->account(addr(0));
  CHECK(a.stake == 1000 * kUsdc);
  CHECK(a.bond == kGenesisBond - 1000 * kUsdc);
  auto ev = f.chain->events(0, UINT64_MAX, 10);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].type == "proposer_registered");
  CHECK(ev[1].fields["stake"] == "1000000000");
  f.check_invariants();
}

TEST_CASE("blocks: fixed interval, hashes chain, actions land in the open block") {
  Fixture f;
  Head h0 = f.chain->head();
  CHECK(h0.block == 0);
  CHECK(f.chain->tick() == 0);  // not due yet
  f.clock.advance_ms(999);
  CHECK(f.chain->tick() == 0);
  f.clock.advance_ms(1);
  CHECK(f.chain->tick() == 1);
  CHECK(f.chain->head().block == 1);
  CHECK(f.chain->head().timestamp == h0.timestamp + 1);

  auto r = f.deposit(0, 5);
  CHECK(r.block == 1);
  CHECK(r.index == 0);
  auto r2 = f.deposit(1, 5);
  CHECK(r2.index == 1);
  f.clock.advance_ms(1000);
  f.chain->tick();
  auto b1 = *f.chain->block(1);
  CHECK(b1.sealed);
  CHECK(b1.actions == std::vector<Hash32>{r.hash, r2.hash});
  CHECK(b1.hash == block_hash(b1.parent, 1, b1.timestamp, b1.actions));
  CHECK(b1.parent == f.chain->block(0)->hash);
  CHECK(f.chain->block(2)->parent == b1.hash);
  CHECK_FALSE(f.chain->block(2)->sealed);
  // Action hash = EIP-712 digest; blocks list the actions with their messages.
  CHECK(r.hash == signed_by(*f.chain, key(0), make_deposit({}, addr(0), 5, 0), 0).digest(f.chain->domain_separator()));
  auto acts = f.chain->block_actions(1);
  REQUIRE(acts.size() == 2);
  CHECK(acts[0]["type"] == "deposit");
  CHECK(acts[1]["action"]["sender"] == to_checksum(addr(1)));
  CHECK(f.chain->find_action(r2.hash).value()["block"] == 1);

  // An idle gap gives one block at the clock's time, not a run of empty blocks.
  f.clock.advance_s(3600);
  CHECK(f.chain->tick() == 1);
  CHECK(f.chain->head().block == 3);
  CHECK(f.chain->head().timestamp == b1.timestamp + 1 + 3600);
  // Regular ticks produce empty blocks too.
  for (int i = 0; i < 5; ++i) {
    f.clock.advance_ms(1000);
    f.chain->tick();
  }
  CHECK(f.chain->head().block == 8);
}

TEST_CASE("events are queryable by block range, in whole blocks") {
  Fixture f;
  f.deposit(0, 1);
  f.deposit(0, 2);
  f.advance(1);
  f.deposit(0, 3);
  f.advance(1);
  f.deposit(0, 4);
  CHECK(f.chain->events(0, 0, 100).size() == 2);
  CHECK(f.chain->events(1, 1, 100).size() == 1);
  CHECK(f.chain->events(1, 2, 100).size() == 2);
  bool more = false;
  auto page = f.chain->events(0, 10, 1, &more);
  CHECK(page.size() == 2);  // the whole of block 0
  CHECK(more);
  page = f.chain->events(2, 10, 1, &more);
  CHECK(page.size() == 1);
  CHECK_FALSE(more);
}

}  // namespace opt::l1::test
