#include "engine/core/codec.h"

namespace opt {

const char* to_string(CodecError e) {
  switch (e) {
    case CodecError::kTruncated: return "input ends inside a value";
    case CodecError::kTrailingBytes: return "unexpected bytes after the value";
    case CodecError::kBadTag: return "unknown type tag";
    case CodecError::kBadBool: return "boolean byte is not 0 or 1";
    case CodecError::kBadSignature: return "signature v byte is not 27 or 28";
    case CodecError::kTooMany: return "element count above its limit";
    case CodecError::kTooLarge: return "length above its limit";
    case CodecError::kNonCanonical: return "value is not in canonical form";
  }
  return "unknown codec error";
}

ByteView Reader::raw(size_t n) {
  if (failed_) return {};
  if (in_.size() - pos_ < n) {
    fail(CodecError::kTruncated);
    return {};
  }
  ByteView out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

uint8_t Reader::u8() {
  ByteView b = raw(1);
  return ok() ? b[0] : 0;
}

bool Reader::boolean() {
  uint8_t v = u8();
  if (v > 1) fail(CodecError::kBadBool);
  return v == 1;
}

uint32_t Reader::u32() {
  ByteView b = raw(4);
  if (!ok()) return 0;
  uint32_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

uint64_t Reader::u64() {
  ByteView b = raw(8);
  if (!ok()) return 0;
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

Signature Reader::signature() {
  ByteView b = raw(65);
  if (!ok()) return {};
  if (b[64] != 27 && b[64] != 28) {
    fail(CodecError::kBadSignature);
    return {};
  }
  return Signature::from(b);
}

ByteView Reader::var_bytes(size_t max) {
  uint32_t n = u32();
  if (!ok()) return {};
  if (n > max) {
    fail(CodecError::kTooLarge);
    return {};
  }
  return raw(n);
}

uint32_t Reader::count(uint32_t max) {
  uint32_t n = u32();
  if (ok() && n > max) {
    fail(CodecError::kTooMany);
    return 0;
  }
  return n;
}

Status<CodecError> Reader::finish() {
  if (failed_) return err(error_);
  if (pos_ != in_.size()) return err(CodecError::kTrailingBytes);
  return {};
}

}  // namespace opt
