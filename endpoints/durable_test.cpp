// A root with a store (a memory one: the same Store contract as LMDB's): what a client's edits
// leave in it, snapshots every N fragments with the log compacted to the retention window, and
// a root restarted on it serving the document at its seq with its dedup table. Real sockets;
// the store is the in-memory seam (the LMDB files are tested in store_test and the fault tests).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "documents/map_document.h"
#include "store/store.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::OpenMap;
using testing::StartClient;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(20);

std::string Set(const std::string& key, const std::string& json_value) {
  return EncodeMapOps({MapOp{MapOp::Kind::kSet, key, json_value}});
}

TEST(DurableRootTest, SnapshotsCompactTheLogAndARestartedRootServesTheSameDocument) {
  std::unique_ptr<Store> store = NewMemoryStore();
  EndpointOptions o;
  o.store = store.get();
  o.snapshot_fragments = 100;
  o.retention_fragments = 250;
  std::string before;
  {
    auto host = StartHost(o);
    auto client = StartClient(*host);
    DocumentHandle* doc = OpenMap(client.get(), "d");
    ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
    for (int i = 1; i <= 1050; ++i) {
      ASSERT_TRUE(doc->Edit(Set("k" + std::to_string(i % 20), std::to_string(i))).ok());
    }
    ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
    before = OpenMap(host.get(), "d")->ToJson();
  }
  Result<StoredDocument> stored = store->Load("d");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->type, "map");
  EXPECT_EQ(stored->snapshot_seq, 1000u);
  EXPECT_EQ(stored->log.size(), 50u);  // after the snapshot
  EXPECT_EQ(stored->log_from, 751u);   // the newest 250 of the snapshot's seq kept
  // Restarted on the same store: the same document at the same seq, which new edits follow.
  // (The dedup table across a restart: the fault test failover_root-restart.)
  auto host = StartHost(o);
  DocumentHandle* at_host = OpenMap(host.get(), "d");
  EXPECT_EQ(at_host->ToJson(), before);
  EXPECT_EQ(at_host->seq(), 1050u);
  auto client = StartClient(*host);
  DocumentHandle* doc = OpenMap(client.get(), "d");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  EXPECT_EQ(doc->ToJson(), before);
  ASSERT_TRUE(doc->Edit(Set("after", "1")).ok());
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
  EXPECT_EQ(doc->seq(), 1051u);
}

// A subscriber that fell further behind than the history in memory catches up fragment by
// fragment from the log's retention window on disk, not from a snapshot.
TEST(DurableRootTest, ASubscriberBehindTheMemoryHistoryCatchesUpFromTheLog) {
  std::unique_ptr<Store> store = NewMemoryStore();
  EndpointOptions o;
  o.store = store.get();
  o.history_fragments = 16;  // In memory: almost nothing.
  o.publish_hwm = 4;         // The PUB queue to a stalled subscriber overflows at once.
  auto host = StartHost(o);
  DocumentHandle* at_host = OpenMap(host.get(), "d");
  auto writer = StartClient(*host);
  DocumentHandle* writer_doc = OpenMap(writer.get(), "d");

  EndpointOptions slow_options;
  slow_options.subscribe_hwm = 1;
  slow_options.subscribe_rcvbuf = 4096;
  slow_options.handler_threads = 1;
  slow_options.max_queued_messages = 64;  // The backlog stays in the sockets, which drop.
  auto slow = StartClient(*host, slow_options);
  DocumentHandle* slow_doc = OpenMap(slow.get(), "d");
  ASSERT_TRUE(writer_doc->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(slow_doc->WaitSynced(kTimeout).ok());
  // The slow application stands still on its first change until the writer is done.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  slow_doc->OnChange([&](const DocumentChange&) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return release; });
  });
  for (int i = 0; i < 20000; ++i) {
    const std::string value = "\"" + std::to_string(i) + std::string(1024, 'v') + "\"";
    ASSERT_TRUE(writer_doc->Edit(Set("k" + std::to_string(i % 40), value)).ok());
  }
  ASSERT_TRUE(writer_doc->WaitAcknowledged(kTimeout).ok());
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_EQ(at_host->seq(), 20000u);
  ASSERT_TRUE(WaitFor([&] { return slow_doc->seq() == 20000u; }, kTimeout)) << slow_doc->seq();
  EXPECT_EQ(slow_doc->ToJson(), at_host->ToJson());
  EXPECT_GT(host->counters().Value("zinc_catchups_from_store_total"), 0u);
  // Only the first sync was a snapshot.
  EXPECT_EQ(slow->counters().Value("zinc_snapshots_applied_total"), 1u);
  EXPECT_EQ(slow->counters().Value("zinc_resyncs_total"), 0u);
}

// --ack-after standby: an edit is acknowledged only once the standby has it in its store, so
// at the moment its author hears, the standby's store holds it; the standby keeps its replicas
// in its own store all along. With the standby gone, the root's own commit acknowledges.
TEST(DurableRootTest, WithAckAfterStandbyAnAcknowledgedEditIsInTheStandbysStore) {
  std::unique_ptr<Store> root_store = NewMemoryStore();
  std::unique_ptr<Store> standby_store = NewMemoryStore();
  EndpointOptions o;
  o.store = root_store.get();
  o.ack_after = EndpointOptions::AckAfter::kStandby;
  auto host = StartHost(o);
  EndpointOptions so = o;
  so.store = standby_store.get();
  so.listen = "tcp://127.0.0.1:*";
  auto standby = StartClient(*host, so);
  ASSERT_TRUE(WaitFor([&] { return host->roster().standby == standby->id(); }));
  auto client = StartClient(*host);
  DocumentHandle* doc = OpenMap(client.get(), "d");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  std::mutex mu;
  uint64_t acks = 0;
  uint64_t behind = 0;  // acknowledgements of edits the standby's store did not have yet
  doc->OnAcknowledged([&](uint64_t, uint64_t seq) {
    Result<DocumentStat> at = standby_store->Stat("d");
    std::lock_guard<std::mutex> l(mu);
    ++acks;
    if (!at.ok() || at->seq < seq) ++behind;
  });
  for (int i = 1; i <= 500; ++i) {
    ASSERT_TRUE(doc->Edit(Set("k" + std::to_string(i % 10), std::to_string(i))).ok());
  }
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> l(mu);
    return acks == 500;
  }));
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(behind, 0u);
  }
  // The standby's store is a copy of the root's document.
  Result<StoredDocument> kept = standby_store->Load("d");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->type, "map");

  // The standby gone: the root's commit acknowledges again (once the roster names none).
  standby.reset();
  ASSERT_TRUE(WaitFor([&] { return host->roster().standby.is_nil(); }, kTimeout));
  ASSERT_TRUE(doc->Edit(Set("after", "1")).ok());
  EXPECT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
}

}  // namespace
}  // namespace zinc
