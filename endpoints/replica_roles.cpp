#include "endpoints/replica.h"

// Replica: what depends on the role: serving a relay's children, and failover (a new root's epoch,
// a standby's handover, a stepped-down root's seed) (the rest is in replica.cpp).

#include <algorithm>

namespace zinc {
namespace internal {

void Replica::OnAttached() {
  MutexLock l(&mu_);
  if (state_ == State::kOpening || state_ == State::kResyncing) RequestSnapshotLocked();
  if (state_ == State::kSynced) {
    // A new parent (the old one died): what was on its way through the old one may be lost.
    // Whatever was sequenced meanwhile comes by catch-up; the oldest pending edit goes again
    // (the root drops it if it has it; the later ones follow its echo, or an out-of-order
    // nack brings them).
    catchup_sent_micros_ = 0;
    RequestCatchupLocked(applied_seq_ + 1, UINT64_MAX);
    // Pending edits go again once caught up: by then the echoes of those the root has are
    // here, so the rest stand on applied_seq_ alone and can go as one new chain.
    resend_on_catchup_ = !pending_.empty() && type_ != nullptr;
  }
}

void Replica::OnEpoch(uint64_t epoch) {
  MutexLock l(&mu_);
  if (epoch <= min_epoch_ || state_ == State::kFailed) return;
  min_epoch_ = epoch;
  // The fragments applied last may be some the new root never had: offer them, oldest first (it
  // takes those after its head), then resync.
  std::vector<OutboundFrame> offers;
  wire::Envelope offer = core_->NewEnvelope(name_);
  size_t bytes = 0;
  // With keys, only members offer fragments: a client's key could not vouch for others'
  // (docs/security.md), and its own acknowledged edits go again anyway (acked_).
  const EndpointOptions& options = core_->options();
  const size_t from = options.secret_key.empty() || !options.listen.empty()
                          ? history_.NewestFrom(kTailFragments, kTailBytes)
                          : history_.size();
  for (size_t i = from; i < history_.size(); ++i) {
    const wire::Envelope& f = history_.at(i);
    const size_t size = history_.bytes_at(i);
    if (bytes + size > kTailOfferBytes && offer.tail_offer().fragments_size() > 0) {
      offers.push_back(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(offer)});
      offer.mutable_tail_offer()->clear_fragments();
      bytes = 0;
    }
    bytes += size;
    *offer.mutable_tail_offer()->add_fragments() = f;
  }
  offer.mutable_tail_offer();
  offers.push_back(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(offer)});
  core_->Send(std::move(offers));
  // Buffered fragments may be the old root's, with seqs the new one gives to others.
  buffered_.clear();
  catchup_sent_micros_ = 0;
  catchup_to_ = 0;
  resend_on_catchup_ = false;
  if (state_ == State::kSynced) {
    ResyncLocked("a new root took over at epoch " + std::to_string(epoch));
  } else {
    RequestSnapshotLocked();
  }
}

Status Replica::TakeHandover(Handover* out) {
  MutexLock l(&mu_);
  if (state_ != State::kSynced || !type_ || !doc_) {
    return Status(StatusCode::kUnavailable, state_ == State::kOpening     ? "still opening"
                                            : state_ == State::kResyncing ? "resyncing"
                                            : state_ == State::kFailed
                                                ? "failed: " + error_.ToString()
                                                : "no state");
  }
  out->type = type_;
  out->state = server_.Sequenced(*doc_).Snapshot();
  out->seq = applied_seq_;
  out->applied = server_.applied();
  out->history.Assign(std::move(history_));
  return Status::Ok();
}

void Replica::Close(bool release_state, const std::string& why) {
  MutexLock l(&mu_);
  // Not FailLocked: closing is no failure worth a warning.
  state_ = State::kFailed;
  error_ = why.empty() ? Status(StatusCode::kUnavailable, "document '" + name_ + "' is closed")
                       : Status(StatusCode::kNotFound, why);
  buffered_.clear();
  ServeParkedLocked(0);
  pending_.Reset(type_);
  history_.Clear();
  if (release_state) {
    doc_.reset();
    server_.Release();
  }
  cv_.notify_all();
}

ChildServer::Source Replica::SourceLocked() const {
  ChildServer::Source src;
  src.synced = state_ == State::kSynced;
  src.failed = state_ == State::kFailed ? &error_ : nullptr;
  src.seq = applied_seq_;
  src.epoch = epoch_;
  src.type = type_;
  src.doc = doc_.get();
  src.history = &history_;
  src.acks_after_standby = acks_after_standby_;
  src.durable_seq = durable_seq_;
  return src;
}

void Replica::ServeParkedLocked(int64_t now_micros) {
  server_.ServeParked(SourceLocked(), now_micros);
}

void Replica::OnSnapshotRequest(const Message& msg) {
  MutexLock l(&mu_);
  const wire::SnapshotRequest& req = msg.envelope.snapshot_request();
  if (!req.type().empty()) {
    const DocumentType* want = types_->Find(req.type());
    if (!want) {
      server_.Nack(msg.routing_id, wire::NACK_UNKNOWN_TYPE,
                   "unknown document type '" + req.type() + "'");
      return;
    }
    const bool missing = state_ == State::kFailed && error_.code() == StatusCode::kNotFound;
    if (req.create() && (missing || (!type_ && state_ == State::kOpening))) {
      // Asked upward without a type (or it did not exist): ask again, creating it.
      type_ = want;
      create_ = true;
      doc_ = want->Create();
      pending_.Reset(want);
      state_ = State::kOpening;
      error_ = Status::Ok();
      RequestSnapshotLocked();
    } else if (type_ && type_ != want) {
      server_.Nack(msg.routing_id, wire::NACK_TYPE_MISMATCH,
                   "document '" + name_ + "' is of type '" + std::string(type_->name()) +
                       "', not '" + req.type() + "'");
      return;
    }
  }
  server_.Request(SourceLocked(), msg.routing_id, msg.envelope);
}

void Replica::OnCatchupRequest(const Message& msg) {
  MutexLock l(&mu_);
  server_.Request(SourceLocked(), msg.routing_id, msg.envelope);
}

bool Replica::HasParkedRequests() const {
  MutexLock l(&mu_);
  return server_.has_parked();
}

Status Replica::Seed(const std::string& state, uint64_t seq, uint64_t epoch, uint64_t min_epoch,
                     uint64_t next_origin_seq, std::vector<std::pair<uint64_t, std::string>> own) {
  MutexLock l(&mu_);
  if (!type_) return Status(StatusCode::kInvalidArgument, "a seeded replica needs a type");
  std::unique_ptr<Document> doc = type_->Create();
  ZINC_RETURN_IF_ERROR(doc->Restore(state));
  doc_ = std::move(doc);
  applied_seq_ = seq;
  epoch_ = epoch;
  min_epoch_ = min_epoch;
  next_origin_seq_ = next_origin_seq;
  acked_through_ = next_origin_seq - 1;
  for (auto& edit : own) acked_.push_back(std::move(edit));
  while (acked_.size() > kAckedTail) acked_.pop_front();
  // Synced on the old root's state; Start asks for a snapshot of the new root's epoch.
  state_ = State::kResyncing;
  return Status::Ok();
}

Replica::PendingHandover Replica::TakePendingAndClose() {
  PendingHandover out;
  {
    MutexLock l(&mu_);
    out.base_seq = applied_seq_;
    out.next_origin_seq = next_origin_seq_;
    for (size_t i = 0; i < pending_.size(); ++i) {
      out.edits.emplace_back(pending_.origin_seq(i), pending_.payload(i));
    }
  }
  Close(/*release_state=*/true);
  return out;
}

}  // namespace internal
}  // namespace zinc
