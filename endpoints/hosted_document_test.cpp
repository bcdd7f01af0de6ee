// HostedDocument, the sequencer, on a FakeCore: dedup, refusals, catch-up from the history or a
// snapshot, and the head notices of an idle document on a ManualClock.

#include "endpoints/hosted_document.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "documents/type_registry.h"
#include "endpoints/fake_core.h"

namespace zinc {
namespace internal {
namespace {

// A map fragment payload setting key to value.
std::string Set(const std::string& key, int value) {
  return EncodeMapOps({MapOp{MapOp::Kind::kSet, key, std::to_string(value)}});
}

class HostedDocumentTest : public ::testing::Test {
 protected:
  HostedDocumentTest() : types_(TypeRegistry::WithBuiltins()), map_(types_->Find("map")) {}

  void Host() { doc_ = std::make_shared<HostedDocument>(&core_, "d", map_); }
  // A fragment from author, as a message received from a child.
  Message Fragment(uint64_t origin_seq, const std::string& key, int value) {
    Message m;
    m.origin = author_;
    m.routing_id = RoutingIdOf(author_);
    m.envelope = FakeCore::From(author_, "d", 1);
    m.envelope.set_origin_seq(origin_seq);
    m.envelope.set_base_seq(doc_->seq());
    m.envelope.mutable_fragment()->set_type("map");
    m.envelope.mutable_fragment()->set_payload(Set(key, value));
    return m;
  }
  Message CatchupRequest(uint64_t from, uint64_t to) {
    Message m;
    m.origin = author_;
    m.routing_id = "child";
    m.envelope = FakeCore::From(author_, "d", 1);
    m.envelope.mutable_catchup_request()->set_from_seq(from);
    m.envelope.mutable_catchup_request()->set_to_seq(to);
    return m;
  }

  std::unique_ptr<TypeRegistry> types_;
  const DocumentType* map_;
  FakeCore core_;
  const EndpointId author_ = EndpointId::Random();
  std::shared_ptr<HostedDocument> doc_;
};

TEST_F(HostedDocumentTest, AFragmentIsSequencedPublishedOnceAndACopyIsDropped) {
  Host();
  doc_->OnFragment(Fragment(1, "a", 1));
  doc_->OnFragment(Fragment(1, "a", 1));
  EXPECT_EQ(doc_->seq(), 1u);
  auto sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kPublish);
  EXPECT_EQ(sent[0].second.seq(), 1u);
  EXPECT_EQ(sent[0].second.origin_seq(), 1u);
  EXPECT_EQ(core_.metrics().fragments_duplicate->value(), 1u);
}

TEST_F(HostedDocumentTest, AFragmentThatSkipsAheadIsNackedWithTheOneExpected) {
  Host();
  doc_->OnFragment(Fragment(1, "a", 1));
  core_.TakeSent();
  doc_->OnFragment(Fragment(3, "c", 3));
  EXPECT_EQ(doc_->seq(), 1u);
  auto sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kSyncReply);
  EXPECT_EQ(sent[0].second.nack().reason(), wire::NACK_OUT_OF_ORDER);
  EXPECT_EQ(sent[0].second.nack().expected_origin_seq(), 2u);
  EXPECT_EQ(sent[0].second.nack().refused_origin_seq(), 3u);
}

TEST_F(HostedDocumentTest, ACatchupOlderThanTheHistoryIsAnsweredWithASnapshot) {
  core_.mutable_options().history_fragments = 2;
  Host();
  for (uint64_t i = 1; i <= 4; ++i) doc_->OnFragment(Fragment(i, "k" + std::to_string(i), 1));
  core_.TakeSent();

  doc_->OnCatchupRequest(CatchupRequest(3, 10));
  auto sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.seq(), 4u);  // The head.
  ASSERT_EQ(sent[0].second.catchup_reply().fragments_size(), 2);
  EXPECT_EQ(sent[0].second.catchup_reply().fragments(0).seq(), 3u);

  doc_->OnCatchupRequest(CatchupRequest(2, 10));
  sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].second.catchup_reply().has_snapshot());
  const wire::SnapshotReply& snap = sent[0].second.catchup_reply().snapshot();
  ASSERT_EQ(snap.applied_size(), 1);
  EXPECT_EQ(snap.applied(0).origin_seq(), 4u);
}

// A text edit whose base is further behind the head than a bridge may reach is refused without
// taking its origin_seq: its author catches up and sends it again on the new base, where it
// is sequenced (not answered with the old refusal).
TEST_F(HostedDocumentTest, AStaleBaseIsRefusedWithoutConsumingTheOriginSeq) {
  core_.mutable_options().history_fragments = 100;  // The bridge cap: max(4096, 100 / 4).
  doc_ = std::make_shared<HostedDocument>(&core_, "d", types_->Find("text"));
  const EndpointId other = EndpointId::Random();
  auto text_fragment = [&](const EndpointId& from, uint64_t origin_seq, uint64_t base_seq) {
    Message m;
    m.origin = from;
    m.routing_id = RoutingIdOf(from);
    m.envelope = FakeCore::From(from, "d", 1);
    m.envelope.set_origin_seq(origin_seq);
    m.envelope.set_base_seq(base_seq);
    m.envelope.mutable_fragment()->set_type("text");
    m.envelope.mutable_fragment()->set_payload(EncodeTextOp(TextInsert(0, "x")));
    return m;
  };
  for (uint64_t i = 1; i <= 4200; ++i) doc_->OnFragment(text_fragment(other, i, i - 1));
  core_.TakeSent();

  doc_->OnFragment(text_fragment(author_, 1, 0));
  auto sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.nack().reason(), wire::NACK_STALE_BASE);
  EXPECT_EQ(sent[0].second.nack().refused_origin_seq(), 1u);
  EXPECT_EQ(doc_->seq(), 4200u);

  // A base older than the memory (no store) but within the cap: refused too, and again for a
  // copy on the same base (no chain was started on a bridge that could not be built).
  for (int copy = 0; copy < 2; ++copy) {
    doc_->OnFragment(text_fragment(author_, 1, 4000));
    sent = core_.TakeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].second.nack().reason(), wire::NACK_STALE_BASE) << copy;
  }
  EXPECT_EQ(doc_->seq(), 4200u);

  // Sent again on a base the history in memory reaches: sequenced.
  doc_->OnFragment(text_fragment(author_, 1, 4150));
  sent = core_.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, Route::kPublish);
  EXPECT_EQ(sent[0].second.origin_seq(), 1u);
  EXPECT_EQ(doc_->seq(), 4201u);
}

TEST_F(HostedDocumentTest, AnIdleDocumentNoticesItsHeadEveryTickThenOnceASecond) {
  Host();
  doc_->OnTick(core_.clock().NowMicros());
  EXPECT_TRUE(core_.TakeSent().empty());  // Nothing sequenced: nothing to notice.
  doc_->OnFragment(Fragment(1, "a", 1));
  core_.TakeSent();
  for (int i = 0; i < 3; ++i) {
    core_.manual_clock().Advance(100000);
    doc_->OnTick(core_.clock().NowMicros());
    auto sent = core_.TakeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].second.heartbeat().head_seq(), 1u);
  }
  core_.manual_clock().Advance(1000000);
  doc_->OnTick(core_.clock().NowMicros());
  EXPECT_EQ(core_.TakeSent().size(), 1u);
  core_.manual_clock().Advance(100000);
  doc_->OnTick(core_.clock().NowMicros());
  EXPECT_TRUE(core_.TakeSent().empty());  // Once a second from now on.
  core_.manual_clock().Advance(900000);
  doc_->OnTick(core_.clock().NowMicros());
  EXPECT_EQ(core_.TakeSent().size(), 1u);
}

TEST_F(HostedDocumentTest, ARootThatIsNotSequencingRefusesLocalEdits) {
  Host();
  core_.set_accepting(false);
  EXPECT_EQ(doc_->Edit(Set("a", 1)).code(), StatusCode::kUnavailable);
  core_.set_accepting(true);
  EXPECT_TRUE(doc_->Edit(Set("a", 1)).ok());
  EXPECT_EQ(doc_->seq(), 1u);
}

// The canvas's tombstones: the root sequences a collect of its own every collect_interval while
// there are any, refuses a collect from anyone else, and refuses as stale (without consuming
// the origin_seq) an edit based before what a collect let go of.
TEST_F(HostedDocumentTest, TheRootCollectsTombstonesAndRefusesEditsMadeBeforeThem) {
  core_.mutable_options().collect_interval = std::chrono::milliseconds(5000);
  doc_ = std::make_shared<HostedDocument>(&core_, "d", types_->Find("canvas"));
  auto canvas = [&](uint64_t origin_seq, uint64_t base_seq, std::vector<CanvasOp> ops) {
    Message m;
    m.origin = author_;
    m.routing_id = RoutingIdOf(author_);
    m.envelope = FakeCore::From(author_, "d", 1);
    m.envelope.set_origin_seq(origin_seq);
    m.envelope.set_base_seq(base_seq);
    m.envelope.mutable_fragment()->set_type("canvas");
    m.envelope.mutable_fragment()->set_payload(EncodeCanvasOps(ops));
    return m;
  };
  auto tick = [&](int64_t micros) {
    core_.manual_clock().Advance(micros);
    doc_->OnTick(core_.clock().NowMicros());
  };
  auto published = [&]() {
    std::vector<wire::Envelope> fragments;
    for (auto& [route, env] : core_.TakeSent()) {
      if (env.has_fragment()) fragments.push_back(env);
    }
    return fragments;
  };
  doc_->OnFragment(canvas(1, 0, {CanvasOp::Add("a", CanvasKind::kRect), CanvasOp::Delete("a")}));
  ASSERT_EQ(doc_->seq(), 1u);
  core_.TakeSent();
  tick(0);
  tick(4999000);
  tick(1000);  // The first collect only takes note of what is there (a, at seq 1).
  EXPECT_TRUE(published().empty());
  doc_->OnFragment(canvas(2, 1, {CanvasOp::Add("b", CanvasKind::kRect), CanvasOp::Delete("b")}));
  core_.TakeSent();
  tick(4999000);
  EXPECT_TRUE(published().empty());  // Not a whole interval yet.
  tick(1000);
  std::vector<wire::Envelope> sent = published();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].seq(), 3u);
  EndpointId origin;
  ASSERT_TRUE(EndpointId::FromBytes(sent[0].origin(), &origin));
  EXPECT_EQ(origin, core_.id());
  EXPECT_EQ(sent[0].fragment().payload(), EncodeCanvasOps({CanvasOp::Collect(1, {"a"})}));
  doc_->Read([](const Document& d) {
    const auto& c = static_cast<const CanvasDocument&>(d);
    EXPECT_FALSE(c.tombstoned("a"));
    EXPECT_TRUE(c.tombstoned("b"));
    EXPECT_EQ(c.min_base_seq(), 1u);
  });

  // Made on seq 0, before a's delete: refused, its origin_seq not consumed.
  doc_->OnFragment(canvas(3, 0, {CanvasOp::Add("a", CanvasKind::kText)}));
  auto nacks = core_.TakeSent();
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].second.nack().reason(), wire::NACK_STALE_BASE);
  EXPECT_EQ(nacks[0].second.nack().refused_origin_seq(), 3u);
  // Sent again on the new base: sequenced; the id is free again.
  doc_->OnFragment(canvas(3, 3, {CanvasOp::Add("a", CanvasKind::kText)}));
  ASSERT_EQ(published().size(), 1u);
  EXPECT_EQ(doc_->seq(), 4u);

  // A collect from anyone but the root is refused.
  doc_->OnFragment(canvas(4, 4, {CanvasOp::Collect(4, {"b"})}));
  nacks = core_.TakeSent();
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].second.nack().reason(), wire::NACK_REJECTED);
  EXPECT_EQ(doc_->seq(), 4u);

  // b goes at the next collect; then nothing is left, and no more collects are sequenced.
  tick(5000000);
  sent = published();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].fragment().payload(), EncodeCanvasOps({CanvasOp::Collect(2, {"b"})}));
  tick(5000000);
  EXPECT_TRUE(published().empty());
  EXPECT_EQ(doc_->seq(), 5u);
  doc_->Read([](const Document& d) {
    EXPECT_TRUE(static_cast<const CanvasDocument&>(d).tombstones().empty());
  });
}

// A large state is encoded once for many snapshot requests, and again once it changes.
TEST_F(HostedDocumentTest, SnapshotRepliesShowEveryChangeOfALargeState) {
  Host();
  auto snapshot = [&]() {
    Message m;
    m.origin = author_;
    m.routing_id = "child";
    m.envelope = FakeCore::From(author_, "d", 1);
    m.envelope.mutable_snapshot_request();
    doc_->OnSnapshotRequest(m);
    auto sent = core_.TakeSent();
    EXPECT_EQ(sent.size(), 1u);
    auto map = map_->Create();
    EXPECT_TRUE(map->Restore(sent.back().second.snapshot_reply().state()).ok());
    return map->ToJson();
  };
  ASSERT_TRUE(
      doc_->Edit(EncodeMapOps({MapOp{MapOp::Kind::kSet, "big", std::string(200 << 10, 'x')}}))
          .ok());
  core_.TakeSent();
  const std::string first = snapshot();
  EXPECT_EQ(snapshot(), first);
  ASSERT_TRUE(doc_->Edit(Set("a", 1)).ok());
  core_.TakeSent();
  const std::string second = snapshot();
  EXPECT_NE(second, first);
  EXPECT_NE(second.find("\"a\""), std::string::npos);
  doc_->OnFragment(Fragment(1, "b", 2));
  core_.TakeSent();
  EXPECT_NE(snapshot().find("\"b\""), std::string::npos);
}

TEST_F(HostedDocumentTest, ACollectIntervalOfZeroNeverCollects) {
  core_.mutable_options().collect_interval = std::chrono::milliseconds(0);
  doc_ = std::make_shared<HostedDocument>(&core_, "d", types_->Find("canvas"));
  ASSERT_TRUE(
      doc_->Edit(EncodeCanvasOps({CanvasOp::Add("a", CanvasKind::kRect), CanvasOp::Delete("a")}))
          .ok());
  for (int i = 0; i < 5; ++i) {
    core_.manual_clock().Advance(60000000);
    doc_->OnTick(core_.clock().NowMicros());
  }
  EXPECT_EQ(doc_->seq(), 1u);
}

}  // namespace
}  // namespace internal
}  // namespace zinc
