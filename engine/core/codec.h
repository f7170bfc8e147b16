// The canonical binary codec: fixed-width big-endian integers, bools as exactly 0 or 1, fixed-size byte
// strings raw, counts as u32 with explicit bounds. One encoding per value, so an encoding's hash
// identifies the value. The Reader never reads out of bounds: the first failure sticks and every later
// read returns zeros, so decoders are written straight-line and checked once at the end.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/core/bytes.h"
#include "engine/core/crypto.h"

namespace opt {

enum class CodecError : uint8_t {
  kTruncated,      // input ended inside a value
  kTrailingBytes,  // bytes left after the value: rejected so that each value has one encoding
  kBadTag,         // unknown type tag
  kBadBool,        // a bool byte other than 0 or 1
  kBadSignature,   // signature v not 27 or 28 (the canonical form)
  kTooMany,        // a count above its bound
  kTooLarge,       // a length above its bound
  kNonCanonical,   // a value with a canonical form other than the one given (e.g. unsorted keys)
};
const char* to_string(CodecError e);

class Writer {
 public:
  Writer& u8(uint8_t v) {
    out_.push_back(v);
    return *this;
  }
  Writer& boolean(bool v) { return u8(v ? 1 : 0); }
  Writer& u32(uint32_t v) {
    append_be32(out_, v);
    return *this;
  }
  Writer& u64(uint64_t v) {
    append_be64(out_, v);
    return *this;
  }
  Writer& i64(int64_t v) { return u64(static_cast<uint64_t>(v)); }
  Writer& raw(ByteView b) {
    append(out_, b);
    return *this;
  }
  template <size_t N, class Tag>
  Writer& fixed(const FixedBytes<N, Tag>& b) {
    return raw(b.view());
  }
  Writer& var_bytes(ByteView b) {  // u32 length + bytes
    u32(static_cast<uint32_t>(b.size()));
    return raw(b);
  }
  Bytes& bytes() { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}

  uint8_t u8();
  bool boolean();
  uint32_t u32();
  uint64_t u64();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  ByteView raw(size_t n);
  template <size_t N, class Tag>
  FixedBytes<N, Tag> fixed() {
    FixedBytes<N, Tag> out;
    ByteView b = raw(N);
    if (ok()) std::memcpy(out.data(), b.data(), N);
    return out;
  }
  Signature signature();           // 65 bytes, v must be 27 or 28
  ByteView var_bytes(size_t max);  // u32 length (<= max) + bytes
  uint32_t count(uint32_t max);    // a u32 element count, refused above max

  void fail(CodecError e) {
    if (!failed_) {
      failed_ = true;
      error_ = e;
    }
  }
  bool ok() const { return !failed_; }
  CodecError error() const { return error_; }
  size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  // Succeeds only if nothing failed and all input was consumed.
  Status<CodecError> finish();

 private:
  ByteView in_;
  size_t pos_ = 0;
  bool failed_ = false;
  CodecError error_ = CodecError::kTruncated;
};

}  // namespace opt
