// Key management: keygen and address.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/cli/command.h"
#include "engine/common/keys.h"

namespace opt::cli {

namespace {

int keygen(const Args& a) {
  PrivateKey k = generate_private_key();
  Address addr = *address_of(k);
  if (auto out = a.get("--out")) {
    struct stat st;
    if (stat(out->c_str(), &st) == 0) return failure("keygen", "--out: refusing to overwrite existing file " + *out);
    std::ofstream f(*out);
    if (!f) return failure("keygen", "--out: cannot write " + *out);
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
  auto k = required_key(a, "the key");
  if (!k) return usage_error("address", k.error());
  std::string addr = to_checksum(*address_of(*k));
  if (a.flag("--json"))
    std::printf("%s\n", nlohmann::json{{"address", addr}}.dump().c_str());
  else
    std::printf("%s\n", addr.c_str());
  return 0;
}

}  // namespace

std::vector<Command> wallet_commands() {
  const FlagSpec json = {"--json", "", "", "", "print JSON (errors too)"};
  Command keygen_cmd;
  keygen_cmd.name = "keygen";
  keygen_cmd.summary = "create a new secp256k1 key and print its address";
  keygen_cmd.usage =
      "usage: optrollup keygen [--out FILE] [--json]\n\n"
      "Creates a private key from the kernel's random source and prints it with its Ethereum address.";
  keygen_cmd.flags = {
      {"--out", "FILE", "path", "print the key", "write the key to FILE (mode 0600) instead; never overwrites"}, json};
  keygen_cmd.run = keygen;
  Command address_cmd;
  address_cmd.name = "address";
  address_cmd.summary = "print the Ethereum address of a private key";
  address_cmd.usage = "usage: optrollup address (--key 0x... | --key-file PATH) [--json]";
  address_cmd.flags = {key_flag(), key_file_flag(), json};
  address_cmd.run = address;
  return {keygen_cmd, address_cmd};
}

}  // namespace opt::cli
