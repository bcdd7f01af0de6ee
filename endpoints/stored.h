#pragma once

// A stored document brought back to life: its snapshot restored and the log after it replayed,
// checked record by record. The restarted root (HostedDocument::Restore) and zincctl dump
// (ReadStore) share it.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/codec.h"
#include "core/ids.h"
#include "core/status.h"
#include "documents/document.h"
#include "documents/type_registry.h"
#include "endpoints/endpoint.h"
#include "store/store.h"

namespace zinc {
namespace internal {

struct Replayed {
  std::unique_ptr<Document> state;
  uint64_t head = 0;
  // The dedup table: the last origin_seq sequenced per origin.
  std::unordered_map<EndpointId, uint64_t, EndpointIdHash> applied;
};

// When a document keeping its log in a store (the root's, a relay's replica) writes its next
// snapshot: fragments or bytes of records since the last one (EndpointOptions::
// snapshot_fragments, snapshot_bytes).
inline bool SnapshotDue(const EndpointOptions& o, uint64_t seq, uint64_t snapshot_seq,
                        size_t bytes_since) {
  return seq - snapshot_seq >= std::max<size_t>(1, o.snapshot_fragments) ||
         bytes_since >= o.snapshot_bytes;
}
// The oldest record kept behind a snapshot at seq (retention_fragments); 0 keeps them all.
inline uint64_t RetentionKeepFrom(const EndpointOptions& o, uint64_t seq) {
  return seq > o.retention_fragments ? seq - o.retention_fragments + 1 : 0;
}

// Restores stored's snapshot and applies its log in seq order into *out; on_record (if set) sees
// every record replayed (its envelope and encoded size), oldest first. kDataLoss, with where
// (the store and the document) in the message, names the snapshot or the record that does not
// decode, is out of sequence or does not apply.
Status ReplayStored(const DocumentType& type, const StoredDocument& stored,
                    const CodecLimits& limits, const std::string& where, Replayed* out,
                    const std::function<void(wire::Envelope env, size_t bytes)>& on_record = {});

}  // namespace internal
}  // namespace zinc
