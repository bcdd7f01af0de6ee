// zinc-canvas: the shared-canvas gateway (docs/canvas.md). Joins a zinc cluster as a client,
// opens one canvas document and serves a page whose tabs draw on it together over WebSockets.

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "core/keys.h"
#include "core/log.h"
#include "endpoints/endpoint.h"
#include "examples/canvas/bridge.h"
#include "examples/canvas/server.h"
#include "examples/canvas/web_assets.h"

namespace {

constexpr const char* kUsage =
    R"(usage: zinc-canvas --http HOST:PORT --join ADDR [--doc NAME] [--log-level L]
                   [--key FILE --server-key Z85|FILE] [--tokens FILE] [--insecure]

  --http HOST:PORT   where to serve the page (PORT 0 picks a free port)
  --join ADDR        the zinc host to join, tcp://HOST:PORT
  --doc NAME         the canvas document; default canvas
  --log-level L      debug, info, warn (default), error or off
  --key FILE         the gateway's own secret key (zincctl keygen), to join a host with keys
  --server-key K     with --key: the host's public key, Z85 or a .pub file
  --tokens FILE      browsers must present a token: one `TOKEN NAME RIGHT...` line each
                     (read:GLOB, write:GLOB); the page takes it as /#token=TOKEN. Read again
                     on SIGHUP
  --insecure         serve an --http address beyond loopback without --tokens
)";

int Usage(const std::string& error) {
  std::cerr << "zinc-canvas: " << error << "\n" << kUsage;
  return 2;
}

// Splits "HOST:PORT" ("[::1]:8080" for IPv6). Returns false if it is not one.
bool ParseHostPort(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = text.substr(colon + 1);
  char* end = nullptr;
  const long v = std::strtol(p.c_str(), &end, 10);
  if (h.empty() || *end != '\0' || p[0] == '-' || p[0] == '+' || v < 0 || v > 65535) return false;
  *host = h;
  *port = static_cast<uint16_t>(v);
  return true;
}

// Blocks SIGINT, SIGTERM and SIGHUP in every thread (call before starting any), so that the
// main thread can wait for them with sigtimedwait.
sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Whether an --http host is reachable from this machine only.
bool LoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"doc", "canvas"}, {"log-level", "warn"}};
  bool insecure = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--insecure") {  // a switch: takes no value
      insecure = true;
      continue;
    }
    std::string name, value;
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0) return Usage("unexpected argument '" + a + "'");
    if (eq != std::string::npos) {
      name = a.substr(2, eq - 2);
      value = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      name = a.substr(2);
      value = argv[++i];
    } else {
      return Usage("flag " + a + " needs a value");
    }
    if (name != "http" && name != "join" && name != "doc" && name != "log-level" && name != "key" &&
        name != "server-key" && name != "tokens") {
      return Usage("unknown option --" + name);
    }
    flags[name] = value;
  }
  zinc::canvas::GatewayOptions gateway;
  if (!ParseHostPort(flags["http"], &gateway.host, &gateway.port)) {
    return Usage(flags["http"].empty() ? "missing --http HOST:PORT"
                                       : "--http must be HOST:PORT, not '" + flags["http"] + "'");
  }
  if (flags["join"].empty()) return Usage("missing --join ADDR");
  if (flags["doc"].empty()) return Usage("--doc must not be empty");
  const std::string& level = flags["log-level"];
  if (level != "debug" && level != "info" && level != "warn" && level != "error" &&
      level != "off") {
    return Usage("--log-level must be debug, info, warn, error or off");
  }
  gateway.log_level = zinc::ParseLogLevel(level);
  std::shared_ptr<const zinc::canvas::GatewayTokens> tokens;
  const std::string tokens_path = flags["tokens"];
  if (!tokens_path.empty()) {
    zinc::Result<zinc::canvas::GatewayTokens> loaded =
        zinc::canvas::GatewayTokens::Load(tokens_path);
    if (!loaded.ok()) {
      std::cerr << "zinc-canvas: " << loaded.status().message() << "\n";
      return 1;
    }
    tokens = std::make_shared<const zinc::canvas::GatewayTokens>(std::move(loaded).value());
  } else if (!insecure && !LoopbackHost(gateway.host)) {
    std::cerr << "zinc-canvas: refusing to serve " << flags["http"]
              << " without --tokens: anyone who reaches it could draw on the canvas. Serve on "
                 "127.0.0.1, give --tokens FILE, or pass --insecure on a network only trusted "
                 "people reach (docs/canvas.md)\n";
    return 2;
  }

  sigset_t signals = BlockSignals();
  zinc::EndpointOptions options;
  options.join = flags["join"];
  options.log_level = gateway.log_level;
  options.name = "zinc-canvas";
  if (!flags["key"].empty()) {
    zinc::Result<std::string> secret = zinc::ReadKeyFile(flags["key"]);
    if (!secret.ok()) return Usage("--key: " + secret.status().message());
    options.secret_key = *secret;
    if (flags["server-key"].empty()) return Usage("--key needs --server-key (the host's key)");
    zinc::Result<std::string> server = zinc::KeyFromArgument(flags["server-key"]);
    if (!server.ok()) return Usage("--server-key: " + server.status().message());
    options.server_key = *server;
  } else if (!flags["server-key"].empty()) {
    return Usage("--server-key needs --key (the gateway's own)");
  }
  auto endpoint = zinc::Endpoint::Start(options);
  if (!endpoint.ok()) {
    std::cerr << "zinc-canvas: cannot join " << options.join << ": " << endpoint.status().ToString()
              << "\n";
    return endpoint.status().code() == zinc::StatusCode::kInvalidArgument ? 2 : 1;
  }
  zinc::OpenOptions open;
  open.type = "canvas";
  open.create = true;
  auto doc = (*endpoint)->Open(flags["doc"], open);
  if (!doc.ok()) {
    std::cerr << "zinc-canvas: cannot open '" << flags["doc"] << "': " << doc.status().ToString()
              << "\n";
    (*endpoint)->Stop();
    return 1;
  }

  // The participant ids of this gateway's tabs start with 8 hex digits of the endpoint id.
  zinc::canvas::CanvasBridge bridge(*doc, (*endpoint)->id().ToString().substr(0, 8));
  zinc::canvas::GatewayServer server(&bridge, &zinc::canvas::WebAssets(), gateway);
  zinc::canvas::CanvasBridge* b = &bridge;
  if (tokens) bridge.SetTokens(tokens);
  // zinc calls these on its own threads; the bridge lives on the server's. Post keeps the order.
  (*doc)->OnChange([&server, b](const zinc::DocumentChange& change) {
    server.Post([b, change] { b->OnChange(change); });
  });
  (*doc)->OnPresence([&server, b](const zinc::EndpointId& origin, const std::string& state) {
    server.Post([b, origin, state, now = std::chrono::steady_clock::now()] {
      b->OnPresence(origin, state, now);
    });
  });

  zinc::Status started = server.Start();
  if (!started.ok()) {
    std::cerr << "zinc-canvas: cannot serve on " << flags["http"] << ": " << started.ToString()
              << "\n";
    (*endpoint)->Stop();
    // A bad address is a bad flag; a port in use is not.
    return started.code() == zinc::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const bool ipv6 = gateway.host.find(':') != std::string::npos;
  std::cout << "zinc-canvas: open http://" << (ipv6 ? "[" + gateway.host + "]" : gateway.host)
            << ":" << server.port() << " (joined " << options.join << ")" << std::endl;

  // Until SIGINT or SIGTERM: SIGHUP reads the tokens again (a bad file keeps those in force); a
  // host that refuses the gateway's key ends it, rather than tabs drawing on a canvas that never
  // syncs.
  bool joined = false;
  int exit_code = 0;
  for (;;) {
    const timespec period = {0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &period);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGHUP && !tokens_path.empty()) {
      zinc::Result<zinc::canvas::GatewayTokens> loaded =
          zinc::canvas::GatewayTokens::Load(tokens_path);
      if (!loaded.ok()) {
        std::cerr << "zinc-canvas: tokens not reloaded, those in force stay: "
                  << loaded.status().message() << std::endl;
      } else {
        auto fresh = std::make_shared<const zinc::canvas::GatewayTokens>(std::move(loaded).value());
        std::cerr << "zinc-canvas: tokens reloaded (" << fresh->size() << ")" << std::endl;
        server.Post([b, fresh] { b->SetTokens(fresh); });
      }
    }
    if (!joined) {
      zinc::Status s = (*endpoint)->WaitJoined(std::chrono::milliseconds(0));
      joined = s.ok();
      if (s.code() == zinc::StatusCode::kPermissionDenied) {
        std::cerr << "zinc-canvas: " << s.message() << std::endl;
        exit_code = 1;
        break;
      }
    }
  }
  // The server first, so that no tab sees the endpoint go; zinc's callbacks still post into the
  // stopped server (and are dropped) until the endpoint stops.
  server.Stop();
  (*endpoint)->Stop();
  return exit_code;
}
