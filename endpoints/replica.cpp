#include "endpoints/replica.h"

#include <algorithm>

#include "endpoints/journal.h"
#include "endpoints/stored.h"

namespace zinc {
namespace internal {

namespace {
// A relay keeps more than the tail, to serve its children catch-up as the root does.
History NewHistory(const EndpointCore& core) {
  if (!core.is_relay()) return History(Replica::kTailFragments, Replica::kTailBytes);
  return History(std::max(Replica::kTailFragments, core.options().history_fragments),
                 std::max(Replica::kTailBytes, core.options().history_bytes));
}
}  // namespace

Replica::Replica(EndpointCore* core, std::string name, const DocumentType* type, bool create,
                 const TypeRegistry* types)
    : core_(core),
      name_(std::move(name)),
      types_(types),
      serving_(core->is_relay()),
      create_(create),
      type_(type),
      history_(NewHistory(*core)),
      server_(core, &name_) {
  if (type_) doc_ = type_->Create();
  pending_.Reset(type_);
}

void Replica::Start() {
  MutexLock l(&mu_);
  RequestSnapshotLocked();
}

void Replica::RequestSnapshotLocked() {
  wire::Envelope e = core_->NewEnvelope(name_);
  wire::SnapshotRequest* r = e.mutable_snapshot_request();
  if (type_) r->set_type(std::string(type_->name()));
  r->set_create(create_ && type_ != nullptr);
  r->set_min_epoch(min_epoch_);
  snapshot_sent_micros_ = core_->clock().NowMicros();
  core_->Send(OutboundFrame{Route::kSyncRequest, "", EncodeEnvelope(e)});
}

void Replica::RequestCatchupLocked(uint64_t from, uint64_t to) {
  const int64_t now = core_->clock().NowMicros();
  const int64_t retry = std::chrono::microseconds(core_->options().retry).count();
  if (catchup_sent_micros_ != 0 && now - catchup_sent_micros_ < retry) return;
  wire::Envelope e = core_->NewEnvelope(name_);
  e.mutable_catchup_request()->set_from_seq(from);
  e.mutable_catchup_request()->set_to_seq(to);
  catchup_sent_micros_ = now;
  catchup_to_ = to;
  core_->metrics().catchups_requested->Add();
  core_->Send(OutboundFrame{Route::kSyncRequest, "", EncodeEnvelope(e)});
}

void Replica::ResyncLocked(const std::string& why) {
  core_->metrics().resyncs->Add();
  core_->logger().Info("ZINC-RESYNC", "doc=" + name_ + " " + why);
  if (state_ == State::kSynced) state_ = State::kResyncing;
  RequestSnapshotLocked();
}

void Replica::FailLocked(Status why) {
  core_->logger().Warn("ZINC-OPEN-FAILED", "doc=" + name_ + " " + why.ToString());
  state_ = State::kFailed;
  error_ = std::move(why);
  buffered_.clear();
  buffered_bytes_ = 0;
  cv_.notify_all();
  ServeParkedLocked(0);
}

void Replica::BufferLocked(const wire::Envelope& env) {
  const size_t bytes = env.ByteSizeLong();
  if (buffered_.size() >= core_->options().max_buffered_fragments ||
      buffered_bytes_ + bytes > core_->options().max_buffered_bytes) {
    // Too far behind to buffer: start over from a fresh snapshot.
    buffered_.clear();
    buffered_bytes_ = 0;
    if (state_ == State::kSynced) ResyncLocked("buffer overflow");
    return;
  }
  if (buffered_.emplace(env.seq(), env).second) buffered_bytes_ += bytes;
}

wire::Envelope Replica::TakeBufferedLocked(std::map<uint64_t, wire::Envelope>::iterator it) {
  buffered_bytes_ -= std::min(buffered_bytes_, it->second.ByteSizeLong());
  wire::Envelope env = std::move(it->second);
  buffered_.erase(it);
  return env;
}

void Replica::OnFragment(const wire::Envelope& env) {
  bool wake;
  {
    MutexLock l(&mu_);
    defer_wake_ = true;
    HandleSequencedLocked(env, staged_.changes());
    if (server_.has_parked()) ServeParkedLocked(0);
    wake = TakeDeferredWakeLocked();
  }
  // After unlocking, so that a woken waiter does not wake up only to wait for mu_.
  if (wake) cv_.notify_all();
  Notify();
}

void Replica::OnFragment(wire::Envelope&& env) {
  bool wake;
  {
    MutexLock l(&mu_);
    defer_wake_ = true;
    HandleSequencedLocked(env, staged_.changes(), &env);
    if (server_.has_parked()) ServeParkedLocked(0);
    wake = TakeDeferredWakeLocked();
  }
  if (wake) cv_.notify_all();
  Notify();
}

void Replica::OnFragments(Message* msgs, size_t n) {
  bool wake;
  {
    MutexLock l(&mu_);
    defer_wake_ = true;
    for (size_t i = 0; i < n; ++i) {
      HandleSequencedLocked(msgs[i].envelope, staged_.changes(), &msgs[i].envelope);
    }
    if (server_.has_parked()) ServeParkedLocked(0);
    wake = TakeDeferredWakeLocked();
  }
  if (wake) cv_.notify_all();
  Notify();
}

void Replica::HandleSequencedLocked(const wire::Envelope& env, Changes* changes,
                                    wire::Envelope* movable) {
  if (state_ == State::kFailed) return;
  if (state_ != State::kSynced) {
    BufferLocked(env);
    return;
  }
  if (env.seq() <= applied_seq_) return;  // Already applied (a catch-up overlapping the stream).
  if (env.seq() > applied_seq_ + 1) {
    BufferLocked(env);
    RequestCatchupLocked(applied_seq_ + 1, env.seq() - 1);
    return;
  }
  ApplySequencedLocked(env, changes, movable);
  DrainBufferedLocked(changes);
}

void Replica::ApplySequencedLocked(const wire::Envelope& env, Changes* changes,
                                   wire::Envelope* movable) {
  ApplySequencedInnerLocked(env, changes);
  // Moved into the history when the caller gives it up, a copy otherwise.
  if (movable) {
    history_.Append(std::move(*movable));
  } else {
    history_.Append(env);
  }
}

void Replica::ApplySequencedInnerLocked(const wire::Envelope& env, Changes* changes) {
  applied_seq_ = env.seq();
  if (serving_ && !server_.Record(env)) {
    ResyncLocked("the sequenced state did not take a sequenced fragment");
  }
  if (PersistsLocked()) StoreAppliedLocked(env);
  if (env.origin() == core_->id().bytes()) {
    // The echo of our own fragment: its acknowledgement. It is already in doc_.
    const uint64_t origin_seq = env.origin_seq();
    if (!pending_.empty() && pending_.front() <= origin_seq) {
      acked_.emplace_back(origin_seq, env.fragment().payload());
      if (acked_.size() > kAckedTail) acked_.pop_front();
    }
    bool lost = false;
    while (!pending_.empty() && pending_.front() <= origin_seq) {
      // One sequenced past without an echo was refused by the host (a nack is on its way).
      lost = lost || pending_.front() < origin_seq;
      if (pending_.front() == origin_seq && origin_seq > acked_through_) {
        AckLocked(origin_seq, env.seq());
      }
      acked_through_ = std::max(acked_through_, pending_.front());
      pending_.PopFront();
    }
    if (pending_.empty()) server_.DropConfirmed();  // doc_ is the sequenced state again.
    if (pending_.sent() == 0 && !pending_.empty()) {
      // Every edit sent is acknowledged: the held ones go now, as a new chain.
      SendPendingLocked(0, pending_.size());
    } else if (out_of_order_expected_ != 0) {
      ResendLostLocked(pending_progress_micros_);
    }
    pending_progress_micros_ = core_->clock().NowMicros();
    stalls_ = 0;
    WakePendingWaitersLocked();
    if (lost) ResyncLocked("an own edit was refused");
    return;
  }
  if (!type_ || env.fragment().type() != type_->name()) {
    ResyncLocked("fragment of another type");
    return;
  }
  // With no pending edits a remote fragment applies as it is (no copy).
  const std::string* payload = &env.fragment().payload();
  std::string transformed_payload;
  if (!pending_.empty()) {
    Result<std::string> transformed = pending_.TransformRemote(*payload);
    if (!transformed.ok()) {
      ResyncLocked("transform failed: " + transformed.status().ToString());
      return;
    }
    transformed_payload = std::move(transformed).value();
    payload = &transformed_payload;
  }
  pending_.NoteRemote();
  Status s = doc_->Apply(*payload);
  if (!s.ok()) {
    core_->metrics().apply_errors->Add();
    ResyncLocked("sequenced fragment did not apply: " + s.ToString());
    return;
  }
  if (!staged_.wants_changes()) return;
  DocumentChange c;
  c.seq = env.seq();
  c.local = false;
  EndpointId::FromBytes(env.origin(), &c.origin);
  c.payload = payload == &transformed_payload ? std::move(transformed_payload) : *payload;
  changes->push_back(std::move(c));
}

void Replica::DrainBufferedLocked(Changes* changes) {
  while (!buffered_.empty() && state_ == State::kSynced) {
    auto it = buffered_.begin();
    if (it->first <= applied_seq_) {
      TakeBufferedLocked(it);
      continue;
    }
    if (it->first != applied_seq_ + 1) {
      RequestCatchupLocked(applied_seq_ + 1, it->first - 1);
      return;
    }
    wire::Envelope env = TakeBufferedLocked(it);
    ApplySequencedLocked(env, changes, &env);
  }
  if (applied_seq_ >= catchup_to_) catchup_sent_micros_ = 0;
}

void Replica::RestoreLocked(const wire::Envelope& env, const wire::SnapshotReply& snap,
                            Changes* changes) {
  if (env.epoch() < min_epoch_) return;  // From before a failover: the tick asks again.
  if (!snap.found() && state_ == State::kOpening && create_ && type_) {
    // The answer to a request sent before this replica was asked to create the document (a
    // relay's replica opened for one child without a type, then asked by another with one):
    // the request that creates it is on its way, and the tick asks again if it is lost.
    return;
  }
  snapshot_sent_micros_ = 0;
  if (!snap.found()) {
    if (state_ == State::kOpening) {
      FailLocked(Status(StatusCode::kNotFound, "document '" + name_ + "' does not exist"));
    } else {
      ResyncLocked("document vanished");
    }
    return;
  }
  const DocumentType* type = types_->Find(snap.type());
  if (!type) {
    FailLocked(Status(StatusCode::kUnsupported, "document '" + name_ + "' has type '" +
                                                    snap.type() +
                                                    "', which this endpoint does not know"));
    return;
  }
  if (type_ && type != type_) {
    FailLocked(Status(StatusCode::kTypeMismatch, "document '" + name_ + "' is of type '" +
                                                     snap.type() + "', not '" +
                                                     std::string(type_->name()) + "'"));
    return;
  }
  std::unique_ptr<Document> doc = type->Create();
  Status s = doc->Restore(snap.state());
  if (!s.ok()) {
    core_->metrics().bad_snapshots->Add();
    core_->logger().Warn("ZINC-BAD-SNAPSHOT", "doc=" + name_ + " " + s.ToString());
    return;  // The tick asks again.
  }
  // The root's acknowledgement rule, and its watermark as of the snapshot.
  acks_after_standby_ = snap.acks_after_standby();
  // (A Durable that came while the snapshot travelled may be newer than the snapshot's.)
  durable_seq_ =
      env.epoch() == epoch_ ? std::max(durable_seq_, snap.durable_seq()) : snap.durable_seq();
  // Pending edits the snapshot already holds are acknowledged; the rest are replayed on top.
  uint64_t mine = 0;
  for (const auto& a : snap.applied()) {
    if (a.origin() == core_->id().bytes()) mine = a.origin_seq();
  }
  if (!pending_.has_type()) pending_.Reset(type);
  while (!pending_.empty() && pending_.front() <= mine) {
    // (A recovered edit, acknowledged before, is not told of twice.)
    if (pending_.front() > acked_through_) {
      if (AckLocked(pending_.front(), env.seq())) {
        // Held: kept, so that a new root that lacks it after all gets it again.
        acked_.emplace_back(pending_.front(), pending_.payload(0));
        if (acked_.size() > kAckedTail) acked_.pop_front();
      }
    }
    acked_through_ = std::max(acked_through_, pending_.front());
    pending_.PopFront();
  }
  // Acknowledged edits the snapshot lacks: a new root that never had the old one's newest
  // fragments (docs/failover.md). They are pending again, in front of the others, and go with
  // them; if the root has them after all (sequenced after the snapshot), their echo follows.
  size_t recovered = 0;
  while (!acked_.empty() && acked_.back().first > mine) {
    if (type == type_ && (pending_.empty() || acked_.back().first < pending_.front())) {
      pending_.PushFront(acked_.back().first, std::move(acked_.back().second));
      ++recovered;
    }
    acked_.pop_back();
  }
  // Held acknowledgements of edits the new root lacks: never told, so their next echo tells.
  // (Held ones are the newest acknowledged, as are the ones the root lacks.)
  while (!held_acks_.empty() && held_acks_.back().first > mine) {
    acked_through_ = std::min(acked_through_, held_acks_.back().first - 1);
    held_acks_.pop_back();
  }
  if (recovered > 0) {
    core_->metrics().edits_recovered->Add(recovered);
    core_->logger().Warn("ZINC-RECOVERED", "doc=" + name_ + " " + std::to_string(recovered) +
                                               " acknowledged edits the root lacks (a tail " +
                                               "lost with the old root) are sent again");
  }
  // The pending edits, replayed on the snapshot. Those of types the host transforms (text) were
  // made on another version of the text, so one may no longer fit (a position past the end):
  // it is fitted (clamped) rather than dropped. (Rebasing them properly needs the fragments
  // between their base and the snapshot, which a snapshot does not have: the host's memory
  // and log had them no more.) The application is told (DocumentChange::rebased).
  // Every one goes again below (Replay starts a new chain).
  const size_t rebased = type->host_transforms() ? pending_.size() : 0;
  if (rebased > 0) {
    core_->metrics().edits_rebased->Add(rebased);
    core_->logger().Warn("ZINC-REBASED", "doc=" + name_ + " " + std::to_string(rebased) +
                                             " pending edits replayed onto a snapshot at seq " +
                                             std::to_string(env.seq()) +
                                             " without the history since their base");
  }
  const size_t refused = pending_.Replay([&](std::string* payload) {
    if (doc->Apply(*payload).ok()) return true;
    Result<std::string> fitted = doc->Fit(*payload);
    if (!fitted.ok() || !doc->Apply(*fitted).ok()) return false;
    *payload = std::move(fitted).value();
    core_->metrics().edits_fitted->Add();
    return true;
  });
  if (refused > 0) core_->metrics().edits_refused->Add(refused);
  if (serving_) server_.Restore(snap, *type, !pending_.empty());
  doc_ = std::move(doc);
  ReleaseHeldAcksLocked();
  type_ = type;
  applied_seq_ = env.seq();
  epoch_ = env.epoch();
  history_.Clear();
  state_ = State::kSynced;
  if (PersistsLocked()) StoreSnapshotLocked(env.seq(), snap.SerializeAsString());
  resend_on_catchup_ = false;  // Every pending edit goes again below.
  catchup_sent_micros_ = 0;
  catchup_to_ = 0;
  pending_progress_micros_ = core_->clock().NowMicros();
  core_->metrics().snapshots_applied->Add();
  // The pending edits now stand on the snapshot: send them all again from its seq (the host
  // drops the ones it already has), which also sends any held ones.
  if (!pending_.empty()) SendPendingLocked(0, pending_.size());
  DocumentChange c;
  c.seq = applied_seq_;
  c.reset = true;
  c.rebased = rebased - std::min(rebased, refused);
  if (staged_.wants_changes()) c.payload = doc_->Snapshot();
  changes->push_back(std::move(c));
  cv_.notify_all();
  DrainBufferedLocked(changes);
  if (server_.has_parked()) ServeParkedLocked(0);
}

void Replica::OnSnapshotReply(const wire::Envelope& env) {
  {
    MutexLock l(&mu_);
    if (state_ == State::kFailed || snapshot_sent_micros_ == 0) return;  // Not asked for.
    RestoreLocked(env, env.snapshot_reply(), staged_.changes());
  }
  Notify();
}

void Replica::OnDurable(const wire::Envelope& env) {
  {
    MutexLock l(&mu_);
    if (!acks_after_standby_ || env.seq() <= durable_seq_) return;
    durable_seq_ = env.seq();
    ReleaseHeldAcksLocked();
  }
  Notify();
}

bool Replica::AckLocked(uint64_t origin_seq, uint64_t seq) {
  if (acks_after_standby_ && (seq > durable_seq_ || !held_acks_.empty())) {
    held_acks_.emplace_back(origin_seq, seq);
    return true;
  }
  staged_.AddAck(origin_seq, seq);
  return false;
}

void Replica::ReleaseHeldAcksLocked() {
  bool released = false;
  while (!held_acks_.empty() &&
         (!acks_after_standby_ || held_acks_.front().second <= durable_seq_)) {
    staged_.AddAck(held_acks_.front().first, held_acks_.front().second);
    held_acks_.pop_front();
    released = true;
  }
  if (released) {
    cv_.notify_all();  // WaitAcknowledged
  }
}

bool Replica::PersistsLocked() const { return serving_ && core_->journal() != nullptr; }

void Replica::StoreSnapshotLocked(uint64_t seq, std::string snapshot) {
  // Anew: after a resync (a new root, perhaps behind the records kept) the log starts over.
  store_batch_.Clear();
  store_batch_.Delete(name_);
  store_batch_.Create(name_, std::string(type_->name()));
  store_batch_.PutSnapshot(name_, seq, std::move(snapshot), seq + 1);
  store_created_ = true;
  store_seq_ = seq;
  store_changed_micros_ = core_->clock().NowMicros();
  store_snapshot_seq_ = seq;
  store_bytes_since_snapshot_ = 0;
}

void Replica::StoreAppliedLocked(const wire::Envelope& env) {
  if (!store_created_ || store_failed_->load(std::memory_order_relaxed) ||
      env.seq() != store_seq_ + 1) {
    // Not started from a snapshot yet (a replica seeded at a takeover), a failed commit, or a
    // hole: from a snapshot of the state as sequenced now.
    StoreSnapshotLocked(env.seq(), server_.Snapshot(SourceLocked()).SerializeAsString());
    store_failed_->store(false, std::memory_order_relaxed);
    core_->journal()->Reloaded(name_);
    return;
  }
  std::string record = EncodeEnvelope(env);
  store_bytes_since_snapshot_ += record.size();
  store_batch_.Append(name_, env.seq(), std::move(record));
  store_seq_ = env.seq();
  store_changed_micros_ = core_->clock().NowMicros();
  const EndpointOptions& o = core_->options();
  if (SnapshotDue(o, env.seq(), store_snapshot_seq_, store_bytes_since_snapshot_)) {
    store_batch_.PutSnapshot(name_, env.seq(), server_.Snapshot(SourceLocked()).SerializeAsString(),
                             RetentionKeepFrom(o, env.seq()));
    store_snapshot_seq_ = env.seq();
    store_bytes_since_snapshot_ = 0;
  }
}

OutboundFrame Replica::DurableReportLocked() {
  reported_micros_ = core_->clock().NowMicros();
  // Sent once what it covers is committed: the root's word for AckAfter::kStandby.
  wire::Envelope e = core_->NewEnvelope(name_);
  e.mutable_durable();
  e.set_seq(store_seq_);
  reported_seq_ = store_seq_;
  return OutboundFrame{Route::kUpstream, name_, EncodeEnvelope(e)};
}

void Replica::ReportDurableLocked() {
  // A relay that became the standby after its last commit reports what its store has, behind
  // any commit still on its way; and, for a document edited in the last 10 s, once a second
  // again (a report lost with a parent or a failed commit must not hold acknowledgements).
  if (!PersistsLocked() || !store_created_ || !store_batch_.empty() || !core_->is_standby()) {
    return;
  }
  const int64_t now = core_->clock().NowMicros();
  const bool again = acks_after_standby_ && now - store_changed_micros_ < 10'000'000 &&
                     now - reported_micros_ >= 1'000'000;
  if (reported_seq_ == store_seq_ && !again) return;
  std::vector<OutboundFrame> frames;
  frames.push_back(DurableReportLocked());
  core_->journal()->Submit(name_, WriteBatch(), std::move(frames), nullptr);
}

void Replica::FlushStoreLocked() {
  if (serving_ && !core_->journal() && acks_after_standby_ && core_->is_standby() &&
      reported_seq_ < applied_seq_) {
    // A standby without a data directory under a root that waits for it: it can only say what
    // it holds in memory (docs/durability.md), which is still better than a root stuck waiting.
    if (reported_seq_ == 0) {
      core_->logger().Warn("ZINC-STORE", "doc=" + name_ +
                                             " the root acknowledges after its standby, and this "
                                             "standby has no data directory: it confirms what it "
                                             "holds in memory");
    }
    store_seq_ = applied_seq_;
    core_->Send(DurableReportLocked());
    return;
  }
  if (store_batch_.empty() || !core_->journal()) return;
  std::vector<OutboundFrame> frames;
  if (core_->is_standby()) frames.push_back(DurableReportLocked());
  WriteBatch batch;
  std::swap(batch, store_batch_);
  Logger* logger = &core_->logger();
  core_->journal()->Submit(
      name_, std::move(batch), std::move(frames),
      [failed = store_failed_, logger, name = name_](const Status& s) {
        // On the journal's thread (the core, and so the logger, outlive it).
        failed->store(true, std::memory_order_relaxed);
        logger->Warn("ZINC-STORE", "doc=" + name + " replica commit failed: " + s.ToString());
      });
}

void Replica::OnCatchupReply(const wire::Envelope& env) {
  {
    MutexLock l(&mu_);
    if (state_ != State::kSynced) return;
    const wire::CatchupReply& reply = env.catchup_reply();
    catchup_sent_micros_ = 0;
    // The reply's seq is the host's head: there is nothing to catch up beyond it.
    catchup_to_ = std::min(catchup_to_, env.seq());
    if (reply.has_snapshot()) {
      snapshot_sent_micros_ = core_->clock().NowMicros();
      RestoreLocked(env, reply.snapshot(), staged_.changes());
    } else {
      for (const wire::Envelope& f : reply.fragments()) HandleSequencedLocked(f, staged_.changes());
      if (server_.has_parked()) ServeParkedLocked(0);
      if (resend_on_catchup_ && state_ == State::kSynced && applied_seq_ >= env.seq()) {
        resend_on_catchup_ = false;
        if (!pending_.empty()) {
          core_->metrics().edits_resent->Add(pending_.size());
          SendPendingLocked(0, pending_.size());
        }
      }
      // A reply capped short of the gap: ask for the rest now.
      if (state_ == State::kSynced && !buffered_.empty() &&
          buffered_.begin()->first > applied_seq_ + 1) {
        RequestCatchupLocked(applied_seq_ + 1, buffered_.begin()->first - 1);
      }
    }
  }
  Notify();
}

void Replica::OnHeartbeat(const wire::Envelope& env) {
  MutexLock l(&mu_);
  const uint64_t head = env.heartbeat().head_seq();
  if (state_ == State::kSynced && head > applied_seq_ && buffered_.empty()) {
    RequestCatchupLocked(applied_seq_ + 1, head);
  }
}

void Replica::OnNack(const wire::Envelope& env) {
  MutexLock l(&mu_);
  const wire::Nack& nack = env.nack();
  core_->counters()
      .Get(std::string("zinc_nacks_received_total{reason=\"") +
           wire::NackReason_Name(nack.reason()) + "\"}")
      ->Add();
  switch (nack.reason()) {
    case wire::NACK_OUT_OF_ORDER:
      // Some fragments were lost on the way (a reconnect): send again from the one expected.
      // Only once per retry interval: every fragment after the hole draws a nack.
      // Resent only from the oldest (a chain restarts from applied_seq_); if older ones are
      // still unacknowledged, their echo or the stall timer comes first.
      // The host lacks the edits from expected on (lost in a relay that died): they go again
      // once the echoes of the older ones are in, and at most once per retry interval (every
      // later edit draws a nack too).
      if (!pending_.empty() && nack.expected_origin_seq() >= pending_.front()) {
        out_of_order_expected_ = std::max(out_of_order_expected_, nack.expected_origin_seq());
        ResendLostLocked(core_->clock().NowMicros());
      }
      return;
    case wire::NACK_VERSION_MISMATCH:
      FailLocked(Status(StatusCode::kVersionMismatch, nack.text()));
      return;
    case wire::NACK_STORE_FAILED:
    case wire::NACK_RATE_LIMITED:
      // The host's disk refused it for now (full), or this author sent faster than the host
      // allows: the edit stays pending and goes again on the stall timer's backoff.
      if (nack.refused_origin_seq() != 0) return;
      break;
    case wire::NACK_STALE_BASE:
      // The edit's base is older than the host keeps (memory and log): the host did not take
      // its origin_seq. It stays pending; once caught up (the remote fragments since its base
      // passed over it here) it goes again on the new base, or on a snapshot if the host has
      // compacted past us (fitted: RestoreLocked). Asked once per retry interval.
      if (nack.refused_origin_seq() == 0 || pending_.empty() ||
          nack.refused_origin_seq() < pending_.front()) {
        return;
      }
      if (state_ == State::kSynced) {
        resend_on_catchup_ = true;
        RequestCatchupLocked(applied_seq_ + 1, UINT64_MAX);
      }
      return;
    case wire::NACK_UNSUPPORTED:
      // Sent to a member that does not sequence (a parent that is no longer the root, or not
      // yet): the edit itself is fine, so it stays pending and goes again to the root.
      if (nack.refused_origin_seq() != 0) return;
      break;
    default:
      break;
  }
  if (nack.refused_origin_seq() == 0) {
    // A refused request (snapshot of an unknown type, ...), not an edit.
    if (state_ == State::kOpening) {
      FailLocked(Status(nack.reason() == wire::NACK_TYPE_MISMATCH ? StatusCode::kTypeMismatch
                        : nack.reason() == wire::NACK_FORBIDDEN   ? StatusCode::kPermissionDenied
                        : nack.reason() == wire::NACK_LIMIT       ? StatusCode::kResourceExhausted
                                                                  : StatusCode::kUnavailable,
                        nack.text()));
    }
    return;
  }
  core_->logger().Warn("ZINC-EDIT-REFUSED",
                       "doc=" + name_ + " origin_seq=" + std::to_string(nack.refused_origin_seq()) +
                           " " + nack.text());
  if (pending_.Erase(nack.refused_origin_seq())) {
    core_->metrics().edits_refused->Add();
    cv_.notify_all();
    // doc_ still holds the refused edit: rebuild it from the host's state.
    ResyncLocked("edit refused: " + nack.text());
  }
}

void Replica::ResendLostLocked(int64_t now_micros) {
  if (pending_.empty() || pending_.front() > out_of_order_expected_) {
    out_of_order_expected_ = 0;  // It came after all.
    return;
  }
  if (pending_.front() < out_of_order_expected_) return;  // Older echoes still to come.
  // The echo path calls this with the progress it just made: no wait after an echo.
  const int64_t retry = std::chrono::microseconds(core_->options().retry).count();
  if (now_micros != pending_progress_micros_ && now_micros - pending_progress_micros_ < retry) {
    return;  // The tick tries again.
  }
  out_of_order_expected_ = 0;
  pending_progress_micros_ = now_micros;
  core_->metrics().edits_resent->Add(pending_.size());
  SendPendingLocked(0, pending_.size());
}

void Replica::SendPendingLocked(size_t from_index, size_t count) {
  if (from_index == 0) pending_.StartChain(applied_seq_);  // A new chain, from applied_seq_.
  for (size_t i = from_index; i < pending_.size() && i < from_index + count; ++i) {
    pending_.MarkSent(i + 1);
    SendPendingEditLocked(i, pending_.chain_base());
  }
  pending_progress_micros_ = core_->clock().NowMicros();
}

void Replica::ResendOldestLocked() {
  // The oldest pending edit stands on applied_seq_ (remote fragments since it was sent have
  // been passed over it here): if the original was lost, the copy starts a chain from there.
  SendPendingEditLocked(0, applied_seq_);
  pending_.MarkSent(1);
}

void Replica::SendPendingEditLocked(size_t i, uint64_t base_seq) {
  FragmentFields f;
  f.origin = core_->id().bytes();
  f.origin_seq = pending_.origin_seq(i);
  f.doc = name_;
  f.base_seq = base_seq;
  f.epoch = core_->epoch();
  f.type = type_->name();
  f.payload = pending_.payload(i);
  core_->Send(OutboundFrame{Route::kUpstream, name_, EncodeFragment(f), /*batchable=*/true});
}

void Replica::OnTick(int64_t now_micros) {
  MutexLock l(&mu_);
  const int64_t retry = std::chrono::microseconds(core_->options().retry).count();
  if (state_ == State::kFailed) return;
  if (server_.has_parked()) ServeParkedLocked(now_micros);
  // A large reply on its way in chunks: what it answers is not asked again meanwhile.
  const int64_t chunk_micros = transfer_micros_.load(std::memory_order_relaxed);
  const bool transferring = chunk_micros != 0 && now_micros - chunk_micros < retry;
  if ((state_ == State::kOpening || state_ == State::kResyncing) && !transferring &&
      now_micros - snapshot_sent_micros_ >= retry) {
    RequestSnapshotLocked();
  }
  if (state_ == State::kSynced && catchup_sent_micros_ != 0 && !transferring &&
      now_micros - catchup_sent_micros_ >= retry) {
    catchup_sent_micros_ = 0;
    if (!buffered_.empty() && buffered_.begin()->first > applied_seq_ + 1) {
      RequestCatchupLocked(applied_seq_ + 1, buffered_.begin()->first - 1);
    } else if (catchup_to_ > applied_seq_) {
      RequestCatchupLocked(applied_seq_ + 1, catchup_to_);
    }
  }
  if (out_of_order_expected_ != 0 && state_ == State::kSynced) ResendLostLocked(now_micros);
  ReportDurableLocked();
  // Backing off (x2 per stall in a row, up to x8) while nothing is acknowledged: a root that is
  // merely overloaded must not be sent every pending edit again and again.
  if (!pending_.empty() && type_ &&
      now_micros - pending_progress_micros_ >= (4 * retry) << std::min(stalls_, 3)) {
    // No acknowledgement for a while: pending edits may have been lost (in a relay that died),
    // or their echoes were (so ask for everything after applied_seq_: the host caps the range
    // at its head). Or the host has refused one and the nack was lost: the host answers a copy
    // of a refused edit with the nack again.
    //
    // For types whose pending edits never change (map, canvas, log) a second stall in a row
    // rebuilds the view from a snapshot, whose dedup table says which of our edits the host
    // has. Not for types the host transforms (text): their pending edits are positions in a
    // history a snapshot does not have, so replaying them on a newer state would put them
    // elsewhere than the host does. They are only ever sent again, after a catch-up. (An
    // original more than 4 x retry late that the host sequences between the copies would be
    // passed over the others' edits out of its context: docs/failover.md.)
    const bool transforms = type_->host_transforms();
    if (++stalls_ == 2 && state_ == State::kSynced && !transforms) {
      pending_progress_micros_ = now_micros;
      ResyncLocked("edits unacknowledged for " + std::to_string(12 * retry / 1000) + " ms");
      return;
    }
    pending_progress_micros_ = now_micros;  // Again after 4 x retry, not per tick.
    if (state_ != State::kSynced || transforms) {
      core_->metrics().edits_resent->Add();
      // Text: only the oldest, leaving the chain as it is: most likely the original is merely
      // slow and the host drops the copy; copies of the whole chain could interleave with
      // slow originals and land out of their context. Those lost on the way come back by the
      // host's out-of-order nack (OnNack, out_of_order_expected_).
      ResendOldestLocked();
      if (state_ == State::kSynced) {
        catchup_sent_micros_ = 0;
        RequestCatchupLocked(applied_seq_ + 1, UINT64_MAX);
      }
      return;
    }
    // Catch up first: the echoes of whatever the root has come with it. Then every edit still
    // pending goes again (as after a lost parent): those lost on the way (in a relay that died,
    // say) go with the first, not one per stall. A copy of an edit that was only slow is
    // dropped by the root.
    catchup_sent_micros_ = 0;
    RequestCatchupLocked(applied_seq_ + 1, UINT64_MAX);
    resend_on_catchup_ = true;
  }
}

}  // namespace internal
}  // namespace zinc
