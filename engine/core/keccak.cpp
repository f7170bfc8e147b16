#include "engine/core/keccak.h"

#include <cryptopp/keccak.h>

namespace opt {

struct Keccak::Impl {
  CryptoPP::Keccak_256 h;
};

Keccak::Keccak() : impl_(std::make_unique<Impl>()) {}
Keccak::~Keccak() = default;

Keccak& Keccak::update(ByteView data) {
  impl_->h.Update(data.data(), data.size());
  return *this;
}
Keccak& Keccak::update(std::string_view data) {
  impl_->h.Update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return *this;
}
Keccak& Keccak::update(uint8_t byte) {
  impl_->h.Update(&byte, 1);
  return *this;
}
Hash32 Keccak::finish() {
  Hash32 out;
  impl_->h.Final(out.data());
  return out;
}

Hash32 keccak256(ByteView data) {
  CryptoPP::Keccak_256 h;
  h.Update(data.data(), data.size());
  Hash32 out;
  h.Final(out.data());
  return out;
}

Hash32 keccak256(std::string_view data) {
  return keccak256(ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

}  // namespace opt
