#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace zinc {

// SHA-256 (FIPS 180-4), for content checksums (zincctl replay prints the final text's).
// Value type; owner thread only.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  // The digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> Finish();
  // Lower-case hex of the digest of data.
  static std::string Hex(std::string_view data);

 private:
  void Block(const uint8_t* p);

  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

}  // namespace zinc
