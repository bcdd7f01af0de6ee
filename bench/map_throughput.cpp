// First throughput figure: map edits/s from one client through the host and back (acknowledged
// by their echo), beside raw ZeroMQ PUSH -> PULL -> PUB -> SUB of the same message size, in the
// same run, over tcp loopback. Each side runs `--rounds` times; medians are reported.
//
//   map_throughput [--edits N] [--rounds R]
//
// Output: one line per round and side, then
//   median zinc_edits_per_s=... raw_msgs_per_s=... ratio=... message_bytes=...

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/channel.h"
#include "documents/map_document.h"
#include "endpoints/endpoint.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string Payload(int i) {
  return zinc::EncodeMapOps(
      {zinc::MapOp{zinc::MapOp::Kind::kSet, "key" + std::to_string(i % 100), std::to_string(i)}});
}

// Returns edits/s, or -1 on failure.
double RunZinc(int edits, size_t* message_bytes) {
  zinc::EndpointOptions host_options;
  host_options.listen = "tcp://127.0.0.1:0";
  auto host = zinc::Endpoint::Start(host_options);
  if (!host.ok()) return -1;
  zinc::EndpointOptions client_options;
  client_options.join = (*host)->listen_address();
  auto client = zinc::Endpoint::Start(client_options);
  if (!client.ok()) return -1;
  zinc::OpenOptions open;
  open.type = "map";
  zinc::DocumentHandle* doc = *(*client)->Open("bench", open);
  if (!doc->WaitSynced(std::chrono::seconds(10)).ok()) return -1;
  std::vector<std::string> payloads;
  payloads.reserve(edits);
  for (int i = 0; i < edits; ++i) payloads.push_back(Payload(i));
  // The envelope of one edit, for the raw side's message size.
  zinc::wire::Envelope e;
  e.set_version(zinc::kProtocolVersion);
  e.set_origin(std::string(16, 'x'));
  e.set_origin_seq(edits / 2);
  e.set_doc("bench");
  e.set_seq(edits / 2);
  e.set_base_seq(edits / 2);
  e.set_epoch(1);
  e.mutable_fragment()->set_type("map");
  e.mutable_fragment()->set_payload(payloads[edits / 2]);
  *message_bytes = zinc::EncodeEnvelope(e).size();

  const auto start = Clock::now();
  for (auto& p : payloads) {
    if (!doc->Edit(std::move(p)).ok()) return -1;
  }
  if (!doc->WaitAcknowledged(std::chrono::seconds(120)).ok()) return -1;
  const double s = Seconds(start, Clock::now());
  if (doc->seq() != static_cast<uint64_t>(edits)) {
    std::printf("zinc lost edits: seq %llu of %d\n", static_cast<unsigned long long>(doc->seq()),
                edits);
    return -1;
  }
  return edits / s;
}

// Raw ZeroMQ: a sender PUSHes `count` messages of `bytes` to a relay (PULL -> PUB, no
// processing), a receiver SUBscribes. High-water marks are unbounded so nothing is dropped.
// Returns msgs/s delivered, or -1 if any were lost.
double RunRaw(int count, size_t bytes) {
  zinc::ChannelContext ctx;
  zinc::ChannelOptions o;
  o.sndhwm = 0;
  o.rcvhwm = 0;
  auto pull = std::move(zinc::Channel::Create(&ctx, zinc::SocketType::kPull, o)).value();
  auto pub = std::move(zinc::Channel::Create(&ctx, zinc::SocketType::kPub, o)).value();
  auto in = pull->Bind("tcp://127.0.0.1:*");
  auto out = pub->Bind("tcp://127.0.0.1:*");
  if (!in.ok() || !out.ok()) return -1;
  std::atomic<bool> stop{false};
  std::thread relay([&] {
    std::vector<std::string> parts;
    std::vector<zinc::PollItem> items(1);
    items[0].channel = pull.get();
    while (!stop.load()) {
      if (!zinc::Poll(&items, std::chrono::milliseconds(50)).ok()) return;
      while (true) {
        auto got = pull->Receive(&parts);
        if (!got.ok() || !*got) break;
        std::string_view frames[2] = {"bench", parts[0]};
        while (pub->Send(frames, 2).code() == zinc::StatusCode::kResourceExhausted) {
        }
      }
    }
  });
  auto sub = std::move(zinc::Channel::Create(&ctx, zinc::SocketType::kSub, o)).value();
  (void)sub->Subscribe("bench");
  (void)sub->Connect(*out);
  auto push = std::move(zinc::Channel::Create(&ctx, zinc::SocketType::kPush, o)).value();
  (void)push->Connect(*in);
  // Wait until the subscription is through: probe messages until one arrives.
  std::vector<std::string> parts;
  const std::string probe = "probe";
  for (bool through = false; !through;) {
    std::string_view p(probe);
    (void)push->Send(&p, 1);
    std::vector<zinc::PollItem> items(1);
    items[0].channel = sub.get();
    (void)zinc::Poll(&items, std::chrono::milliseconds(20));
    while (true) {
      auto got = sub->Receive(&parts);
      if (!got.ok() || !*got) break;
      through = true;
    }
  }
  const std::string message(bytes, 'm');
  std::atomic<int> received{0};
  Clock::time_point start = Clock::now(), end = start;
  std::thread receiver([&] {
    std::vector<std::string> p;
    std::vector<zinc::PollItem> items(1);
    items[0].channel = sub.get();
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (received.load() < count && Clock::now() < deadline) {
      (void)zinc::Poll(&items, std::chrono::milliseconds(50));
      while (true) {
        auto got = sub->Receive(&p);
        if (!got.ok() || !*got) break;
        if (p.size() == 2 && p[1].size() == bytes) ++received;
      }
    }
    end = Clock::now();
  });
  start = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::string_view m(message);
    while (push->Send(&m, 1).code() == zinc::StatusCode::kResourceExhausted) {
    }
  }
  receiver.join();
  stop = true;
  relay.join();
  if (received.load() != count) {
    std::printf("raw lost messages: %d of %d\n", received.load(), count);
    return -1;
  }
  return count / Seconds(start, end);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int edits = 200000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--edits") edits = std::atoi(argv[i + 1]);
    if (f == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  std::vector<double> zinc_rates, raw_rates;
  size_t bytes = 0;
  for (int r = 0; r < rounds; ++r) {
    double z = RunZinc(edits, &bytes);
    double raw = RunRaw(edits, bytes);
    std::printf("round %d zinc_edits_per_s=%.0f raw_msgs_per_s=%.0f\n", r + 1, z, raw);
    if (z < 0 || raw < 0) return 1;
    zinc_rates.push_back(z);
    raw_rates.push_back(raw);
  }
  const double z = Median(zinc_rates), raw = Median(raw_rates);
  std::printf(
      "median zinc_edits_per_s=%.0f raw_msgs_per_s=%.0f ratio=%.2f message_bytes=%zu "
      "edits=%d rounds=%d\n",
      z, raw, z / raw, bytes, edits, rounds);
  return 0;
}
