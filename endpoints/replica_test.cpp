// Replica's sync state machine, pending-edit sender and child serving on a FakeCore: every
// timing rule on a ManualClock, with no sockets and no wall-clock waits.

#include "endpoints/replica.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "documents/map_document.h"
#include "documents/type_registry.h"
#include "endpoints/fake_core.h"

namespace zinc {
namespace internal {
namespace {

// A map fragment payload setting key to value.
std::string Set(const std::string& key, int value) {
  return EncodeMapOps({MapOp{MapOp::Kind::kSet, key, std::to_string(value)}});
}

using Sent = std::vector<std::pair<Route, wire::Envelope>>;

class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaTest() : types_(TypeRegistry::WithBuiltins()), map_(types_->Find("map")) {}

  // A replica of map document "d" (made after any change to core_'s options), started.
  void Open() {
    replica_ = std::make_unique<Replica>(&core_, "d", map_, /*create=*/true, types_.get());
    replica_->Start();
  }
  // The root's answer to the snapshot request: the document at seq, empty.
  void AnswerSnapshot(uint64_t seq, uint64_t epoch = 1) {
    wire::Envelope e = FakeCore::From(root_, "d", epoch);
    e.set_seq(seq);
    wire::SnapshotReply* r = e.mutable_snapshot_reply();
    r->set_found(true);
    r->set_type("map");
    r->set_state(map_->Create()->Snapshot());
    replica_->OnSnapshotReply(e);
  }
  // A fragment of origin sequenced at seq, setting key to value.
  wire::Envelope Fragment(const EndpointId& origin, uint64_t origin_seq, uint64_t seq,
                          const std::string& key, int value) {
    wire::Envelope e = FakeCore::From(origin, "d", 1);
    e.set_seq(seq);
    e.set_origin_seq(origin_seq);
    e.mutable_fragment()->set_type("map");
    e.mutable_fragment()->set_payload(Set(key, value));
    return e;
  }
  void Advance(int64_t micros) { core_.manual_clock().Advance(micros); }
  void Tick() { replica_->OnTick(core_.clock().NowMicros()); }
  int64_t retry() const { return core_.retry_micros(); }
  static size_t Count(const Sent& sent, wire::Envelope::BodyCase body) {
    size_t n = 0;
    for (const auto& [route, e] : sent) n += e.body_case() == body;
    return n;
  }

  std::unique_ptr<TypeRegistry> types_;
  const DocumentType* map_;
  FakeCore core_;
  const EndpointId root_ = EndpointId::Random();
  std::unique_ptr<Replica> replica_;
};

TEST_F(ReplicaTest, TheSnapshotRequestGoesAgainEveryRetryIntervalUntilAnswered) {
  Open();
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kSyncRequest);
  EXPECT_TRUE(sent[0].second.snapshot_request().create());
  EXPECT_EQ(sent[0].second.snapshot_request().type(), "map");

  Advance(retry() - 1);
  Tick();
  EXPECT_TRUE(core_.TakeSent().empty());
  Advance(1);
  Tick();
  EXPECT_EQ(Count(core_.TakeSent(), wire::Envelope::kSnapshotRequest), 1u);

  AnswerSnapshot(5);
  EXPECT_EQ(replica_->seq(), 5u);
  EXPECT_TRUE(replica_->WaitSynced(std::chrono::milliseconds(0)).ok());
  Advance(10 * retry());
  Tick();
  EXPECT_TRUE(core_.TakeSent().empty());
}

TEST_F(ReplicaTest, AGapIsFetchedByCatchupAndWhatWasBufferedAppliesAfterIt) {
  Open();
  AnswerSnapshot(5);
  core_.TakeSent();
  const EndpointId other = EndpointId::Random();
  replica_->OnFragment(Fragment(other, 2, 7, "b", 2));
  EXPECT_EQ(replica_->seq(), 5u);
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.catchup_request().from_seq(), 6u);
  EXPECT_EQ(sent[0].second.catchup_request().to_seq(), 6u);

  // Unanswered, it goes again after the retry interval, not before.
  Advance(retry() - 1);
  Tick();
  EXPECT_TRUE(core_.TakeSent().empty());
  Advance(1);
  Tick();
  EXPECT_EQ(Count(core_.TakeSent(), wire::Envelope::kCatchupRequest), 1u);

  wire::Envelope reply = FakeCore::From(root_, "d", 1);
  reply.set_seq(7);
  *reply.mutable_catchup_reply()->add_fragments() = Fragment(other, 1, 6, "a", 1);
  replica_->OnCatchupReply(reply);
  EXPECT_EQ(replica_->seq(), 7u);
  EXPECT_EQ(replica_->ToJson(), "{\"type\":\"map\",\"seq\":7,\"entries\":{\"a\":1,\"b\":2}}");
}

TEST_F(ReplicaTest, BufferedFragmentsAreBoundedInBytesAndPastItTheReplicaResyncs) {
  core_.mutable_options().max_buffered_bytes = 10000;
  Open();
  AnswerSnapshot(5);
  core_.TakeSent();
  const EndpointId other = EndpointId::Random();
  // Ahead of a gap at 6: buffered, 3 KB each, until the fourth would pass 10,000 bytes.
  auto big = [&](uint64_t seq) {
    wire::Envelope e = Fragment(other, seq, seq, "k", 0);
    e.mutable_fragment()->set_payload(
        EncodeMapOps({MapOp{MapOp::Kind::kSet, "k", "\"" + std::string(3000, 'x') + "\""}}));
    return e;
  };
  for (uint64_t seq = 7; seq <= 9; ++seq) replica_->OnFragment(big(seq));
  Sent sent = core_.TakeSent();
  EXPECT_EQ(Count(sent, wire::Envelope::kSnapshotRequest), 0u);
  replica_->OnFragment(big(10));
  sent = core_.TakeSent();
  EXPECT_EQ(Count(sent, wire::Envelope::kSnapshotRequest), 1u);  // Too far behind: resync.
  EXPECT_EQ(replica_->seq(), 5u);
  AnswerSnapshot(10);
  EXPECT_EQ(replica_->seq(), 10u);
}

TEST_F(ReplicaTest, AnEditIsSentAtOnceAndAcknowledgedByItsEcho) {
  Open();
  AnswerSnapshot(5);
  core_.TakeSent();
  ASSERT_TRUE(replica_->Edit(Set("k", 1)).ok());
  EXPECT_EQ(replica_->pending(), 1u);
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kUpstream);
  EXPECT_EQ(sent[0].second.origin_seq(), 1u);
  EXPECT_EQ(sent[0].second.base_seq(), 5u);

  replica_->OnFragment(Fragment(core_.id(), 1, 6, "k", 1));
  EXPECT_EQ(replica_->pending(), 0u);
  EXPECT_EQ(replica_->seq(), 6u);
  EXPECT_TRUE(replica_->WaitAcknowledged(std::chrono::milliseconds(0)).ok());
  // Applied once: the echo is the acknowledgement, not a second application.
  EXPECT_EQ(replica_->ToJson(), "{\"type\":\"map\",\"seq\":6,\"entries\":{\"k\":1}}");
}

TEST_F(ReplicaTest, AnUnacknowledgedEditCatchesUpAndGoesAgainThenBacksOffToASnapshot) {
  Open();
  AnswerSnapshot(5);
  core_.TakeSent();
  ASSERT_TRUE(replica_->Edit(Set("k", 1)).ok());
  core_.TakeSent();

  // No echo for 4 x retry: catch up first (the echo may have been lost).
  Advance(4 * retry() - 1);
  Tick();
  EXPECT_TRUE(core_.TakeSent().empty());
  Advance(1);
  Tick();
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.catchup_request().from_seq(), 6u);
  // Caught up with nothing new: the edit goes again, as a new chain on seq 5.
  wire::Envelope reply = FakeCore::From(root_, "d", 1);
  reply.set_seq(5);
  reply.mutable_catchup_reply();
  replica_->OnCatchupReply(reply);
  sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kUpstream);
  EXPECT_EQ(sent[0].second.origin_seq(), 1u);
  EXPECT_EQ(core_.metrics().edits_resent->value(), 1u);

  // The second stall in a row waits twice as long, then rebuilds from a snapshot (a map's
  // pending edits never change, so the snapshot's dedup table says which the host has).
  Advance(8 * retry() - 1);
  Tick();
  EXPECT_TRUE(core_.TakeSent().empty());
  Advance(1);
  Tick();
  EXPECT_EQ(Count(core_.TakeSent(), wire::Envelope::kSnapshotRequest), 1u);
  EXPECT_EQ(core_.metrics().resyncs->value(), 1u);
}

TEST_F(ReplicaTest, ANewRootGetsTheTailOfferedAndASnapshotOfItsEpochIsAsked) {
  Open();
  AnswerSnapshot(5);
  const EndpointId other = EndpointId::Random();
  replica_->OnFragment(Fragment(other, 1, 6, "a", 1));
  replica_->OnFragment(Fragment(other, 2, 7, "b", 2));
  core_.TakeSent();

  replica_->OnEpoch(2);
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].first, Route::kUpstream);
  ASSERT_EQ(sent[0].second.tail_offer().fragments_size(), 2);
  EXPECT_EQ(sent[0].second.tail_offer().fragments(0).seq(), 6u);
  EXPECT_EQ(sent[0].second.tail_offer().fragments(1).seq(), 7u);
  EXPECT_EQ(sent[1].second.snapshot_request().min_epoch(), 2u);

  // A snapshot of the old epoch (sent before the failover) is not taken.
  AnswerSnapshot(9, /*epoch=*/1);
  EXPECT_EQ(replica_->seq(), 7u);
  AnswerSnapshot(8, /*epoch=*/2);
  EXPECT_EQ(replica_->seq(), 8u);
  // Once is enough: the same epoch again offers nothing.
  core_.TakeSent();
  replica_->OnEpoch(2);
  EXPECT_TRUE(core_.TakeSent().empty());
}

TEST_F(ReplicaTest, ARelaysReplicaServesAChildsCatchupOnceItHasTheFragmentOrAfterTheRetry) {
  core_.set_relay(true);
  Open();
  AnswerSnapshot(5);
  core_.TakeSent();
  Message request;
  request.routing_id = "child";
  request.envelope = FakeCore::From(EndpointId::Random(), "d", 1);
  request.envelope.mutable_catchup_request()->set_from_seq(6);
  request.envelope.mutable_catchup_request()->set_to_seq(6);

  // Beyond what the relay has: it waits (the fragment is on its way down).
  replica_->OnCatchupRequest(request);
  EXPECT_TRUE(core_.TakeSent().empty());
  EXPECT_TRUE(replica_->HasParkedRequests());
  replica_->OnFragment(Fragment(EndpointId::Random(), 1, 6, "a", 1));
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kSyncReply);
  ASSERT_EQ(sent[0].second.catchup_reply().fragments_size(), 1);
  EXPECT_EQ(sent[0].second.catchup_reply().fragments(0).seq(), 6u);
  EXPECT_FALSE(replica_->HasParkedRequests());

  // One that nothing answers is answered with what there is after the retry interval.
  request.envelope.mutable_catchup_request()->set_from_seq(7);
  request.envelope.mutable_catchup_request()->set_to_seq(9);
  replica_->OnCatchupRequest(request);
  Advance(retry() - 1);
  Tick();
  EXPECT_TRUE(core_.TakeSent().empty());
  Advance(1);
  Tick();
  sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.seq(), 6u);
  EXPECT_EQ(sent[0].second.catchup_reply().fragments_size(), 0);
}

TEST_F(ReplicaTest, ARelaysChildrenAreServedTheSequencedStateWithoutTheRelaysPendingEdits) {
  core_.set_relay(true);
  Open();
  AnswerSnapshot(5);
  ASSERT_TRUE(replica_->Edit(Set("mine", 1)).ok());
  core_.TakeSent();
  Message request;
  request.routing_id = "child";
  request.envelope = FakeCore::From(EndpointId::Random(), "d", 1);
  request.envelope.mutable_snapshot_request()->set_type("map");
  replica_->OnSnapshotRequest(request);
  Sent sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const wire::SnapshotReply& snap = sent[0].second.snapshot_reply();
  EXPECT_TRUE(snap.found());
  std::unique_ptr<Document> served = map_->Create();
  ASSERT_TRUE(served->Restore(snap.state()).ok());
  EXPECT_EQ(served->Snapshot(), map_->Create()->Snapshot());
}

}  // namespace
}  // namespace internal
}  // namespace zinc
