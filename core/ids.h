#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace zinc {

// The 16-byte UUID of an endpoint (Boost.UUID, random). Value type; thread-compatible.
class EndpointId {
 public:
  EndpointId() { bytes_.fill(0); }

  // A new random (version 4) id.
  static EndpointId Random();
  // Parses 16 raw bytes; returns false if bytes is not exactly 16 bytes long.
  static bool FromBytes(std::string_view bytes, EndpointId* out);

  std::string_view bytes() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }
  bool is_nil() const;
  // The canonical 8-4-4-4-12 hex form.
  std::string ToString() const;

  bool operator==(const EndpointId& o) const { return bytes_ == o.bytes_; }
  bool operator!=(const EndpointId& o) const { return bytes_ != o.bytes_; }
  bool operator<(const EndpointId& o) const { return bytes_ < o.bytes_; }

 private:
  std::array<uint8_t, 16> bytes_;
};

struct EndpointIdHash {
  size_t operator()(const EndpointId& id) const {
    uint64_t a, b;
    std::memcpy(&a, id.bytes().data(), 8);
    std::memcpy(&b, id.bytes().data() + 8, 8);
    return std::hash<uint64_t>()(a ^ (b * 0x9e3779b97f4a7c15ULL));
  }
};

}  // namespace zinc
