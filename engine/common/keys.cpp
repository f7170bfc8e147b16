#include "engine/common/keys.h"

#include <sys/random.h>

#include <fstream>
#include <stdexcept>

namespace opt {

PrivateKey generate_private_key() {
  PrivateKey k;
  do {
    size_t got = 0;
    while (got < k.size()) {
      ssize_t n = getrandom(k.data() + got, k.size() - got, 0);
      if (n < 0) throw std::runtime_error("getrandom failed");
      got += static_cast<size_t>(n);
    }
  } while (!is_valid_private_key(k));
  return k;
}

const char* to_string(KeyError e) {
  switch (e) {
    case KeyError::kBadHex: return "private key must be 32 bytes of hex (0x + 64 digits)";
    case KeyError::kInvalidKey: return "private key is zero or not below the secp256k1 group order";
    case KeyError::kUnreadableFile: return "key file cannot be read";
  }
  return "unknown key error";
}

Result<PrivateKey, KeyError> parse_private_key(const std::string& hex) {
  std::string h = hex;
  while (!h.empty() && (h.back() == '\n' || h.back() == '\r' || h.back() == ' ')) h.pop_back();
  auto k = PrivateKey::from_hex(h);
  if (!k) return err(KeyError::kBadHex);
  if (!is_valid_private_key(*k)) return err(KeyError::kInvalidKey);
  return *k;
}

Result<PrivateKey, KeyError> read_key_file(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (!f || !std::getline(f, line)) return err(KeyError::kUnreadableFile);
  return parse_private_key(line);
}

}  // namespace opt
