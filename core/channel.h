#pragma once

#include <chrono>
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

 private:
  std::unique_ptr<zmq::context_t> ctx_;
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
  Status Connect(const std::string& address);
  // SUB only: adds or removes a topic prefix from the subscription filter.
  Status Subscribe(std::string_view topic);
  Status Unsubscribe(std::string_view topic);

  // Sends parts as one multipart message without blocking. Returns kResourceExhausted if the
  // socket would block (nothing was sent), kUnavailable for a ROUTER peer that is gone, kClosed
  // once the context is terminating.
  Status Send(const std::string_view* parts, size_t count);
  // Receives one multipart message without blocking into *parts. Returns false (and ok) if none
  // is waiting. A message of more than max_parts parts is drained and reported as kMalformed.
  Result<bool> Receive(std::vector<std::string>* parts, size_t max_parts = 4);
  // The same into *frame, without copying.
  Result<bool> Receive(Frame* frame, size_t max_parts = 4);
  // Sends frame's parts as one message without blocking, sharing their buffers; frame keeps
  // them. Errors as Send's.
  Status Send(const Frame& frame);

  // The underlying socket, for Poll.
  void* handle();

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
