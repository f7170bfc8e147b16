// Key generation and key files (outside the deterministic core: they need the OS's randomness and files).
#pragma once

#include <string>

#include "engine/core/crypto.h"

namespace opt {

// A fresh private key from the kernel's CSPRNG.
PrivateKey generate_private_key();

enum class KeyError : uint8_t { kBadHex, kInvalidKey, kUnreadableFile };
const char* to_string(KeyError e);

// "0x" + 64 hex digits (the prefix is optional).
Result<PrivateKey, KeyError> parse_private_key(const std::string& hex);
// A file holding the hex key on its first line.
Result<PrivateKey, KeyError> read_key_file(const std::string& path);

}  // namespace opt
