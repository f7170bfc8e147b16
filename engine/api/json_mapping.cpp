#include "engine/api/json_mapping.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/core/eip712.h"
#include "engine/net/http.h"

namespace opt::api {

using http::ApiError;
using nlohmann::json;

namespace {

// 2^53: the largest range in which every integer survives a trip through a JavaScript number (IEEE double).
constexpr uint64_t kMaxJsonInteger = uint64_t{1} << 53;
// Orders are two levels deep; anything much deeper is an attack on the parser, not a request.
constexpr int kMaxBodyDepth = 8;

std::string dec(uint64_t v) {
  return std::to_string(v);
}
std::string dec(int64_t v) {
  return std::to_string(v);
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_float: return "a non-integer number";
    default: return "a number";
  }
}

}  // namespace

std::optional<uint64_t> parse_u64_text(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

json parse_body(const std::string& body) {
  // The callback sees every value as it is parsed; refusing depth here bounds the parser's own stack.
  json::parser_callback_t depth_guard = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxBodyDepth)
      throw ApiError(400, "bad_json", "the body nests deeper than " + std::to_string(kMaxBodyDepth) + " levels");
    return true;
  };
  json j;
  try {
    j = json::parse(body, depth_guard);  // a parse_error becomes 400 bad_json in http::guarded
  } catch (const json::out_of_range&) {
    // A number beyond what a double holds ("1e999"): well-formed JSON text, but no value to read.
    throw ApiError(400, "bad_json", "malformed JSON: a number in the body is out of range");
  }
  if (!j.is_object())
    throw ApiError(400, "bad_field", std::string("the body must be a JSON object, not ") + type_name(j));
  return j;
}

FieldReader::FieldReader(const json& object, std::string where, std::initializer_list<const char*> allowed)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object())
    throw ApiError(400, "bad_field", where_ + " must be a JSON object, not " + type_name(object_));
  for (const auto& item : object_.items()) {
    // Not a structured binding: clang 14 (the sanitizer and fuzzing build) cannot capture one in a lambda.
    const std::string& key = item.key();
    bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw ApiError(400, "unknown_field", "unknown field '" + path(key.c_str()) + "' (expected: " + list + ")");
    }
  }
}

std::string FieldReader::path(const char* name) const {
  return where_.empty() ? name : where_ + "." + name;
}

const json& FieldReader::field(const char* name) const {
  auto it = object_.find(name);
  if (it == object_.end()) throw ApiError(400, "missing_field", "missing field '" + path(name) + "'");
  return *it;
}

uint64_t FieldReader::u64(const char* name) {
  return u64_max(name, UINT64_MAX);
}

uint64_t FieldReader::u64_max(const char* name, uint64_t max) {
  const json& v = field(name);
  const std::string what = "'" + path(name) + "'";
  uint64_t out = 0;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
    bool negative = s.size() > 1 && s[0] == '-' && s.find_first_not_of("0123456789", 1) == std::string::npos;
    if (negative) throw ApiError(400, "out_of_range", what + " must not be negative");
    if (!digits) throw ApiError(400, "bad_field", what + " must be a decimal string of digits (e.g. \"1000000\")");
    auto parsed = parse_u64_text(s);
    if (!parsed) {
      // Leading zeros do not make a number large: strip them before calling it out of range.
      size_t nz = s.find_first_not_of('0');
      parsed = nz == std::string::npos ? std::optional<uint64_t>(0) : parse_u64_text(std::string_view(s).substr(nz));
      if (!parsed) throw ApiError(400, "out_of_range", what + " is above 2^64-1");
    }
    out = *parsed;
  } else if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    if (out > kMaxJsonInteger)
      throw ApiError(400, "out_of_range", what + " is above 2^53 as a JSON number: send it as a decimal string");
  } else if (v.is_number_integer()) {
    throw ApiError(400, "out_of_range", what + " must not be negative");
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && (d < 0 || d >= static_cast<double>(kMaxJsonInteger)))
      throw ApiError(400, "out_of_range", what + " is out of range (and must be an integer)");
    throw ApiError(400, "bad_field", what + " must be an integer or a decimal string, not a fraction");
  } else {
    throw ApiError(400, "bad_field", what + " must be a decimal string or an integer, not " + type_name(v));
  }
  if (out > max) throw ApiError(400, "out_of_range", what + " must be at most " + std::to_string(max));
  return out;
}

bool FieldReader::boolean(const char* name) {
  const json& v = field(name);
  if (!v.is_boolean())
    throw ApiError(400, "bad_field", "'" + path(name) + "' must be true or false, not " + type_name(v));
  return v.get<bool>();
}

std::string FieldReader::string(const char* name) {
  const json& v = field(name);
  if (!v.is_string()) throw ApiError(400, "bad_field", "'" + path(name) + "' must be a string, not " + type_name(v));
  return v.get<std::string>();
}

Address FieldReader::address(const char* name) {
  const json& v = field(name);
  if (!v.is_string())
    throw ApiError(400, "bad_field", "'" + path(name) + "' must be an address string, not " + type_name(v));
  auto a = parse_address(v.get_ref<const std::string&>());
  if (!a) {
    std::string why = a.error() == HexError::kBadChecksum
                          ? "mixed-case address with a wrong EIP-55 checksum"
                          : std::string("not 0x + 40 hex digits (") + to_string(a.error()) + ")";
    throw ApiError(400, "bad_address", "'" + path(name) + "': " + why);
  }
  return *a;
}

Hash32 FieldReader::hash(const char* name) {
  const json& v = field(name);
  if (!v.is_string())
    throw ApiError(400, "bad_field", "'" + path(name) + "' must be a 0x-hex string, not " + type_name(v));
  auto h = Hash32::from_hex(v.get_ref<const std::string&>(), true);
  if (!h)
    throw ApiError(400, "bad_hex", "'" + path(name) + "' must be 0x + 64 hex digits (" + to_string(h.error()) + ")");
  return *h;
}

const json& FieldReader::object(const char* name) {
  const json& v = field(name);
  if (!v.is_object())
    throw ApiError(400, "bad_field", "'" + path(name) + "' must be a JSON object, not " + type_name(v));
  return v;
}

Signature FieldReader::signature(const char* name) {
  const json& v = field(name);
  if (!v.is_string())
    throw ApiError(400, "bad_field", "'" + path(name) + "' must be a 0x-hex string, not " + type_name(v));
  auto raw = parse_hex(v.get_ref<const std::string&>(), true);
  if (!raw) throw ApiError(400, "bad_hex", "'" + path(name) + "' is not 0x-hex (" + to_string(raw.error()) + ")");
  auto sig = parse_signature(*raw);
  if (!sig) {
    // High-s is the malleated twin of a valid signature (EIP-2): a distinct code, so a client library that
    // produces them can be told what to fix.
    if (sig.error() == SigError::kHighS)
      throw ApiError(400, "high_s_signature", "'" + path(name) + "' has s above n/2; sign with a low-s (EIP-2) signer");
    throw ApiError(400, "bad_signature",
                   "'" + path(name) + "': " + to_string(sig.error()) +
                       " (expected 65 bytes r || s || v with v in 27, 28, 0 or 1)");
  }
  return *sig;
}

Order order_fields_from_json(const json& j) {
  FieldReader r(j, "order",
                {"account", "instrument", "isBuy", "quantity", "limitPrice", "maxFee", "nonce", "expiry", "flags"});
  Order o;
  o.account = r.address("account");
  o.instrument = r.u64("instrument");
  o.is_buy = r.boolean("isBuy");
  o.quantity = r.u64("quantity");
  o.limit_price = r.u64("limitPrice");
  o.max_fee = r.u64("maxFee");
  o.nonce = r.u64("nonce");
  o.expiry = r.u64("expiry");
  o.flags = static_cast<uint8_t>(r.u64_max("flags", 255));
  // Unknown bits would be signed over but mean nothing: refuse them here rather than let a later version
  // give them a meaning the signer never intended.
  if (o.flags & ~kKnownOrderFlags)
    throw ApiError(400, "bad_flags", "order.flags has unknown bits (known: 1 post-only, 2 IOC, 4 FOK, 8 reduce-only)");
  return o;
}

SignedOrder signed_order_from_json(const json& body) {
  FieldReader r(body, "", {"order", "signature"});
  SignedOrder s;
  s.order = order_fields_from_json(r.object("order"));
  s.sig = r.signature("signature");
  return s;
}

CancelTx cancel_from_json(const json& body) {
  FieldReader r(body, "", {"cancel", "signature"});
  CancelTx c;
  FieldReader f(r.object("cancel"), "cancel", {"account", "orderHash"});
  c.cancel.account = f.address("account");
  c.cancel.order_hash = OrderHash::from(f.hash("orderHash"));
  c.sig = r.signature("signature");
  return c;
}

WithdrawTx withdraw_from_json(const json& body) {
  FieldReader r(body, "", {"withdraw", "signature"});
  WithdrawTx w;
  FieldReader f(r.object("withdraw"), "withdraw", {"account", "amount", "recipient", "nonce"});
  w.withdraw.account = f.address("account");
  w.withdraw.amount = f.u64("amount");
  w.withdraw.recipient = f.address("recipient");
  w.withdraw.nonce = f.u64("nonce");
  w.sig = r.signature("signature");
  return w;
}

// ---- outputs ----

std::pair<std::string, json> type_fields(std::string_view encode_type) {
  size_t open = encode_type.find('(');
  std::string name(encode_type.substr(0, open));
  std::string_view body = encode_type.substr(open + 1, encode_type.size() - open - 2);
  json fields = json::array();
  while (!body.empty()) {
    size_t comma = body.find(',');
    std::string_view member = body.substr(0, comma);
    size_t space = member.find(' ');
    fields.push_back({{"name", std::string(member.substr(space + 1))}, {"type", std::string(member.substr(0, space))}});
    body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
  }
  return {name, fields};
}

json eip712_types_json() {
  json types = json::object();
  for (std::string_view t : {kOrderType, kCancelType, kWithdrawType}) {
    auto [name, fields] = type_fields(t);
    types[name] = fields;
  }
  return types;
}

std::string underlying_symbol(uint32_t underlying) {
  if (underlying == 1) return "ETH";
  if (underlying == 2) return "BTC";
  return "U" + std::to_string(underlying);
}

json order_to_json(const Order& o) {
  return {{"account", to_checksum(o.account)},
          {"instrument", o.instrument},
          {"isBuy", o.is_buy},
          {"quantity", dec(o.quantity)},
          {"limitPrice", dec(o.limit_price)},
          {"maxFee", dec(o.max_fee)},
          {"nonce", dec(o.nonce)},
          {"expiry", o.expiry},
          {"flags", o.flags}};
}

json order_view_to_json(const node::OrderView& v) {
  json j = {{"orderHash", v.hash.hex()},
            {"order", order_to_json(v.order.order)},
            {"signature", v.order.sig.hex()},
            {"status", node::to_string(v.status)},
            {"filled", dec(v.filled)},
            {"remaining", dec(v.order.order.quantity >= v.filled ? v.order.order.quantity - v.filled : 0)},
            {"createdAt", v.created_at}};
  if (!v.reason.empty()) j["reason"] = v.reason;
  return j;
}

json order_ack_to_json(const node::OrderAck& a) {
  return {{"orderHash", a.hash.hex()},
          {"status", node::to_string(a.status)},
          {"filled", dec(a.filled)},
          {"tradeIds", a.trade_ids}};
}

json instrument_to_json(const node::InstrumentView& v) {
  const InstrumentLeaf& l = v.leaf;
  json j = {{"id", l.id},
            {"name", v.name},
            {"underlying", l.underlying},
            {"underlyingSymbol", underlying_symbol(l.underlying)},
            {"strike", dec(l.strike)},
            {"expiry", l.expiry},
            {"isCall", l.is_call},
            {"status", v.status},
            {"openInterest", dec(l.long_open)}};
  if (l.status == InstrumentStatus::kExpired) j["settlementPrice"] = dec(l.settlement_price);
  return j;
}

json book_to_json(const node::BookView& b) {
  auto side = [](const std::vector<node::BookLevel>& levels) {
    json out = json::array();
    for (const auto& l : levels)
      out.push_back({{"price", dec(l.price)}, {"quantity", dec(l.quantity)}, {"orders", l.orders}});
    return out;
  };
  return {{"instrument", b.instrument}, {"sequence", b.sequence}, {"bids", side(b.bids)}, {"asks", side(b.asks)}};
}

namespace {

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_levels(std::string& out, const std::vector<node::BookLevel>& levels) {
  out += '[';
  for (size_t i = 0; i < levels.size(); ++i) {
    if (i) out += ',';
    out += "{\"orders\":";
    append_u64(out, levels[i].orders);
    out += ",\"price\":\"";
    append_u64(out, levels[i].price);
    out += "\",\"quantity\":\"";
    append_u64(out, levels[i].quantity);
    out += "\"}";
  }
  out += ']';
}

}  // namespace

std::string book_json_text(const node::BookView& b) {
  std::string out;
  out.reserve(96 + 64 * (b.bids.size() + b.asks.size()));
  // Keys in the order nlohmann::json writes them (sorted), so both forms are byte-identical.
  out += "{\"asks\":";
  append_levels(out, b.asks);
  out += ",\"bids\":";
  append_levels(out, b.bids);
  out += ",\"instrument\":";
  append_u64(out, b.instrument);
  out += ",\"sequence\":";
  append_u64(out, b.sequence);
  out += '}';
  return out;
}

json trade_to_json(const node::TradeView& t) {
  return {{"id", t.id},
          {"instrument", t.instrument},
          {"price", dec(t.price)},
          {"quantity", dec(t.quantity)},
          {"side", t.taker_is_buy ? "buy" : "sell"},
          {"maker", to_checksum(t.maker)},
          {"taker", to_checksum(t.taker)},
          {"makerOrder", t.maker_order.hex()},
          {"takerOrder", t.taker_order.hex()},
          {"time", t.time},
          {"batch", t.batch ? json(*t.batch) : json(nullptr)}};
}

json account_to_json(const node::AccountView& a) {
  json positions = json::array();
  for (const auto& p : a.positions) {
    const Position& pos = p.position;
    positions.push_back({{"instrument", pos.instrument},
                         {"qty", dec(pos.qty)},
                         {"mark", dec(p.mark)},
                         {"underlying", pos.underlying},
                         {"strike", dec(pos.strike)},
                         {"expiry", pos.expiry},
                         {"isCall", pos.is_call}});
  }
  return {{"address", to_checksum(a.address)},
          {"collateral", dec(a.collateral)},
          {"positions", positions},
          {"equity", dec(a.equity)},
          {"initialMargin", dec(a.initial_margin)},
          {"maintenanceMargin", dec(a.maintenance_margin)},
          {"nonce", dec(a.nonce)},
          {"marksStale", a.marks_stale}};
}

json withdrawal_to_json(const node::WithdrawalView& w) {
  json j = {{"index", w.leaf.index},
            {"account", to_checksum(w.leaf.account)},
            {"recipient", to_checksum(w.leaf.recipient)},
            {"amount", dec(w.leaf.amount)},
            {"batch", w.batch ? json(*w.batch) : json(nullptr)},
            {"status", w.status}};
  if (w.proof_batch) j["proofBatch"] = *w.proof_batch;
  if (!w.proof.empty()) j["proof"] = to_hex(w.proof);
  return j;
}

json game_to_json(const fp::Game& g) {
  // The winner's address, as GET /l1/v1/games/{id} gives it (null while open or when cancelled).
  json winner = nullptr;
  if (g.status == fp::GameStatus::kChallengerWon) winner = to_checksum(g.challenger);
  if (g.status == fp::GameStatus::kProposerWon) winner = to_checksum(g.proposer);
  json j = {{"id", g.id},
            {"challenger", to_checksum(g.challenger)},
            {"proposer", to_checksum(g.proposer)},
            {"status", fp::to_string(g.status)},
            {"winner", winner},
            {"turn", g.status == fp::GameStatus::kOpen ? json(fp::to_string(g.turn)) : json("none")},
            {"moves", g.moves},
            {"started", g.started}};
  if (g.ended) j["ended"] = g.ended;
  if (!g.end_reason.empty()) j["endReason"] = g.end_reason;
  return j;
}

json batch_to_json(const node::BatchView& b) {
  json games = json::array();
  for (const auto& g : b.games) games.push_back(game_to_json(g));
  return {{"index", b.index},
          {"prevRoot", b.prev_root.hex()},
          {"postRoot", b.post_root.hex()},
          {"txCount", b.tx_count},
          {"txDataRoot", b.tx_data_root.hex()},
          {"inboxFrom", b.inbox_from},
          {"inboxTo", b.inbox_to},
          {"l2Timestamp", b.l2_timestamp},
          {"status", b.status},
          {"l1Block", b.l1_block},
          {"postedAt", b.posted_at},
          {"games", games}};
}

std::vector<std::string> event_channels(const node::Event& e) {
  return std::visit(
      [](const auto& ev) -> std::vector<std::string> {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, node::BookDeltaEvent>)
          return {"orderbook:" + std::to_string(ev.instrument)};
        else if constexpr (std::is_same_v<T, node::TradeEvent>)
          return {"trades", "trades:" + std::to_string(ev.trade.instrument)};
        else if constexpr (std::is_same_v<T, node::AccountChangedEvent>)
          return {"account:" + to_hex(ev.address.view())};
        else
          return {"batches"};
      },
      e);
}

json event_to_json(const node::Event& e) {
  return std::visit(
      [](const auto& ev) -> json {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, node::BookDeltaEvent>) {
          return book_to_json(node::BookView{ev.instrument, ev.bids, ev.asks, ev.sequence});
        } else if constexpr (std::is_same_v<T, node::TradeEvent>) {
          return trade_to_json(ev.trade);
        } else if constexpr (std::is_same_v<T, node::BatchStatusEvent>) {
          json j = {{"index", ev.index}, {"status", l1::to_string(ev.status)}};
          if (ev.post_root) j["postRoot"] = ev.post_root->hex();
          return j;
        } else if constexpr (std::is_same_v<T, node::GameEvent>) {
          return {{"index", ev.batch}, {"event", ev.ended ? "game_ended" : "game_started"}, {"game", ev.game}};
        } else {
          return {{"address", to_checksum(ev.address)}};
        }
      },
      e);
}

}  // namespace opt::api
