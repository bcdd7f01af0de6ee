#pragma once

// The networking of the zinc-canvas gateway (docs/canvas.md): an HTTP server for the page's
// files and the WebSocket at /ws, each connection a Tab of one CanvasBridge. Boost.Beast on one
// boost::asio::io_context and one thread, which is the only thread that calls the bridge.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/log.h"
#include "core/status.h"
#include "examples/canvas/bridge.h"

namespace zinc {
namespace canvas {

struct GatewayOptions {
  // Address to listen on: an IP address or a host name resolved at Start ("localhost").
  // Default: 127.0.0.1.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one (see GatewayServer::port). Default: 0.
  uint16_t port = 0;
  // Largest HTTP request body accepted (the page only sends GETs); the header limit is Beast's
  // default, 8 KiB. A larger request gets 413 and the connection is closed. Default: 1 KiB.
  size_t max_request_body = 1 << 10;
  // Largest WebSocket message accepted; a larger one closes the connection with 1009. Keep it
  // equal to BridgeLimits::max_frame_bytes. Default: 256 KiB.
  size_t max_frame_bytes = 256 << 10;
  // Bytes of frames queued for a tab that does not read before it is disconnected.
  // Default: 4 MiB.
  size_t max_queued_bytes = 4 << 20;
  // An HTTP connection idle for this long is closed (WebSockets use Beast's suggested server
  // timeouts instead: pings, 300 s idle). Default: 30 s.
  std::chrono::milliseconds http_timeout{30000};
  // Period of CanvasBridge::Tick. Default: 50 ms.
  std::chrono::milliseconds tick{50};
  // How long Stop waits for the WebSocket close handshakes before it drops the connections.
  // Default: 1 s.
  std::chrono::milliseconds stop_grace{1000};
  // Threshold of the server's log lines (stderr, rate-limited). Default: warnings.
  LogLevel log_level = LogLevel::kWarn;
};

namespace internal {
class GatewayCore;
}  // namespace internal

// Serves GET of the files in assets (Content-Type from the extension, "Cache-Control:
// no-cache"; 404 for other paths, 405 for other methods) and upgrades GET /ws to a WebSocket
// whose text frames go to the bridge (binary frames close the connection with 1003). Bad input
// (garbage HTTP, oversized requests or frames, abrupt disconnects) closes the one connection
// and never affects the others. Resource type; Start and Stop: owner thread only; port and
// Post: thread-safe.
class GatewayServer {
 public:
  // bridge and assets must outlive this object; the bridge is used only on the server's thread
  // (and from functions given to Post).
  GatewayServer(CanvasBridge* bridge, const std::map<std::string, std::string>* assets,
                GatewayOptions options = GatewayOptions());
  // Stops; see Stop.
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // Binds, listens and starts the server's thread. Returns kInvalidArgument for an address that
  // does not resolve or is not local, kUnavailable if the port is taken (or not ours to take),
  // kInvalidArgument if called a second time. Does not block.
  Status Start();
  // Closes every connection (WebSockets with 1001, each tab disconnected from the bridge), stops
  // and joins the server's thread. Idempotent. Blocks for at most about options.stop_grace.
  // Never call from the server's thread (a posted function).
  void Stop();

  // The port bound; 0 before Start.
  uint16_t port() const;

  // Runs fn on the server's thread, after every function posted before it by the same thread:
  // how zinc's callbacks (DocumentHandle::OnChange, OnPresence) reach the bridge in order. fn
  // runs once the server is started; never after Stop (it is then destroyed unrun).
  void Post(std::function<void()> fn);

 private:
  // Owns the io_context, the acceptor and the connections; its members are reached only from
  // the server's thread once started.
  std::unique_ptr<internal::GatewayCore> core_;
  std::thread thread_;
  bool started_ = false;  // Owner thread only (Start, Stop).
  bool stopped_ = false;
};

}  // namespace canvas
}  // namespace zinc
