#include "core/channel.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <zmq.hpp>

#include "core/mutex.h"

namespace zinc {

namespace {

Status FromZmqError(const zmq::error_t& e, const char* what) {
  if (e.num() == ETERM) return Status(StatusCode::kClosed, std::string(what) + ": context closed");
  if (e.num() == EAGAIN) return Status(StatusCode::kResourceExhausted, what);
  if (e.num() == EHOSTUNREACH) return Status(StatusCode::kUnavailable, what);
  if (e.num() == EADDRINUSE) {
    return Status(StatusCode::kUnavailable, std::string(what) + ": address in use");
  }
  return Status(StatusCode::kInvalidArgument, std::string(what) + ": " + e.what());
}

zmq::socket_type ToZmq(SocketType type) {
  switch (type) {
    case SocketType::kPub:
      return zmq::socket_type::pub;
    case SocketType::kSub:
      return zmq::socket_type::sub;
    case SocketType::kXPub:
      return zmq::socket_type::xpub;
    case SocketType::kPush:
      return zmq::socket_type::push;
    case SocketType::kPull:
      return zmq::socket_type::pull;
    case SocketType::kRouter:
      return zmq::socket_type::router;
    case SocketType::kDealer:
      return zmq::socket_type::dealer;
  }
  return zmq::socket_type::pair;
}

// The 32 bytes of a Z85 key, or "" if it is not one.
std::string Z85Bytes(const std::string& key) {
  if (key.size() != 40) return "";
  uint8_t bytes[32];
  if (!zmq_z85_decode(bytes, key.c_str())) return "";
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

std::string Z85Text(std::string_view bytes) {
  char text[41];
  if (bytes.size() != 32 ||
      !zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) {
    return "";
  }
  return std::string(text, 40);
}

}  // namespace

ChannelContext::ChannelContext() : ctx_(std::make_unique<zmq::context_t>(1)) {
  ctx_->set(zmq::ctxopt::blocky, 0);
  // Six sockets an endpoint (a relay's) and many endpoints a process (tests, gateways).
  ctx_->set(zmq::ctxopt::max_sockets, 65535);
}

// The context's ZAP handler (RFC 27): a REP socket on inproc://zeromq.zap.01, served by a
// thread of its own, that asks each domain's authorizer.
struct ChannelContext::Zap {
  Mutex mu;
  std::map<std::string, ZapAuthorizer> domains GUARDED_BY(mu);
  std::atomic<bool> stop{false};
  std::unique_ptr<zmq::socket_t> socket;
  std::thread thread;

  ~Zap() {
    stop.store(true);
    if (thread.joinable()) thread.join();
  }

  // One request: [version][request id][domain][address][routing id][mechanism][credentials..].
  // The reply: [version][request id][status code][status text][user id][metadata].
  void Serve(const std::vector<zmq::message_t>& req) {
    auto text = [&req](size_t i) { return req[i].to_string(); };
    std::string code = "400", why = "refused", user;
    if (req.size() < 6 || text(0) != "1.0") {
      code = "500";
      why = "malformed ZAP request";
    } else if (text(5) != "CURVE" || req.size() != 7) {
      why = "only CURVE is served";
    } else {
      ZapAuthorizer authorize;
      {
        MutexLock l(&mu);
        auto it = domains.find(text(2));
        if (it != domains.end()) authorize = it->second;
      }
      const std::string key = Z85Text(req[6].to_string_view());
      if (!authorize) {
        why = "unknown ZAP domain";
      } else if (!key.empty() && authorize(key)) {
        code = "200";
        why = "OK";
        user = key;
      } else {
        why = "key not authorized";
      }
    }
    const std::string request_id = req.size() > 1 ? text(1) : "";
    const std::string parts[6] = {"1.0", request_id, code, why, user, ""};
    try {
      for (size_t i = 0; i < 6; ++i) {
        socket->send(zmq::buffer(parts[i]),
                     i < 5 ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    } catch (const zmq::error_t&) {
    }
  }

  void Run() {
    std::vector<zmq::message_t> req;
    while (!stop.load()) {
      zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, std::chrono::milliseconds(50));
        if (!(item.revents & ZMQ_POLLIN)) continue;
        req.clear();
        while (true) {
          zmq::message_t part;
          (void)socket->recv(part, zmq::recv_flags::none);
          const bool more = part.more();
          if (req.size() < 16) req.push_back(std::move(part));
          if (!more) break;
        }
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) break;
        continue;
      }
      Serve(req);
    }
    socket->close();
  }
};

ChannelContext::~ChannelContext() {
  // The handler's socket is closed before the context ends (it waits for every socket).
  zap_.reset();
}

Status ChannelContext::ServeZap(const std::string& domain, ZapAuthorizer authorize) {
  static Mutex start_mu;
  MutexLock start(&start_mu);
  if (!zap_) {
    auto zap = std::make_unique<Zap>();
    try {
      zap->socket = std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::rep);
      zap->socket->set(zmq::sockopt::linger, 0);
      zap->socket->bind("inproc://zeromq.zap.01");
    } catch (const zmq::error_t& e) {
      return FromZmqError(e, "bind the ZAP handler");
    }
    Zap* z = zap.get();
    // The socket was made on this thread and goes to the handler's (the thread's start is the
    // full barrier ZeroMQ asks for).
    zap->thread = std::thread([z] { z->Run(); });
    zap_ = std::move(zap);
  }
  MutexLock l(&zap_->mu);
  zap_->domains[domain] = std::move(authorize);
  return Status::Ok();
}

void ChannelContext::StopZap(const std::string& domain) {
  if (!zap_) return;
  MutexLock l(&zap_->mu);
  zap_->domains.erase(domain);
}

Result<std::unique_ptr<Channel>> Channel::Create(ChannelContext* context, SocketType type,
                                                 const ChannelOptions& options) {
  try {
    auto socket = std::make_unique<zmq::socket_t>(*context->native(), ToZmq(type));
    socket->set(zmq::sockopt::linger, options.linger_ms);
    socket->set(zmq::sockopt::sndhwm, options.sndhwm);
    socket->set(zmq::sockopt::rcvhwm, options.rcvhwm);
    socket->set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
    if (options.rcvbuf > 0) socket->set(zmq::sockopt::rcvbuf, options.rcvbuf);
    if (type == SocketType::kRouter) {
      socket->set(zmq::sockopt::router_mandatory, 1);
      // A peer that comes back with a new socket (a client asking again after a timeout) takes
      // its routing id over, rather than being refused while the old connection lingers.
      socket->set(zmq::sockopt::router_handover, 1);
    }
    if (type == SocketType::kXPub) {
      // Every subscriber's subscribe and unsubscribe, not only a topic's first and last: the
      // host counts the subscribers of each document (zincctl ls).
      socket->set(zmq::sockopt::xpub_verboser, 1);
    }
    if (type == SocketType::kXPub && options.xpub_manual) socket->set(zmq::sockopt::xpub_manual, 1);
    if (!options.curve_secret_key.empty()) {
      const std::string secret = Z85Bytes(options.curve_secret_key);
      if (secret.empty())
        return Status(StatusCode::kInvalidArgument, "a secret key that is not Z85");
      socket->set(zmq::sockopt::curve_secretkey, zmq::buffer(secret));
      if (options.curve_server) {
        socket->set(zmq::sockopt::zap_domain, options.zap_domain);
        // Strict ZAP (where this libzmq has the option): without an answering handler, refuse.
        int enforce = 1;
        (void)zmq_setsockopt(socket->handle(), 93 /* ZMQ_ZAP_ENFORCE_DOMAIN */, &enforce,
                             sizeof(enforce));
        socket->set(zmq::sockopt::curve_server, 1);
      } else {
        const std::string pub = Z85Bytes(options.curve_public_key);
        if (pub.empty())
          return Status(StatusCode::kInvalidArgument, "a public key that is not Z85");
        socket->set(zmq::sockopt::curve_publickey, zmq::buffer(pub));
      }
    }
    if (type == SocketType::kDealer && !options.routing_id.empty()) {
      socket->set(zmq::sockopt::routing_id, options.routing_id);
    }
    if (type == SocketType::kPush || type == SocketType::kDealer) {
      // Queue only to completed connections, so nothing waits in a pipe to a dead peer.
      socket->set(zmq::sockopt::immediate, 1);
    }
    socket->set(zmq::sockopt::reconnect_ivl, 20);
    socket->set(zmq::sockopt::reconnect_ivl_max, 500);
    return std::unique_ptr<Channel>(new Channel(std::move(socket)));
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "create socket");
  }
}

Channel::Channel(std::unique_ptr<zmq::socket_t> socket) : socket_(std::move(socket)) {}

Channel::~Channel() {
  try {
    socket_->close();
  } catch (const zmq::error_t&) {
  }
}

Result<std::string> Channel::Bind(const std::string& address) {
  try {
    socket_->bind(address);
    return socket_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, ("bind " + address).c_str());
  }
}

Result<std::unique_ptr<Channel>> Channel::MonitorHandshakes(ChannelContext* context) {
  static std::atomic<uint64_t> next{0};
  const std::string address = "inproc://zinc-monitor-" + std::to_string(next.fetch_add(1));
  constexpr int kEvents = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                          ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
  if (zmq_socket_monitor(socket_->handle(), address.c_str(), kEvents) != 0) {
    return Status(StatusCode::kInternal,
                  std::string("socket monitor: ") + zmq_strerror(zmq_errno()));
  }
  try {
    auto pair = std::make_unique<zmq::socket_t>(*context->native(), zmq::socket_type::pair);
    pair->set(zmq::sockopt::linger, 0);
    pair->connect(address);
    return std::unique_ptr<Channel>(new Channel(std::move(pair)));
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "connect to a socket monitor");
  }
}

Result<bool> Channel::ReadHandshakeEvent(HandshakeEvent* event) {
  std::vector<std::string> parts;
  Result<bool> got = Receive(&parts, 2);
  if (!got.ok() || !*got) return got;
  // libzmq's monitor protocol (v1): a 16-bit event and a 32-bit value, host order; then the
  // peer's endpoint.
  if (parts.size() != 2 || parts[0].size() != 6) {
    return Status(StatusCode::kMalformed, "not a socket monitor event");
  }
  uint16_t kind;
  uint32_t value;
  std::memcpy(&kind, parts[0].data(), sizeof(kind));
  std::memcpy(&value, parts[0].data() + 2, sizeof(value));
  event->outcome = kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED     ? Handshake::kSucceeded
                   : kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? Handshake::kRefused
                                                             : Handshake::kFailed;
  event->detail = value;
  event->address = std::move(parts[1]);
  return true;
}

void Channel::Close() {
  try {
    socket_->close();
  } catch (const zmq::error_t&) {
  }
}

Status Channel::Connect(const std::string& address, const std::string& server_key) {
  try {
    if (!server_key.empty()) {
      const std::string key = Z85Bytes(server_key);
      if (key.empty()) return Status(StatusCode::kInvalidArgument, "a server key that is not Z85");
      socket_->set(zmq::sockopt::curve_serverkey, zmq::buffer(key));
    }
    socket_->connect(address);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, ("connect " + address).c_str());
  }
}

Status Channel::Subscribe(std::string_view topic) {
  try {
    socket_->set(zmq::sockopt::subscribe, topic);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "subscribe");
  }
}

Status Channel::Unsubscribe(std::string_view topic) {
  try {
    socket_->set(zmq::sockopt::unsubscribe, topic);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "unsubscribe");
  }
}

Status Channel::Send(const std::string_view* parts, size_t count) {
  try {
    for (size_t i = 0; i < count; ++i) {
      zmq::send_flags flags = zmq::send_flags::dontwait;
      if (i + 1 < count) flags = flags | zmq::send_flags::sndmore;
      zmq::const_buffer buf(parts[i].data(), parts[i].size());
      if (!socket_->send(buf, flags)) {
        // Only the first part can would-block; later parts of a message always queue.
        return Status(StatusCode::kResourceExhausted, "would block");
      }
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "send");
  }
}

Result<bool> Channel::Receive(std::vector<std::string>* parts, size_t max_parts) {
  parts->clear();
  try {
    zmq::message_t msg;
    if (!socket_->recv(msg, zmq::recv_flags::dontwait)) return false;
    bool too_many = false;
    while (true) {
      if (parts->size() < max_parts) {
        parts->emplace_back(static_cast<const char*>(msg.data()), msg.size());
      } else {
        too_many = true;
      }
      if (!msg.more()) break;
      // The rest of a multipart message is already here.
      (void)socket_->recv(msg, zmq::recv_flags::none);
    }
    if (too_many) return Status(StatusCode::kMalformed, "too many message parts");
    return true;
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "receive");
  }
}

struct Frame::Parts {
  std::vector<zmq::message_t> parts;
};

Frame::Frame() : parts_(std::make_unique<Parts>()) {}
Frame::~Frame() = default;
Frame::Frame(Frame&&) noexcept = default;
Frame& Frame::operator=(Frame&&) noexcept = default;

size_t Frame::size() const { return parts_->parts.size(); }

std::string_view Frame::part(size_t i) const {
  const zmq::message_t& m = parts_->parts[i];
  return std::string_view(static_cast<const char*>(m.data()), m.size());
}

std::string_view Frame::peer() const {
  if (parts_->parts.empty()) return {};
  // The last part: a ROUTER's routing-id part is its own making and may carry no metadata.
  const char* user =
      zmq_msg_gets(const_cast<zmq::message_t&>(parts_->parts.back()).handle(), "User-Id");
  return user ? std::string_view(user) : std::string_view();
}

Result<bool> Channel::Receive(Frame* frame, size_t max_parts) {
  std::vector<zmq::message_t>& parts = frame->parts_->parts;
  parts.clear();
  try {
    zmq::message_t msg;
    if (!socket_->recv(msg, zmq::recv_flags::dontwait)) return false;
    bool too_many = false;
    while (true) {
      const bool more = msg.more();
      if (parts.size() < max_parts) {
        parts.push_back(std::move(msg));
      } else {
        too_many = true;
      }
      if (!more) break;
      // The rest of a multipart message is already here.
      (void)socket_->recv(msg, zmq::recv_flags::none);
    }
    if (too_many) return Status(StatusCode::kMalformed, "too many message parts");
    return true;
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "receive");
  }
}

Status Channel::Send(const Frame& frame) {
  const std::vector<zmq::message_t>& parts = frame.parts_->parts;
  try {
    for (size_t i = 0; i < parts.size(); ++i) {
      zmq::message_t copy;
      copy.copy(const_cast<zmq::message_t&>(parts[i]));  // Shares the buffer (refcounted).
      const auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                              : zmq::send_flags::dontwait;
      if (!socket_->send(copy, flags)) {
        return Status(StatusCode::kResourceExhausted, "send would block");
      }
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "send");
  }
}

void* Channel::handle() { return socket_->handle(); }

Status Poll(std::vector<PollItem>* items, std::chrono::milliseconds timeout) {
  std::vector<zmq_pollitem_t> raw(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const PollItem& it = (*items)[i];
    raw[i].socket = it.channel ? it.channel->handle() : nullptr;
    raw[i].fd = it.fd;
    raw[i].events =
        static_cast<short>((it.want_in ? ZMQ_POLLIN : 0) | (it.want_out ? ZMQ_POLLOUT : 0));
    raw[i].revents = 0;
  }
  try {
    zmq::poll(raw.data(), raw.size(), timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return Status::Ok();
    return FromZmqError(e, "poll");
  }
  for (size_t i = 0; i < items->size(); ++i) {
    (*items)[i].readable = raw[i].revents & ZMQ_POLLIN;
    (*items)[i].writable = raw[i].revents & ZMQ_POLLOUT;
  }
  return Status::Ok();
}

}  // namespace zinc
