// Whole clusters over tcp loopback: concurrent editing, late joiners, forced drops.

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "documents/map_document.h"
#include "endpoints/endpoint.h"
#include "examples/log/log_document.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::OpenMap;
using testing::StartClient;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(60);

std::string Snapshot(DocumentHandle* doc) {
  std::string s;
  doc->Read([&](const Document& d) { s = d.Snapshot(); });
  return s;
}

// Makes `count` random edits (sets with unique values, deletes) over a small key space, so that
// concurrent writers collide on keys all the time.
void RandomEdits(DocumentHandle* doc, int writer, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < count; ++i) {
    const std::string key = "k" + std::to_string(rng() % 40);
    std::vector<MapOp> ops;
    if (rng() % 5 == 0) {
      ops.push_back(MapOp{MapOp::Kind::kDelete, key, ""});
    } else {
      ops.push_back(MapOp{MapOp::Kind::kSet, key,
                          "\"w" + std::to_string(writer) + "-" + std::to_string(i) + "\""});
    }
    ASSERT_TRUE(doc->Edit(EncodeMapOps(ops)).ok());
  }
}

// Records the host's sequenced stream: every fragment exactly once, in seq order.
struct SequencedLog {
  std::mutex mu;
  std::vector<DocumentChange> changes;

  void Attach(DocumentHandle* doc) {
    doc->OnChange([this](const DocumentChange& c) {
      std::lock_guard<std::mutex> l(mu);
      changes.push_back(c);
    });
  }
  // Replays the stream onto an empty map.
  std::string Replay() {
    std::lock_guard<std::mutex> l(mu);
    MapDocument doc;
    uint64_t seq = 0;
    for (const DocumentChange& c : changes) {
      EXPECT_EQ(c.seq, ++seq);
      EXPECT_TRUE(doc.Apply(c.payload).ok());
    }
    return doc.Snapshot();
  }
};

TEST(SyncTest, EightClientsMakingConcurrentEditsAllConvergeToTheHost) {
  constexpr int kClients = 8;
  constexpr int kEdits = 2000;
  auto host = StartHost();
  DocumentHandle* at_host = OpenMap(host.get(), "shared");
  SequencedLog log;
  log.Attach(at_host);

  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> docs;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(StartClient(*host));
    docs.push_back(OpenMap(clients.back().get(), "shared"));
  }
  for (DocumentHandle* d : docs) ASSERT_TRUE(d->WaitSynced(kTimeout).ok());

  std::vector<std::thread> writers;
  for (int i = 0; i < kClients; ++i) {
    writers.emplace_back([&, i] { RandomEdits(docs[i], i, kEdits, 1000 + i); });
  }
  for (auto& w : writers) w.join();
  for (DocumentHandle* d : docs) ASSERT_TRUE(d->WaitAcknowledged(kTimeout).ok());

  // Every edit was acknowledged, so every edit was sequenced, exactly once.
  const uint64_t total = kClients * kEdits;
  ASSERT_EQ(at_host->seq(), total);
  for (DocumentHandle* d : docs) {
    ASSERT_TRUE(WaitFor([&] { return d->seq() == total; }, kTimeout)) << d->seq();
  }
  const std::string expected = Snapshot(at_host);
  for (DocumentHandle* d : docs) EXPECT_EQ(Snapshot(d), expected);
  // The host's state is exactly its sequenced stream replayed: each acknowledged edit is in it.
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> l(log.mu);
    return log.changes.size() == total;
  }));
  EXPECT_EQ(log.Replay(), expected);
  std::set<std::pair<std::string, uint64_t>> seen;
  EXPECT_EQ(host->counters().Value("zinc_fragments_sequenced_total"), total);
}

TEST(SyncTest, ClientJoiningWhileOthersEditAtFullSpeedEndsWithTheHostState) {
  auto host = StartHost();
  DocumentHandle* at_host = OpenMap(host.get(), "shared");
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<DocumentHandle*> docs;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(StartClient(*host));
    docs.push_back(OpenMap(clients.back().get(), "shared"));
    ASSERT_TRUE(docs.back()->WaitSynced(kTimeout).ok());
  }
  std::vector<std::thread> writers;
  for (int i = 0; i < 3; ++i) {
    writers.emplace_back([&, i] { RandomEdits(docs[i], i, 5000, 7 + i); });
  }
  // Join once the stream is well under way.
  ASSERT_TRUE(WaitFor([&] { return at_host->seq() > 1000; }, kTimeout));
  auto late = StartClient(*host);
  DocumentHandle* late_doc = OpenMap(late.get(), "shared");
  ASSERT_TRUE(late_doc->WaitSynced(kTimeout).ok());
  EXPECT_GT(late_doc->seq(), 0u);  // It started from a snapshot, not from seq 0.
  for (auto& w : writers) w.join();
  for (DocumentHandle* d : docs) ASSERT_TRUE(d->WaitAcknowledged(kTimeout).ok());
  const uint64_t head = at_host->seq();
  EXPECT_EQ(head, 15000u);
  ASSERT_TRUE(WaitFor([&] { return late_doc->seq() == head; }, kTimeout)) << late_doc->seq();
  EXPECT_EQ(Snapshot(late_doc), Snapshot(at_host));
}

TEST(SyncTest, SubscriberWithTinyHighWaterMarkConvergesThroughCatchup) {
  EndpointOptions host_options;
  host_options.publish_hwm = 4;  // The host's queue to each subscriber overflows at once.
  auto host = StartHost(host_options);
  DocumentHandle* at_host = OpenMap(host.get(), "shared");
  auto writer = StartClient(*host);
  DocumentHandle* writer_doc = OpenMap(writer.get(), "shared");

  EndpointOptions slow_options;
  slow_options.subscribe_hwm = 1;
  slow_options.subscribe_rcvbuf = 4096;
  slow_options.handler_threads = 1;
  // The listener stops reading while 64 messages wait for the slow handler, so the backlog
  // stays in the sockets (whose high-water marks drop) instead of the handler pool's queue.
  slow_options.max_queued_messages = 64;
  auto slow = StartClient(*host, slow_options);
  DocumentHandle* slow_doc = OpenMap(slow.get(), "shared");
  std::atomic<int> seen{0};
  slow_doc->OnChange([&](const DocumentChange&) {
    // A slow application: every 64th change takes a while, so the queues fill and drop.
    if (++seen % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  });
  ASSERT_TRUE(writer_doc->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(slow_doc->WaitSynced(kTimeout).ok());

  // 20,000 edits of 1 KiB: far more than the kernel's socket buffers hold, so the host's PUB
  // queue (4 frames, batched or not) overflows while the slow subscriber sleeps.
  for (int i = 0; i < 20000; ++i) {
    const std::string value = "\"" + std::to_string(i) + std::string(1024, 'v') + "\"";
    ASSERT_TRUE(
        writer_doc
            ->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "k" + std::to_string(i % 40), value}}))
            .ok());
  }
  ASSERT_TRUE(writer_doc->WaitAcknowledged(kTimeout).ok());
  const uint64_t head = at_host->seq();
  ASSERT_EQ(head, 20000u);
  ASSERT_TRUE(WaitFor([&] { return slow_doc->seq() == head; }, kTimeout)) << slow_doc->seq();
  EXPECT_EQ(Snapshot(slow_doc), Snapshot(at_host));
  // It really lost messages at the high-water mark and recovered them.
  EXPECT_GT(slow->counters().Value("zinc_catchups_requested_total") +
                slow->counters().Value("zinc_resyncs_total"),
            0u);
}

TEST(SyncTest, DocumentsAreIndependent) {
  auto host = StartHost();
  auto a = StartClient(*host);
  auto b = StartClient(*host);
  std::vector<DocumentHandle*> at_a, at_b;
  for (int d = 0; d < 6; ++d) {
    at_a.push_back(OpenMap(a.get(), "doc" + std::to_string(d)));
    at_b.push_back(OpenMap(b.get(), "doc" + std::to_string(d)));
  }
  for (int d = 0; d < 6; ++d) {
    ASSERT_TRUE(at_a[d]->WaitSynced(kTimeout).ok());
    ASSERT_TRUE(at_b[d]->WaitSynced(kTimeout).ok());
  }
  for (int d = 0; d < 6; ++d) {
    ASSERT_TRUE(at_a[d]->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "from-a", "1"}})).ok());
    ASSERT_TRUE(at_b[d]->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "from-b", "2"}})).ok());
  }
  for (int d = 0; d < 6; ++d) {
    ASSERT_TRUE(WaitFor([&] { return at_a[d]->seq() == 2 && at_b[d]->seq() == 2; }, kTimeout));
    EXPECT_EQ(at_a[d]->ToJson(), R"({"type":"map","seq":2,"entries":{"from-a":1,"from-b":2}})");
    EXPECT_EQ(at_b[d]->ToJson(), at_a[d]->ToJson());
  }
}

}  // namespace
}  // namespace zinc

namespace zinc {
namespace {

TEST(SyncTest, ApplicationDefinedTypeRegisteredByTheAppSyncs) {
  TypeRegistry types;
  ASSERT_TRUE(types.Register(std::make_unique<examples::LogType>(/*capacity=*/10)).ok());
  EXPECT_EQ(types.Register(std::make_unique<examples::LogType>()).code(),
            StatusCode::kInvalidArgument);  // One type per name.
  EndpointOptions options;
  options.types = &types;
  auto host = StartHost(options);
  auto a = StartClient(*host, options);
  auto b = StartClient(*host, options);
  OpenOptions open;
  open.type = "log";
  DocumentHandle* at_a = *a->Open("events", open);
  DocumentHandle* at_b = *b->Open("events", open);
  ASSERT_TRUE(at_a->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(at_b->WaitSynced(kTimeout).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(at_a->Edit(examples::EncodeLogAppend("a" + std::to_string(i))).ok());
    ASSERT_TRUE(at_b->EditJson(R"({"append":"b)" + std::to_string(i) + "\"}").ok());
  }
  ASSERT_TRUE(at_a->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(at_b->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return at_a->seq() == 200 && at_b->seq() == 200; }, kTimeout));
  EXPECT_EQ(at_a->ToJson(), at_b->ToJson());
  at_a->Read([](const Document& d) {
    const auto& log = static_cast<const examples::LogDocument&>(d);
    EXPECT_EQ(log.count(), 200u);
    EXPECT_EQ(log.entries().size(), 10u);  // Capped.
  });
  // A client without the type cannot open it.
  auto plain = StartClient(*host);
  OpenOptions any;
  any.create = false;
  DocumentHandle* unknown = *plain->Open("events", any);
  EXPECT_EQ(unknown->WaitSynced(kTimeout).code(), StatusCode::kUnsupported);
}

// What a gateway relies on: a listener that applies every change's payload to a copy of the
// document (and restores the copy from a reset's snapshot) ends with exactly the replica, while
// local edits race with remote ones. The log type makes order matter: a remote append that
// arrives while local appends are pending is moved before them.
TEST(SyncTest, ListenerSeesChangesInTheOrderTheyWereApplied) {
  TypeRegistry types;
  ASSERT_TRUE(types.Register(std::make_unique<examples::LogType>(/*capacity=*/100000)).ok());
  EndpointOptions options;
  options.types = &types;
  auto host = StartHost(options);
  auto a = StartClient(*host, options);
  auto b = StartClient(*host, options);
  OpenOptions open;
  open.type = "log";
  DocumentHandle* at_a = *a->Open("events", open);
  DocumentHandle* at_b = *b->Open("events", open);
  std::mutex mu;
  std::unique_ptr<Document> mirror = types.Find("log")->Create();
  std::atomic<int> mirror_errors{0};
  at_a->OnChange([&](const DocumentChange& c) {
    std::lock_guard<std::mutex> l(mu);
    Status s = c.reset ? mirror->Restore(c.payload) : mirror->Apply(c.payload);
    if (!s.ok()) ++mirror_errors;
  });
  ASSERT_TRUE(at_a->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(at_b->WaitSynced(kTimeout).ok());
  std::thread remote([&] {
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(at_b->Edit(examples::EncodeLogAppend("b" + std::to_string(i))).ok());
    }
  });
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(at_a->Edit(examples::EncodeLogAppend("a" + std::to_string(i))).ok());
  }
  remote.join();
  ASSERT_TRUE(at_a->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(at_b->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] { return at_a->seq() == 6000 && at_b->seq() == 6000; }, kTimeout));
  // The last change may still be on its way to the listener.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return mirror->Snapshot() == Snapshot(at_a);
      },
      kTimeout));
  EXPECT_EQ(mirror_errors.load(), 0);
  EXPECT_EQ(Snapshot(at_a), Snapshot(at_b));
  a->Stop();  // Its listener writes into this scope.
}

TEST(SyncTest, PresenceReachesEveryoneElseAndIsNeverStored) {
  auto host = StartHost();
  auto a = StartClient(*host);
  auto b = StartClient(*host);
  DocumentHandle* at_a = OpenMap(a.get(), "board");
  DocumentHandle* at_b = OpenMap(b.get(), "board");
  DocumentHandle* at_host = OpenMap(host.get(), "board");
  struct Seen {
    std::mutex mu;
    std::vector<std::pair<EndpointId, std::string>> got;
    void Attach(DocumentHandle* doc) {
      doc->OnPresence([this](const EndpointId& origin, const std::string& state) {
        std::lock_guard<std::mutex> l(mu);
        got.emplace_back(origin, state);
      });
    }
    bool Has(const EndpointId& origin, const std::string& state) {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& [o, s] : got) {
        if (o == origin && s == state) return true;
      }
      return false;
    }
    size_t From(const EndpointId& origin) {
      std::lock_guard<std::mutex> l(mu);
      size_t n = 0;
      for (const auto& entry : got) n += entry.first == origin;
      return n;
    }
  } seen_a, seen_b, seen_host;
  seen_a.Attach(at_a);
  seen_b.Attach(at_b);
  seen_host.Attach(at_host);
  ASSERT_TRUE(at_a->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(at_b->WaitSynced(kTimeout).ok());

  // A subscription may still be on its way: repeat, as applications do, until B hears A.
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_TRUE(at_a->SetPresence(R"({"x":1,"y":2})").ok());
        return seen_b.Has(a->id(), R"({"x":1,"y":2})");
      },
      kTimeout));
  EXPECT_TRUE(seen_host.Has(a->id(), R"({"x":1,"y":2})"));
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_TRUE(at_host->SetPresence("host here").ok());
        return seen_a.Has(host->id(), "host here") && seen_b.Has(host->id(), "host here");
      },
      kTimeout));
  EXPECT_EQ(seen_a.From(a->id()), 0u);  // Nobody hears their own.
  // Never stored: the document did not change.
  EXPECT_EQ(at_host->seq(), 0u);
  EXPECT_EQ(at_a->seq(), 0u);
  EXPECT_EQ(at_a->SetPresence(std::string(65 * 1024, 'x')).code(), StatusCode::kResourceExhausted);
  // The listeners write into this scope: stop every callback before it ends.
  a->Stop();
  b->Stop();
  host->Stop();
}

}  // namespace
}  // namespace zinc
