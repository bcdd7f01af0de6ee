#include "examples/canvas/server.h"

#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/clock.h"
#include "core/log.h"

namespace zinc {
namespace canvas {
namespace internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr const char* kServerName = "zinc-canvas";
constexpr std::string_view kWebSocketPath = "/ws";

// Beast 1.74 speaks boost::string_view.
std::string_view View(beast::string_view s) { return std::string_view(s.data(), s.size()); }
beast::string_view BeastView(std::string_view s) { return beast::string_view(s.data(), s.size()); }

// A connection the core can close when it stops.
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection; a WebSocket is disconnected from the bridge at once. Idempotent.
  virtual void Shutdown() = 0;
};

// Everything the server's thread owns. The sessions are held by their pending operations
// (shared_ptr, the Asio idiom: a session lives while an operation on it is in flight), and the
// core keeps weak references to close them on Stop. Owner thread (the server's) only, except
// Listen and Begin (before the thread starts), Post and port.
class GatewayCore {
 public:
  GatewayCore(CanvasBridge* bridge, const std::map<std::string, std::string>* assets,
              GatewayOptions options)
      : bridge_(bridge),
        assets_(assets),
        options_(std::move(options)),
        log_(&clock_, options_.log_level, std::string(kServerName)),
        acceptor_(ioc_),
        accept_retry_(ioc_),
        tick_timer_(ioc_),
        grace_timer_(ioc_) {}

  Status Listen();
  // Starts accepting and ticking once the io_context runs.
  void Begin() {
    DoAccept();
    ScheduleTick();
  }
  // The server thread's body: runs until BeginShutdown's work is done.
  void Run();
  // Closes the acceptor and every connection; Run returns when they are gone, or after
  // stop_grace.
  void BeginShutdown();
  void Post(std::function<void()> fn) { asio::post(ioc_, std::move(fn)); }
  uint16_t port() const { return port_; }

  asio::io_context& ioc() { return ioc_; }
  CanvasBridge* bridge() { return bridge_; }
  const std::map<std::string, std::string>& assets() const { return *assets_; }
  const GatewayOptions& options() const { return options_; }
  Logger& log() { return log_; }
  bool stopping() const { return stopping_; }

  void Register(const std::shared_ptr<Connection>& c) { connections_[c.get()] = c; }
  void Unregister(Connection* c);

 private:
  void DoAccept();
  void OnAccept(error_code ec, tcp::socket socket);
  void ScheduleTick();

  // Constant after construction.
  CanvasBridge* const bridge_;
  const std::map<std::string, std::string>* const assets_;
  const GatewayOptions options_;
  SystemClock clock_;
  Logger log_;
  uint16_t port_ = 0;  // Set by Listen.

  // Owner thread only. ioc_ comes first: the sockets and timers below are destroyed before it,
  // and the sessions its pending handlers hold are destroyed with it.
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  asio::steady_timer tick_timer_;
  asio::steady_timer grace_timer_;
  bool stopping_ = false;
  std::map<Connection*, std::weak_ptr<Connection>> connections_;
};

namespace {

// The bridge is another team's code: an exception from it must not escape the server's thread
// (nlohmann::json throws). Returns false if fn threw.
template <typename Fn>
bool CallBridge(GatewayCore* core, const char* what, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    core->log().Warn("canvas-bridge-exception", std::string(what) + ": " + e.what());
  } catch (...) {
    core->log().Warn("canvas-bridge-exception", std::string(what) + ": unknown exception");
  }
  return false;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view ContentType(std::string_view path) {
  if (path == "/" || EndsWith(path, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(path, ".js")) return "text/javascript; charset=utf-8";
  if (EndsWith(path, ".css")) return "text/css";
  if (EndsWith(path, ".json")) return "application/json";
  if (EndsWith(path, ".svg")) return "image/svg+xml";
  if (EndsWith(path, ".png")) return "image/png";
  if (EndsWith(path, ".ico")) return "image/x-icon";
  return "application/octet-stream";
}

// The path of a request target, without query or fragment.
std::string_view TargetPath(std::string_view target) {
  const size_t end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

// The host[:port] of an Origin header ("http://host:port" → "host:port").
std::string_view OriginAuthority(std::string_view origin) {
  const size_t scheme = origin.find("://");
  return scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
}

bool ValidCloseCode(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

// A close frame's reason holds at most 123 bytes; cut at a UTF-8 character boundary.
std::string_view CloseReasonText(std::string_view reason) {
  constexpr size_t kMax = 123;
  if (reason.size() <= kMax) return reason;
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  return reason.substr(0, n);
}

constexpr std::string_view kTokenProtocol = "zinc.token.";

// The token a WebSocket handshake presents (docs/canvas.md): the subprotocol zinc.token.T, or
// else the query parameter token=T. Sets *protocol to the subprotocol to answer with ("" for
// none).
template <typename Req>
std::string PresentedToken(const Req& req, std::string* protocol) {
  protocol->clear();
  auto offered = req.find(http::field::sec_websocket_protocol);
  if (offered != req.end()) {
    std::string_view list = View(offered->value());
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view p = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
      while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
      if (p.substr(0, kTokenProtocol.size()) == kTokenProtocol) {
        protocol->assign(p.data(), p.size());
        return std::string(p.substr(kTokenProtocol.size()));
      }
    }
  }
  std::string_view target = View(req.target());
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, 6) == "token=") return std::string(pair.substr(6));
  }
  return "";
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response MakeResponse(const Request& req, http::status status, std::string_view type,
                      std::string body) {
  Response res(status, req.version());
  res.set(http::field::server, kServerName);
  res.set(http::field::content_type, BeastView(type));
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response ErrorResponse(const Request& req, http::status status) {
  return MakeResponse(req, status, "text/plain; charset=utf-8",
                      http::obsolete_reason(status).to_string() + "\n");
}

// One WebSocket connection: a Tab of the bridge from the handshake to the end of the read loop.
// Server thread only.
class WsSession final : public Connection,
                        public Tab,
                        public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(GatewayCore* core, tcp::socket socket) : core_(core), ws_(std::move(socket)) {}

  void Start(Request req) {
    request_ = std::move(req);
    std::string protocol;
    token_ = PresentedToken(request_, &protocol);
    beast::get_lowest_layer(ws_).expires_never();  // The websocket timeouts below take over.
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    // A browser that offered subprotocols fails the connection unless one is chosen.
    ws_.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
      res.set(http::field::server, kServerName);
      if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, BeastView(protocol));
    }));
    ws_.read_message_max(core_->options().max_frame_bytes);
    ws_.auto_fragment(false);  // One frame per message: fewer headers and writes.
    ws_.async_accept(request_, [self = shared_from_this()](error_code ec) { self->OnAccept(ec); });
  }

  // Tab. Frames sent after Close, or once the connection is gone, are dropped.
  void Send(std::string frame) override {
    if (!connected_ || closing_ || finished_) return;
    // The limit is on the frames waiting behind the one being written, and a frame larger than
    // the limit (a welcome with a big canvas) may still wait alone.
    if (queued_bytes_ > 0 && queued_bytes_ + frame.size() > core_->options().max_queued_bytes) {
      core_->log().Warn("canvas-tab-too-slow",
                        "disconnecting a tab whose send queue is over " +
                            std::to_string(core_->options().max_queued_bytes) + " bytes");
      Abort();
      return;
    }
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    if (!writing_) DoWrite();
  }

  // Tab. The frames queued before go first; then the close frame.
  void Close(int code, std::string reason) override {
    if (!connected_ || closing_ || finished_) return;
    BeginClose(ValidCloseCode(code) ? code : websocket::close_code::policy_error, reason);
  }

  void Shutdown() override {
    if (finished_) return;
    DisconnectFromBridge();
    if (!connected_) {
      Abort();
      return;
    }
    if (closing_) return;
    // Only the frame being written (if any) still goes.
    DropWaitingFrames();
    BeginClose(websocket::close_code::going_away, "gateway stopping");
  }

 private:
  void OnAccept(error_code ec) {
    if (ec || core_->stopping()) {
      Finish();
      return;
    }
    connected_ = true;
    if (!CallBridge(core_, "Connect", [&] { id_ = core_->bridge()->Connect(this, token_); })) {
      disconnected_ = true;  // The bridge does not know the tab.
      Finish();
      return;
    }
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_,
                   [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    // Any error ends the connection: the peer's close frame (websocket::error::closed), a frame
    // over read_message_max (Beast has sent 1009), a timeout, a reset.
    if (ec) {
      Finish();
      return;
    }
    // After Close, frames still arriving before the peer's close frame are dropped.
    if (!closing_ && !disconnected_) {
      if (!ws_.got_text()) {
        BeginClose(websocket::close_code::unknown_data, "text frames only");
      } else {
        const std::string_view frame(static_cast<const char*>(buffer_.data().data()),
                                     buffer_.size());
        const bool ok = CallBridge(core_, "Receive", [&] {
          core_->bridge()->Receive(id_, frame, std::chrono::steady_clock::now());
        });
        if (!ok) BeginClose(websocket::close_code::internal_error, "internal error");
      }
    }
    buffer_.consume(buffer_.size());
    DoRead();
  }

  void DoWrite() {
    writing_ = true;
    queued_bytes_ -= queue_.front().size();
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(error_code ec) {
    writing_ = false;
    if (ec || aborted_) {
      Abort();
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) {
      DoWrite();
    } else if (closing_ && !close_started_) {
      StartClose();
    }
  }

  void BeginClose(int code, std::string_view reason) {
    closing_ = true;
    close_reason_.code = static_cast<uint16_t>(code);
    const std::string_view text = CloseReasonText(reason);
    close_reason_.reason.assign(text.data(), text.size());
    if (!writing_) StartClose();
  }

  void StartClose() {
    close_started_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](error_code ec) {
      // The read loop sees the end of the handshake and finishes; on a failure, hurry it.
      if (ec) self->Abort();
    });
  }

  // Drops the connection without a close handshake (a tab that does not read, an error).
  void Abort() {
    aborted_ = true;
    closing_ = true;
    DropWaitingFrames();
    beast::get_lowest_layer(ws_).close();
  }

  // Drops the frames not yet being written (the one being written must outlive the write).
  void DropWaitingFrames() {
    while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
    queued_bytes_ = 0;
  }

  void DisconnectFromBridge() {
    if (!connected_ || disconnected_) return;
    disconnected_ = true;
    CallBridge(core_, "Disconnect", [&] { core_->bridge()->Disconnect(id_); });
  }

  // The end of the read loop: the connection is over.
  void Finish() {
    if (finished_) return;
    finished_ = true;
    DisconnectFromBridge();
    Abort();
    core_->Unregister(this);
  }

  GatewayCore* const core_;
  websocket::stream<beast::tcp_stream> ws_;
  Request request_;
  std::string token_;  // as presented; the bridge decides what it allows
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;  // front() is being written while writing_
  size_t queued_bytes_ = 0;        // of the frames waiting (not the one being written)
  websocket::close_reason close_reason_;
  CanvasBridge::TabId id_ = 0;
  bool connected_ = false;      // the handshake succeeded and the bridge knows the tab
  bool disconnected_ = false;   // bridge Disconnect was called
  bool writing_ = false;        // an async_write is in flight
  bool closing_ = false;        // Close was called: no more frames in or out
  bool close_started_ = false;  // async_close is in flight
  bool aborted_ = false;        // the socket was closed without a handshake
  bool finished_ = false;       // the read loop ended
};

// One HTTP connection: requests for files, until it upgrades to a WebSocket or closes. Server
// thread only.
class HttpSession final : public Connection, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(GatewayCore* core, tcp::socket socket) : core_(core), stream_(std::move(socket)) {}

  void Start() { DoRead(); }

  void Shutdown() override { stream_.close(); }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(core_->options().max_request_body);
    stream_.expires_after(core_->options().http_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      Finish();
      return;
    }
    if (ec) {
      // A malformed or oversized request gets an answer before the connection is closed;
      // timeouts and resets just close it.
      if (ec.category() != http::make_error_code(http::error::bad_method).category()) {
        Finish();
        return;
      }
      core_->log().Info("canvas-bad-request", ec.message());
      http::status status = http::status::bad_request;
      if (ec == http::error::body_limit) status = http::status::payload_too_large;
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        status = http::status::request_header_fields_too_large;
      }
      Request bad;
      bad.keep_alive(false);
      Write(ErrorResponse(bad, status));
      return;
    }
    Request req = parser_->release();
    const std::string_view path = TargetPath(View(req.target()));
    if (websocket::is_upgrade(req)) {
      if (path != kWebSocketPath) {
        Write(ErrorResponse(req, http::status::not_found));
      } else if (!SameOrigin(req)) {
        Write(ErrorResponse(req, http::status::forbidden));
      } else {
        Upgrade(std::move(req));
      }
      return;
    }
    if (req.method() != http::verb::get) {
      Response res = ErrorResponse(req, http::status::method_not_allowed);
      res.set(http::field::allow, "GET");
      Write(std::move(res));
      return;
    }
    if (path == kWebSocketPath) {
      Response res = ErrorResponse(req, http::status::upgrade_required);
      res.set(http::field::upgrade, "websocket");
      Write(std::move(res));
      return;
    }
    const auto& assets = core_->assets();
    auto it = assets.find(std::string(path));
    if (it == assets.end()) {
      Write(ErrorResponse(req, http::status::not_found));
      return;
    }
    Write(MakeResponse(req, http::status::ok, ContentType(path), it->second));
  }

  // A browser always sends Origin with a WebSocket handshake: refusing other sites' pages keeps
  // them from drawing on the canvas through a visitor's browser. Clients that are not browsers
  // send none.
  static bool SameOrigin(const Request& req) {
    auto origin = req.find(http::field::origin);
    if (origin == req.end()) return true;
    auto host = req.find(http::field::host);
    return host != req.end() && OriginAuthority(View(origin->value())) == View(host->value());
  }

  void Upgrade(Request req) {
    auto ws = std::make_shared<WsSession>(core_, stream_.release_socket());
    core_->Register(ws);
    ws->Start(std::move(req));
    Finish();
  }

  void Write(Response res) {
    response_ = std::move(res);
    stream_.expires_after(core_->options().http_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(error_code ec) {
    if (ec) {
      Finish();
      return;
    }
    if (response_.need_eof()) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      Finish();
      return;
    }
    DoRead();
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    stream_.close();
    core_->Unregister(this);
  }

  GatewayCore* const core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  bool finished_ = false;
};

}  // namespace

Status GatewayCore::Listen() {
  if (options_.host.empty()) return Status(StatusCode::kInvalidArgument, "empty host");
  error_code ec;
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(options_.host, std::to_string(options_.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "cannot resolve '" + options_.host + "': " + ec.message());
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot open a socket: " + ec.message());
  }
  error_code ignored;
  acceptor_.set_option(asio::socket_base::reuse_address(true), ignored);
  acceptor_.bind(endpoint, ec);
  if (ec) {
    acceptor_.close(ignored);
    const bool bad_address = ec == boost::system::errc::address_not_available;
    return Status(bad_address ? StatusCode::kInvalidArgument : StatusCode::kUnavailable,
                  "cannot listen on " + where + ": " + ec.message());
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.close(ignored);
    return Status(StatusCode::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  return Status::Ok();
}

void GatewayCore::Run() {
  // No exception may leave the thread; one that escapes a handler (only the bridge's calls can
  // throw, and they are guarded) ends that handler, and the loop goes on.
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      log_.Warn("canvas-io-exception", e.what());
    } catch (...) {
      log_.Warn("canvas-io-exception", "unknown exception");
    }
  }
}

void GatewayCore::BeginShutdown() {
  stopping_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  tick_timer_.cancel();
  std::vector<std::shared_ptr<Connection>> live;
  for (const auto& [raw, weak] : connections_) {
    if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (const auto& c : live) c->Shutdown();
  if (connections_.empty()) return;
  log_.Info("canvas-stopping", "closing " + std::to_string(connections_.size()) + " connections");
  grace_timer_.expires_after(options_.stop_grace);
  grace_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    // Close handshakes that did not end in time: drop them.
    log_.Info("canvas-stop-grace-expired",
              std::to_string(connections_.size()) + " connections still open");
    ioc_.stop();
  });
}

void GatewayCore::Unregister(Connection* c) {
  connections_.erase(c);
  if (stopping_ && connections_.empty()) grace_timer_.cancel();
}

void GatewayCore::DoAccept() {
  acceptor_.async_accept(
      [this](error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void GatewayCore::OnAccept(error_code ec, tcp::socket socket) {
  if (stopping_ || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors, most likely: wait a little instead of spinning.
    log_.Warn("canvas-accept-failed", ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](error_code wait_ec) {
      if (!wait_ec && !stopping_) DoAccept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<HttpSession>(this, std::move(socket));
  Register(session);
  session->Start();
  DoAccept();
}

void GatewayCore::ScheduleTick() {
  tick_timer_.expires_after(options_.tick);
  tick_timer_.async_wait([this](error_code ec) {
    if (ec || stopping_) return;
    ScheduleTick();  // First: a throwing Tick must not end the ticks.
    CallBridge(this, "Tick", [&] { bridge_->Tick(std::chrono::steady_clock::now()); });
  });
}

}  // namespace internal

GatewayServer::GatewayServer(CanvasBridge* bridge, const std::map<std::string, std::string>* assets,
                             GatewayOptions options)
    : core_(std::make_unique<internal::GatewayCore>(bridge, assets, std::move(options))) {}

GatewayServer::~GatewayServer() { Stop(); }

Status GatewayServer::Start() {
  if (started_ || stopped_) {
    return Status(StatusCode::kInvalidArgument, "the server was already started");
  }
  ZINC_RETURN_IF_ERROR(core_->Listen());
  started_ = true;
  core_->Begin();
  internal::GatewayCore* core = core_.get();
  thread_ = std::thread([core] { core->Run(); });
  return Status::Ok();
}

void GatewayServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;
  internal::GatewayCore* core = core_.get();
  core_->Post([core] { core->BeginShutdown(); });
  thread_.join();
}

uint16_t GatewayServer::port() const { return core_->port(); }

void GatewayServer::Post(std::function<void()> fn) { core_->Post(std::move(fn)); }

}  // namespace canvas
}  // namespace zinc
