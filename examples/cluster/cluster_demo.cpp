// The main job until the shared-canvas demo lands: a local cluster of one root host and two
// clients, over real ZeroMQ sockets on tcp loopback, editing one shared map. Each endpoint prints
// what it sees; at the end every replica holds the same state.
//
//   zinc-cluster-demo [--listen tcp://127.0.0.1:PORT] [--edits N]

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "core/channel.h"
#include "endpoints/endpoint.h"

namespace {

std::mutex out_mu;

void Say(const std::string& who, const std::string& what) {
  std::lock_guard<std::mutex> l(out_mu);
  std::cout << who << " " << what << "\n" << std::flush;
}

// Prints every change a document sees, local or remote.
void Watch(const std::string& who, zinc::DocumentHandle* doc) {
  doc->OnChange([who, doc](const zinc::DocumentChange& c) {
    if (c.reset) {
      Say(who, "synced at seq " + std::to_string(c.seq) + ": " + doc->ToJson());
      return;
    }
    std::string op = doc->type()->FragmentToJson(c.payload);
    if (c.local) {
      Say(who, "edits      " + op);
    } else if (op == "[]") {
      // A remote set of a key this endpoint has a newer pending edit for: the pending one wins.
      Say(who, "sees seq " + std::to_string(c.seq) + " (overridden by its own pending edit)");
    } else {
      Say(who, "sees seq " + std::to_string(c.seq) + " " + op);
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "tcp://127.0.0.1:0";
  int edits = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen") listen = argv[i + 1];
    if (flag == "--edits") edits = std::atoi(argv[i + 1]);
  }
  const auto timeout = std::chrono::seconds(10);

  // One ZeroMQ context for the three endpoints of this process (declared first: it outlives
  // them).
  zinc::ChannelContext context;
  zinc::EndpointOptions host_options;
  host_options.listen = listen;
  host_options.context = &context;
  auto host = zinc::Endpoint::Start(host_options);
  if (!host.ok()) {
    std::cerr << "cannot start the host: " << host.status().ToString() << "\n";
    return 1;
  }
  Say("host   ", "listening on " + (*host)->listen_address());

  zinc::OpenOptions open;
  open.type = "map";
  auto host_doc = (*host)->Open("shared", open);
  if (!host_doc.ok()) return 1;
  Watch("host   ", *host_doc);

  zinc::EndpointOptions client_options;
  client_options.join = (*host)->listen_address();
  client_options.context = &context;
  auto alice = zinc::Endpoint::Start(client_options);
  auto bob = zinc::Endpoint::Start(client_options);
  if (!alice.ok() || !bob.ok()) {
    std::cerr << "cannot start the clients\n";
    return 1;
  }
  auto alice_doc = (*alice)->Open("shared", open);
  auto bob_doc = (*bob)->Open("shared", open);
  if (!alice_doc.ok() || !bob_doc.ok()) return 1;
  Watch("alice  ", *alice_doc);
  Watch("bob    ", *bob_doc);
  if (!(*alice_doc)->WaitSynced(timeout).ok() || !(*bob_doc)->WaitSynced(timeout).ok()) {
    std::cerr << "the clients did not sync\n";
    return 1;
  }

  // Both edit at once, including the same key: the host's order decides, and everyone agrees.
  for (int i = 0; i < edits; ++i) {
    zinc::Status a = (*alice_doc)
                         ->EditJson(R"({"set":["alice-)" + std::to_string(i) + R"(", {"n":)" +
                                    std::to_string(i) + "}]}");
    zinc::Status b = (*bob_doc)->EditJson(R"({"set":["bob-)" + std::to_string(i) + R"(", )" +
                                          std::to_string(i * i) + "]}");
    zinc::Status c = (*alice_doc)->EditJson(R"({"set":["color","red"]})");
    zinc::Status d = (*bob_doc)->EditJson(R"({"set":["color","blue"]})");
    if (!a.ok() || !b.ok() || !c.ok() || !d.ok()) return 1;
  }
  zinc::Status del = (*alice_doc)->EditJson(R"({"del":"bob-0"})");
  if (!del.ok()) return 1;
  if (!(*alice_doc)->WaitAcknowledged(timeout).ok() ||
      !(*bob_doc)->WaitAcknowledged(timeout).ok()) {
    std::cerr << "edits were not acknowledged\n";
    return 1;
  }
  // Acknowledged at both clients means sequenced; wait until both have applied the head.
  const uint64_t head = (*host_doc)->seq();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (((*alice_doc)->seq() < head || (*bob_doc)->seq() < head) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (*alice)->Stop();
  (*bob)->Stop();
  (*host)->Stop();

  const std::string h = (*host_doc)->ToJson(), a = (*alice_doc)->ToJson(), b = (*bob_doc)->ToJson();
  std::cout << "\nfinal host : " << h << "\nfinal alice: " << a << "\nfinal bob  : " << b << "\n";
  if (h != a || h != b) {
    std::cout << "replicas DIFFER\n";
    return 1;
  }
  std::cout << "all three replicas are identical\n";
  return 0;
}
