// The strict JSON parsers of POST bodies: the rollup API's orders, cancels and withdrawals
// (engine/api/json_mapping.h) and the L1's action messages (bridge/actions.h message_from_json, for every
// built-in action and the fraud-proof game's).
// Invariants:
//  - the rollup API parsers throw nothing but their documented errors: http::ApiError with status 400
//    and one of the codes json_mapping.h lists, or nlohmann's parse_error from parse_body (a 400
//    bad_json); the L1's parser throws nothing at all (it returns a Refusal);
//  - accepted input round-trips: emitted again as JSON (the API's emitters, or the documented forms
//    where the API has no emitter of its own), it parses to the same value, and emitting that gives the
//    same JSON.
//
// Input: a selector byte (modulo 13: 0 order, 1 cancel, 2 withdraw, 3.. an L1 action spec), then the
// JSON text.
#include <set>

#include "bridge/actions.h"
#include "engine/api/json_mapping.h"
#include "engine/net/http.h"
#include "fraudproof/game.h"
#include "tests/fuzz/fuzz_util.h"

using namespace opt;
using nlohmann::json;

namespace {

const std::vector<const l1::ActionSpec*>& specs() {
  static const std::vector<const l1::ActionSpec*> all = [] {
    auto v = l1::builtin_specs();
    for (const l1::ActionSpec* s :
         {&fp::challenge_spec(), &fp::dissect_spec(), &fp::choose_spec(), &fp::prove_step_spec(), &fp::timeout_spec()})
      v.push_back(s);
    return v;
  }();
  return all;
}
constexpr unsigned kRollupParsers = 3;

// The documented 400 codes of the body parsers (json_mapping.h).
void check_api_error(const http::ApiError& e) {
  static const std::set<std::string> kCodes = {"missing_field", "unknown_field", "bad_field",     "out_of_range",
                                               "bad_address",   "bad_hex",       "bad_signature", "high_s_signature",
                                               "bad_flags",     "bad_json"};
  FUZZ_CHECK(e.status == 400 && kCodes.count(e.code), "undocumented error %d %s: %s", e.status, e.code.c_str(),
             e.message.c_str());
}

// The emitted forms. Orders use the API's own emitter; cancels and withdrawals have none in the API (they
// are never answered back), so their documented request forms (docs/api.md) are written here.
json emit(const SignedOrder& s) {
  return {{"order", api::order_to_json(s.order)}, {"signature", s.sig.hex()}};
}
json emit(const CancelTx& c) {
  return {{"cancel", {{"account", to_checksum(c.cancel.account)}, {"orderHash", c.cancel.order_hash.hex()}}},
          {"signature", c.sig.hex()}};
}
json emit(const WithdrawTx& w) {
  return {{"withdraw",
           {{"account", to_checksum(w.withdraw.account)},
            {"amount", std::to_string(w.withdraw.amount)},
            {"recipient", to_checksum(w.withdraw.recipient)},
            {"nonce", std::to_string(w.withdraw.nonce)}}},
          {"signature", w.sig.hex()}};
}

template <class T, class Parse>
void rollup(const std::string& text, Parse parse) {
  json body;
  try {
    body = api::parse_body(text);
  } catch (const json::parse_error&) {
    return;  // 400 bad_json
  } catch (const http::ApiError& e) {
    check_api_error(e);
    return;
  }
  T value;
  try {
    value = parse(body);
  } catch (const http::ApiError& e) {
    check_api_error(e);
    return;
  }
  // Accepted: emit, parse again (as text, the way a client would send it back), compare.
  const std::string out = emit(value).dump();
  T again;
  try {
    again = parse(api::parse_body(out));
  } catch (const http::ApiError& e) {
    FUZZ_CHECK(false, "the emitted form of an accepted body is refused (%s: %s):\n  in:  %s\n  out: %s", e.code.c_str(),
               e.message.c_str(), text.c_str(), out.c_str());
  }
  FUZZ_CHECK(again == value, "an accepted body does not round-trip:\n  in:  %s\n  out: %s", text.c_str(), out.c_str());
  FUZZ_CHECK(emit(again).dump() == out, "emitting is not a fixed point: %s", out.c_str());
}

void l1_message(const l1::ActionSpec& spec, const std::string& text) {
  json body = json::parse(text, nullptr, false);  // as POST /l1/v1/actions parses
  if (body.is_discarded()) return;
  auto a = l1::message_from_json(spec, body);
  if (!a) {
    FUZZ_CHECK(a.error().code == l1::RefusalCode::kBadField, "message_from_json refused with code %s",
               a.error().wire_code().c_str());
    return;
  }
  const json out = l1::message_to_json(*a);
  auto again = l1::message_from_json(spec, json::parse(out.dump()));
  FUZZ_CHECK(again.ok(), "the emitted form of an accepted %s is refused (%s):\n  in:  %s\n  out: %s", spec.name.c_str(),
             again.error().message.c_str(), text.c_str(), out.dump().c_str());
  FUZZ_CHECK(again->values() == a->values(), "an accepted %s does not round-trip: %s", spec.name.c_str(), text.c_str());
  FUZZ_CHECK(again->struct_hash() == a->struct_hash(), "round trip changed the struct hash");
  FUZZ_CHECK(l1::message_to_json(*again) == out, "emitting is not a fixed point");
}

void seed(uint8_t which, const json& body) {
  fuzz::write_seed(std::string(1, static_cast<char>(which)) + body.dump());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  specs();
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  PrivateKey k = *PrivateKey::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
  Address a = *address_of(k);
  Hash32 sep = Eip712Domain{"optrollup", "1", 777001, *Address::from_hex("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
                   .separator();
  Order o{a, 1, true, 1'000'000, 125'000'000, 500'000, 1'732'000'000'123, 1'800'003'600, 1};
  SignedOrder so{o, *sign(typed_digest(sep, o), k)};
  seed(0, emit(so));
  json small = emit(so);  // JSON integers where the API allows them
  small["order"]["quantity"] = 1000000;
  small["order"]["nonce"] = 7;
  seed(0, small);
  Cancel c{a, order_hash(sep, o)};
  seed(1, emit(CancelTx{c, *sign(typed_digest(sep, c), k)}));
  Withdraw w{a, 100'000'000, a, 3};
  seed(2, emit(WithdrawTx{w, *sign(typed_digest(sep, w), k)}));
  for (size_t i = 0; i < specs().size(); ++i) {
    l1::Action act(*specs()[i]);
    act.set("sender", a).set("nonce", uint64_t{5});
    for (const auto& f : specs()[i]->fields) {
      if (f.kind == l1::FieldKind::kUint && f.name != "nonce") act.set(f.name, (uint64_t{1} << (f.bits - 1)) + 3);
      if (f.kind == l1::FieldKind::kBytes32) act.set(f.name, keccak256(f.name));
      if (f.kind == l1::FieldKind::kBytes32Array) act.set(f.name, std::vector<Hash32>{keccak256("a"), keccak256("b")});
      if (f.kind == l1::FieldKind::kBool) act.set(f.name, true);
    }
    seed(static_cast<uint8_t>(kRollupParsers + i), l1::message_to_json(act));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned which = data[0] % (kRollupParsers + specs().size());
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (which) {
    case 0: rollup<SignedOrder>(text, api::signed_order_from_json); break;
    case 1: rollup<CancelTx>(text, api::cancel_from_json); break;
    case 2: rollup<WithdrawTx>(text, api::withdraw_from_json); break;
    default: l1_message(*specs()[which - kRollupParsers], text); break;
  }
  return 0;
}
