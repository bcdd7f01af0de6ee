#pragma once

#include <memory>
#include <string>
#include <vector>

#include "endpoints/endpoint.h"

namespace zinc {
namespace testing {

// Starts a root host on tcp://127.0.0.1 with free ports. Aborts the test on failure.
std::unique_ptr<Endpoint> StartHost(EndpointOptions options = EndpointOptions());
// Starts a client that joins host.
std::unique_ptr<Endpoint> StartClient(const Endpoint& host,
                                      EndpointOptions options = EndpointOptions());
// Options for the endpoints of failover tests: one handler thread, and starved endpoints
// (sanitizers, two cores) not taken for dead: 0.5 s of silence is.
EndpointOptions FailoverOptions();
// Starts a member that joins join (a relay with tcp://127.0.0.1 ports when relay) with the
// given failover priority, and waits up to 60 s until it joined. Aborts the test on failure.
std::unique_ptr<Endpoint> StartMember(const std::string& join, bool relay, uint32_t priority,
                                      EndpointOptions options = FailoverOptions());
// Opens (creating) the map called name; fails the test and returns nullptr on error.
DocumentHandle* OpenMap(Endpoint* endpoint, const std::string& name);
// The same for a text.
DocumentHandle* OpenText(Endpoint* endpoint, const std::string& name);

}  // namespace testing
}  // namespace zinc

#include "core/channel.h"
#include "core/codec.h"
#include "core/ids.h"
#include "core/keys.h"

namespace zinc {
namespace testing {

// A hand-made peer with raw channels to a host, for sending what a real endpoint never would:
// garbage, duplicates, other versions. Its DEALER uses the routing id of `id`, so the host's
// nacks for fragments of that origin reach it. Owner thread only.
class RawPeer {
 public:
  explicit RawPeer(const Endpoint& host, EndpointId id = EndpointId::Random());
  // Over CurveZMQ with keys (keys.server_key: the host's public key). probe: wait for the
  // host's reply to one request first (a peer it refuses would wait in vain).
  RawPeer(const Endpoint& host, EndpointId id, const ClientKeys& keys, bool probe);

  const EndpointId& id() const { return id_; }
  // A fragment envelope from this peer.
  wire::Envelope Fragment(const std::string& doc, const std::string& type, uint64_t origin_seq,
                          const std::string& payload) const;
  // A snapshot request from this peer (create only with a type).
  wire::Envelope SnapshotRequest(const std::string& doc, const std::string& type = "",
                                 bool create = false) const;
  // Sends once the connection is up; fails the test if it never comes up. TryPush and
  // TryRequest: false instead, when it did not within timeout (a peer the host refuses).
  void Push(const std::string& bytes);
  bool TryPush(const wire::Envelope& e, std::chrono::milliseconds timeout);
  bool TryRequest(const wire::Envelope& e, std::chrono::milliseconds timeout);
  void Push(const wire::Envelope& e) { Push(EncodeEnvelope(e)); }
  // A body of any kind from this peer's origin, stamped with the protocol version.
  wire::Envelope Control(const std::string& doc = "") const;
  void Request(const std::string& bytes);
  void Request(const wire::Envelope& e) { Request(EncodeEnvelope(e)); }
  // Waits up to timeout for the next envelope on the DEALER; false if none came.
  bool ReceiveReply(wire::Envelope* out, std::chrono::milliseconds timeout);

 private:
  EndpointId id_;
  ChannelContext context_;
  std::unique_ptr<Channel> push_;
  std::unique_ptr<Channel> dealer_;
};

}  // namespace testing
}  // namespace zinc
