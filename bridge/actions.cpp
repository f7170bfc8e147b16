#include "bridge/actions.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "engine/core/keccak.h"

namespace opt::l1 {

namespace {

[[noreturn]] void misuse(const char* what, std::string_view field) {
  std::fprintf(stderr, "optrollup: L1 action misuse: %s '%.*s'\n", what, static_cast<int>(field.size()), field.data());
  std::abort();
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return !(s[0] >= '0' && s[0] <= '9');
}

Result<FieldSpec, std::string> parse_field(std::string_view decl) {
  auto space = decl.find(' ');
  if (space == std::string_view::npos || decl.find(' ', space + 1) != std::string_view::npos)
    return err(std::string("field declaration '") + std::string(decl) + "' is not 'type name'");
  FieldSpec f;
  f.type = std::string(decl.substr(0, space));
  f.name = std::string(decl.substr(space + 1));
  if (!is_identifier(f.name)) return err("bad field name '" + f.name + "'");
  if (f.type == "address") {
    f.kind = FieldKind::kAddress;
  } else if (f.type == "bool") {
    f.kind = FieldKind::kBool;
  } else if (f.type == "bytes32") {
    f.kind = FieldKind::kBytes32;
  } else if (f.type == "bytes32[]") {
    f.kind = FieldKind::kBytes32Array;
  } else if (f.type == "uint8" || f.type == "uint16" || f.type == "uint32" || f.type == "uint64") {
    f.kind = FieldKind::kUint;
    f.bits = static_cast<unsigned>(std::atoi(f.type.c_str() + 4));
  } else {
    return err("unsupported field type '" + f.type + "'");
  }
  return f;
}

FieldValue zero_of(const FieldSpec& f) {
  switch (f.kind) {
    case FieldKind::kAddress: return Address{};
    case FieldKind::kBool: return false;
    case FieldKind::kBytes32: return Hash32{};
    case FieldKind::kBytes32Array: return std::vector<Hash32>{};
    case FieldKind::kUint: break;
  }
  return uint64_t{0};
}

bool kind_matches(const FieldSpec& f, const FieldValue& v) {
  switch (f.kind) {
    case FieldKind::kAddress: return std::holds_alternative<Address>(v);
    case FieldKind::kBool: return std::holds_alternative<bool>(v);
    case FieldKind::kBytes32: return std::holds_alternative<Hash32>(v);
    case FieldKind::kBytes32Array: return std::holds_alternative<std::vector<Hash32>>(v);
    case FieldKind::kUint: return std::holds_alternative<uint64_t>(v);
  }
  return false;
}

uint64_t max_of(unsigned bits) {
  return bits >= 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
}

ActionSpec builtin(std::string_view name, std::string_view type, std::string data_field = "", size_t max_data = 0) {
  // Built-in specs are constants: a failure to parse them is a bug caught by the first test run.
  auto s = ActionSpec::make(std::string(name), type, std::move(data_field), max_data);
  if (!s) misuse("bad built-in action type", s.error());
  return std::move(*s);
}

}  // namespace

Result<ActionSpec, std::string> ActionSpec::make(std::string name, std::string_view encode_type, std::string data_field,
                                                 size_t max_data_bytes) {
  ActionSpec s;
  s.name = std::move(name);
  s.encode_type = std::string(encode_type);
  auto open = encode_type.find('(');
  if (open == std::string_view::npos || encode_type.back() != ')')
    return err(std::string("encodeType must be Name(type name,...)"));
  s.primary_type = std::string(encode_type.substr(0, open));
  if (!is_identifier(s.primary_type)) return err("bad struct name '" + s.primary_type + "'");
  std::string_view body = encode_type.substr(open + 1, encode_type.size() - open - 2);
  while (!body.empty()) {
    auto comma = body.find(',');
    auto f = parse_field(body.substr(0, comma));
    if (!f) return err(f.error());
    for (const auto& g : s.fields)
      if (g.name == f->name) return err("duplicate field '" + f->name + "'");
    s.fields.push_back(std::move(*f));
    if (comma == std::string_view::npos) break;
    body.remove_prefix(comma + 1);
    if (body.empty()) return err(std::string("trailing comma in encodeType"));
  }
  if (s.fields.size() < 2 || s.fields.front().name != "sender" || s.fields.front().kind != FieldKind::kAddress)
    return err(std::string("the first field must be 'address sender'"));
  if (s.fields.back().name != "nonce" || s.fields.back().type != "uint64")
    return err(std::string("the last field must be 'uint64 nonce'"));
  if (!data_field.empty()) {
    auto i = s.field_index(data_field);
    if (!i || s.fields[*i].kind != FieldKind::kBytes32)
      return err("data field '" + data_field + "' is not a bytes32 field");
  }
  s.data_field = std::move(data_field);
  s.max_data_bytes = s.data_field.empty() ? 0 : max_data_bytes;
  s.type_hash = opt::type_hash(s.encode_type);
  return s;
}

std::optional<size_t> ActionSpec::field_index(std::string_view field) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field) return i;
  return std::nullopt;
}

nlohmann::json ActionSpec::types_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : fields) out.push_back({{"name", f.name}, {"type", f.type}});
  return out;
}

const ActionSpec& deposit_spec() {
  static const ActionSpec s = builtin(kDeposit, kDepositType);
  return s;
}
const ActionSpec& forced_withdraw_spec() {
  static const ActionSpec s = builtin(kForcedWithdraw, kForcedWithdrawType);
  return s;
}
const ActionSpec& register_proposer_spec() {
  static const ActionSpec s = builtin(kRegisterProposer, kRegisterProposerType);
  return s;
}
const ActionSpec& post_batch_spec() {
  static const ActionSpec s = builtin(kPostBatch, kPostBatchType, "dataHash", kMaxBatchDataBytes);
  return s;
}
const ActionSpec& finalize_withdrawal_spec() {
  static const ActionSpec s = builtin(kFinalizeWithdrawal, kFinalizeWithdrawalType, "proofHash", kMaxProofDataBytes);
  return s;
}
std::vector<const ActionSpec*> builtin_specs() {
  return {&deposit_spec(), &forced_withdraw_spec(), &register_proposer_spec(), &post_batch_spec(),
          &finalize_withdrawal_spec()};
}

// ---- Action ----

Action::Action(const ActionSpec& spec) : spec_(&spec) {
  values_.reserve(spec.fields.size());
  for (const auto& f : spec.fields) values_.push_back(zero_of(f));
}

Action& Action::set(std::string_view field, FieldValue v) {
  if (!spec_) misuse("action without a spec", field);
  auto i = spec_->field_index(field);
  if (!i) misuse("unknown field", field);
  if (!kind_matches(spec_->fields[*i], v)) misuse("wrong value kind for field", field);
  values_[*i] = std::move(v);
  return *this;
}

const FieldValue& Action::get(std::string_view field) const {
  if (!spec_) misuse("action without a spec", field);
  auto i = spec_->field_index(field);
  if (!i) misuse("unknown field", field);
  return values_[*i];
}

uint64_t Action::u64(std::string_view field) const {
  const auto* v = std::get_if<uint64_t>(&get(field));
  if (!v) misuse("not a uint field", field);
  return *v;
}
bool Action::flag(std::string_view field) const {
  const auto* v = std::get_if<bool>(&get(field));
  if (!v) misuse("not a bool field", field);
  return *v;
}
const Address& Action::address(std::string_view field) const {
  const auto* v = std::get_if<Address>(&get(field));
  if (!v) misuse("not an address field", field);
  return *v;
}
const Hash32& Action::b32(std::string_view field) const {
  const auto* v = std::get_if<Hash32>(&get(field));
  if (!v) misuse("not a bytes32 field", field);
  return *v;
}
const std::vector<Hash32>& Action::b32s(std::string_view field) const {
  const auto* v = std::get_if<std::vector<Hash32>>(&get(field));
  if (!v) misuse("not a bytes32[] field", field);
  return *v;
}

Hash32 Action::struct_hash() const {
  StructEncoder e(spec_->type_hash);
  for (size_t i = 0; i < values_.size(); ++i) {
    const FieldValue& v = values_[i];
    if (const auto* u = std::get_if<uint64_t>(&v)) {
      e.uint(*u);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      e.boolean(*b);
    } else if (const auto* a = std::get_if<Address>(&v)) {
      e.address(*a);
    } else if (const auto* h = std::get_if<Hash32>(&v)) {
      e.bytes32(*h);
    } else {
      // EIP-712: an array is encoded as keccak256 of the concatenated encodings of its elements.
      const auto& arr = std::get<std::vector<Hash32>>(v);
      Keccak k;
      for (const auto& x : arr) k.update(x);
      e.bytes32(k.finish());
    }
  }
  return e.finish();
}

Hash32 Action::digest(const Hash32& domain_separator) const {
  return eip712_digest(domain_separator, struct_hash());
}

Eip712Domain l1_domain(uint64_t chain_id) {
  return Eip712Domain{"optrollup-l1", "1", chain_id, std::nullopt};
}

Status<Refusal> sign_action(Action& action, const PrivateKey& key, const Hash32& domain_separator) {
  if (!action.spec().data_field.empty()) action.set(action.spec().data_field, keccak256(action.data));
  auto s = sign(action.digest(domain_separator), key);
  if (!s) return refuse(RefusalCode::kBadKey, to_string(s.error()));
  action.signature = *s;
  return {};
}

// ---- JSON ----

std::string u64_string(uint64_t v) {
  return std::to_string(v);
}

Result<uint64_t, Refusal> parse_u64(std::string_view s, std::string_view what) {
  // Digits only: no sign, no spaces, no exponent, no hex; at most 20 digits and no overflow.
  if (s.empty() || s.size() > 20)
    return refuse(RefusalCode::kBadField, std::string(what) + " must be a decimal integer");
  for (char c : s)
    if (c < '0' || c > '9') return refuse(RefusalCode::kBadField, std::string(what) + " must be a decimal integer");
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return refuse(RefusalCode::kBadField, std::string(what) + " is out of range");
  return v;
}

Result<uint64_t, Refusal> json_u64(const nlohmann::json& v, std::string_view what, uint64_t max) {
  uint64_t out = 0;
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < 0) return refuse(RefusalCode::kBadField, std::string(what) + " must not be negative");
    out = static_cast<uint64_t>(i);
  } else if (v.is_string()) {
    auto r = parse_u64(v.get_ref<const std::string&>(), what);
    if (!r) return r;
    out = *r;
  } else {
    return refuse(RefusalCode::kBadField,
                  std::string(what) + " must be an integer (a decimal string or a JSON integer)");
  }
  if (out > max)
    return refuse(RefusalCode::kBadField, std::string(what) + " is out of range (max " + u64_string(max) + ")");
  return out;
}

namespace {

Result<Hash32, Refusal> json_b32(const nlohmann::json& v, const std::string& what) {
  if (!v.is_string()) return refuse(RefusalCode::kBadField, what + " must be a 0x-hex string of 32 bytes");
  auto h = Hash32::from_hex(v.get_ref<const std::string&>(), /*require_prefix=*/true);
  if (!h) return refuse(RefusalCode::kBadField, what + ": " + to_string(h.error()) + " (32 bytes expected)");
  return *h;
}

}  // namespace

nlohmann::json message_to_json(const Action& action) {
  nlohmann::json out = nlohmann::json::object();
  const auto& fields = action.spec().fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldValue& v = action.values()[i];
    nlohmann::json& j = out[fields[i].name];
    if (const auto* u = std::get_if<uint64_t>(&v)) {
      j = u64_string(*u);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      j = *b;
    } else if (const auto* a = std::get_if<Address>(&v)) {
      j = to_checksum(*a);
    } else if (const auto* h = std::get_if<Hash32>(&v)) {
      j = h->hex();
    } else {
      j = nlohmann::json::array();
      for (const auto& x : std::get<std::vector<Hash32>>(v)) j.push_back(x.hex());
    }
  }
  return out;
}

Result<Action, Refusal> message_from_json(const ActionSpec& spec, const nlohmann::json& message) {
  if (!message.is_object()) return refuse(RefusalCode::kBadField, "action must be a JSON object");
  for (auto it = message.begin(); it != message.end(); ++it)
    if (!spec.field_index(it.key()))
      return refuse(RefusalCode::kBadField, "unknown field '" + it.key() + "' in " + spec.primary_type);
  Action a(spec);
  for (const auto& f : spec.fields) {
    auto it = message.find(f.name);
    if (it == message.end())
      return refuse(RefusalCode::kBadField, "missing field '" + f.name + "' in " + spec.primary_type);
    const nlohmann::json& v = *it;
    switch (f.kind) {
      case FieldKind::kUint: {
        auto u = json_u64(v, f.name, max_of(f.bits));
        if (!u) return err(u.error());
        a.set(f.name, *u);
        break;
      }
      case FieldKind::kBool:
        if (!v.is_boolean()) return refuse(RefusalCode::kBadField, f.name + " must be true or false");
        a.set(f.name, v.get<bool>());
        break;
      case FieldKind::kAddress: {
        if (!v.is_string()) return refuse(RefusalCode::kBadField, f.name + " must be a 0x-hex address");
        auto addr = parse_address(v.get_ref<const std::string&>());
        if (!addr) return refuse(RefusalCode::kBadField, f.name + ": " + to_string(addr.error()));
        a.set(f.name, *addr);
        break;
      }
      case FieldKind::kBytes32: {
        auto h = json_b32(v, f.name);
        if (!h) return err(h.error());
        a.set(f.name, *h);
        break;
      }
      case FieldKind::kBytes32Array: {
        if (!v.is_array()) return refuse(RefusalCode::kBadField, f.name + " must be an array of 0x-hex bytes32");
        if (v.size() > kMaxArrayLength)
          return refuse(RefusalCode::kBadField,
                        f.name + " has more than " + std::to_string(kMaxArrayLength) + " elements");
        std::vector<Hash32> arr;
        for (size_t i = 0; i < v.size(); ++i) {
          auto h = json_b32(v[i], f.name + "[" + std::to_string(i) + "]");
          if (!h) return err(h.error());
          arr.push_back(*h);
        }
        a.set(f.name, std::move(arr));
        break;
      }
    }
  }
  return a;
}

nlohmann::json request_to_json(const Action& action) {
  nlohmann::json out = {
      {"type", action.spec().name}, {"action", message_to_json(action)}, {"signature", action.signature.hex()}};
  if (!action.data.empty() || !action.spec().data_field.empty()) out["data"] = to_hex(action.data);
  return out;
}

}  // namespace opt::l1
