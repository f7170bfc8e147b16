// The typed flag parser (engine/common/args.h): every bad input refused with a message that names the flag
// and what it expects; the address forms; environment variables as defaults.
#include <doctest/doctest.h>

#include <map>

#include "engine/common/args.h"
#include "tests/test_util.h"

namespace opt::test {

namespace {

const std::vector<FlagSpec> kSpecs = {
    {"--games", "N", "integer >= 1", "20", "games"},
    {"--port", "P", "", "", ""},
    {"--poll", "D", "duration", "500ms", ""},
    {"--amount", "USDC", "", "", ""},
    {"--to", "ADDRESS", "", "", ""},
    {"--key", "0x...", "", "", ""},
    {"--key-file", "PATH", "", "", ""},
    {"--api", "URL", "", "", ""},
    {"--listen", "HOST:PORT", "", "", ""},
    {"--scenario", "NAME", "", "", ""},
    {"--json", "", "", "", ""},
};

// An environment of our own: the tests do not depend on (or change) the process's.
Args::Env env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Args parse_ok(const std::vector<std::string>& argv, Args::Env env = env_of({})) {
  auto a = Args::parse(argv, kSpecs, 0, std::move(env));
  INFO(argv.size());
  REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().message));
  return std::move(a).value();
}

FlagProblem parse_fails(const std::vector<std::string>& argv, size_t max_positional = 0) {
  auto a = Args::parse(argv, kSpecs, max_positional, env_of({}));
  REQUIRE_FALSE(a.ok());
  return a.error();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("integers: only plain decimal digits, within the target's range") {
  for (const std::string bad : {"-1", "1e3", "+5", " 5", "5 ", "0x10", "1.0", "1_000", "ten", "５"}) {
    CAPTURE(bad);
    Args a = parse_ok({"--games", bad});
    auto g = a.u64("--games", 1);
    REQUIRE_FALSE(g.ok());
    CHECK(g.error().code == FlagError::kBadValue);
    CHECK(contains(g.error().message, "--games"));
    CHECK(contains(g.error().message, "decimal integer"));
    CHECK(contains(g.error().message, "'" + bad + "'"));
  }
  // 2^64 - 1 fits, 2^64 does not, and the message says why.
  CHECK(**parse_ok({"--games", "18446744073709551615"}).u64("--games") == UINT64_MAX);
  for (const std::string big : {"18446744073709551616", "99999999999999999999", "123456789012345678901234567890"}) {
    auto g = parse_ok({"--games", big}).u64("--games");
    REQUIRE_FALSE(g.ok());
    CHECK(contains(g.error().message, "--games"));
    CHECK(contains(g.error().message, "too large"));
  }
  // A narrower target: the range is part of the message.
  auto port = parse_ok({"--port", "99999"}).u64("--port", 0, 65535);
  REQUIRE_FALSE(port.ok());
  CHECK(contains(port.error().message, "from 0 to 65535"));
  auto zero = parse_ok({"--games", "0"}).u64("--games", 1);
  REQUIRE_FALSE(zero.ok());
  CHECK(contains(zero.error().message, ">= 1"));
  CHECK(**parse_ok({"--games", "007"}).u64("--games", 1) == 7);
  CHECK(*parse_ok({}).u64_or("--games", 20, 1) == 20);
  CHECK(parse_u64_digits("") == std::nullopt);
  bool overflow = false;
  CHECK(parse_u64_digits("99999999999999999999x", &overflow) == std::nullopt);
  CHECK_FALSE(overflow);  // not a number at all, rather than a number too large
  CHECK(parse_u64_digits("18446744073709551616", &overflow) == std::nullopt);
  CHECK(overflow);
}

TEST_CASE("the command line: unknown, missing, empty, repeated flags and stray arguments") {
  auto unknown = parse_fails({"--gmaes", "3"});
  CHECK(unknown.code == FlagError::kUnknownFlag);
  CHECK(contains(unknown.message, "--gmaes"));
  CHECK(parse_fails({"-g", "3"}).code == FlagError::kUnknownFlag);

  auto missing = parse_fails({"--games"});
  CHECK(missing.code == FlagError::kMissingValue);
  CHECK(contains(missing.message, "--games needs a value"));
  CHECK(contains(missing.message, "integer >= 1"));
  // A forgotten value is not taken from the next flag.
  auto swallowed = parse_fails({"--api", "--json"});
  CHECK(swallowed.code == FlagError::kMissingValue);
  CHECK(contains(swallowed.message, "--api"));
  CHECK(contains(swallowed.message, "--json"));

  for (const auto& empty : {std::vector<std::string>{"--games="}, {"--games", ""}}) {
    auto e = parse_fails(empty);
    CHECK(e.code == FlagError::kEmptyValue);
    CHECK(contains(e.message, "--games"));
  }
  auto twice = parse_fails({"--games", "3", "--games=4"});
  CHECK(twice.code == FlagError::kRepeated);
  CHECK(contains(twice.message, "--games is given twice"));
  CHECK(contains(twice.message, "'3'"));
  CHECK(contains(twice.message, "'4'"));
  // A boolean flag given twice means the same thing both times.
  CHECK(parse_ok({"--json", "--json"}).flag("--json"));
  auto valued = parse_fails({"--json=yes"});
  CHECK(valued.code == FlagError::kUnexpectedValue);
  CHECK(contains(valued.message, "--json"));

  auto stray = parse_fails({"extra"});
  CHECK(stray.code == FlagError::kUnexpectedArgument);
  CHECK(contains(stray.message, "'extra'"));
  auto one = Args::parse({"0xabc"}, kSpecs, 1, env_of({}));
  REQUIRE(one.ok());
  CHECK(one->positional() == std::vector<std::string>{"0xabc"});
  CHECK(parse_fails({"a", "b"}, 1).code == FlagError::kUnexpectedArgument);

  // Both spellings of a value; a negative number reaches the typed getter, which says what is wrong.
  Args a = parse_ok({"--games=5", "--poll", "2s"});
  CHECK(**a.u64("--games") == 5);
  CHECK(*a.duration_ms_or("--poll", 500) == 2000);
  CHECK(contains(parse_ok({"--games", "-1"}).u64("--games", 1).error().message, "'-1'"));
}

TEST_CASE("durations, seconds and choices") {
  CHECK(*parse_ok({"--poll", "250ms"}).duration_ms_or("--poll", 1) == 250);
  CHECK(*parse_ok({"--poll", "3"}).duration_ms_or("--poll", 1) == 3000);
  CHECK(*parse_ok({"--poll", "2m"}).duration_ms_or("--poll", 1) == 120'000);
  CHECK(*parse_ok({}).duration_ms_or("--poll", 500) == 500);
  for (const std::string bad : {"-1s", "+1s", "1e3ms", "5x", "0", " 5s", "0x10", "1.5s", "99999999999999999999h"}) {
    CAPTURE(bad);
    auto d = parse_ok({"--poll", bad}).duration_ms_or("--poll", 1);
    REQUIRE_FALSE(d.ok());
    CHECK(contains(d.error().message, "--poll expects a duration"));
  }
  auto short_one = parse_ok({"--poll", "50ms"}).duration_ms_or("--poll", 1000, 100);
  REQUIRE_FALSE(short_one.ok());
  CHECK(contains(short_one.error().message, "at least 100ms"));
  CHECK(*parse_ok({"--poll", "2m"}).seconds_or("--poll", 1) == 120);
  auto frac = parse_ok({"--poll", "1500ms"}).seconds_or("--poll", 1);
  REQUIRE_FALSE(frac.ok());
  CHECK(contains(frac.error().message, "whole number of seconds"));

  CHECK(**parse_ok({"--scenario", "b"}).choice("--scenario", {"a", "b"}) == "b");
  auto wrong = parse_ok({"--scenario", "c"}).choice("--scenario", {"a", "b"});
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message, "one of a | b"));
}

TEST_CASE("amounts: positive USDC with up to six decimals") {
  CHECK(**parse_ok({"--amount", "12.5"}).amount("--amount") == 12'500'000);
  CHECK(**parse_ok({"--amount", "1000"}).amount("--amount") == 1'000'000'000);
  CHECK(**parse_ok({"--amount", "0.000001"}).amount("--amount") == 1);
  CHECK_FALSE(parse_ok({}).amount("--amount")->has_value());
  for (const std::string bad :
       {"-1", "+5", "1e3", " 5", "0x10", "0", "0.0", "1.1234567", ".5", "5.", "1..2", "1,5", "99999999999999999999"}) {
    CAPTURE(bad);
    auto v = parse_ok({"--amount", bad}).amount("--amount");
    REQUIRE_FALSE(v.ok());
    CHECK(contains(v.error().message, "--amount expects a positive USDC amount"));
  }
}

TEST_CASE("addresses and keys") {
  const std::string dev0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
  CHECK(to_checksum(**parse_ok({"--to", dev0}).address("--to")) == dev0);
  for (const std::string bad :
       {"0x1234", "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"}) {
    auto v = parse_ok({"--to", bad}).address("--to");
    REQUIRE_FALSE(v.ok());
    CHECK(contains(v.error().message, "--to expects an address"));
  }
  const std::string key = dev_key(0).hex();
  auto k = parse_ok({"--key", key}).key();
  REQUIRE(k.ok());
  REQUIRE(k->has_value());
  CHECK((*k)->hex() == key);
  CHECK_FALSE(parse_ok({}).key()->has_value());
  auto both = parse_ok({"--key", key, "--key-file", "/nonexistent"}).key();
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().code == FlagError::kConflict);
  // A bad key is refused without echoing it (it may be a real key with a typo).
  const std::string typo = key.substr(0, key.size() - 1) + "g";
  auto bad = parse_ok({"--key", typo}).key();
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message, "--key expects a private key"));
  CHECK_FALSE(contains(bad.error().message, typo));
  auto no_file = parse_ok({"--key-file", "/nonexistent/key"}).key();
  REQUIRE_FALSE(no_file.ok());
  CHECK(contains(no_file.error().message, "--key-file /nonexistent/key"));
}

TEST_CASE("addresses: HOST:PORT and http://HOST:PORT name the same endpoint") {
  for (const std::string form : {"127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/"}) {
    CAPTURE(form);
    auto e = parse_ok({"--api", form}).endpoint("--api", "OPTROLLUP_API", "127.0.0.1:1", false);
    REQUIRE(e.ok());
    CHECK(e->host == "127.0.0.1");
    CHECK(e->port == 8080);
    CHECK(e->url() == "http://127.0.0.1:8080");
    CHECK(e->host_port() == "127.0.0.1:8080");
  }
  auto v6 = parse_endpoint("http://[::1]:8545");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->url() == "http://[::1]:8545");
  auto proxied = parse_endpoint("http://127.0.0.1:80/rollup/");
  REQUIRE(proxied);
  CHECK(proxied->url() == "http://127.0.0.1:80/rollup");

  for (const std::string bad : {"127.0.0.1", "https://127.0.0.1:8080", "127.0.0.1:99999", "127.0.0.1:-1", ":8080",
                                "127.0.0.1:8080x", "127.0.0.1:+80", "127.0.0.1: 80", "::1:80", "http://"}) {
    CAPTURE(bad);
    auto e = parse_ok({"--api", bad}).endpoint("--api", "OPTROLLUP_API", "127.0.0.1:1", false);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().code == FlagError::kBadValue);
    CHECK(contains(e.error().message, "--api expects HOST:PORT or http://HOST:PORT"));
  }
  // Port 0 is for listening (the kernel picks a port), a path is for clients.
  CHECK(parse_ok({"--listen", "127.0.0.1:0"}).endpoint("--listen", "", "127.0.0.1:8545", true).ok());
  CHECK_FALSE(parse_ok({"--api", "127.0.0.1:0"}).endpoint("--api", "", "127.0.0.1:1", false).ok());
  CHECK_FALSE(parse_ok({"--listen", "http://127.0.0.1:80/x"}).endpoint("--listen", "", "127.0.0.1:8545", true).ok());
}

TEST_CASE("environment variables stand in for absent flags") {
  const auto env = env_of({{"OPTROLLUP_API", "http://127.0.0.1:9000"}});
  CHECK(parse_ok({}, env).endpoint("--api", "OPTROLLUP_API", "127.0.0.1:8080", false)->port == 9000);
  // The flag wins over the environment, the environment over the built-in default.
  CHECK(parse_ok({"--api", "127.0.0.1:9001"}, env).endpoint("--api", "OPTROLLUP_API", "127.0.0.1:8080", false)->port ==
        9001);
  CHECK(parse_ok({}, env_of({})).endpoint("--api", "OPTROLLUP_API", "127.0.0.1:8080", false)->port == 8080);
  CHECK(
      parse_ok({}, env_of({{"OPTROLLUP_API", ""}})).endpoint("--api", "OPTROLLUP_API", "127.0.0.1:8080", false)->port ==
      8080);
  // A bad value in the environment names the variable, not a flag the user did not type.
  auto bad = parse_ok({}, env_of({{"OPTROLLUP_API", "localhost"}}))
                 .endpoint("--api", "OPTROLLUP_API", "127.0.0.1:8080", false);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == FlagError::kBadEnvironment);
  CHECK(contains(bad.error().message, "OPTROLLUP_API"));
  CHECK(contains(bad.error().message, "'localhost'"));
}

TEST_CASE("--help lines carry each flag's value, type and default") {
  const std::string help = flags_help(kSpecs);
  CHECK(contains(help, "--games N"));
  CHECK(contains(help, "[integer >= 1; default 20]"));
  CHECK(contains(help, "[duration; default 500ms]"));
  CHECK(std::count(help.begin(), help.end(), '\n') + 1 == static_cast<long>(kSpecs.size()));
}

}  // namespace opt::test
