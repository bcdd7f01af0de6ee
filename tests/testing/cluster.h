#pragma once

#include <memory>
#include <string>
#include <vector>

#include "endpoints/endpoint.h"

namespace zinc {
namespace testing {

// Starts a root host on tcp://127.0.0.1 with free ports. Aborts the test on failure.
std::unique_ptr<Endpoint> StartHost(EndpointOptions options = EndpointOptions());
// Starts a client that joins host.
std::unique_ptr<Endpoint> StartClient(const Endpoint& host,
                                      EndpointOptions options = EndpointOptions());

}  // namespace testing
}  // namespace zinc
