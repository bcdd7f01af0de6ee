// A root with a store (a memory one: the same Store contract as LMDB's): what a client's edits
// leave in it, snapshots every N fragments with the log compacted to the retention window, and
// a root restarted on it serving the document at its seq with its dedup table. Real sockets;
// the store is the in-memory seam (the LMDB files are tested in store_test and the fault tests).

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "documents/map_document.h"
#include "store/store.h"
#include "tests/testing/cluster.h"

namespace zinc {
namespace {

using testing::OpenMap;
using testing::StartClient;
using testing::StartHost;

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

}  // namespace
}  // namespace zinc
