#include "endpoints/address.h"

#include <cstdio>
#include <cstdlib>

namespace zinc {

Result<BaseAddress> ParseBaseAddress(const std::string& address) {
  BaseAddress base;
  const size_t sep = address.find("://");
  if (sep == std::string::npos) {
    return Status(StatusCode::kInvalidArgument, "bad address '" + address +
                                                    "': expected tcp://HOST:PORT, ipc://PATH or " +
                                                    "inproc://NAME");
  }
  base.transport = address.substr(0, sep);
  std::string rest = address.substr(sep + 3);
  if (base.transport == "ipc" || base.transport == "inproc") {
    if (rest.empty()) {
      return Status(StatusCode::kInvalidArgument, "bad address '" + address + "': empty name");
    }
    base.host = rest;
    return base;
  }
  if (base.transport != "tcp") {
    return Status(StatusCode::kInvalidArgument,
                  "bad address '" + address + "': transport must be tcp, ipc or inproc");
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status(StatusCode::kInvalidArgument,
                  "bad address '" + address + "': expected tcp://HOST:PORT");
  }
  base.host = rest.substr(0, colon);
  std::string port = rest.substr(colon + 1);
  if (port == "*") {
    base.port = 0;
    return base;
  }
  const bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string::npos;
  const long p = digits ? std::strtol(port.c_str(), nullptr, 10) : -1;
  if (p < 0 || p > 65533) {
    return Status(StatusCode::kInvalidArgument, "bad address '" + address +
                                                    "': port must be 0 to 65533 (it uses PORT, " +
                                                    "PORT+1 and PORT+2)");
  }
  base.port = static_cast<int>(p);
  return base;
}

ChannelAddresses DeriveChannelAddresses(const BaseAddress& base) {
  ChannelAddresses a;
  if (base.transport == "tcp") {
    const std::string prefix = "tcp://" + base.host + ":";
    a.outbound = prefix + std::to_string(base.port);
    a.inbound = prefix + std::to_string(base.port + 1);
    a.sync = prefix + std::to_string(base.port + 2);
  } else {
    const std::string prefix = base.transport + "://" + base.host;
    a.outbound = prefix + "-pub";
    a.inbound = prefix + "-in";
    a.sync = prefix + "-sync";
  }
  return a;
}

bool IsLoopbackAddress(const BaseAddress& base) {
  if (base.transport != "tcp") return true;
  const std::string& h = base.host;
  if (h == "localhost" || h == "::1" || h == "[::1]") return true;
  // 127.0.0.0/8, in dotted decimal.
  int a, b, c, d;
  char rest;
  return std::sscanf(h.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &rest) == 4 && a == 127 &&
         b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255;
}

std::string FormatBaseAddress(const BaseAddress& base) {
  if (base.transport == "tcp") return "tcp://" + base.host + ":" + std::to_string(base.port);
  return base.transport + "://" + base.host;
}

}  // namespace zinc
