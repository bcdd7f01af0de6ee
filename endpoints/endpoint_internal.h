#pragma once

// What HostedDocument and Replica need from their Endpoint. Only endpoints/ includes this.

#include <functional>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/log.h"
#include "core/message.h"
#include "endpoints/endpoint.h"

namespace zinc {
namespace internal {

// Thread-safe.
class EndpointCore {
 public:
  virtual ~EndpointCore() = default;

  virtual const EndpointId& id() const = 0;
  virtual const EndpointOptions& options() const = 0;
  virtual const Clock& clock() const = 0;
  virtual Logger& logger() = 0;
  virtual Counters& counters() = 0;
  virtual uint64_t epoch() const = 0;
  // The root sequences now: false while it is not sure it still is the root (after a pause),
  // and for good once it was replaced (docs/failover.md).
  virtual bool accepting() const = 0;
  // Joins a parent and hosts children: replicas serve snapshots and catch-up.
  virtual bool is_relay() const = 0;

  // Queues frame on the I/O thread.
  virtual void Send(OutboundFrame frame) = 0;
  // Queues frames, in order, on the I/O thread.
  virtual void Send(std::vector<OutboundFrame> frames) = 0;
  // Runs task on the strand of document doc. Never blocks.
  virtual void Post(const std::string& doc, std::function<void()> task) = 0;

  // An envelope with version, origin (this endpoint), doc and epoch filled in.
  wire::Envelope NewEnvelope(const std::string& doc) const {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_origin(id().bytes().data(), id().bytes().size());
    e.set_doc(doc);
    e.set_epoch(epoch());
    return e;
  }
};

// The DEALER routing id of an endpoint: 'Z' + its 16-byte id (libzmq reserves ids that start
// with a zero byte). The host sends nacks for fragments to this id.
inline std::string RoutingIdOf(const EndpointId& id) { return "Z" + std::string(id.bytes()); }

}  // namespace internal
}  // namespace zinc
