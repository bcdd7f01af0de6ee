#include "core/ids.h"

#include <mutex>

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace zinc {

EndpointId EndpointId::Random() {
  // random_generator seeds itself from the OS; one per thread avoids a lock.
  thread_local boost::uuids::random_generator gen;
  boost::uuids::uuid u = gen();
  EndpointId id;
  std::memcpy(id.bytes_.data(), u.data, 16);
  return id;
}

bool EndpointId::FromBytes(std::string_view bytes, EndpointId* out) {
  if (bytes.size() != 16) return false;
  std::memcpy(out->bytes_.data(), bytes.data(), 16);
  return true;
}

bool EndpointId::is_nil() const {
  for (uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

std::string EndpointId::ToString() const {
  boost::uuids::uuid u;
  std::memcpy(u.data, bytes_.data(), 16);
  return boost::uuids::to_string(u);
}

}  // namespace zinc
