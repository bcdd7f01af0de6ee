#include "endpoints/address.h"

#include <string>

#include <gtest/gtest.h>

namespace zinc {
namespace {

BaseAddress ParseOk(const std::string& address) {
  Result<BaseAddress> base = ParseBaseAddress(address);
  EXPECT_TRUE(base.ok()) << address << ": " << base.status().ToString();
  return base.ok() ? base.value() : BaseAddress();
}

TEST(AddressTest, TcpBaseParsesHostAndPort) {
  const BaseAddress base = ParseOk("tcp://127.0.0.1:5555");
  EXPECT_EQ(base.transport, "tcp");
  EXPECT_EQ(base.host, "127.0.0.1");
  EXPECT_EQ(base.port, 5555);
  EXPECT_EQ(FormatBaseAddress(base), "tcp://127.0.0.1:5555");
}

TEST(AddressTest, TcpBaseDerivesThreeConsecutivePorts) {
  const ChannelAddresses a = DeriveChannelAddresses(ParseOk("tcp://example.org:7000"));
  EXPECT_EQ(a.outbound, "tcp://example.org:7000");
  EXPECT_EQ(a.inbound, "tcp://example.org:7001");
  EXPECT_EQ(a.sync, "tcp://example.org:7002");
}

TEST(AddressTest, HighestUsablePortDerivesUpTo65535) {
  const BaseAddress base = ParseOk("tcp://*:65533");
  EXPECT_EQ(base.port, 65533);
  const ChannelAddresses a = DeriveChannelAddresses(base);
  EXPECT_EQ(a.outbound, "tcp://*:65533");
  EXPECT_EQ(a.inbound, "tcp://*:65534");
  EXPECT_EQ(a.sync, "tcp://*:65535");
}

TEST(AddressTest, StarAndZeroPortMeanPickFreePorts) {
  for (const std::string address : {"tcp://127.0.0.1:*", "tcp://127.0.0.1:0"}) {
    const BaseAddress base = ParseOk(address);
    EXPECT_EQ(base.transport, "tcp") << address;
    EXPECT_EQ(base.host, "127.0.0.1") << address;
    EXPECT_EQ(base.port, 0) << address;
  }
}

TEST(AddressTest, WildcardHostIsAccepted) {
  const BaseAddress base = ParseOk("tcp://*:6000");
  EXPECT_EQ(base.host, "*");
  EXPECT_EQ(base.port, 6000);
}

TEST(AddressTest, Ipv6HostKeepsItsColons) {
  const BaseAddress base = ParseOk("tcp://[::1]:6000");
  EXPECT_EQ(base.host, "[::1]");
  EXPECT_EQ(base.port, 6000);
  EXPECT_EQ(DeriveChannelAddresses(base).sync, "tcp://[::1]:6002");
}

TEST(AddressTest, IpcBaseDerivesSuffixedPaths) {
  const BaseAddress base = ParseOk("ipc:///tmp/zinc");
  EXPECT_EQ(base.transport, "ipc");
  EXPECT_EQ(base.host, "/tmp/zinc");
  EXPECT_EQ(FormatBaseAddress(base), "ipc:///tmp/zinc");
  const ChannelAddresses a = DeriveChannelAddresses(base);
  EXPECT_EQ(a.outbound, "ipc:///tmp/zinc-pub");
  EXPECT_EQ(a.inbound, "ipc:///tmp/zinc-in");
  EXPECT_EQ(a.sync, "ipc:///tmp/zinc-sync");
}

TEST(AddressTest, InprocBaseDerivesSuffixedNames) {
  const BaseAddress base = ParseOk("inproc://doc-host");
  EXPECT_EQ(base.transport, "inproc");
  EXPECT_EQ(base.host, "doc-host");
  EXPECT_EQ(FormatBaseAddress(base), "inproc://doc-host");
  const ChannelAddresses a = DeriveChannelAddresses(base);
  EXPECT_EQ(a.outbound, "inproc://doc-host-pub");
  EXPECT_EQ(a.inbound, "inproc://doc-host-in");
  EXPECT_EQ(a.sync, "inproc://doc-host-sync");
}

TEST(AddressTest, FormatRoundTripsThroughParse) {
  for (const std::string address :
       {"tcp://127.0.0.1:5555", "tcp://*:0", "ipc:///var/run/zinc", "inproc://x"}) {
    EXPECT_EQ(FormatBaseAddress(ParseOk(address)), address);
  }
}

TEST(AddressTest, OnlyLoopbackIpcAndInprocCountAsLocal) {
  for (const std::string address : {"tcp://127.0.0.1:5555", "tcp://127.1.2.3:0",
                                    "tcp://localhost:5555", "ipc:///tmp/z", "inproc://x"}) {
    EXPECT_TRUE(IsLoopbackAddress(ParseOk(address))) << address;
  }
  for (const std::string address :
       {"tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.1:5555", "tcp://eth0:5555",
        "tcp://127.0.0.1.evil:5555", "tcp://128.0.0.1:5555", "tcp://example.com:5555"}) {
    EXPECT_FALSE(IsLoopbackAddress(ParseOk(address))) << address;
  }
}

TEST(AddressTest, BadAddressesAreInvalidArgument) {
  for (const std::string address : {
           "",
           "127.0.0.1:5555",         // no scheme
           "tcp:/127.0.0.1:5555",    // malformed scheme separator
           "udp://127.0.0.1:5555",   // unsupported transport
           "TCP://127.0.0.1:5555",   // transports are lower case
           "tcp://127.0.0.1",        // missing port
           "tcp://127.0.0.1:",       // empty port
           "tcp://:5555",            // missing host
           "tcp://",                 // nothing at all
           "tcp://127.0.0.1:65534",  // PORT+2 would exceed 65535
           "tcp://127.0.0.1:65535", "tcp://127.0.0.1:99999",
           "tcp://127.0.0.1:-1",    // negative
           "tcp://127.0.0.1:http",  // non-numeric
           "tcp://127.0.0.1:55x", "tcp://127.0.0.1:**",
           "ipc://",     // empty path
           "inproc://",  // empty name
       }) {
    Result<BaseAddress> base = ParseBaseAddress(address);
    EXPECT_FALSE(base.ok()) << "'" << address << "' parsed";
    EXPECT_EQ(base.status().code(), StatusCode::kInvalidArgument)
        << "'" << address << "': " << base.status().ToString();
    EXPECT_FALSE(base.status().message().empty()) << address;
  }
}

TEST(AddressTest, PortWithSignOrWhitespaceIsInvalidArgument) {
  for (const std::string address : {"tcp://127.0.0.1:+80", "tcp://127.0.0.1: 80",
                                    "tcp://127.0.0.1:\t80", "tcp://127.0.0.1:-0"}) {
    Result<BaseAddress> base = ParseBaseAddress(address);
    EXPECT_EQ(base.status().code(), StatusCode::kInvalidArgument)
        << "'" << address << "' parsed to port " << (base.ok() ? base.value().port : -1);
  }
}

}  // namespace
}  // namespace zinc
