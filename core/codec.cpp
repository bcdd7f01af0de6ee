#include "core/codec.h"

namespace zinc {

Status ValidateDocId(std::string_view id, const CodecLimits& limits) {
  if (id.empty()) return Status(StatusCode::kInvalidArgument, "empty document id");
  if (id.size() > limits.max_doc_id_bytes) {
    return Status(StatusCode::kInvalidArgument,
                  "document id longer than " + std::to_string(limits.max_doc_id_bytes) + " bytes");
  }
  if (id[0] == kControlTopic[0]) {
    return Status(StatusCode::kInvalidArgument, "document id starts with a reserved byte");
  }
  if (id.find('\0') != std::string_view::npos) {
    // NUL ends a topic on the wire (WireTopic).
    return Status(StatusCode::kInvalidArgument, "document id holds a NUL byte");
  }
  return Status::Ok();
}

std::string EncodeEnvelope(const wire::Envelope& envelope) {
  std::string out;
  envelope.SerializeToString(&out);
  return out;
}

namespace {

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The tags of Envelope.batch (17) and Batch.envelopes (1), both length-delimited.
constexpr uint64_t kBatchTag = (17 << 3) | 2;
constexpr uint64_t kElementTag = (1 << 3) | 2;

}  // namespace

namespace {

// Appends a length-delimited field.
void AppendBytesField(uint32_t field, std::string_view bytes, std::string* out) {
  AppendVarint((field << 3) | 2, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

size_t BytesFieldSize(uint32_t field, size_t n) {
  return VarintSize((field << 3) | 2) + VarintSize(n) + n;
}

// Appends a varint field unless it is 0 (proto3 leaves zeros out).
void AppendVarintField(uint32_t field, uint64_t v, std::string* out) {
  if (v == 0) return;
  AppendVarint(field << 3, out);
  AppendVarint(v, out);
}

size_t VarintFieldSize(uint32_t field, uint64_t v) {
  return v == 0 ? 0 : VarintSize(field << 3) + VarintSize(v);
}

}  // namespace

std::string EncodeFragment(const FragmentFields& f) {
  // Field numbers and order as in proto/zinc.proto (protobuf serialises in field order, and
  // leaves out empty bytes fields).
  const size_t body = (f.type.empty() ? 0 : BytesFieldSize(1, f.type.size())) +
                      (f.payload.empty() ? 0 : BytesFieldSize(2, f.payload.size()));
  std::string out;
  out.reserve(VarintFieldSize(1, kProtocolVersion) + BytesFieldSize(2, f.origin.size()) +
              VarintFieldSize(3, f.origin_seq) + BytesFieldSize(4, f.doc.size()) +
              VarintFieldSize(5, f.seq) + VarintFieldSize(6, f.base_seq) +
              VarintFieldSize(7, f.epoch) + BytesFieldSize(10, body));
  AppendVarintField(1, kProtocolVersion, &out);
  if (!f.origin.empty()) AppendBytesField(2, f.origin, &out);
  AppendVarintField(3, f.origin_seq, &out);
  if (!f.doc.empty()) AppendBytesField(4, f.doc, &out);
  AppendVarintField(5, f.seq, &out);
  AppendVarintField(6, f.base_seq, &out);
  AppendVarintField(7, f.epoch, &out);
  AppendVarint((10 << 3) | 2, &out);
  AppendVarint(body, &out);
  if (!f.type.empty()) AppendBytesField(1, f.type, &out);
  if (!f.payload.empty()) AppendBytesField(2, f.payload, &out);
  return out;
}

std::string EncodeBatch(std::string_view origin, std::string_view doc,
                        std::vector<std::string>* envelopes) {
  // The header through protobuf, then the batch field written by hand straight from the
  // elements: a parser reads fields in any order, and this saves a copy and an allocation per
  // element (codec_test checks the result against protobuf's own parse).
  wire::Envelope header;
  header.set_version(kProtocolVersion);
  header.set_origin(origin.data(), origin.size());
  header.set_doc(doc.data(), doc.size());
  size_t body = 0;
  for (const std::string& e : *envelopes)
    body += VarintSize(kElementTag) + VarintSize(e.size()) + e.size();
  std::string out;
  out.reserve(header.ByteSizeLong() + VarintSize(kBatchTag) + VarintSize(body) + body);
  header.AppendToString(&out);
  AppendVarint(kBatchTag, &out);
  AppendVarint(body, &out);
  for (const std::string& e : *envelopes) {
    AppendVarint(kElementTag, &out);
    AppendVarint(e.size(), &out);
    out.append(e);
  }
  envelopes->clear();
  return out;
}

namespace {

// Reads protobuf's wire format from untrusted bytes; every read checks the bounds.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }
  const char* position() const { return p_; }

  bool ReadVarint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t c = static_cast<uint8_t>(*p_++);
      r |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;  // More than 10 bytes.
  }
  // A tag: a field number in 1 .. 2^29 - 1 and a wire type.
  bool ReadTag(uint32_t* field, uint32_t* wire_type) {
    uint64_t tag;
    if (!ReadVarint(&tag) || tag > 0xffffffffu) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    return *field != 0;
  }
  bool ReadBytes(std::string_view* out) {
    uint64_t n;
    if (!ReadVarint(&n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  // Skips a value of wire_type; groups (3, 4) and unknown types fail.
  bool Skip(uint32_t wire_type) {
    uint64_t v;
    std::string_view b;
    switch (wire_type) {
      case 0:
        return ReadVarint(&v);
      case 1:
        return Advance(8);
      case 2:
        return ReadBytes(&b);
      case 5:
        return Advance(4);
      default:
        return false;
    }
  }

 private:
  bool Advance(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
};

constexpr uint32_t kBatchField = 17;

}  // namespace

Status DecodeFrame(std::string_view bytes, size_t max_bytes, const CodecLimits& limits,
                   wire::Envelope* out, bool* is_batch, std::vector<std::string_view>* elements) {
  *is_batch = false;
  elements->clear();
  // One pass over the top-level fields: the batch field's elements are collected as views, every
  // other field is copied aside to be parsed by protobuf as the header.
  bool batch = false;
  std::string header;
  if (bytes.size() <= max_bytes) {
    WireReader r(bytes);
    bool ok = true;
    while (ok && !r.done()) {
      const char* start = r.position();
      uint32_t field, wire_type;
      if (!r.ReadTag(&field, &wire_type)) {
        ok = false;
      } else if (field == kBatchField && wire_type == 2) {
        std::string_view body;
        ok = r.ReadBytes(&body);
        batch = true;
        WireReader b(body);
        while (ok && !b.done()) {
          uint32_t f, wt;
          std::string_view element;
          if (!b.ReadTag(&f, &wt)) {
            ok = false;
          } else if (f == 1 && wt == 2) {
            ok = b.ReadBytes(&element);
            if (elements->size() >= limits.max_batch_envelopes) {
              return Status(StatusCode::kResourceExhausted, "batch with too many envelopes");
            }
            elements->push_back(element);
          } else {
            ok = b.Skip(wt);
          }
        }
      } else {
        ok = r.Skip(wire_type);
        header.append(start, r.position() - start);
      }
    }
    // Not well-formed: DecodeEnvelope below says why, in its words.
    if (!ok) batch = false;
  }
  if (!batch) {
    elements->clear();
    ZINC_RETURN_IF_ERROR(DecodeEnvelope(bytes, max_bytes, limits, out));
    if (out->has_batch()) {
      // A batch only protobuf reads (a group inside, say): no honest sender makes one.
      return Status(StatusCode::kMalformed, "a batch in a form this peer does not read");
    }
    return Status::Ok();
  }
  if (!out->ParseFromString(header)) return Status(StatusCode::kMalformed, "not a zinc envelope");
  if (out->origin().size() != 16)
    return Status(StatusCode::kMalformed, "origin is not a 16-byte UUID");
  if (out->version() != kProtocolVersion) {
    return Status(StatusCode::kVersionMismatch,
                  "protocol version " + std::to_string(out->version()) + " is not supported (" +
                      "this peer speaks " + std::to_string(kProtocolVersion) + ")");
  }
  if (out->doc().empty()) return Status(StatusCode::kMalformed, "batch without a document id");
  Status doc_ok = ValidateDocId(out->doc(), limits);
  if (!doc_ok.ok()) return Status(StatusCode::kMalformed, doc_ok.message());
  if (out->body_case() != wire::Envelope::BODY_NOT_SET) {
    return Status(StatusCode::kMalformed, "a batch and another body in one envelope");
  }
  *is_batch = true;
  return Status::Ok();
}

Status DecodeBatchElement(std::string_view bytes, std::string_view doc, size_t max_bytes,
                          const CodecLimits& limits, wire::Envelope* out) {
  ZINC_RETURN_IF_ERROR(DecodeEnvelope(bytes, max_bytes, limits, out));
  if (!out->has_fragment() || out->doc() != doc) {
    return Status(StatusCode::kMalformed, "a batch element that is not a fragment of its document");
  }
  return Status::Ok();
}

namespace {

Status CheckSnapshotReply(const wire::SnapshotReply& r, const CodecLimits& limits) {
  if (r.type().size() > limits.max_type_bytes) {
    return Status(StatusCode::kMalformed, "document type name too long");
  }
  for (const auto& a : r.applied()) {
    if (a.origin().size() != 16) return Status(StatusCode::kMalformed, "origin is not 16 bytes");
  }
  return Status::Ok();
}

// The sequenced fragments of a catch-up reply or a tail offer (what names them): at most
// max_catchup_fragments, each a fragment of doc from a 16-byte origin, seqs rising from 1.
Status CheckSequencedFragments(const google::protobuf::RepeatedPtrField<wire::Envelope>& fragments,
                               const std::string& doc, const CodecLimits& limits,
                               const std::string& what) {
  if (static_cast<size_t>(fragments.size()) > limits.max_catchup_fragments) {
    return Status(StatusCode::kResourceExhausted, what + " with too many fragments");
  }
  uint64_t prev = 0;
  for (const auto& f : fragments) {
    if (f.body_case() != wire::Envelope::kFragment || f.doc() != doc || f.origin().size() != 16 ||
        f.seq() == 0 || f.seq() <= prev || f.fragment().type().empty()) {
      return Status(StatusCode::kMalformed, what + " holds a bad fragment");
    }
    prev = f.seq();
  }
  return Status::Ok();
}

// An id field of a tree message: 16 bytes, or empty where allowed.
bool IsIdOrEmpty(const std::string& id) { return id.empty() || id.size() == 16; }

Status CheckTreeMessage(const wire::Envelope& e, const CodecLimits& limits) {
  auto bad = [](const char* what) { return Status(StatusCode::kMalformed, what); };
  auto text_ok = [&](const std::string& s) { return s.size() <= limits.max_address_bytes; };
  switch (e.body_case()) {
    case wire::Envelope::kJoinRequest:
      if (!text_ok(e.join_request().listen()) || !text_ok(e.join_request().name())) {
        return bad("join request with an oversized address or name");
      }
      return Status::Ok();
    case wire::Envelope::kJoinReply: {
      const wire::JoinReply& r = e.join_reply();
      if (!text_ok(r.redirect()) || !text_ok(r.text()) || !text_ok(r.listen())) {
        return bad("join reply with an oversized address or text");
      }
      if (static_cast<size_t>(r.path_size()) > limits.max_tree_depth) {
        return bad("join reply with a path deeper than the limit");
      }
      for (const std::string& id : r.path()) {
        if (id.size() != 16) return bad("join reply path holds an id that is not 16 bytes");
      }
      return Status::Ok();
    }
    case wire::Envelope::kMemberReport: {
      const wire::MemberReport& r = e.member_report();
      if (!IsIdOrEmpty(r.parent())) return bad("member report parent is not 16 bytes");
      if (!text_ok(r.listen()) || !text_ok(r.name())) {
        return bad("member report with an oversized address or name");
      }
      return Status::Ok();
    }
    case wire::Envelope::kRoster: {
      const wire::Roster& r = e.roster();
      if (!IsIdOrEmpty(r.root())) return bad("roster root is not 16 bytes");
      if (!IsIdOrEmpty(r.standby())) return bad("roster standby is not 16 bytes");
      if (!text_ok(r.role())) return bad("roster with an oversized role");
      if (static_cast<size_t>(r.members_size()) > limits.max_roster_members) {
        return Status(StatusCode::kResourceExhausted, "roster with too many members");
      }
      for (const wire::Member& m : r.members()) {
        if (m.id().size() != 16 || !IsIdOrEmpty(m.parent()) || !text_ok(m.listen()) ||
            !text_ok(m.name())) {
          return bad("roster holds a bad member");
        }
      }
      return Status::Ok();
    }
    case wire::Envelope::kTakeover:
      if (!text_ok(e.takeover().listen())) return bad("takeover with an oversized address");
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

}  // namespace

Status DecodeEnvelope(std::string_view bytes, size_t max_bytes, const CodecLimits& limits,
                      wire::Envelope* out) {
  if (bytes.size() > max_bytes) {
    // The socket's own limit already bounded the allocation; parse anyway so that the origin
    // can be told why it was refused.
    out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    if (out->origin().size() != 16) out->clear_origin();
    return Status(StatusCode::kResourceExhausted, "envelope of " + std::to_string(bytes.size()) +
                                                      " bytes exceeds the limit of " +
                                                      std::to_string(max_bytes));
  }
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status(StatusCode::kMalformed, "not a zinc envelope");
  }
  if (out->origin().size() != 16) {
    return Status(StatusCode::kMalformed, "origin is not a 16-byte UUID");
  }
  if (out->version() != kProtocolVersion) {
    return Status(StatusCode::kVersionMismatch,
                  "protocol version " + std::to_string(out->version()) + " is not supported (" +
                      "this peer speaks " + std::to_string(kProtocolVersion) + ")");
  }
  const bool has_doc = !out->doc().empty();
  if (has_doc) {
    Status doc_ok = ValidateDocId(out->doc(), limits);
    if (!doc_ok.ok()) return Status(StatusCode::kMalformed, doc_ok.message());
  }
  switch (out->body_case()) {
    case wire::Envelope::kFragment:
      if (!has_doc) return Status(StatusCode::kMalformed, "fragment without a document id");
      if (out->fragment().type().empty() || out->fragment().type().size() > limits.max_type_bytes) {
        return Status(StatusCode::kMalformed, "fragment with a missing or oversized type name");
      }
      if (out->origin_seq() == 0) return Status(StatusCode::kMalformed, "fragment origin_seq 0");
      return Status::Ok();
    case wire::Envelope::kHeartbeat:
      return Status::Ok();
    case wire::Envelope::kSnapshotRequest:
      if (!has_doc) return Status(StatusCode::kMalformed, "snapshot request without document id");
      if (out->snapshot_request().type().size() > limits.max_type_bytes) {
        return Status(StatusCode::kMalformed, "document type name too long");
      }
      return Status::Ok();
    case wire::Envelope::kSnapshotReply:
      if (!has_doc) return Status(StatusCode::kMalformed, "snapshot reply without document id");
      return CheckSnapshotReply(out->snapshot_reply(), limits);
    case wire::Envelope::kCatchupRequest: {
      if (!has_doc) return Status(StatusCode::kMalformed, "catch-up request without document id");
      const auto& r = out->catchup_request();
      if (r.from_seq() == 0 || r.to_seq() < r.from_seq()) {
        return Status(StatusCode::kMalformed, "catch-up request with an empty or inverted range");
      }
      return Status::Ok();
    }
    case wire::Envelope::kTailOffer: {
      const auto& r = out->tail_offer();
      // Without a document: a member with none to offer (no fragments then).
      if (!has_doc && r.fragments_size() > 0) {
        return Status(StatusCode::kMalformed, "tail offer with fragments but no document id");
      }
      return CheckSequencedFragments(r.fragments(), out->doc(), limits, "tail offer");
    }
    case wire::Envelope::kCatchupReply: {
      if (!has_doc) return Status(StatusCode::kMalformed, "catch-up reply without document id");
      const auto& r = out->catchup_reply();
      ZINC_RETURN_IF_ERROR(
          CheckSequencedFragments(r.fragments(), out->doc(), limits, "catch-up reply"));
      if (r.has_snapshot()) return CheckSnapshotReply(r.snapshot(), limits);
      return Status::Ok();
    }
    case wire::Envelope::kNack:
      if (!IsIdOrEmpty(out->nack().target())) {
        return Status(StatusCode::kMalformed, "nack target is not 16 bytes");
      }
      return Status::Ok();
    case wire::Envelope::kPresence:
      if (!has_doc) return Status(StatusCode::kMalformed, "presence without a document id");
      if (out->presence().state().size() > limits.max_presence_bytes) {
        return Status(StatusCode::kResourceExhausted, "presence state over the limit");
      }
      return Status::Ok();
    case wire::Envelope::kJoinRequest:
    case wire::Envelope::kJoinReply:
    case wire::Envelope::kMemberReport:
    case wire::Envelope::kRosterRequest:
    case wire::Envelope::kRoster:
    case wire::Envelope::kRootLost:
    case wire::Envelope::kTakeover:
      if (has_doc) return Status(StatusCode::kMalformed, "tree control message with a document id");
      return CheckTreeMessage(*out, limits);
    case wire::Envelope::kListRequest:
      if (has_doc) return Status(StatusCode::kMalformed, "list request with a document id");
      if (out->list_request().after().size() > limits.max_doc_id_bytes) {
        return Status(StatusCode::kMalformed, "list request with an oversized name");
      }
      return Status::Ok();
    case wire::Envelope::kDocumentList:
      for (const wire::DocumentInfo& d : out->document_list().documents()) {
        if (!ValidateDocId(d.name(), limits).ok() || d.type().size() > limits.max_type_bytes) {
          return Status(StatusCode::kMalformed, "document list with a bad name or type");
        }
      }
      return Status::Ok();
    case wire::Envelope::kDeleteRequest:
    case wire::Envelope::kDeleted:
      if (!has_doc) return Status(StatusCode::kMalformed, "deletion without a document id");
      return Status::Ok();
    case wire::Envelope::kDurable:
      if (!has_doc) return Status(StatusCode::kMalformed, "durable without a document id");
      return Status::Ok();
    case wire::Envelope::kChunk: {
      const auto& c = out->chunk();
      if (c.transfer() == 0 || c.data().empty() || c.total() > limits.max_transfer_bytes ||
          c.offset() >= c.total() || c.data().size() > c.total() - c.offset()) {
        return Status(StatusCode::kMalformed, "chunk with a bad transfer, range or total");
      }
      return Status::Ok();
    }
    case wire::Envelope::kChunkRequest:
      if (out->chunk_request().transfer() == 0) {
        return Status(StatusCode::kMalformed, "chunk request without a transfer");
      }
      return Status::Ok();
    case wire::Envelope::kBatch:
      if (!has_doc) return Status(StatusCode::kMalformed, "batch without a document id");
      if (static_cast<size_t>(out->batch().envelopes_size()) > limits.max_batch_envelopes) {
        return Status(StatusCode::kResourceExhausted, "batch with too many envelopes");
      }
      return Status::Ok();
    case wire::Envelope::BODY_NOT_SET:
      break;
  }
  return Status(StatusCode::kUnsupported, "envelope without a body this version knows");
}

}  // namespace zinc
