#pragma once

// What HostedDocument and Replica need from their Endpoint. Only endpoints/ includes this.

#include <functional>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/log.h"
#include "core/message.h"
#include "endpoints/endpoint.h"
#include "endpoints/metrics.h"

namespace zinc {
namespace internal {

class Journal;

// Thread-safe.
class EndpointCore {
 public:
  virtual ~EndpointCore() = default;

  virtual const EndpointId& id() const = 0;
  virtual const EndpointOptions& options() const = 0;
  virtual const Clock& clock() const = 0;
  virtual Logger& logger() = 0;
  virtual Counters& counters() = 0;
  // The same counters as fields (metrics.h).
  virtual const EndpointMetrics& metrics() const = 0;
  virtual uint64_t epoch() const = 0;
  // The root sequences now: false while it is not sure it still is the root (after a pause),
  // and for good once it was replaced (docs/failover.md).
  virtual bool accepting() const = 0;
  // Joins a parent and hosts children: replicas serve snapshots and catch-up.
  virtual bool is_relay() const = 0;

  // This endpoint is the roster's standby: its replicas report what their store committed
  // (wire::Durable) to the root.
  virtual bool is_standby() const { return false; }
  // The roster names a standby (the root's view): with AckAfter::kStandby, its reports
  // acknowledge; without one, the root's own commits do.
  virtual bool has_standby() const { return false; }
  // The group commit to the store (journal.h); nullptr without a data directory.
  virtual Journal* journal() { return nullptr; }
  // Queues frame on the I/O thread.
  virtual void Send(OutboundFrame frame) = 0;
  // Queues frames, in order, on the I/O thread.
  virtual void Send(std::vector<OutboundFrame> frames) = 0;
  // A hosted document has work for the tick (head notices, the idle check) or has none left:
  // only those that asked are ticked. Called under the document's lock; never blocks.
  virtual void SetTicking(const std::string& /*doc*/, bool /*on*/) {}
  // On doc's strand: a hosted document idle past options().unload_after asks to be dropped
  // from memory (loaded again from the store on demand). Not under the document's lock.
  virtual void Unload(const std::string& /*doc*/) {}
  // Runs task on the strand of document doc. Never blocks.
  virtual void Post(const std::string& doc, std::function<void()> task) = 0;
  // Whether origin may send one more fragment now (EndpointOptions::max_fragments_per_second).
  virtual bool TakeFragmentToken(const EndpointId& /*origin*/) { return true; }

  // What a nack says: why, and (for a refused edit) which origin_seq it refuses and which the
  // host expects next.
  struct NackSpec {
    wire::NackReason reason = wire::NACK_UNSPECIFIED;
    std::string text;
    uint64_t refused_origin_seq = 0;
    uint64_t expected_origin_seq = 0;
  };
  // The one nack builder: a nack of document doc ("" for none) on the sync channel to address (a
  // routing id). With target, it names the author it is for, so that only that author reads it
  // when it goes down fallback_topic instead (an author below a relay is not connected here).
  OutboundFrame NackFrame(const std::string& doc, const NackSpec& nack, const EndpointId* target,
                          std::string address, std::string fallback_topic = "") const {
    wire::Envelope e = NewEnvelope(doc);
    wire::Nack* n = e.mutable_nack();
    n->set_reason(nack.reason);
    n->set_text(nack.text);
    n->set_refused_origin_seq(nack.refused_origin_seq);
    n->set_expected_origin_seq(nack.expected_origin_seq);
    if (target) n->set_target(std::string(target->bytes()));
    OutboundFrame f{Route::kSyncReply, std::move(address), EncodeEnvelope(e)};
    f.fallback_topic = std::move(fallback_topic);
    return f;
  }

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
