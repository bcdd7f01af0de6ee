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
    case wire::Envelope::kCatchupReply: {
      if (!has_doc) return Status(StatusCode::kMalformed, "catch-up reply without document id");
      const auto& r = out->catchup_reply();
      if (static_cast<size_t>(r.fragments_size()) > limits.max_catchup_fragments) {
        return Status(StatusCode::kResourceExhausted, "catch-up reply with too many fragments");
      }
      uint64_t prev = 0;
      for (const auto& f : r.fragments()) {
        if (f.body_case() != wire::Envelope::kFragment || f.doc() != out->doc() ||
            f.origin().size() != 16 || f.seq() == 0 || f.seq() <= prev ||
            f.fragment().type().empty()) {
          return Status(StatusCode::kMalformed, "catch-up reply holds a bad fragment");
        }
        prev = f.seq();
      }
      if (r.has_snapshot()) return CheckSnapshotReply(r.snapshot(), limits);
      return Status::Ok();
    }
    case wire::Envelope::kNack:
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
