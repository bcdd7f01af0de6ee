#pragma once

// The only header that includes generated protobuf code: everything else reaches the wire
// format through this file.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "proto/zinc.pb.h"

namespace zinc {

// The protocol version this build speaks (Envelope.version).
inline constexpr uint32_t kProtocolVersion = 2;

// The PUB topic of control traffic. Document ids may not start with '\x01', so it cannot collide.
inline constexpr std::string_view kControlTopic =
    "\x01"
    "ctl";
// The topic frame of what is published about doc (or on the control topic): the name and a NUL
// after it, so that a subscription to one name matches that name only (a SUB's filter matches
// prefixes; names hold no NUL).
inline std::string WireTopic(std::string_view topic) {
  std::string t(topic);
  t.push_back('\0');
  return t;
}

// Bounds applied to every decoded envelope.
struct CodecLimits {
  // Largest encoded envelope accepted on the inbound and outbound channels (fragments,
  // heartbeats). Default: 1 MiB.
  size_t max_envelope_bytes = 1 << 20;
  // Largest envelope accepted on the sync channel (snapshot and catch-up replies). Default: 64 MiB.
  size_t max_sync_envelope_bytes = 64 << 20;
  // Largest reply reassembled from chunks (wire::Chunk: a snapshot of a large document).
  // Default: 1 GiB.
  size_t max_transfer_bytes = size_t{1} << 30;
  // Longest document id. Default: 256 bytes.
  size_t max_doc_id_bytes = 256;
  // Longest document type name. Default: 64 bytes.
  size_t max_type_bytes = 64;
  // Most fragments in one catch-up reply. Default: 100000.
  size_t max_catchup_fragments = 100000;
  // Most envelopes in one Batch. Default: 65536.
  size_t max_batch_envelopes = 65536;
  // Largest Presence state. Default: 64 KiB.
  size_t max_presence_bytes = 64 << 10;
  // Longest address or name in a tree message (join, roster). Default: 1024 bytes.
  size_t max_address_bytes = 1024;
  // Deepest path in a join reply. Default: 1024.
  size_t max_tree_depth = 1024;
  // Most members in a roster. Default: 100000.
  size_t max_roster_members = 100000;
};

// Checks that id is usable as a document id: non-empty, at most limits.max_doc_id_bytes, and not
// starting with the control topic's first byte. Returns kInvalidArgument otherwise.
Status ValidateDocId(std::string_view id, const CodecLimits& limits);

// Serialises envelope. Never fails for an envelope built by this process.
std::string EncodeEnvelope(const wire::Envelope& envelope);

// The fields of a fragment envelope, for EncodeFragment.
struct FragmentFields {
  std::string_view origin;
  uint64_t origin_seq = 0;
  std::string_view doc;
  uint64_t seq = 0;
  uint64_t base_seq = 0;
  uint64_t epoch = 0;
  std::string_view type;
  std::string_view payload;
};

// Encodes an Envelope with a Fragment body (version kProtocolVersion) straight from f, without
// building a wire::Envelope: the same bytes SerializeToString would give (codec_test checks it),
// for the hot path of every edit.
std::string EncodeFragment(const FragmentFields& f);

// Encodes envelopes (each a complete encoded Envelope with a fragment of doc) as one Batch
// envelope from origin (16 bytes); clears *envelopes.
std::string EncodeBatch(std::string_view origin, std::string_view doc,
                        std::vector<std::string>* envelopes);

// Parses one frame as a ChannelListener receives it. A frame holding a Batch is parsed without
// copying its elements: *out gets the envelope's other fields (checked as DecodeEnvelope checks
// an envelope's: version, origin, doc; no other body), *is_batch is set and *elements views into
// bytes (each still to be parsed with DecodeBatchElement). Any other frame is DecodeEnvelope's,
// with *is_batch false. Stricter than protobuf on batches: groups and a second body are refused.
Status DecodeFrame(std::string_view bytes, size_t max_bytes, const CodecLimits& limits,
                   wire::Envelope* out, bool* is_batch, std::vector<std::string_view>* elements);

// Parses one element of a Batch whose envelope's document is doc: DecodeEnvelope, and then
// kMalformed unless it is a fragment of doc.
Status DecodeBatchElement(std::string_view bytes, std::string_view doc, size_t max_bytes,
                          const CodecLimits& limits, wire::Envelope* out);

// Parses bytes into *out strictly. Returns:
//   kResourceExhausted  bytes is larger than max_bytes (*out holds what parsed, if anything);
//   kMalformed          not a protobuf Envelope, origin not 16 bytes, a missing or bad field;
//   kVersionMismatch    another protocol version (*out still holds what was parsed, so that the
//                       origin can be nacked);
//   kUnsupported        no body this version knows (a newer peer's message kind).
Status DecodeEnvelope(std::string_view bytes, size_t max_bytes, const CodecLimits& limits,
                      wire::Envelope* out);

}  // namespace zinc
