#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace zinc {

// A ZeroMQ context. Resource type; thread-safe.
// A ZeroMQ context: its I/O thread serves every socket made in it. ZeroMQ's advice is one per
// process, and inproc:// addresses only connect within one: an application with several
// Endpoints makes one and passes it to each (EndpointOptions::context). Resource type;
// thread-safe.
class ChannelContext {
 public:
  ChannelContext();
  ~ChannelContext();
  ChannelContext(const ChannelContext&) = delete;
  ChannelContext& operator=(const ChannelContext&) = delete;

  zmq::context_t* native() { return ctx_.get(); }

  // Who may connect to this context's CURVE servers of one ZAP domain (RFC 27): authorize gets
  // the client's public key (Z85) and says whether it may. An accepted connection's messages
  // carry that key as their User-Id (Frame::peer). The first call starts the context's ZAP
  // handler (inproc://zeromq.zap.01, a thread of its own); a request for a domain no one
  // serves, or of another mechanism than CURVE, is refused. Replaces domain's previous one.
  // authorize runs on the handler's thread and must not block.
  using ZapAuthorizer = std::function<bool(const std::string& client_key)>;
  Status ServeZap(const std::string& domain, ZapAuthorizer authorize);
  // domain is served no more: its connections are refused from now on.
  void StopZap(const std::string& domain);

 private:
  struct Zap;
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<Zap> zap_;
};

// kXPub is a PUB that also reads its subscribers' subscriptions: one frame "\x01topic" each time
// a subscriber subscribes to a topic, "\x00topic" each time one unsubscribes or goes away
// (ZMQ_XPUB_VERBOSER; ChannelListener counts them per topic, and a relay subscribes upward to
// the union of its subtree's topics).
enum class SocketType { kPub, kSub, kPush, kPull, kRouter, kDealer, kXPub };

struct ChannelOptions {
  // Send and receive high-water marks, in messages. Default: 10000.
  int sndhwm = 10000;
  int rcvhwm = 10000;
  // Largest message accepted from a peer; larger ones drop the connection (ZMQ_MAXMSGSIZE).
  // Default: 16 MiB.
  int64_t max_message_bytes = 16 << 20;
  // ZMQ_ROUTING_ID for DEALER sockets; empty leaves it to libzmq.
  std::string routing_id;
  // Kernel receive buffer (ZMQ_RCVBUF); 0 leaves the OS default. Tests shrink it to force drops.
  int rcvbuf = 0;
  // How long what is still queued may go on being sent after the socket is closed (ZMQ_LINGER;
  // the context waits that long at most when it ends). Default: 0, drop it.
  int linger_ms = 0;
  // CurveZMQ (RFC 26, docs/security.md); no secret key: plain. A server sets curve_server,
  // its secret key and a ZAP domain (ChannelContext::ServeZap decides who may connect); a client
  // sets its public and secret keys and names the server's key on Connect. Z85 keys.
  bool curve_server = false;
  std::string curve_public_key;
  std::string curve_secret_key;
  std::string zap_domain;
  // XPUB only: a subscription takes effect only once applied with Subscribe (or Unsubscribe)
  // right after receiving it, before the next Receive (ZMQ_XPUB_MANUAL): the host decides who
  // may subscribe to what.
  bool xpub_manual = false;
};

// A received multipart message in ZeroMQ's own buffers: reading it copies nothing, and sending
// it on shares the buffers (a relay passes frames on this way). Move-only; owner thread only.
class Frame {
 public:
  Frame();
  ~Frame();
  Frame(Frame&&) noexcept;
  Frame& operator=(Frame&&) noexcept;

  size_t size() const;
  // Valid until the next Receive into this Frame or its destruction.
  std::string_view part(size_t i) const;
  // The sender's CURVE public key (Z85) as its connection's ZAP handler accepted it; empty on a
  // plain connection. Valid as part() is.
  std::string_view peer() const;

 private:
  friend class Channel;
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

// One ZeroMQ socket with one job. The only code in zinc that uses cppzmq; every zmq::error_t is
// caught here and becomes a Status (ETERM is kClosed). Resource type; owner thread only: the
// thread that uses a Channel must be the only one that touches it (it may be created on another
// thread and handed over before first use).
class Channel {
 public:
  // REQUIRES: context outlives the Channel.
  static Result<std::unique_ptr<Channel>> Create(ChannelContext* context, SocketType type,
                                                 const ChannelOptions& options);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Binds to address and returns the endpoint actually bound (the port filled in for "*").
  Result<std::string> Bind(const std::string& address);
  // With server_key (Z85), over CurveZMQ to the server that holds its secret key: a server with
  // another key is not talked to. Requires ChannelOptions' client keys.
  Status Connect(const std::string& address, const std::string& server_key = "");
  // SUB: adds or removes a topic prefix from the subscription filter. A manual XPUB: applies
  // the subscription just received to its subscriber.
  Status Subscribe(std::string_view topic);
  Status Unsubscribe(std::string_view topic);

  // Sends parts as one multipart message without blocking. Returns kResourceExhausted if the
  // socket would block (nothing was sent), kUnavailable for a ROUTER peer that is gone, kClosed
  // once the context is terminating.
  Status Send(const std::string_view* parts, size_t count);
  // Receives one multipart message without blocking into *parts. Returns false (and ok) if none
  // is waiting. A message of more than max_parts parts is drained and reported as kMalformed.
  Result<bool> Receive(std::vector<std::string>* parts, size_t max_parts = 4);
  // Closes the socket's connections and listeners at once (the channel is unusable after).
  void Close();
  // The same into *frame, without copying.
  Result<bool> Receive(Frame* frame, size_t max_parts = 4);
  // Sends frame's parts as one message without blocking, sharing their buffers; frame keeps
  // them. Errors as Send's.
  Status Send(const Frame& frame);

  // The underlying socket, for Poll.
  void* handle();

  // The outcome of this socket's CurveZMQ handshakes, read from libzmq's socket monitor: a
  // channel to Poll, whose events ReadHandshakeEvent decodes. Call on the owner thread; the
  // monitor lives as long as the returned channel (or this one).
  Result<std::unique_ptr<Channel>> MonitorHandshakes(ChannelContext* context);
  enum class Handshake { kSucceeded, kRefused, kFailed };
  struct HandshakeEvent {
    Handshake outcome = Handshake::kFailed;
    // ZAP's status code for kRefused (400: the key is not authorized), libzmq's protocol error
    // otherwise.
    uint32_t detail = 0;
    std::string address;  // the peer's endpoint
  };
  // One event from a channel made by MonitorHandshakes; false (and ok) if none is waiting.
  Result<bool> ReadHandshakeEvent(HandshakeEvent* event);

 private:
  explicit Channel(std::unique_ptr<zmq::socket_t> socket);
  std::unique_ptr<zmq::socket_t> socket_;
};

// One entry of Poll: a Channel or a file descriptor.
struct PollItem {
  Channel* channel = nullptr;
  int fd = -1;
  bool want_in = true;
  bool want_out = false;
  bool readable = false;
  bool writable = false;
};

// Waits until an item is ready or timeout passes. Returns kClosed when the context terminates.
Status Poll(std::vector<PollItem>* items, std::chrono::milliseconds timeout);

}  // namespace zinc
