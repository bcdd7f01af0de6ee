#include "endpoints/endpoint.h"

#include <atomic>
#include <limits>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"
#include "tests/testing/cluster.h"
#include "tests/testing/wait.h"

namespace zinc {
namespace {

using testing::OpenMap;
using testing::RawPeer;
using testing::StartClient;
using testing::StartHost;
using testing::WaitFor;

constexpr auto kTimeout = std::chrono::seconds(20);

std::string Set(const std::string& key, const std::string& json_value) {
  return EncodeMapOps({MapOp{MapOp::Kind::kSet, key, json_value}});
}

TEST(EndpointTest, ClientEditIsSequencedAndAcknowledged) {
  auto host = StartHost();
  auto client = StartClient(*host);
  DocumentHandle* doc = OpenMap(client.get(), "d");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  ASSERT_TRUE(doc->Edit(Set("k", "1")).ok());
  // Applied at once, before any round trip (the seq may already be 1 if the echo was quick).
  EXPECT_NE(doc->ToJson().find(R"("entries":{"k":1})"), std::string::npos) << doc->ToJson();
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
  EXPECT_EQ(doc->pending(), 0u);
  EXPECT_EQ(doc->seq(), 1u);
  DocumentHandle* at_host = OpenMap(host.get(), "d");
  EXPECT_EQ(at_host->ToJson(), R"({"type":"map","seq":1,"entries":{"k":1}})");
}

TEST(EndpointTest, OwnEchoIsNotAppliedTwice) {
  auto host = StartHost();
  auto client = StartClient(*host);
  DocumentHandle* doc = OpenMap(client.get(), "d");
  std::mutex mu;
  std::vector<DocumentChange> changes;
  doc->OnChange([&](const DocumentChange& c) {
    std::lock_guard<std::mutex> l(mu);
    changes.push_back(c);
  });
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(doc->Edit(Set("k" + std::to_string(i), "1")).ok());
  ASSERT_TRUE(doc->WaitAcknowledged(kTimeout).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> l(mu);
    return changes.size() >= 51;
  }));
  std::lock_guard<std::mutex> l(mu);
  size_t local = 0, remote = 0;
  for (const DocumentChange& c : changes) {
    if (c.reset) continue;
    (c.local ? local : remote)++;
  }
  EXPECT_EQ(local, 50u);
  EXPECT_EQ(remote, 0u);  // The 50 echoes acknowledged, never re-applied.
  EXPECT_EQ(doc->seq(), 50u);
}

TEST(EndpointTest, DuplicateFragmentIsSequencedOnce) {
  auto host = StartHost();
  DocumentHandle* at_host = OpenMap(host.get(), "d");
  RawPeer peer(*host);
  wire::Envelope e = peer.Fragment("d", "map", 1, Set("a", "1"));
  peer.Push(e);
  peer.Push(e);  // A resubmission, as after a reconnect.
  peer.Push(peer.Fragment("d", "map", 2, Set("b", "2")));
  ASSERT_TRUE(WaitFor([&] { return at_host->seq() == 2; }));
  EXPECT_TRUE(
      WaitFor([&] { return host->counters().Value("zinc_fragments_duplicate_total") == 1; }));
  EXPECT_EQ(at_host->ToJson(), R"({"type":"map","seq":2,"entries":{"a":1,"b":2}})");
}

TEST(EndpointTest, FragmentThatSkipsAheadIsNackedWithTheExpectedOriginSeq) {
  auto host = StartHost();
  RawPeer peer(*host);
  peer.Push(peer.Fragment("d", "map", 1, Set("a", "1")));
  peer.Push(peer.Fragment("d", "map", 3, Set("c", "3")));
  wire::Envelope reply;
  ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().reason(), wire::NACK_OUT_OF_ORDER);
  EXPECT_EQ(reply.nack().refused_origin_seq(), 3u);
  EXPECT_EQ(reply.nack().expected_origin_seq(), 2u);
}

TEST(EndpointTest, MalformedPayloadIsNackedAndChangesNothing) {
  auto host = StartHost();
  DocumentHandle* at_host = OpenMap(host.get(), "d");
  RawPeer peer(*host);
  peer.Push(peer.Fragment("d", "map", 1, "\x05garbage"));
  wire::Envelope reply;
  ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().reason(), wire::NACK_REJECTED);
  EXPECT_EQ(reply.nack().refused_origin_seq(), 1u);
  // The refused fragment consumed its origin_seq: the next one is in order.
  peer.Push(peer.Fragment("d", "map", 2, Set("a", "1")));
  ASSERT_TRUE(WaitFor([&] { return at_host->seq() == 1; }));
  EXPECT_EQ(at_host->ToJson(), R"({"type":"map","seq":1,"entries":{"a":1}})");
}

TEST(EndpointTest, FragmentOfUnknownTypeIsNacked) {
  auto host = StartHost();
  RawPeer peer(*host);
  peer.Push(peer.Fragment("d", "no-such-type", 1, "x"));
  wire::Envelope reply;
  ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().reason(), wire::NACK_UNKNOWN_TYPE);
}

TEST(EndpointTest, OtherProtocolVersionIsNackedWithAClearError) {
  auto host = StartHost();
  RawPeer peer(*host);
  wire::Envelope e = peer.Fragment("d", "map", 1, Set("a", "1"));
  e.set_version(99);
  peer.Push(e);
  wire::Envelope reply;
  ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().reason(), wire::NACK_VERSION_MISMATCH);
  EXPECT_NE(reply.nack().text().find("version 99"), std::string::npos) << reply.nack().text();
}

TEST(EndpointTest, OpeningAMissingDocumentWithoutCreateIsNotFound) {
  auto host = StartHost();
  auto client = StartClient(*host);
  OpenOptions open;
  open.create = false;
  Result<DocumentHandle*> doc = client->Open("missing", open);
  ASSERT_TRUE(doc.ok());
  Status s = (*doc)->WaitSynced(kTimeout);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
}

TEST(EndpointTest, OpeningWithAnotherTypeIsATypeMismatch) {
  auto host = StartHost();
  OpenMap(host.get(), "d");
  auto client = StartClient(*host);
  OpenOptions open;
  open.type = "map";
  Result<DocumentHandle*> doc = client->Open("d", open);
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE((*doc)->WaitSynced(kTimeout).ok());
  open.type = "no-such-type";
  EXPECT_EQ(client->Open("e", open).status().code(), StatusCode::kNotFound);
}

TEST(EndpointTest, BadLocalEditIsRefusedAndNothingIsSent) {
  auto host = StartHost();
  auto client = StartClient(*host);
  DocumentHandle* doc = OpenMap(client.get(), "d");
  ASSERT_TRUE(doc->WaitSynced(kTimeout).ok());
  EXPECT_EQ(doc->Edit("\x07nonsense").code(), StatusCode::kMalformed);
  EXPECT_EQ(doc->EditJson("{not json").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(doc->pending(), 0u);
}

TEST(EndpointTest, BadDocumentNamesAreRefused) {
  auto host = StartHost();
  OpenOptions open;
  open.type = "map";
  EXPECT_EQ(host->Open("", open).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(host->Open("\x01"
                       "ctl",
                       open)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(host->Open(std::string(300, 'x'), open).status().code(), StatusCode::kInvalidArgument);
}

TEST(EndpointTest, BadAddressesAreRefused) {
  EndpointOptions options;
  options.listen = "udp://1.2.3.4:5";
  EXPECT_EQ(Endpoint::Start(options).status().code(), StatusCode::kInvalidArgument);
  options.listen = "";
  options.join = "tcp://127.0.0.1";
  EXPECT_EQ(Endpoint::Start(options).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Endpoint::Start(EndpointOptions()).status().code(), StatusCode::kInvalidArgument);
}

TEST(EndpointTest, ListenAddressInUseIsUnavailable) {
  auto host = StartHost();
  EndpointOptions options;
  options.listen = host->listen_address();
  EXPECT_EQ(Endpoint::Start(options).status().code(), StatusCode::kUnavailable);
}

TEST(EndpointTest, OutOfRangeTextEditFromTheNetworkIsNackedAndChangesNothing) {
  auto host = StartHost();
  OpenOptions open;
  open.type = "text";
  DocumentHandle* at_host = *host->Open("t", open);
  ASSERT_TRUE(at_host->EditJson(R"({"insert":[0,"hello"]})").ok());
  RawPeer peer(*host);
  // Each made on seq 1 ("hello"), as a client that has synced would.
  uint64_t origin_seq = 0;
  for (const std::string& payload : {EncodeTextOp(TextInsert(6, "x")),            // past the end
                                     EncodeTextOp(TextDelete(2, 10)),             // too long
                                     EncodeTextOp(TextInsert(0, "\xC0\xAF"))}) {  // bad UTF-8
    wire::Envelope e = peer.Fragment("t", "text", ++origin_seq, payload);
    e.set_base_seq(1);
    peer.Push(e);
    wire::Envelope reply;
    ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
    ASSERT_TRUE(reply.has_nack());
    EXPECT_EQ(reply.nack().reason(), wire::NACK_REJECTED) << reply.nack().text();
  }
  EXPECT_EQ(at_host->ToJson(), R"({"type":"text","seq":1,"text":"hello"})");
}

TEST(EndpointTest, AbsurdCanvasEditsFromTheNetworkAreNackedAndChangeNothing) {
  auto host = StartHost();
  OpenOptions open;
  open.type = "canvas";
  DocumentHandle* at_host = *host->Open("c", open);
  ASSERT_TRUE(at_host->EditJson(R"({"add":{"id":"s1","kind":"stroke","points":[[0,0]]}})").ok());
  const std::string before = at_host->ToJson();
  RawPeer peer(*host);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  uint64_t origin_seq = 0;
  for (const std::vector<CanvasOp>& ops : std::vector<std::vector<CanvasOp>>{
           {CanvasOp::Update("s1", {CanvasNumber(CanvasProp::kX, nan)})},
           {CanvasOp::Append("s1", {{inf, 0}})},
           {CanvasOp::Add("s1", CanvasKind::kRect)},  // exists
           {CanvasOp::Collect(1, {"s1"})},            // housekeeping is the root's alone
       }) {
    peer.Push(peer.Fragment("c", "canvas", ++origin_seq, EncodeCanvasOps(ops)));
    wire::Envelope reply;
    ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
    ASSERT_TRUE(reply.has_nack());
    EXPECT_EQ(reply.nack().reason(), wire::NACK_REJECTED) << reply.nack().text();
  }
  // A 10-million-point stroke: refused from its count, before anything is allocated for it.
  ByteWriter w;
  w.PutVarint(1);
  w.PutByte(static_cast<uint8_t>(CanvasOp::Kind::kAppend));
  w.PutString("s1");
  w.PutVarint(0);
  w.PutVarint(10000000);
  std::string huge = w.Release() + std::string(64, '\0');
  peer.Push(peer.Fragment("c", "canvas", ++origin_seq, huge));
  wire::Envelope reply;
  ASSERT_TRUE(peer.ReceiveReply(&reply, kTimeout));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().reason(), wire::NACK_REJECTED) << reply.nack().text();
  EXPECT_EQ(at_host->ToJson(), before);
}

}  // namespace
}  // namespace zinc
