// Key management: keygen and address.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "engine/cli/command.h"
#include "engine/common/keys.h"

namespace opt::cli {

namespace {

int keygen(const Args& a) {
  PrivateKey k = generate_private_key();
  Address addr = *address_of(k);
  if (auto out = a.get("--out")) {
    struct stat st;
    if (stat(out->c_str(), &st) == 0) return usage_error("keygen", "refusing to overwrite existing file " + *out);
    std::ofstream f(*out);
    if (!f) return usage_error("keygen", "cannot write " + *out);
    f << k.hex() << "\n";
    f.close();
    chmod(out->c_str(), 0600);
  }
  if (a.flag("--json")) {
    nlohmann::json j = {{"address", to_checksum(addr)}};
    if (!a.get("--out")) j["privateKey"] = k.hex();
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("address:     %s\n", to_checksum(addr).c_str());
    if (auto out = a.get("--out"))
      std::printf("key file:    %s (mode 0600)\n", out->c_str());
    else
      std::printf("private key: %s\n", k.hex().c_str());
  }
  return 0;
}

int address(const Args& a) {
  Result<PrivateKey, KeyError> k = err(KeyError::kBadHex);
  if (auto h = a.get("--key")) {
    k = parse_private_key(*h);
  } else if (auto f = a.get("--key-file")) {
    k = read_key_file(*f);
  } else {
    return usage_error("address", "give --key 0x... or --key-file PATH");
  }
  if (!k) return usage_error("address", to_string(k.error()));
  std::string addr = to_checksum(*address_of(*k));
  if (a.flag("--json"))
    std::printf("%s\n", nlohmann::json{{"address", addr}}.dump().c_str());
  else
    std::printf("%s\n", addr.c_str());
  return 0;
}

}  // namespace

std::vector<Command> wallet_commands() {
  return {
      {"keygen", "create a new secp256k1 key and print its address",
       "usage: optrollup keygen [--out FILE] [--json]\n\n"
       "Creates a private key from the kernel's random source and prints it with its Ethereum address.\n"
       "  --out FILE   write the key to FILE (mode 0600) instead of printing it; never overwrites\n"
       "  --json       print JSON",
       {"--out"}, {"--json"}, keygen},
      {"address", "print the Ethereum address of a private key",
       "usage: optrollup address (--key 0x... | --key-file PATH) [--json]",
       {"--key", "--key-file"}, {"--json"}, address},
  };
}

}  // namespace opt::cli
