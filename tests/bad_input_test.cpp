// Garbage at the host's inbound and sync channels: refused, counted, and nobody else notices.

#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "documents/map_document.h"
#include "endpoints/endpoint.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::RawPeer;
using testing::StartClient;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

TEST(BadInputTest, TenThousandGarbageFramesAreCountedWhileAGoodClientKeepsWorking) {
  auto host = StartHost();
  auto good = StartClient(*host);
  OpenOptions open;
  open.type = "map";
  DocumentHandle* doc = *good->Open("d", open);
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());

  // A valid envelope to cut short.
  RawPeer attacker(*host);
  const std::string valid = EncodeEnvelope(
      attacker.Fragment("d", "map", 1, EncodeMapOps({MapOp{MapOp::Kind::kSet, "x", "1"}})));

  std::atomic<bool> done{false};
  std::thread garbage([&] {
    std::mt19937 rng(42);
    for (int i = 0; i < 10000; ++i) {
      std::string frame;
      if (i % 2 == 0) {
        frame.resize(1 + rng() % 200);
        for (char& c : frame) c = static_cast<char>(rng());
      } else {
        frame = valid.substr(0, rng() % valid.size());  // Truncated.
      }
      if (i % 4 < 2) {
        attacker.Push(frame);
      } else {
        attacker.Request(frame);
      }
    }
    done = true;
  });
  // Meanwhile the good client edits and is served.
  int edits = 0;
  while (!done || edits < 200) {
    ASSERT_TRUE(doc->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "k" + std::to_string(edits % 10),
                                              std::to_string(edits)}}))
                    .ok());
    ++edits;
    if (edits % 50 == 0) {
      ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
    }
  }
  garbage.join();
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());

  // Every garbage frame was refused and counted (a random frame may by chance parse as some
  // protobuf, but never as a valid envelope with a 16-byte origin and this version).
  EXPECT_TRUE(WaitFor(
      [&] { return host->counters().SumPrefix("zinc_frames_rejected_total") >= 9900; }, kTimeout))
      << host->counters().RenderPrometheus();
  OpenOptions read;
  DocumentHandle* at_host = *host->Open("d", read);
  EXPECT_EQ(at_host->seq(), static_cast<uint64_t>(edits));
  ASSERT_TRUE(WaitFor([&] { return doc->seq() == at_host->seq(); }, kTimeout));
  EXPECT_EQ(doc->ToJson(), at_host->ToJson());
}

TEST(BadInputTest, OversizedFrameIsDroppedAndTheHostServesOthers) {
  EndpointOptions options;
  options.limits.max_envelope_bytes = 64 * 1024;
  auto host = StartHost(options);
  RawPeer attacker(*host);
  attacker.Push(std::string(1 << 20, 'x'));  // libzmq closes that connection (ZMQ_MAXMSGSIZE).
  auto good = StartClient(*host);
  OpenOptions open;
  open.type = "map";
  DocumentHandle* doc = *good->Open("d", open);
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(doc->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "k", "1"}})).ok());
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
  EXPECT_EQ(doc->seq(), 1u);
}

TEST(BadInputTest, FragmentLargerThanTheLimitIsRefused) {
  EndpointOptions options;
  options.limits.max_envelope_bytes = 64 * 1024;
  auto host = StartHost(options);
  RawPeer attacker(*host);
  // Under the socket limit (limit + 1 KiB) but over the codec limit.
  wire::Envelope e = attacker.Fragment(
      "d", "map", 1,
      EncodeMapOps({MapOp{MapOp::Kind::kSet, "k", "\"" + std::string(64 * 1024, 'v') + "\""}}));
  attacker.Push(e);
  wire::Envelope reply;
  ASSERT_TRUE(attacker.ReceiveReply(&reply, kTimeout));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().reason(), wire::NACK_TOO_LARGE);
}

TEST(BadInputTest, BadElementsOfABatchAreRefusedAloneAndTheRestIsSequenced) {
  auto host = StartHost();
  auto reader = StartClient(*host);
  DocumentHandle* doc = testing::OpenMap(reader.get(), "d");
  RawPeer peer(*host);
  auto set = [&](uint64_t origin_seq, const std::string& key) {
    return EncodeEnvelope(
        peer.Fragment("d", "map", origin_seq, EncodeMapOps({MapOp{MapOp::Kind::kSet, key, "1"}})));
  };
  wire::Envelope other = peer.Fragment("elsewhere", "map", 9, "x");
  std::vector<std::string> elements = {set(1, "a"), EncodeEnvelope(other), set(2, "b"),
                                       "not an envelope", set(3, "c")};
  peer.Push(EncodeBatch(std::string(peer.id().bytes()), "d", &elements));

  ASSERT_TRUE(WaitFor([&] { return doc->seq() == 3; }, kTimeout)) << doc->ToJson();
  EXPECT_EQ(doc->ToJson(), R"({"type":"map","seq":3,"entries":{"a":1,"b":1,"c":1}})");
  EXPECT_TRUE(WaitFor([&] { return host->counters().SumPrefix("zinc_frames_rejected_total") == 2; },
                      kTimeout))
      << host->counters().RenderPrometheus();

  // A batch on the sync channel is refused with a nack.
  std::vector<std::string> more = {set(4, "d")};
  peer.Request(EncodeBatch(std::string(peer.id().bytes()), "d", &more));
  // (The element for another document, which names its origin, was nacked as malformed.)
  wire::Envelope reply;
  bool unsupported = false;
  while (!unsupported && peer.ReceiveReply(&reply, kTimeout)) {
    unsupported = reply.has_nack() && reply.nack().reason() == wire::NACK_UNSUPPORTED;
  }
  EXPECT_TRUE(unsupported);
  EXPECT_EQ(doc->seq(), 3u);
}

TEST(BadInputTest, ACopyOfARefusedFragmentIsRefusedAlikeSoALostNackIsNotFatal) {
  auto host = StartHost();
  auto reader = StartClient(*host);
  DocumentHandle* doc = testing::OpenMap(reader.get(), "d");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  RawPeer peer(*host);
  const wire::Envelope bad = peer.Fragment("d", "map", 1, "not a map payload");
  for (int copy = 0; copy < 2; ++copy) {
    peer.Push(bad);
    wire::Envelope reply;
    ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout)) << copy;
    ASSERT_TRUE(reply.has_nack());
    EXPECT_EQ(reply.nack().reason(), wire::NACK_REJECTED) << copy;
    EXPECT_EQ(reply.nack().refused_origin_seq(), 1u);
  }
  EXPECT_EQ(host->counters().SumPrefix("zinc_fragments_refused_total"), 1u);
  EXPECT_EQ(host->counters().Value("zinc_fragments_renacked_total"), 1u);
  // The next fragment is in order and goes through.
  peer.Push(peer.Fragment("d", "map", 2, EncodeMapOps({MapOp{MapOp::Kind::kSet, "k", "1"}})));
  ASSERT_TRUE(WaitFor([&] { return doc->seq() == 1; }, kTimeout));
}

}  // namespace
}  // namespace zinc
