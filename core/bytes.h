#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zinc {

// Appends varints and length-prefixed strings to a byte string; the encoding document types use
// for their payloads. Owner thread only.
class ByteWriter {
 public:
  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void PutByte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void PutString(std::string_view s) {
    PutVarint(s.size());
    out_.append(s.data(), s.size());
  }
  std::string Release() { return std::move(out_); }
  const std::string& data() const { return out_; }

 private:
  std::string out_;
};

// Reads what ByteWriter wrote. Every read is bounds-checked: on bad input it returns false and
// the reader stays failed, so a decoder can check ok() once at the end. Owner thread only.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool GetVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      // The tenth byte holds only bit 63.
      if (shift == 63 && b > 1) return Fail();
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return Fail();
  }
  bool GetByte(uint8_t* b) {
    if (pos_ >= in_.size()) return Fail();
    *b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool GetString(std::string_view* s) {
    uint64_t n;
    if (!GetVarint(&n)) return false;
    if (n > in_.size() - pos_) return Fail();
    *s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  bool Fail() {
    ok_ = false;
    pos_ = in_.size();
    return false;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace zinc
