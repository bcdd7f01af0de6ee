#include "endpoints/child_server.h"

#include <algorithm>

namespace zinc {
namespace internal {

bool ChildServer::Record(const wire::Envelope& env) {
  uint64_t& last = applied_[env.origin()];
  last = std::max(last, env.origin_seq());
  if (confirmed_ && !confirmed_->Apply(env.fragment().payload()).ok()) {
    confirmed_.reset();  // Serve nothing wrong.
    return false;
  }
  return true;
}

void ChildServer::Restore(const wire::SnapshotReply& snap, const DocumentType& type,
                          bool own_pending) {
  applied_.clear();
  for (const auto& a : snap.applied()) applied_[a.origin()] = a.origin_seq();
  confirmed_.reset();
  if (own_pending) {
    confirmed_ = type.Create();
    if (!confirmed_->Restore(snap.state()).ok()) confirmed_.reset();  // The replica's restored.
  }
}

void ChildServer::KeepConfirmed(const Document& doc, const DocumentType& type) {
  std::unique_ptr<Document> copy = type.Create();
  if (copy->Restore(doc.Snapshot()).ok()) confirmed_ = std::move(copy);
}

void ChildServer::Release() {
  confirmed_.reset();
  applied_.clear();
}

void ChildServer::Nack(const std::string& routing_id, wire::NackReason reason,
                       const std::string& text) {
  core_->Send(core_->NackFrame(*name_, {reason, text}, nullptr, routing_id));
}

wire::SnapshotReply ChildServer::Snapshot(const Source& src) const {
  wire::SnapshotReply r;
  r.set_found(true);
  r.set_type(std::string(src.type->name()));
  r.set_state(Sequenced(*src.doc).Snapshot());
  for (const auto& [origin, origin_seq] : applied_) {
    wire::OriginSeq* a = r.add_applied();
    a->set_origin(origin);
    a->set_origin_seq(origin_seq);
  }
  if (src.acks_after_standby) {
    r.set_acks_after_standby(true);
    r.set_durable_seq(std::min(src.durable_seq, src.seq));
  }
  return r;
}

bool ChildServer::Serve(const Source& src, const std::string& routing_id,
                        const wire::Envelope& request, bool force) {
  if (src.failed) {
    const StatusCode code = src.failed->code();
    if (code == StatusCode::kNotFound && request.has_snapshot_request()) {
      wire::Envelope e = core_->NewEnvelope(*name_);
      e.mutable_snapshot_reply()->set_found(false);
      core_->Send(OutboundFrame{Route::kSyncReply, routing_id, EncodeEnvelope(e)});
    } else {
      Nack(routing_id,
           code == StatusCode::kTypeMismatch  ? wire::NACK_TYPE_MISMATCH
           : code == StatusCode::kNotFound    ? wire::NACK_UNKNOWN_DOCUMENT
           : code == StatusCode::kUnsupported ? wire::NACK_UNKNOWN_TYPE
                                              : wire::NACK_UNSUPPORTED,
           src.failed->message());
    }
    return true;
  }
  if (!src.synced) return false;
  // A child that saw a later epoch than this state's waits until the replica has resynced.
  if (request.has_snapshot_request() && request.snapshot_request().min_epoch() > src.epoch) {
    return false;
  }
  wire::Envelope e = core_->NewEnvelope(*name_);
  e.set_seq(src.seq);
  e.set_epoch(src.epoch);
  if (request.has_snapshot_request()) {
    *e.mutable_snapshot_reply() = Snapshot(src);
    core_->metrics().snapshots_served->Add();
  } else {
    const wire::CatchupRequest& req = request.catchup_request();
    if (req.from_seq() > src.seq && !force) return false;
    wire::CatchupReply* reply = e.mutable_catchup_reply();
    if (!src.history->FillCatchup(req, src.seq, core_->options().limits.max_catchup_fragments,
                                  reply)) {
      *reply->mutable_snapshot() = Snapshot(src);
    }
    core_->metrics().catchups_served->Add();
  }
  core_->Send(SyncReplyFrame(routing_id, e));
  return true;
}

void ChildServer::Request(const Source& src, const std::string& routing_id,
                          const wire::Envelope& request) {
  if (Serve(src, routing_id, request, /*force=*/false)) return;
  if (parked_.size() >= kMaxParked) {
    Nack(routing_id, wire::NACK_UNSUPPORTED, "too many requests waiting");
    return;
  }
  parked_.push_back(Parked{routing_id, request, core_->clock().NowMicros()});
}

void ChildServer::ServeParked(const Source& src, int64_t now_micros) {
  const int64_t retry = std::chrono::microseconds(core_->options().retry).count();
  size_t kept = 0;
  for (size_t i = 0; i < parked_.size(); ++i) {
    Parked& p = parked_[i];
    const bool force = now_micros != 0 && now_micros - p.since_micros >= retry;
    if (Serve(src, p.routing_id, p.request, force)) continue;
    if (kept != i) parked_[kept] = std::move(p);
    ++kept;
  }
  parked_.resize(kept);
}

}  // namespace internal
}  // namespace zinc
