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

std::unique_ptr<Endpoint> StartClient(const Endpoint& host, EndpointOptions options) {
  options.join = host.listen_address();
  Result<std::unique_ptr<Endpoint>> client = Endpoint::Start(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (!client.ok()) std::abort();
  return std::move(client).value();
}

}  // namespace testing
}  // namespace zinc
