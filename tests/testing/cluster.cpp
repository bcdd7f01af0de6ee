#include "tests/testing/cluster.h"

#include <gtest/gtest.h>

namespace zinc {
namespace testing {

std::unique_ptr<Endpoint> StartHost(EndpointOptions options) {
  options.listen = "tcp://127.0.0.1:*";
  Result<std::unique_ptr<Endpoint>> host = Endpoint::Start(std::move(options));
  EXPECT_TRUE(host.ok()) << host.status().ToString();
  if (!host.ok()) std::abort();
  return std::move(host).value();
}

EndpointOptions FailoverOptions() {
  EndpointOptions o;
  o.handler_threads = 1;
  o.heartbeat_misses = 5;
  return o;
}

std::unique_ptr<Endpoint> StartMember(const std::string& join, bool relay, uint32_t priority,
                                      EndpointOptions options) {
  options.join = join;
  if (relay) options.listen = "tcp://127.0.0.1:*";
  options.priority = priority;
  Result<std::unique_ptr<Endpoint>> e = Endpoint::Start(std::move(options));
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) std::abort();
  EXPECT_TRUE((*e)->WaitJoined(std::chrono::seconds(60)).ok());
  return std::move(e).value();
}

std::unique_ptr<Endpoint> StartClient(const Endpoint& host, EndpointOptions options) {
  options.join = host.listen_address();
  Result<std::unique_ptr<Endpoint>> client = Endpoint::Start(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (!client.ok()) std::abort();
  return std::move(client).value();
}

}  // namespace testing
}  // namespace zinc

#include "endpoints/address.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace testing {

namespace {
DocumentHandle* OpenTyped(Endpoint* endpoint, const std::string& name, const char* type) {
  OpenOptions open;
  open.type = type;
  Result<DocumentHandle*> doc = endpoint->Open(name, open);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : nullptr;
}
}  // namespace

DocumentHandle* OpenMap(Endpoint* endpoint, const std::string& name) {
  return OpenTyped(endpoint, name, "map");
}

DocumentHandle* OpenText(Endpoint* endpoint, const std::string& name) {
  return OpenTyped(endpoint, name, "text");
}

RawPeer::RawPeer(const Endpoint& host, EndpointId id) : RawPeer(host, id, ClientKeys(), true) {}

RawPeer::RawPeer(const Endpoint& host, EndpointId id, const ClientKeys& keys, bool probe)
    : id_(id) {
  ChannelOptions push_options;
  push_options.curve_public_key = keys.public_key;
  push_options.curve_secret_key = keys.secret_key;
  ChannelOptions dealer_options = push_options;
  dealer_options.routing_id = "Z" + std::string(id_.bytes());
  push_ = std::move(Channel::Create(&context_, SocketType::kPush, push_options)).value();
  dealer_ = std::move(Channel::Create(&context_, SocketType::kDealer, dealer_options)).value();
  ChannelAddresses a = DeriveChannelAddresses(ParseBaseAddress(host.listen_address()).value());
  EXPECT_TRUE(push_->Connect(a.inbound, keys.server_key).ok());
  EXPECT_TRUE(dealer_->Connect(a.sync, keys.server_key).ok());
  if (!probe) return;
  // Make sure the host's ROUTER knows this DEALER before anything is sent that draws a nack
  // (a ROUTER drops what it sends to a peer it does not know yet): one request, one reply.
  Request(EncodeEnvelope(SnapshotRequest("raw-peer-probe")));
  wire::Envelope reply;
  EXPECT_TRUE(ReceiveReply(&reply, std::chrono::seconds(20)));
}

wire::Envelope RawPeer::Fragment(const std::string& doc, const std::string& type,
                                 uint64_t origin_seq, const std::string& payload) const {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(std::string(id_.bytes()));
  e.set_origin_seq(origin_seq);
  e.set_doc(doc);
  e.mutable_fragment()->set_type(type);
  e.mutable_fragment()->set_payload(payload);
  return e;
}

wire::Envelope RawPeer::SnapshotRequest(const std::string& doc, const std::string& type,
                                        bool create) const {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(std::string(id_.bytes()));
  e.set_doc(doc);
  e.mutable_snapshot_request()->set_type(type);
  e.mutable_snapshot_request()->set_create(create);
  return e;
}

wire::Envelope RawPeer::Control(const std::string& doc) const {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(std::string(id_.bytes()));
  e.set_doc(doc);
  return e;
}

void RawPeer::Push(const std::string& bytes) {
  std::string_view part(bytes);
  // The socket only refuses while its connection is still being made.
  ASSERT_TRUE(WaitFor([&] { return push_->Send(&part, 1).ok(); }));
}

bool RawPeer::TryPush(const wire::Envelope& e, std::chrono::milliseconds timeout) {
  const std::string bytes = EncodeEnvelope(e);
  std::string_view part(bytes);
  return WaitFor([&] { return push_->Send(&part, 1).ok(); }, timeout);
}

bool RawPeer::TryRequest(const wire::Envelope& e, std::chrono::milliseconds timeout) {
  const std::string bytes = EncodeEnvelope(e);
  std::string_view part(bytes);
  return WaitFor([&] { return dealer_->Send(&part, 1).ok(); }, timeout);
}

void RawPeer::Request(const std::string& bytes) {
  std::string_view part(bytes);
  ASSERT_TRUE(WaitFor([&] { return dealer_->Send(&part, 1).ok(); }));
}

bool RawPeer::ReceiveReply(wire::Envelope* out, std::chrono::milliseconds timeout) {
  std::vector<std::string> parts;
  CodecLimits limits;
  bool got = WaitFor(
      [&] {
        Result<bool> r = dealer_->Receive(&parts);
        return r.ok() && *r;
      },
      timeout);
  if (!got || parts.size() != 1) return false;
  return DecodeEnvelope(parts[0], limits.max_sync_envelope_bytes, limits, out).ok();
}

}  // namespace testing
}  // namespace zinc
