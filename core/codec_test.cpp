#include "core/codec.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace zinc {
namespace {

const std::string kOrigin = "0123456789abcdef";  // 16 bytes
const std::string kOtherOrigin = "fedcba9876543210";
constexpr size_t kMax = 1 << 20;

// Decodes bytes with the default limits and kMax.
Status Decode(std::string_view bytes, wire::Envelope* out) {
  return DecodeEnvelope(bytes, kMax, CodecLimits(), out);
}

Status Decode(std::string_view bytes) {
  wire::Envelope out;
  return Decode(bytes, &out);
}

Status Decode(const wire::Envelope& e) { return Decode(EncodeEnvelope(e)); }

// The fields every envelope needs: this version, a 16-byte origin and a document id.
wire::Envelope Base() {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_origin(kOrigin);
  e.set_doc("doc-1");
  return e;
}

wire::Envelope FragmentEnvelope() {
  wire::Envelope e = Base();
  e.set_origin_seq(3);
  e.set_seq(7);
  e.set_base_seq(6);
  e.set_epoch(2);
  e.mutable_fragment()->set_type("map");
  e.mutable_fragment()->set_payload(std::string("\x01\x01\x01k\x01v\x00\xff", 8));
  return e;
}

wire::Envelope HeartbeatEnvelope() {
  wire::Envelope e = Base();
  e.set_epoch(1);
  e.mutable_heartbeat()->set_head_seq(42);
  return e;
}

wire::Envelope ControlHeartbeatEnvelope() {
  wire::Envelope e = HeartbeatEnvelope();
  e.clear_doc();
  return e;
}

wire::Envelope SnapshotRequestEnvelope() {
  wire::Envelope e = Base();
  e.mutable_snapshot_request()->set_type("map");
  e.mutable_snapshot_request()->set_create(true);
  return e;
}

void FillSnapshotReply(wire::SnapshotReply* r) {
  r->set_found(true);
  r->set_type("map");
  r->set_state(std::string("\x01\x01k\x01v", 5));
  wire::OriginSeq* a = r->add_applied();
  a->set_origin(kOtherOrigin);
  a->set_origin_seq(9);
}

wire::Envelope SnapshotReplyEnvelope() {
  wire::Envelope e = Base();
  e.set_seq(12);
  FillSnapshotReply(e.mutable_snapshot_reply());
  return e;
}

wire::Envelope CatchupRequestEnvelope() {
  wire::Envelope e = Base();
  e.mutable_catchup_request()->set_from_seq(4);
  e.mutable_catchup_request()->set_to_seq(9);
  return e;
}

// A sequenced fragment of doc-1, as a catch-up reply carries it.
wire::Envelope SequencedFragment(uint64_t seq) {
  wire::Envelope f = FragmentEnvelope();
  f.set_seq(seq);
  f.set_origin_seq(seq);
  return f;
}

wire::Envelope CatchupReplyEnvelope() {
  wire::Envelope e = Base();
  for (uint64_t seq : {4, 5, 7})
    *e.mutable_catchup_reply()->add_fragments() = SequencedFragment(seq);
  return e;
}

wire::Envelope CatchupReplyWithSnapshotEnvelope() {
  wire::Envelope e = Base();
  FillSnapshotReply(e.mutable_catchup_reply()->mutable_snapshot());
  return e;
}

wire::Envelope NackEnvelope() {
  wire::Envelope e = Base();
  e.mutable_nack()->set_reason(wire::NACK_OUT_OF_ORDER);
  e.mutable_nack()->set_text("expected 4");
  e.mutable_nack()->set_refused_origin_seq(6);
  e.mutable_nack()->set_expected_origin_seq(4);
  return e;
}

wire::Envelope PresenceEnvelope() {
  wire::Envelope e = Base();
  e.mutable_presence()->set_state(R"({"x":1,"y":2,"name":"Ada"})");
  return e;
}

std::vector<wire::Envelope> AllValidEnvelopes() {
  return {FragmentEnvelope(),
          PresenceEnvelope(),
          HeartbeatEnvelope(),
          ControlHeartbeatEnvelope(),
          SnapshotRequestEnvelope(),
          SnapshotReplyEnvelope(),
          CatchupRequestEnvelope(),
          CatchupReplyEnvelope(),
          CatchupReplyWithSnapshotEnvelope(),
          NackEnvelope()};
}

// An independent statement of which bytes form a valid envelope (codec.h and zinc.proto), used
// as the oracle of the random-input tests.
bool IsValidSnapshotReply(const wire::SnapshotReply& r, const CodecLimits& limits) {
  if (r.type().size() > limits.max_type_bytes) return false;
  for (const auto& a : r.applied()) {
    if (a.origin().size() != 16) return false;
  }
  return true;
}

bool IsValidEnvelope(std::string_view bytes, size_t max_bytes, const CodecLimits& limits) {
  if (bytes.size() > max_bytes) return false;
  wire::Envelope e;
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  if (e.version() != kProtocolVersion || e.origin().size() != 16) return false;
  const std::string& doc = e.doc();
  if (doc.size() > limits.max_doc_id_bytes || (!doc.empty() && doc[0] == '\x01')) return false;
  const bool has_doc = !doc.empty();
  switch (e.body_case()) {
    case wire::Envelope::kFragment:
      return has_doc && !e.fragment().type().empty() &&
             e.fragment().type().size() <= limits.max_type_bytes && e.origin_seq() != 0;
    case wire::Envelope::kHeartbeat:
      return true;
    case wire::Envelope::kNack:
      return e.nack().target().empty() || e.nack().target().size() == 16;
    case wire::Envelope::kJoinRequest:
      return !has_doc && e.join_request().listen().size() <= limits.max_address_bytes &&
             e.join_request().name().size() <= limits.max_address_bytes;
    case wire::Envelope::kJoinReply: {
      const auto& r = e.join_reply();
      if (has_doc || r.redirect().size() > limits.max_address_bytes ||
          r.text().size() > limits.max_address_bytes ||
          r.listen().size() > limits.max_address_bytes ||
          static_cast<size_t>(r.path_size()) > limits.max_tree_depth) {
        return false;
      }
      for (const auto& id : r.path()) {
        if (id.size() != 16) return false;
      }
      return true;
    }
    case wire::Envelope::kMemberReport: {
      const auto& r = e.member_report();
      return !has_doc && (r.parent().empty() || r.parent().size() == 16) &&
             r.listen().size() <= limits.max_address_bytes &&
             r.name().size() <= limits.max_address_bytes;
    }
    case wire::Envelope::kRosterRequest:
    case wire::Envelope::kRootLost:
      return !has_doc;
    case wire::Envelope::kListRequest:
      return !has_doc && e.list_request().after().size() <= limits.max_doc_id_bytes;
    case wire::Envelope::kDocumentList:
      for (const auto& d : e.document_list().documents()) {
        if (d.name().empty() || d.name().size() > limits.max_doc_id_bytes ||
            d.name()[0] == '\x01' || d.type().size() > limits.max_type_bytes) {
          return false;
        }
      }
      return true;
    case wire::Envelope::kDeleteRequest:
    case wire::Envelope::kDeleted:
    case wire::Envelope::kDurable:
      return has_doc;
    case wire::Envelope::kChunk: {
      const auto& c = e.chunk();
      return c.transfer() != 0 && !c.data().empty() && c.total() <= limits.max_transfer_bytes &&
             c.offset() < c.total() && c.data().size() <= c.total() - c.offset();
    }
    case wire::Envelope::kChunkRequest:
      return e.chunk_request().transfer() != 0;
    case wire::Envelope::kTakeover:
      return !has_doc && e.takeover().listen().size() <= limits.max_address_bytes;
    case wire::Envelope::kRoster: {
      const auto& r = e.roster();
      if (has_doc || !(r.root().empty() || r.root().size() == 16) ||
          !(r.standby().empty() || r.standby().size() == 16) ||
          r.role().size() > limits.max_address_bytes ||
          static_cast<size_t>(r.members_size()) > limits.max_roster_members) {
        return false;
      }
      for (const auto& m : r.members()) {
        if (m.id().size() != 16 || !(m.parent().empty() || m.parent().size() == 16) ||
            m.listen().size() > limits.max_address_bytes ||
            m.name().size() > limits.max_address_bytes) {
          return false;
        }
      }
      return true;
    }
    case wire::Envelope::kSnapshotRequest:
      return has_doc && e.snapshot_request().type().size() <= limits.max_type_bytes;
    case wire::Envelope::kSnapshotReply:
      return has_doc && IsValidSnapshotReply(e.snapshot_reply(), limits);
    case wire::Envelope::kCatchupRequest:
      return has_doc && e.catchup_request().from_seq() >= 1 &&
             e.catchup_request().to_seq() >= e.catchup_request().from_seq();
    case wire::Envelope::kTailOffer: {
      const auto& r = e.tail_offer();
      if ((!has_doc && r.fragments_size() > 0) ||
          static_cast<size_t>(r.fragments_size()) > limits.max_catchup_fragments) {
        return false;
      }
      uint64_t prev = 0;
      for (const auto& f : r.fragments()) {
        if (f.body_case() != wire::Envelope::kFragment || f.doc() != doc ||
            f.origin().size() != 16 || f.seq() <= prev || f.fragment().type().empty()) {
          return false;
        }
        prev = f.seq();
      }
      return true;
    }
    case wire::Envelope::kCatchupReply: {
      const auto& r = e.catchup_reply();
      if (!has_doc || static_cast<size_t>(r.fragments_size()) > limits.max_catchup_fragments) {
        return false;
      }
      uint64_t prev = 0;
      for (const auto& f : r.fragments()) {
        if (f.body_case() != wire::Envelope::kFragment || f.doc() != doc ||
            f.origin().size() != 16 || f.seq() <= prev || f.fragment().type().empty()) {
          return false;
        }
        prev = f.seq();
      }
      return !r.has_snapshot() || IsValidSnapshotReply(r.snapshot(), limits);
    }
    case wire::Envelope::kPresence:
      return has_doc && e.presence().state().size() <= limits.max_presence_bytes;
    case wire::Envelope::kBatch:
      return has_doc &&
             static_cast<size_t>(e.batch().envelopes_size()) <= limits.max_batch_envelopes;
    case wire::Envelope::BODY_NOT_SET:
      return false;
  }
  return false;
}

// Decodes bytes and checks the outcome against the oracle: kOk exactly for valid envelopes.
// Returns whether DecodeEnvelope accepted bytes.
bool ExpectDecodeAgreesWithOracle(std::string_view bytes, const std::string& what) {
  const CodecLimits limits;
  wire::Envelope out;
  const Status s = DecodeEnvelope(bytes, kMax, limits, &out);
  const bool valid = IsValidEnvelope(bytes, kMax, limits);
  EXPECT_EQ(s.ok(), valid) << what << ": " << s.ToString();
  return s.ok();
}

class CodecTest : public ::testing::Test {
 protected:
  // Random inputs make protobuf log every invalid UTF-8 string it refuses.
  google::protobuf::LogSilencer silence_protobuf_;
};

TEST_F(CodecTest, EncodeFragmentGivesTheBytesProtobufWould) {
  const std::string big(300, 'p');  // Lengths over 127 take two varint bytes.
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, ~uint64_t{0}}) {
    for (const std::string& payload : {std::string(), std::string("x"), big}) {
      FragmentFields f;
      f.origin = kOrigin;
      f.origin_seq = n;
      f.doc = "doc-1";
      f.seq = n / 2;
      f.base_seq = n;
      f.epoch = n == 0 ? 0 : 3;
      f.type = "text";
      f.payload = payload;
      wire::Envelope e;
      e.set_version(kProtocolVersion);
      e.set_origin(kOrigin);
      e.set_origin_seq(f.origin_seq);
      e.set_doc("doc-1");
      e.set_seq(f.seq);
      e.set_base_seq(f.base_seq);
      e.set_epoch(f.epoch);
      e.mutable_fragment()->set_type("text");
      e.mutable_fragment()->set_payload(payload);
      EXPECT_EQ(EncodeFragment(f), EncodeEnvelope(e)) << n << " " << payload.size();
    }
  }
}

TEST_F(CodecTest, PresenceWithoutDocIsMalformedAndOversizedIsRefused) {
  wire::Envelope e = PresenceEnvelope();
  e.clear_doc();
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
  CodecLimits limits;
  limits.max_presence_bytes = 8;
  wire::Envelope out;
  EXPECT_EQ(DecodeEnvelope(EncodeEnvelope(PresenceEnvelope()), kMax, limits, &out).code(),
            StatusCode::kResourceExhausted);
}

// ---- Batches -------------------------------------------------------------------------------

TEST_F(CodecTest, BatchRoundTripKeepsEveryElementInOrder) {
  std::vector<std::string> elements;
  for (uint64_t i = 1; i <= 3; ++i) {
    wire::Envelope f = FragmentEnvelope();
    f.set_origin_seq(i);
    elements.push_back(EncodeEnvelope(f));
  }
  const std::vector<std::string> sent = elements;
  const std::string bytes = EncodeBatch(kOrigin, "doc-1", &elements);
  wire::Envelope out;
  ASSERT_TRUE(Decode(bytes, &out).ok());
  ASSERT_TRUE(out.has_batch());
  ASSERT_EQ(out.batch().envelopes_size(), 3);
  const CodecLimits limits;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out.batch().envelopes(i), sent[i]);
    wire::Envelope element;
    ASSERT_TRUE(DecodeBatchElement(out.batch().envelopes(i), "doc-1", kMax, limits, &element).ok());
    EXPECT_EQ(element.origin_seq(), static_cast<uint64_t>(i + 1));
  }
}

TEST_F(CodecTest, BatchWithoutDocIsMalformed) {
  wire::Envelope e = Base();
  e.clear_doc();
  e.mutable_batch()->add_envelopes(EncodeEnvelope(FragmentEnvelope()));
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, BatchWithTooManyElementsIsResourceExhausted) {
  CodecLimits limits;
  limits.max_batch_envelopes = 2;
  wire::Envelope e = Base();
  for (int i = 0; i < 3; ++i) e.mutable_batch()->add_envelopes("x");
  wire::Envelope out;
  EXPECT_EQ(DecodeEnvelope(EncodeEnvelope(e), kMax, limits, &out).code(),
            StatusCode::kResourceExhausted);
}

TEST_F(CodecTest, BatchElementsThatAreNotFragmentsOfTheDocumentAreRefused) {
  const CodecLimits limits;
  wire::Envelope out;
  wire::Envelope other_doc = FragmentEnvelope();
  other_doc.set_doc("doc-2");
  EXPECT_EQ(DecodeBatchElement(EncodeEnvelope(other_doc), "doc-1", kMax, limits, &out).code(),
            StatusCode::kMalformed);
  EXPECT_EQ(
      DecodeBatchElement(EncodeEnvelope(HeartbeatEnvelope()), "doc-1", kMax, limits, &out).code(),
      StatusCode::kMalformed);
  wire::Envelope nested = Base();
  nested.mutable_batch()->add_envelopes(EncodeEnvelope(FragmentEnvelope()));
  EXPECT_EQ(DecodeBatchElement(EncodeEnvelope(nested), "doc-1", kMax, limits, &out).code(),
            StatusCode::kMalformed);
  EXPECT_EQ(DecodeBatchElement("garbage", "doc-1", kMax, limits, &out).code(),
            StatusCode::kMalformed);
}

// A valid batch frame of n fragments of doc-1.
std::string BatchFrame(int n) {
  std::vector<std::string> elements;
  for (int i = 1; i <= n; ++i) {
    wire::Envelope f = FragmentEnvelope();
    f.set_origin_seq(i);
    elements.push_back(EncodeEnvelope(f));
  }
  return EncodeBatch(kOrigin, "doc-1", &elements);
}

TEST_F(CodecTest, DecodeFrameReadsABatchAsViewsAndTheRestAsItWas) {
  const CodecLimits limits;
  const std::string frame = BatchFrame(3);
  wire::Envelope header;
  bool is_batch = false;
  std::vector<std::string_view> elements;
  ASSERT_TRUE(DecodeFrame(frame, kMax, limits, &header, &is_batch, &elements).ok());
  EXPECT_TRUE(is_batch);
  EXPECT_EQ(header.origin(), kOrigin);
  EXPECT_EQ(header.doc(), "doc-1");
  wire::Envelope parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame));
  ASSERT_EQ(elements.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(elements[i], parsed.batch().envelopes(i));

  const std::string single = EncodeEnvelope(FragmentEnvelope());
  ASSERT_TRUE(DecodeFrame(single, kMax, limits, &header, &is_batch, &elements).ok());
  EXPECT_FALSE(is_batch);
  EXPECT_TRUE(elements.empty());
  EXPECT_EQ(header.origin_seq(), 3u);
}

TEST_F(CodecTest, DecodeFrameJoinsRepeatedBatchFieldsAsProtobufDoes) {
  const CodecLimits limits;
  // The batch field of a second frame appended to the first: protobuf merges the two.
  const std::string a = BatchFrame(2), b = BatchFrame(1);
  wire::Envelope header_only = Base();
  const std::string b_batch = b.substr(EncodeEnvelope(header_only).size());
  const std::string frame = a + b_batch;
  wire::Envelope parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame));
  ASSERT_EQ(parsed.batch().envelopes_size(), 3);
  wire::Envelope header;
  bool is_batch = false;
  std::vector<std::string_view> elements;
  ASSERT_TRUE(DecodeFrame(frame, kMax, limits, &header, &is_batch, &elements).ok());
  ASSERT_EQ(elements.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(elements[i], parsed.batch().envelopes(i));
}

TEST_F(CodecTest, DecodeFrameRefusesBadBatches) {
  CodecLimits limits;
  wire::Envelope header;
  bool is_batch = false;
  std::vector<std::string_view> elements;
  // A batch and a fragment body in one envelope.
  const std::string both =
      EncodeEnvelope(FragmentEnvelope()) + BatchFrame(1).substr(EncodeEnvelope(Base()).size());
  EXPECT_EQ(DecodeFrame(both, kMax, limits, &header, &is_batch, &elements).code(),
            StatusCode::kMalformed);
  limits.max_batch_envelopes = 2;
  EXPECT_EQ(DecodeFrame(BatchFrame(3), kMax, limits, &header, &is_batch, &elements).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeFrame(BatchFrame(3), 10, CodecLimits(), &header, &is_batch, &elements).code(),
            StatusCode::kResourceExhausted);
  wire::Envelope no_doc = Base();
  no_doc.clear_doc();
  no_doc.mutable_batch()->add_envelopes("x");
  EXPECT_EQ(DecodeFrame(EncodeEnvelope(no_doc), kMax, CodecLimits(), &header, &is_batch, &elements)
                .code(),
            StatusCode::kMalformed);
}

TEST_F(CodecTest, DecodeFrameOnMangledBatchesNeverAcceptsWhatProtobufWouldNot) {
  const CodecLimits limits;
  const std::string valid = BatchFrame(4);
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string frame = valid;
    switch (i % 3) {
      case 0:
        frame = frame.substr(0, rng() % frame.size());
        break;
      case 1:
        for (int k = 0; k < 3; ++k) frame[rng() % frame.size()] = static_cast<char>(rng());
        break;
      default:
        frame.insert(rng() % frame.size(), std::string(1 + rng() % 4, static_cast<char>(rng())));
        break;
    }
    wire::Envelope header;
    bool is_batch = false;
    std::vector<std::string_view> elements;
    if (!DecodeFrame(frame, kMax, limits, &header, &is_batch, &elements).ok()) continue;
    ++accepted;
    wire::Envelope parsed;
    ASSERT_TRUE(parsed.ParseFromString(frame)) << i;
    if (!is_batch) {
      EXPECT_TRUE(DecodeEnvelope(frame, kMax, limits, &parsed).ok()) << i;
      continue;
    }
    ASSERT_TRUE(parsed.has_batch()) << i;
    ASSERT_EQ(elements.size(), static_cast<size_t>(parsed.batch().envelopes_size())) << i;
    for (size_t k = 0; k < elements.size(); ++k) {
      EXPECT_EQ(elements[k], parsed.batch().envelopes(static_cast<int>(k))) << i;
    }
    EXPECT_EQ(header.origin(), parsed.origin()) << i;
    EXPECT_EQ(header.doc(), parsed.doc()) << i;
  }
  EXPECT_GT(accepted, 0);
}

// ---- Round trips ---------------------------------------------------------------------------

TEST_F(CodecTest, EveryBodyKindRoundTrips) {
  for (const wire::Envelope& in : AllValidEnvelopes()) {
    SCOPED_TRACE(in.ShortDebugString());
    const std::string bytes = EncodeEnvelope(in);
    wire::Envelope out;
    const Status s = Decode(bytes, &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(in, out))
        << out.ShortDebugString();
    EXPECT_EQ(EncodeEnvelope(out), bytes);
  }
}

TEST_F(CodecTest, FragmentRoundTripKeepsEveryField) {
  wire::Envelope out;
  ASSERT_TRUE(Decode(EncodeEnvelope(FragmentEnvelope()), &out).ok());
  EXPECT_EQ(out.version(), kProtocolVersion);
  EXPECT_EQ(out.origin(), kOrigin);
  EXPECT_EQ(out.doc(), "doc-1");
  EXPECT_EQ(out.origin_seq(), 3u);
  EXPECT_EQ(out.seq(), 7u);
  EXPECT_EQ(out.base_seq(), 6u);
  EXPECT_EQ(out.epoch(), 2u);
  ASSERT_EQ(out.body_case(), wire::Envelope::kFragment);
  EXPECT_EQ(out.fragment().type(), "map");
  EXPECT_EQ(out.fragment().payload(), std::string("\x01\x01\x01k\x01v\x00\xff", 8));
}

TEST_F(CodecTest, CatchupReplyRoundTripKeepsFragmentsInOrder) {
  wire::Envelope out;
  ASSERT_TRUE(Decode(EncodeEnvelope(CatchupReplyEnvelope()), &out).ok());
  ASSERT_EQ(out.body_case(), wire::Envelope::kCatchupReply);
  ASSERT_EQ(out.catchup_reply().fragments_size(), 3);
  EXPECT_EQ(out.catchup_reply().fragments(0).seq(), 4u);
  EXPECT_EQ(out.catchup_reply().fragments(1).seq(), 5u);
  EXPECT_EQ(out.catchup_reply().fragments(2).seq(), 7u);
  EXPECT_FALSE(out.catchup_reply().has_snapshot());
}

TEST_F(CodecTest, EmptyCatchupReplyIsAccepted) {
  wire::Envelope e = Base();
  e.mutable_catchup_reply();
  EXPECT_TRUE(Decode(e).ok());
}

TEST_F(CodecTest, SingleSeqCatchupRequestIsAccepted) {
  wire::Envelope e = CatchupRequestEnvelope();
  e.mutable_catchup_request()->set_from_seq(5);
  e.mutable_catchup_request()->set_to_seq(5);
  EXPECT_TRUE(Decode(e).ok());
}

TEST_F(CodecTest, EnvelopeOfExactlyMaxBytesIsAccepted) {
  const std::string bytes = EncodeEnvelope(FragmentEnvelope());
  wire::Envelope out;
  const Status s = DecodeEnvelope(bytes, bytes.size(), CodecLimits(), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CodecTest, DocIdOfExactlyTheLimitIsAccepted) {
  wire::Envelope e = FragmentEnvelope();
  e.set_doc(std::string(CodecLimits().max_doc_id_bytes, 'd'));
  EXPECT_TRUE(Decode(e).ok());
}

// ---- ValidateDocId ---------------------------------------------------------------------------

TEST_F(CodecTest, ValidateDocIdAcceptsOrdinaryIds) {
  const CodecLimits limits;
  EXPECT_TRUE(ValidateDocId("doc-1", limits).ok());
  EXPECT_TRUE(ValidateDocId("a", limits).ok());
  EXPECT_TRUE(ValidateDocId(std::string(limits.max_doc_id_bytes, 'x'), limits).ok());
  EXPECT_TRUE(ValidateDocId("x\x01", limits).ok());  // only the first byte is reserved
}

TEST_F(CodecTest, ValidateDocIdRejectsEmptyLongAndReservedIds) {
  CodecLimits limits;
  EXPECT_EQ(ValidateDocId("", limits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDocId(std::string(limits.max_doc_id_bytes + 1, 'x'), limits).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDocId("\x01"
                          "doc",
                          limits)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDocId(kControlTopic, limits).code(), StatusCode::kInvalidArgument);
  limits.max_doc_id_bytes = 3;
  EXPECT_TRUE(ValidateDocId("abc", limits).ok());
  EXPECT_EQ(ValidateDocId("abcd", limits).code(), StatusCode::kInvalidArgument);
}

// ---- Error paths -----------------------------------------------------------------------------

TEST_F(CodecTest, TruncatedEnvelopeIsRejected) {
  // Every prefix of every valid encoding: no crash, and kOk only for a prefix that is itself a
  // valid envelope.
  for (const wire::Envelope& e : AllValidEnvelopes()) {
    const std::string bytes = EncodeEnvelope(e);
    for (size_t n = 0; n < bytes.size(); ++n) {
      ExpectDecodeAgreesWithOracle(std::string_view(bytes).substr(0, n),
                                   e.ShortDebugString() + " cut at " + std::to_string(n));
    }
  }
}

TEST_F(CodecTest, EnvelopeCutInsideTheOriginIsMalformed) {
  for (const wire::Envelope& e : AllValidEnvelopes()) {
    const std::string bytes = EncodeEnvelope(e);
    const size_t at = bytes.find(kOrigin);
    ASSERT_NE(at, std::string::npos);
    ASSERT_GE(at, 2u);
    // From just before the origin's tag to its last byte.
    for (size_t n = at - 2; n < at + kOrigin.size(); ++n) {
      EXPECT_EQ(Decode(std::string_view(bytes).substr(0, n)).code(), StatusCode::kMalformed)
          << "cut at " << n;
    }
  }
}

TEST_F(CodecTest, EmptyInputIsMalformed) {
  EXPECT_EQ(Decode(std::string_view()).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, OversizedEnvelopeIsResourceExhausted) {
  const std::string bytes = EncodeEnvelope(FragmentEnvelope());
  wire::Envelope out;
  EXPECT_EQ(DecodeEnvelope(bytes, bytes.size() - 1, CodecLimits(), &out).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeEnvelope(bytes, 0, CodecLimits(), &out).code(), StatusCode::kResourceExhausted);

  wire::Envelope big = FragmentEnvelope();
  big.mutable_fragment()->set_payload(std::string(CodecLimits().max_envelope_bytes, 'p'));
  EXPECT_EQ(
      DecodeEnvelope(EncodeEnvelope(big), CodecLimits().max_envelope_bytes, CodecLimits(), &out)
          .code(),
      StatusCode::kResourceExhausted);
}

TEST_F(CodecTest, OversizedGarbageIsResourceExhaustedBeforeParsing) {
  const std::string garbage(100, '\xff');
  wire::Envelope out;
  EXPECT_EQ(DecodeEnvelope(garbage, 99, CodecLimits(), &out).code(),
            StatusCode::kResourceExhausted);
}

TEST_F(CodecTest, BytesThatAreNotProtobufAreMalformed) {
  EXPECT_EQ(Decode(std::string("\xff\xff\xff\xff", 4)).code(), StatusCode::kMalformed);
  EXPECT_EQ(Decode("hello, world").code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, OriginThatIsNot16BytesIsMalformed) {
  for (size_t size : {0, 1, 15, 17, 32}) {
    wire::Envelope e = FragmentEnvelope();
    e.set_origin(std::string(size, 'o'));
    EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed) << "origin of " << size << " bytes";
  }
}

TEST_F(CodecTest, OtherVersionIsVersionMismatchAndKeepsTheOrigin) {
  for (uint32_t version : {0u, kProtocolVersion + 1, 1000u}) {
    wire::Envelope e = FragmentEnvelope();
    e.set_version(version);
    wire::Envelope out;
    EXPECT_EQ(Decode(EncodeEnvelope(e), &out).code(), StatusCode::kVersionMismatch)
        << "version " << version;
    EXPECT_EQ(out.origin(), kOrigin);
    EXPECT_EQ(out.version(), version);
    EXPECT_EQ(out.origin_seq(), 3u);
  }
}

TEST_F(CodecTest, EnvelopeWithoutBodyIsUnsupported) {
  EXPECT_EQ(Decode(Base()).code(), StatusCode::kUnsupported);
}

TEST_F(CodecTest, BodyOfANewerVersionIsUnsupported) {
  // Field 100 (length-delimited, empty): a body kind this version does not know.
  std::string bytes = EncodeEnvelope(Base());
  bytes += std::string("\xa2\x06\x00", 3);
  EXPECT_EQ(Decode(bytes).code(), StatusCode::kUnsupported);
}

TEST_F(CodecTest, FragmentWithoutDocIsMalformed) {
  wire::Envelope e = FragmentEnvelope();
  e.clear_doc();
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, FragmentWithEmptyTypeIsMalformed) {
  wire::Envelope e = FragmentEnvelope();
  e.mutable_fragment()->clear_type();
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, FragmentWithOversizedTypeIsMalformed) {
  wire::Envelope e = FragmentEnvelope();
  e.mutable_fragment()->set_type(std::string(CodecLimits().max_type_bytes + 1, 't'));
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
  e.mutable_fragment()->set_type(std::string(CodecLimits().max_type_bytes, 't'));
  EXPECT_TRUE(Decode(e).ok());
}

TEST_F(CodecTest, FragmentWithOriginSeqZeroIsMalformed) {
  wire::Envelope e = FragmentEnvelope();
  e.set_origin_seq(0);
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, DocIdStartingWithControlByteIsRejected) {
  for (wire::Envelope e : AllValidEnvelopes()) {
    e.set_doc(
        "\x01"
        "doc");
    EXPECT_FALSE(Decode(e).ok()) << e.ShortDebugString();
  }
}

TEST_F(CodecTest, DocIdLongerThanTheLimitIsRejected) {
  for (wire::Envelope e : AllValidEnvelopes()) {
    e.set_doc(std::string(CodecLimits().max_doc_id_bytes + 1, 'd'));
    EXPECT_FALSE(Decode(e).ok()) << e.ShortDebugString();
  }
}

TEST_F(CodecTest, DocIdStartingWithControlByteIsMalformed) {
  wire::Envelope e = FragmentEnvelope();
  e.set_doc(
      "\x01"
      "doc");
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, DocIdLongerThanTheLimitIsMalformed) {
  wire::Envelope e = FragmentEnvelope();
  e.set_doc(std::string(CodecLimits().max_doc_id_bytes + 1, 'd'));
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, DocumentBodiesWithoutDocAreMalformed) {
  for (wire::Envelope e : {SnapshotRequestEnvelope(), SnapshotReplyEnvelope(),
                           CatchupRequestEnvelope(), CatchupReplyEnvelope()}) {
    e.clear_doc();
    EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed) << e.ShortDebugString();
  }
}

TEST_F(CodecTest, SnapshotRequestWithOversizedTypeIsMalformed) {
  wire::Envelope e = SnapshotRequestEnvelope();
  e.mutable_snapshot_request()->set_type(std::string(CodecLimits().max_type_bytes + 1, 't'));
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, SnapshotReplyWithBadAppliedOriginIsMalformed) {
  wire::Envelope e = SnapshotReplyEnvelope();
  e.mutable_snapshot_reply()->mutable_applied(0)->set_origin("short");
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, SnapshotReplyWithOversizedTypeIsMalformed) {
  wire::Envelope e = SnapshotReplyEnvelope();
  e.mutable_snapshot_reply()->set_type(std::string(CodecLimits().max_type_bytes + 1, 't'));
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupRequestWithInvertedRangeIsMalformed) {
  wire::Envelope e = CatchupRequestEnvelope();
  e.mutable_catchup_request()->set_from_seq(9);
  e.mutable_catchup_request()->set_to_seq(4);
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupRequestFromSeqZeroIsMalformed) {
  wire::Envelope e = CatchupRequestEnvelope();
  e.mutable_catchup_request()->set_from_seq(0);
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupReplyWithUnorderedFragmentsIsMalformed) {
  wire::Envelope e = Base();
  for (uint64_t seq : {4, 6, 5})
    *e.mutable_catchup_reply()->add_fragments() = SequencedFragment(seq);
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupReplyWithRepeatedSeqIsMalformed) {
  wire::Envelope e = Base();
  for (uint64_t seq : {4, 4}) *e.mutable_catchup_reply()->add_fragments() = SequencedFragment(seq);
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupReplyWithUnsequencedFragmentIsMalformed) {
  wire::Envelope e = Base();
  *e.mutable_catchup_reply()->add_fragments() = SequencedFragment(0);
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupReplyWithForeignDocFragmentIsMalformed) {
  wire::Envelope e = CatchupReplyEnvelope();
  e.mutable_catchup_reply()->mutable_fragments(1)->set_doc("doc-2");
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupReplyWithBadInnerFragmentIsMalformed) {
  {
    wire::Envelope e = CatchupReplyEnvelope();
    e.mutable_catchup_reply()->mutable_fragments(0)->set_origin("short");
    EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
  }
  {
    wire::Envelope e = CatchupReplyEnvelope();
    e.mutable_catchup_reply()->mutable_fragments(0)->mutable_fragment()->clear_type();
    EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
  }
  {
    wire::Envelope e = CatchupReplyEnvelope();
    e.mutable_catchup_reply()->mutable_fragments(2)->mutable_heartbeat()->set_head_seq(1);
    EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
  }
}

TEST_F(CodecTest, CatchupReplyWithBadSnapshotIsMalformed) {
  wire::Envelope e = CatchupReplyWithSnapshotEnvelope();
  e.mutable_catchup_reply()->mutable_snapshot()->mutable_applied(0)->set_origin("");
  EXPECT_EQ(Decode(e).code(), StatusCode::kMalformed);
}

TEST_F(CodecTest, CatchupReplyWithTooManyFragmentsIsResourceExhausted) {
  CodecLimits limits;
  limits.max_catchup_fragments = 2;
  wire::Envelope out;
  EXPECT_EQ(DecodeEnvelope(EncodeEnvelope(CatchupReplyEnvelope()), kMax, limits, &out).code(),
            StatusCode::kResourceExhausted);
}

// ---- Random input ----------------------------------------------------------------------------

TEST_F(CodecTest, RandomBytesNeverCrashOrDecodeUnlessValid) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 96);
  for (int i = 0; i < 10000; ++i) {
    std::string bytes(length(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    ExpectDecodeAgreesWithOracle(bytes, "random input " + std::to_string(i));
  }
}

TEST_F(CodecTest, RandomBodiesAfterAValidHeaderNeverCrashOrDecodeUnlessValid) {
  // A valid version and origin, sometimes a document id, then a body field of a random kind
  // holding random bytes, so that the body checks are reached.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 24);
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    wire::Envelope header;
    header.set_version(kProtocolVersion);
    header.set_origin(kOrigin);
    if (rng() % 4 != 0) header.set_doc("doc-1");
    std::string bytes = EncodeEnvelope(header);
    const uint32_t field = 10 + rng() % 8;  // the seven body kinds and one unknown one
    const uint32_t tag = (field << 3) | 2;  // length-delimited
    if (tag < 0x80) {
      bytes.push_back(static_cast<char>(tag));
    } else {
      bytes.push_back(static_cast<char>(tag | 0x80));
      bytes.push_back(static_cast<char>(tag >> 7));
    }
    const size_t n = length(rng);
    bytes.push_back(static_cast<char>(n));
    for (size_t k = 0; k < n; ++k) bytes.push_back(static_cast<char>(byte(rng)));
    if (ExpectDecodeAgreesWithOracle(bytes, "random body " + std::to_string(i))) ++accepted;
  }
  EXPECT_GT(accepted, 0);  // the generator reaches the body checks and passes them
}

TEST_F(CodecTest, MutatedEnvelopesNeverCrashOrDecodeUnlessValid) {
  std::vector<std::string> seeds;
  for (const wire::Envelope& e : AllValidEnvelopes()) seeds.push_back(EncodeEnvelope(e));
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string bytes = seeds[rng() % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations && !bytes.empty(); ++m) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          bytes[at] = static_cast<char>(byte(rng));
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                       static_cast<char>(byte(rng)));
          break;
        default:
          bytes.erase(at, 1);
          break;
      }
    }
    if (ExpectDecodeAgreesWithOracle(bytes, "mutation " + std::to_string(i))) ++accepted;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 10000);
}

}  // namespace
}  // namespace zinc
