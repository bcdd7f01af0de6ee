#include "endpoints/stored.h"

#include <algorithm>

namespace zinc {
namespace internal {

Status ReplayStored(const DocumentType& type, const StoredDocument& stored,
                    const CodecLimits& limits, const std::string& where, Replayed* out,
                    const std::function<void(wire::Envelope env, size_t bytes)>& on_record) {
  Replayed r;
  r.state = type.Create();
  if (stored.snapshot_seq != 0) {
    wire::SnapshotReply snap;
    if (!snap.ParseFromString(stored.snapshot) || !r.state->Restore(snap.state()).ok()) {
      return Status(StatusCode::kDataLoss, where + ": the snapshot at seq " +
                                               std::to_string(stored.snapshot_seq) +
                                               " does not restore");
    }
    for (const wire::OriginSeq& a : snap.applied()) {
      EndpointId id;
      if (EndpointId::FromBytes(a.origin(), &id)) r.applied[id] = a.origin_seq();
    }
    r.head = stored.snapshot_seq;
  }
  for (const auto& [seq, record] : stored.log) {
    wire::Envelope env;
    Status s = DecodeEnvelope(record, SIZE_MAX, limits, &env);
    if (s.ok() && (seq != r.head + 1 || env.seq() != seq || !env.has_fragment())) {
      s = Status(StatusCode::kDataLoss, "out of sequence after " + std::to_string(r.head));
    }
    if (s.ok()) s = r.state->Apply(env.fragment().payload());
    if (!s.ok()) {
      return Status(StatusCode::kDataLoss, where + ": the record of seq " + std::to_string(seq) +
                                               " does not apply: " + s.ToString());
    }
    EndpointId origin;
    if (EndpointId::FromBytes(env.origin(), &origin)) {
      uint64_t& last = r.applied[origin];
      last = std::max(last, env.origin_seq());
    }
    r.head = seq;
    if (on_record) on_record(std::move(env), record.size());
  }
  *out = std::move(r);
  return Status::Ok();
}

}  // namespace internal
}  // namespace zinc
