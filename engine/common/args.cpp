#include "engine/common/args.h"

#include <algorithm>
#include <cstdlib>

#include "engine/common/keys.h"
#include "engine/core/amount.h"

namespace opt {

const char* to_string(FlagError e) {
  switch (e) {
    case FlagError::kUnknownFlag: return "unknown_flag";
    case FlagError::kMissingValue: return "missing_value";
    case FlagError::kEmptyValue: return "empty_value";
    case FlagError::kRepeated: return "repeated_flag";
    case FlagError::kUnexpectedValue: return "unexpected_value";
    case FlagError::kUnexpectedArgument: return "unexpected_argument";
    case FlagError::kBadValue: return "bad_value";
    case FlagError::kMissingFlag: return "missing_flag";
    case FlagError::kConflict: return "conflicting_flags";
    case FlagError::kBadEnvironment: return "bad_environment";
  }
  return "bad_flag";
}

namespace {

FlagProblem problem(FlagError code, std::string message) {
  return FlagProblem{code, std::move(message)};
}

const FlagSpec* find_spec(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

std::string range_text(uint64_t min, uint64_t max) {
  if (max == UINT64_MAX) return min == 0 ? "a decimal integer" : "a decimal integer >= " + std::to_string(min);
  return "a decimal integer from " + std::to_string(min) + " to " + std::to_string(max);
}

}  // namespace

std::string flags_help(const std::vector<FlagSpec>& specs) {
  std::vector<std::string> heads;
  size_t width = 0;
  for (const auto& s : specs) {
    heads.push_back(s.value.empty() ? s.name : s.name + " " + s.value);
    width = std::max(width, heads.back().size());
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    const FlagSpec& s = specs[i];
    std::string line = "  " + heads[i] + std::string(width + 2 - heads[i].size(), ' ') + s.help;
    std::string note = s.type;
    if (!s.fallback.empty()) note += (note.empty() ? "" : "; ") + std::string("default ") + s.fallback;
    if (!note.empty()) line += " [" + note + "]";
    out += line + "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::optional<uint64_t> parse_u64_digits(std::string_view s, bool* overflow) {
  if (overflow) *overflow = false;
  if (s.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) {
      // Every character is still checked: "99999999999999999999x" is not a number, not an overflow.
      for (char r : s)
        if (r < '0' || r > '9') return std::nullopt;
      if (overflow) *overflow = true;
      return std::nullopt;
    }
    n = n * 10 + d;
  }
  return n;
}

std::optional<uint64_t> parse_duration_ms(const std::string& s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  auto n = parse_u64_digits(std::string_view(s).substr(0, digits));
  if (!n) return std::nullopt;
  std::string unit = s.substr(digits);
  uint64_t mult;
  if (unit.empty() || unit == "s")
    mult = 1000;
  else if (unit == "ms")
    mult = 1;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  else
    return std::nullopt;
  if (*n > UINT64_MAX / mult) return std::nullopt;
  return *n * mult;
}

std::string Endpoint::url() const {
  return "http://" + host_port() + prefix;
}

std::string Endpoint::host_port() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Endpoint> parse_endpoint(std::string_view s, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<Endpoint> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  const std::string_view scheme = "http://";
  if (s.substr(0, scheme.size()) == scheme) {
    s.remove_prefix(scheme.size());
  } else if (s.find("://") != std::string_view::npos) {
    return fail("only http:// is supported");
  }
  Endpoint e;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    e.prefix = std::string(s.substr(slash));
    s = s.substr(0, slash);
    while (!e.prefix.empty() && e.prefix.back() == '/') e.prefix.pop_back();
  }
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return fail("no port");
    e.host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return fail("no port");
    e.host = std::string(s.substr(0, colon));
    if (e.host.find(':') != std::string::npos) return fail("an IPv6 host goes in brackets, as [::1]:PORT");
    port_text = s.substr(colon + 1);
  }
  if (e.host.empty()) return fail("no host");
  for (char c : e.host)
    if (c == ' ' || c == '@' || c == '?' || c == '#') return fail("not a host name: " + e.host);
  bool overflow = false;
  auto port = parse_u64_digits(port_text, &overflow);
  if (!port || *port > 65535) return fail("the port must be a decimal number from 0 to 65535");
  e.port = static_cast<uint16_t>(*port);
  return e;
}

FlagResult<Args> Args::parse(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
                             size_t max_positional, Env env) {
  Args a;
  a.env_ = env ? std::move(env) : [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    const bool looks_like_flag = !only_positional && word.size() > 1 && word[0] == '-';
    if (!looks_like_flag) {
      if (a.positional_.size() >= max_positional)
        return err(problem(FlagError::kUnexpectedArgument, max_positional == 0
                                                               ? "takes no arguments, got " + quoted(word)
                                                               : "unexpected argument " + quoted(word)));
      a.positional_.push_back(word);
      continue;
    }
    if (word == "--") {
      only_positional = true;
      continue;
    }
    std::string name = word, value;
    const auto eq = word.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      name = word.substr(0, eq);
      value = word.substr(eq + 1);
    }
    const FlagSpec* spec = find_spec(specs, name);
    if (!spec) return err(problem(FlagError::kUnknownFlag, "unknown flag " + name));
    if (spec->value.empty()) {
      if (inline_value) return err(problem(FlagError::kUnexpectedValue, name + " takes no value, got " + quoted(word)));
      a.bools_.insert(name);
      continue;
    }
    const std::string expects = spec->value + (spec->type.empty() ? "" : " (" + spec->type + ")");
    if (!inline_value) {
      if (i + 1 >= argv.size()) return err(problem(FlagError::kMissingValue, name + " needs a value: " + expects));
      value = argv[i + 1];
      // "--api --json" is a forgotten value, not an API named "--json". A negative number lands here too
      // and is refused by the typed getter with a message that says why.
      if (value.size() > 2 && value.compare(0, 2, "--") == 0 && find_spec(specs, value.substr(0, value.find('='))))
        return err(problem(FlagError::kMissingValue, name + " needs a value: " + expects + ", got the flag " + value));
      ++i;
    }
    if (value.empty()) return err(problem(FlagError::kEmptyValue, name + " has an empty value: it expects " + expects));
    if (a.values_.count(name))
      return err(problem(FlagError::kRepeated, name + " is given twice (" + quoted(a.values_[name]) + " and " +
                                                   quoted(value) + "): give it once"));
    a.values_[name] = value;
  }
  return a;
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& flag, const std::string& fallback) const {
  auto v = get(flag);
  return v ? *v : fallback;
}

FlagProblem Args::bad(const std::string& flag, const std::string& value, const std::string& expects) const {
  return problem(FlagError::kBadValue, flag + " expects " + expects + ", got " + quoted(value));
}

FlagResult<std::optional<uint64_t>> Args::u64(const std::string& flag, uint64_t min, uint64_t max) const {
  auto v = get(flag);
  if (!v) return std::optional<uint64_t>();
  bool overflow = false;
  auto n = parse_u64_digits(*v, &overflow);
  if (!n) {
    if (overflow)
      return err(problem(FlagError::kBadValue, flag + " expects " + range_text(min, max) + ", got " + quoted(*v) +
                                                   ": too large (the largest is " + std::to_string(max) + ")"));
    return err(bad(flag, *v, range_text(min, max) + " (digits only)"));
  }
  if (*n < min || *n > max) return err(bad(flag, *v, range_text(min, max)));
  return std::optional<uint64_t>(*n);
}

FlagResult<uint64_t> Args::u64_or(const std::string& flag, uint64_t fallback, uint64_t min, uint64_t max) const {
  auto n = u64(flag, min, max);
  if (!n) return err(n.error());
  return n->value_or(fallback);
}

FlagResult<uint64_t> Args::duration_ms_or(const std::string& flag, uint64_t fallback, uint64_t min_ms) const {
  auto v = get(flag);
  if (!v) return fallback;
  auto ms = parse_duration_ms(*v);
  const std::string at_least = min_ms > 1 ? " of at least " + std::to_string(min_ms) + "ms" : " above zero";
  if (!ms || *ms < min_ms)
    return err(bad(flag, *v, "a duration" + at_least + " (500ms, 30s, 2m, 1h or plain seconds)"));
  return *ms;
}

FlagResult<uint64_t> Args::seconds_or(const std::string& flag, uint64_t fallback) const {
  auto v = get(flag);
  if (!v) return fallback;
  auto ms = parse_duration_ms(*v);
  if (!ms || *ms == 0 || *ms % 1000 != 0)
    return err(bad(flag, *v, "a positive whole number of seconds (30s, 2m, 1h or plain seconds)"));
  return *ms / 1000;
}

FlagResult<std::optional<uint64_t>> Args::amount(const std::string& flag) const {
  auto v = get(flag);
  if (!v) return std::optional<uint64_t>();
  const std::string expects = "a positive USDC amount with up to 6 decimals (1000, 12.5)";
  // Digits, then optionally a point and 1-6 digits: no sign, exponent, spaces or a bare point.
  const auto point = v->find('.');
  const std::string whole = v->substr(0, point);
  const std::string frac = point == std::string::npos ? "" : v->substr(point + 1);
  if (whole.empty() || whole.find_first_not_of("0123456789") != std::string::npos) return err(bad(flag, *v, expects));
  if (point != std::string::npos && (frac.empty() || frac.find_first_not_of("0123456789") != std::string::npos))
    return err(bad(flag, *v, expects));
  auto units = parse_decimal(*v, 6, false);
  if (!units) return err(bad(flag, *v, expects + ": " + to_string(units.error())));
  if (*units <= 0) return err(bad(flag, *v, expects));
  return std::optional<uint64_t>(static_cast<uint64_t>(*units));
}

FlagResult<std::optional<Address>> Args::address(const std::string& flag) const {
  auto v = get(flag);
  if (!v) return std::optional<Address>();
  auto a = parse_address(*v);
  if (!a) return err(bad(flag, *v, std::string("an address, 0x and 40 hex digits (") + to_string(a.error()) + ")"));
  return std::optional<Address>(*a);
}

FlagResult<std::optional<PrivateKey>> Args::key() const {
  auto hex = get("--key");
  auto file = get("--key-file");
  if (hex && file) return err(problem(FlagError::kConflict, "give --key or --key-file, not both"));
  if (hex) {
    auto k = parse_private_key(*hex);
    // The value is a secret: the message does not repeat it.
    if (!k)
      return err(problem(FlagError::kBadValue, std::string("--key expects a private key, 0x and 64 hex digits (") +
                                                   to_string(k.error()) + ")"));
    return std::optional<PrivateKey>(*k);
  }
  if (file) {
    auto k = read_key_file(*file);
    if (!k)
      return err(problem(FlagError::kBadValue, "--key-file " + *file + ": " + to_string(k.error()) +
                                                   " (the file's first line is the hex key)"));
    return std::optional<PrivateKey>(*k);
  }
  return std::optional<PrivateKey>();
}

FlagResult<Endpoint> Args::endpoint(const std::string& flag, const std::string& env_var, const std::string& fallback,
                                    bool listen) const {
  std::string value = fallback, source = "default";
  if (auto v = get(flag)) {
    value = *v;
    source = flag;
  } else if (!env_var.empty()) {
    if (auto e = env_(env_var); e && !e->empty()) {
      value = *e;
      source = env_var;
    }
  }
  const std::string expects =
      listen ? "HOST:PORT or http://HOST:PORT (port 0: any free port)" : "HOST:PORT or http://HOST:PORT";
  auto refuse = [&](const std::string& why) -> FlagProblem {
    if (source == env_var)
      return problem(FlagError::kBadEnvironment, env_var + " (the default of " + flag + ") expects " + expects +
                                                     ", got " + quoted(value) + ": " + why);
    return problem(FlagError::kBadValue, flag + " expects " + expects + ", got " + quoted(value) + ": " + why);
  };
  std::string why;
  auto e = parse_endpoint(value, &why);
  if (!e) return err(refuse(why));
  if (listen && !e->prefix.empty()) return err(refuse("a listening address has no path"));
  if (!listen && e->port == 0) return err(refuse("port 0 names no server"));
  return *e;
}

FlagResult<std::optional<std::string>> Args::choice(const std::string& flag,
                                                    const std::vector<std::string>& choices) const {
  auto v = get(flag);
  if (!v) return std::optional<std::string>();
  std::string list;
  for (const auto& c : choices) {
    if (c == *v) return std::optional<std::string>(*v);
    list += (list.empty() ? "" : " | ") + c;
  }
  return err(bad(flag, *v, "one of " + list));
}

}  // namespace opt
