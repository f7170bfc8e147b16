// The command line, typed. Every subcommand declares its flags (name, value type, default, help); the
// parser refuses anything else (unknown flags, a missing or empty value, a value flag given twice, stray
// arguments), and the typed getters refuse any value that is not exactly what the flag expects ("-1",
// "+5", " 5", "1e3", "0x10" where a decimal is expected, a number beyond the target's range) with a
// message naming the flag and what it expects. Nothing here prints or exits: errors are values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/crypto.h"
#include "engine/core/result.h"

namespace opt {

enum class FlagError : uint8_t {
  kUnknownFlag,         // a flag the command does not declare
  kMissingValue,        // a value flag at the end of the line, or followed by another flag
  kEmptyValue,          // --flag= or --flag ""
  kRepeated,            // a value flag given twice (which one would count?)
  kUnexpectedValue,     // --bool-flag=value
  kUnexpectedArgument,  // a positional argument the command does not take
  kBadValue,            // the value is not of the flag's type, or out of its range
  kMissingFlag,         // a required flag is absent
  kConflict,            // two flags that exclude each other
  kBadEnvironment,      // an environment variable that stands in for a flag holds a bad value
};
// The stable code of an error ("unknown_flag", "bad_value", ...).
const char* to_string(FlagError e);

struct FlagProblem {
  FlagError code;
  std::string message;  // names the flag and what it expects
};
template <class T>
using FlagResult = Result<T, FlagProblem>;

// One flag a command takes. `value` is the placeholder shown in --help ("N", "HOST:PORT"); empty for a
// boolean flag. `type` says what the value must be, `fallback` what applies when the flag is absent (both
// only for --help: the getters below enforce them).
struct FlagSpec {
  std::string name;  // "--games"
  std::string value;
  std::string type;
  std::string fallback;
  std::string help;
};

// The --help lines for `specs`: "  --games N   games to play [integer >= 1; default 20]".
std::string flags_help(const std::vector<FlagSpec>& specs);

// An unsigned decimal integer: one or more ASCII digits and nothing else (no sign, space, exponent,
// radix prefix). nullopt when it is not one or does not fit in 64 bits; `overflow` says which.
std::optional<uint64_t> parse_u64_digits(std::string_view s, bool* overflow = nullptr);

// "30s", "500ms", "2m", "1h" or plain seconds; returns milliseconds.
std::optional<uint64_t> parse_duration_ms(const std::string& s);

// A TCP endpoint named as HOST:PORT or http://HOST:PORT (a trailing '/' is allowed; IPv6 as [::1]:PORT).
// `prefix` is a path after the authority ("/rollup" behind a proxy), kept for clients.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string prefix;
  std::string url() const;        // "http://HOST:PORT" + prefix
  std::string host_port() const;  // "HOST:PORT" ([::1]:PORT for IPv6)
};
// nullopt with `why` set when `s` is none of the accepted forms.
std::optional<Endpoint> parse_endpoint(std::string_view s, std::string* why = nullptr);

class Args {
 public:
  // Reads an environment variable; std::getenv unless a test supplies its own.
  using Env = std::function<std::optional<std::string>(const std::string&)>;

  // Parses `argv` (the words after the subcommand) against the command's flags: `--flag value`,
  // `--flag=value`, boolean `--flag`, and up to `max_positional` positional arguments.
  static FlagResult<Args> parse(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
                                size_t max_positional = 0, Env env = nullptr);

  bool has(const std::string& flag) const { return values_.count(flag) || bools_.count(flag); }
  bool flag(const std::string& name) const { return bools_.count(name) > 0; }
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Typed values. Each returns nullopt (or the fallback) when the flag is absent and an error naming the
  // flag when its value is not what it expects.
  FlagResult<std::optional<uint64_t>> u64(const std::string& flag, uint64_t min = 0, uint64_t max = UINT64_MAX) const;
  FlagResult<uint64_t> u64_or(const std::string& flag, uint64_t fallback, uint64_t min = 0,
                              uint64_t max = UINT64_MAX) const;
  // A duration (30s, 500ms, 2m, 1h or plain seconds) of at least `min_ms`, in milliseconds.
  FlagResult<uint64_t> duration_ms_or(const std::string& flag, uint64_t fallback, uint64_t min_ms = 1) const;
  // A positive duration in whole seconds (for clocks with one-second resolution).
  FlagResult<uint64_t> seconds_or(const std::string& flag, uint64_t fallback) const;
  // A positive USDC amount with up to 6 decimals ("1000", "12.5"), in micro-units.
  FlagResult<std::optional<uint64_t>> amount(const std::string& flag) const;
  // A 0x-prefixed 20-byte address (any case).
  FlagResult<std::optional<Address>> address(const std::string& flag) const;
  // The key of --key 0x... or --key-file PATH (at most one of them); nullopt when neither is given.
  FlagResult<std::optional<PrivateKey>> key() const;
  // An endpoint: the flag's value, else the environment variable `env_var` (when not empty and set), else
  // `fallback`. `listen` endpoints may use port 0 (the kernel picks one) but no path.
  FlagResult<Endpoint> endpoint(const std::string& flag, const std::string& env_var, const std::string& fallback,
                                bool listen) const;
  // One of `choices`.
  FlagResult<std::optional<std::string>> choice(const std::string& flag, const std::vector<std::string>& choices) const;

 private:
  FlagProblem bad(const std::string& flag, const std::string& value, const std::string& expects) const;

  std::map<std::string, std::string> values_;
  std::set<std::string> bools_;
  std::vector<std::string> positional_;
  Env env_;
};

}  // namespace opt
