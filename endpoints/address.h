#pragma once

#include <string>

#include "core/status.h"

namespace zinc {

// The three channel addresses derived from one base address (DESIGN.md, "Topology"):
// tcp://HOST:PORT gives PUB on PORT, PULL on PORT+1 and ROUTER on PORT+2; ipc:// and inproc://
// addresses get the suffixes -pub, -in and -sync.
struct ChannelAddresses {
  std::string outbound;
  std::string inbound;
  std::string sync;
};

// A parsed base address.
struct BaseAddress {
  std::string transport;  // "tcp", "ipc" or "inproc"
  std::string host;       // tcp: host; otherwise the path or name
  int port = 0;           // tcp only; 0 means "pick free ports"
};

// Parses "tcp://HOST:PORT" (PORT may be 0 or "*" to pick free ports when binding),
// "ipc://PATH" or "inproc://NAME". Returns kInvalidArgument with a readable message otherwise.
Result<BaseAddress> ParseBaseAddress(const std::string& address);

// The channel addresses of base. REQUIRES: for tcp, base.port > 0 and base.port + 2 <= 65535.
ChannelAddresses DeriveChannelAddresses(const BaseAddress& base);

// Whether only this machine can reach base: ipc:// and inproc://, or tcp on a loopback host
// (127.0.0.0/8, localhost, ::1). A wildcard ("*", 0.0.0.0), an interface or another address is
// reachable from the network.
bool IsLoopbackAddress(const BaseAddress& base);

// "tcp://HOST:PORT", "ipc://PATH" or "inproc://NAME".
std::string FormatBaseAddress(const BaseAddress& base);

}  // namespace zinc
