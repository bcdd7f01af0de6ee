#include "endpoints/hosted_document.h"

#include <algorithm>

#include "endpoints/stored.h"

namespace zinc {
namespace internal {

namespace {
// A document publishes its head on its topic every tick for this long after its last fragment,
// and once every this long after that, so that a subscriber that lost the newest fragments at
// its high-water mark learns of them soon, and at the latest within a second.
constexpr int64_t kHeadNoticeMicros = 1000000;
// ... and stops this long after it (a subscriber that lost the tail has heard the head by then;
// one that subscribes later gets a snapshot): an idle document publishes nothing.
constexpr int64_t kHeadNoticeIdleMicros = 10 * kHeadNoticeMicros;
}  // namespace

HostedDocument::HostedDocument(EndpointCore* core, std::string name, const DocumentType* type)
    : core_(core),
      name_(std::move(name)),
      type_(type),
      sequenced_(core->metrics().fragments_sequenced),
      duplicates_(core->metrics().fragments_duplicate),
      journal_(core->journal()),
      state_(type->Create()),
      history_(core->options().history_fragments, core->options().history_bytes),
      presence_rate_(core->options().max_presence_bytes_per_second,
                     core->options().max_presence_bytes_per_second, /*max_keys=*/10000),
      bridge_budget_(kBridgeBudget * static_cast<double>(BridgeCap()),
                     kBridgeBudget * static_cast<double>(BridgeCap()), /*max_keys=*/10000) {}

void HostedDocument::RecordLocked(uint64_t seq, const std::string& bytes) {
  if (!journal_) return;
  if (!stored_) {
    records_.Create(name_, std::string(type_->name()));
    stored_ = true;
  }
  records_.Append(name_, seq, bytes);
  bytes_since_snapshot_ += bytes.size();
  const EndpointOptions& o = core_->options();
  if (SnapshotDue(o, seq, snapshot_seq_, bytes_since_snapshot_)) {
    wire::SnapshotReply snap = SnapshotLocked();
    state_bytes_ = snap.state().size();
    records_.PutSnapshot(name_, seq, snap.SerializeAsString(), RetentionKeepFrom(o, seq));
    snapshot_seq_ = seq;
    bytes_since_snapshot_ = 0;
    core_->metrics().snapshots_written->Add();
  }
}

Status HostedDocument::Restore(const StoredDocument& stored) {
  MutexLock l(&mu_);
  ZINC_RETURN_IF_ERROR(RestoreLocked(stored));
  TouchLocked();
  return Status::Ok();
}

Status HostedDocument::RestoreLocked(const StoredDocument& stored) {
  const std::string where =
      "store " + (journal_ ? journal_->store()->Describe() : "") + ": document '" + name_ + "'";
  History history(core_->options().history_fragments, core_->options().history_bytes);
  Replayed r;
  ZINC_RETURN_IF_ERROR(ReplayStored(
      *type_, stored, core_->options().limits, where, &r,
      [&history](wire::Envelope env, size_t bytes) { history.Append(std::move(env), bytes); }));
  state_ = std::move(r.state);
  ForgetEncodedStateLocked();
  head_ = r.head;
  applied_ = std::move(r.applied);
  history_.Assign(std::move(history));
  bridges_.clear();
  last_refused_.clear();
  next_origin_seq_ = applied_[core_->id()] + 1;
  adopting_ = false;
  records_.Clear();
  stored_ = true;
  snapshot_seq_ = stored.snapshot_seq;
  bytes_since_snapshot_ = 0;
  for (const auto& [seq, record] : stored.log) bytes_since_snapshot_ += record.size();
  state_bytes_ = state_->Snapshot().size();
  // Restarted: what the root's disk has counts as acknowledged (the standby confirms the rest).
  durable_seq_ = head_;
  return Status::Ok();
}

void HostedDocument::EmitLocked(std::vector<OutboundFrame> out) {
  if (!journal_) {
    if (!out.empty()) core_->Send(std::move(out));
    return;
  }
  // (Weak: the document may be unloaded or deleted before a late failure is reported; it is
  // then loaded again from what is on disk.)
  journal_->Submit(name_, std::move(records_), std::move(out),
                   [core = core_, name = name_, w = weak_from_this()](const Status& why) {
                     core->Post(name, [w, why] {
                       if (std::shared_ptr<HostedDocument> self = w.lock()) {
                         self->OnStoreFailed(why);
                       }
                     });
                   });
  records_.Clear();
}

void HostedDocument::StageResetLocked() {
  if (!staged_.wants_changes()) return;
  DocumentChange reset;
  reset.seq = head_;
  reset.reset = true;
  reset.payload = state_->Snapshot();
  staged_.changes()->push_back(std::move(reset));
}

void HostedDocument::EmitLocked(OutboundFrame frame) {
  std::vector<OutboundFrame> out;
  out.push_back(std::move(frame));
  EmitLocked(std::move(out));
}

void HostedDocument::OnStoreFailed(const Status& why) {
  {
    MutexLock l(&mu_);
    Result<StoredDocument> stored = journal_->store()->Load(name_);
    Status s = stored.ok() ? RestoreLocked(*stored) : stored.status();
    if (stored.status().code() == StatusCode::kNotFound) {
      // Never committed at all: empty, and to be created with its next record.
      s = RestoreLocked(StoredDocument{});
      stored_ = false;
    }
    if (!s.ok()) {
      core_->logger().Warn("ZINC-STORE", "doc=" + name_ + " cannot reload: " + s.ToString());
    }
    // The store is tried again after four retry intervals (the authors resend meanwhile).
    refusing_until_micros_ =
        core_->clock().NowMicros() + 4 * std::chrono::microseconds(core_->options().retry).count();
    store_error_ = why.message();
    StageResetLocked();
    journal_->Reloaded(name_);
  }
  Notify();
}

Status HostedDocument::Adopt(const std::string& state, uint64_t seq,
                             const std::unordered_map<std::string, uint64_t>& applied,
                             History history) {
  std::unique_ptr<Document> doc = type_->Create();
  ZINC_RETURN_IF_ERROR(doc->Restore(state));
  MutexLock l(&mu_);
  state_ = std::move(doc);
  ForgetEncodedStateLocked();
  head_ = seq;
  history_.Assign(std::move(history));
  applied_.clear();
  for (const auto& [origin, origin_seq] : applied) {
    EndpointId id;
    if (EndpointId::FromBytes(origin, &id)) applied_[id] = origin_seq;
  }
  next_origin_seq_ = applied_[core_->id()] + 1;
  adopting_ = true;
  durable_seq_ = seq;  // A standby taking over: it had them on its disk.
  if (journal_) {
    // Durable from here: the state adopted is the first snapshot this store has of it.
    records_.Clear();
    records_.Create(name_, std::string(type_->name()));
    stored_ = true;
    records_.PutSnapshot(name_, seq, SnapshotLocked().SerializeAsString(), seq + 1);
    snapshot_seq_ = seq;
    bytes_since_snapshot_ = 0;
  }
  return Status::Ok();
}

void HostedDocument::ReleaseAuthor(const EndpointId& origin) {
  MutexLock l(&mu_);
  bridges_.erase(origin);
  last_refused_.erase(origin);
}

size_t HostedDocument::AppendTail(const wire::TailOffer& offer) {
  std::vector<OutboundFrame> out;
  size_t taken = 0;
  {
    MutexLock l(&mu_);
    // Once this root has sequenced anything, its seqs and the old root's part ways.
    if (!adopting_) return 0;
    for (const wire::Envelope& f : offer.fragments()) {
      if (f.seq() <= head_) continue;
      if (f.seq() != head_ + 1 || f.fragment().type() != type_->name()) break;
      if (!state_->Apply(f.fragment().payload()).ok()) break;
      ForgetEncodedStateLocked();
      wire::Envelope env = f;
      env.set_epoch(core_->epoch());
      head_ = env.seq();
      EndpointId origin;
      if (EndpointId::FromBytes(env.origin(), &origin)) {
        uint64_t& last = applied_[origin];
        last = std::max(last, env.origin_seq());
        if (origin == core_->id()) next_origin_seq_ = std::max(next_origin_seq_, last + 1);
      }
      std::string bytes = EncodeEnvelope(env);
      RecordLocked(head_, bytes);
      history_.Append(std::move(env), bytes.size());
      out.push_back(OutboundFrame{Route::kPublish, name_, std::move(bytes), /*batchable=*/true});
      ++taken;
    }
    // Chains began before these fragments: authors start new ones.
    if (taken > 0) bridges_.clear();
    if (!out.empty()) EmitLocked(std::move(out));
  }
  return taken;
}

Status HostedDocument::SequenceLocked(wire::Envelope env, const EndpointId& origin,
                                      DocumentChange* change, wire::NackReason* reason,
                                      uint64_t* expected, std::vector<OutboundFrame>* out) {
  const uint64_t origin_seq = env.origin_seq();
  auto known = applied_.find(origin);
  if (known == applied_.end()) {
    // A new author's first fragment is its origin_seq 1: anything else is refused without a
    // trace (a table entry per refused stranger would let anyone grow it).
    if (origin_seq != 1) {
      *reason = wire::NACK_OUT_OF_ORDER;
      *expected = 1;
      return Status(StatusCode::kOutOfRange,
                    "origin_seq " + std::to_string(origin_seq) + " from a new author; expected 1");
    }
    if (applied_.size() >= core_->options().max_authors_per_document) {
      *reason = wire::NACK_LIMIT;
      core_->counters().Get("zinc_refused_total{reason=\"authors\"}")->Add();
      return Status(StatusCode::kResourceExhausted,
                    "document '" + name_ + "' has " + std::to_string(applied_.size()) +
                        " authors, the most it keeps (max_authors_per_document)");
    }
    known = applied_.emplace(origin, 0).first;
  }
  uint64_t& last = known->second;
  if (origin_seq <= last) {
    // A resubmission of something already sequenced: its echo was published.
    duplicates_->Add();
    *reason = wire::NACK_UNSPECIFIED;
    return Status(StatusCode::kOk, "duplicate");
  }
  if (origin_seq != last + 1) {
    *reason = wire::NACK_OUT_OF_ORDER;
    *expected = last + 1;
    return Status(StatusCode::kOutOfRange, "origin_seq " + std::to_string(origin_seq) +
                                               " skips ahead; expected " +
                                               std::to_string(last + 1));
  }
  // From here on the fragment consumes its origin_seq, accepted or refused, so that the
  // origin's next fragment is in order.
  last = origin_seq;
  if (env.fragment().type() != type_->name()) {
    *reason = wire::NACK_TYPE_MISMATCH;
    return Status(StatusCode::kTypeMismatch, "document '" + name_ + "' is of type '" +
                                                 std::string(type_->name()) + "', not '" +
                                                 env.fragment().type() + "'");
  }
  if (env.base_seq() > head_) {
    *reason = wire::NACK_REJECTED;
    return Status(StatusCode::kOutOfRange, "base_seq is ahead of the head");
  }
  if (origin != core_->id() && type_->IsHousekeeping(env.fragment().payload())) {
    *reason = wire::NACK_REJECTED;
    return Status(StatusCode::kPermissionDenied,
                  "housekeeping fragments are sequenced by the root alone");
  }
  if (env.base_seq() < state_->min_base_seq()) {
    // Made before state the document has since let go of (the canvas's collected tombstones):
    // like a base older than the history kept, the author catches up and sends it again, so it
    // does not consume its origin_seq.
    if (origin != core_->id()) last = origin_seq - 1;
    *reason = wire::NACK_STALE_BASE;
    return Status(StatusCode::kOutOfRange,
                  "base_seq " + std::to_string(env.base_seq()) + " is before " +
                      std::to_string(state_->min_base_seq()) +
                      ", what the document collected since was made against");
  }
  // Transformed in place: the envelope is published as it was received, but for seq and epoch.
  std::string& payload = *env.mutable_fragment()->mutable_payload();
  Bridge* bridge = nullptr;
  if (type_->host_transforms()) {
    Status s = TransformLocked(origin, env.base_seq(), &payload, &bridge, reason);
    if ((*reason == wire::NACK_STALE_BASE || *reason == wire::NACK_RATE_LIMITED) &&
        origin != core_->id()) {
      // Neither the memory nor the log reaches back to its base: the author keeps the edit,
      // catches up (or resyncs) and sends it again on a newer base, so it does not consume its
      // origin_seq (the author's next fragments are out of order until then). (This root's
      // own pending edits, sequenced at a takeover, are not sent again: theirs is consumed.)
      last = origin_seq - 1;
    }
    if (!s.ok()) return s;
  }
  // The size limit: measured exactly only when the estimate nears it, before and after the
  // apply, so that an edit that shrinks a full document still passes.
  const size_t max_bytes = core_->options().max_document_bytes;
  const bool near_limit = max_bytes != 0 && state_bytes_ + payload.size() > max_bytes;
  std::string before;
  bool too_large = false;
  if (near_limit) {
    before = state_->Snapshot();
    state_bytes_ = before.size();
  }
  Status applied = state_->Apply(payload);
  ForgetEncodedStateLocked();
  if (applied.ok() && near_limit) {
    const size_t after = state_->Snapshot().size();
    if (after > max_bytes && after > state_bytes_) {
      // Back to the state before (Restore of its own snapshot cannot fail).
      Status back = state_->Restore(before);
      (void)back;
      too_large = true;
      applied = Status(StatusCode::kResourceExhausted,
                       "document '" + name_ + "' would grow to " + std::to_string(after) +
                           " bytes, over the limit of " + std::to_string(max_bytes));
    } else {
      state_bytes_ = after;
    }
  } else if (applied.ok()) {
    state_bytes_ += payload.size();
  }
  if (!applied.ok()) {
    // The bridge was passed over a fragment that never happened: forget it, so that the
    // author's next fragment starts a new chain. (After the nack the author resyncs and sends
    // its other pending edits again on the same base, since a refusal does not move the head:
    // ending the chain for good would refuse them forever.)
    if (bridge) bridge->live = false;
    *reason = too_large ? wire::NACK_TOO_LARGE : wire::NACK_REJECTED;
    return applied;
  }
  if (type_->host_transforms()) ExtendBridgesLocked(origin, payload);
  env.set_seq(++head_);
  env.set_epoch(core_->epoch());
  adopting_ = false;
  change->seq = head_;
  change->local = origin == core_->id();
  change->origin = origin;
  // A copy: payload lives in env, which the history keeps.
  if (staged_.wants_changes()) change->payload = payload;
  std::string bytes = EncodeEnvelope(env);
  RecordLocked(head_, bytes);
  history_.Append(std::move(env), bytes.size());
  out->push_back(OutboundFrame{Route::kPublish, name_, std::move(bytes), /*batchable=*/true});
  last_publish_micros_ = core_->clock().NowMicros();
  if (!ticking_) {
    ticking_ = true;
    core_->SetTicking(name_, true);
  }
  sequenced_->Add();
  return Status::Ok();
}

Status HostedDocument::TransformLocked(const EndpointId& origin, uint64_t base_seq,
                                       std::string* payload, Bridge** bridge_out,
                                       wire::NackReason* reason) {
  Bridge& bridge = bridges_[origin];
  if (!bridge.live || bridge.base != base_seq) {
    // A new chain: the author had everything up to base_seq and none of its own edits since
    // are in flight, so it must pass over exactly the others' fragments after base_seq.
    // Building it costs a transform per fragment since base_seq: each author may make the root
    // do at most kBridgeBudget bridges' worth a second (one that alternates its base_seq on
    // purpose would otherwise cost the root a full bridge per 60-byte fragment).
    // (A bridge longer than BridgeCap is refused anyway, as NACK_STALE_BASE.)
    const double cost =
        static_cast<double>(std::min<uint64_t>(head_ - std::min(base_seq, head_), BridgeCap()));
    if (origin != core_->id() &&
        !bridge_budget_.Take(std::string(origin.bytes()), cost, core_->clock().NowMicros())) {
      core_->counters().Get("zinc_refused_total{reason=\"bridges\"}")->Add();
      *reason = wire::NACK_RATE_LIMITED;
      return Status(StatusCode::kResourceExhausted,
                    "too many chains from old bases a second; sent again later");
    }
    if (!BuildBridgeLocked(origin, base_seq, &bridge)) {
      // No chain on a bridge that was not built: the next fragment tries again.
      bridge.live = false;
      bridge.ops.reset();
      *reason = wire::NACK_STALE_BASE;
      return Status(StatusCode::kOutOfRange, "base_seq is older than the history kept");
    }
  } else if (bridge.overflowed || !bridge.ops) {
    *reason = wire::NACK_STALE_BASE;
    return Status(StatusCode::kOutOfRange, "too much happened while this edit was in flight");
  }
  bridge.live = true;
  *bridge_out = &bridge;
  // The fragment passes over each of them, and they over it, so that the bridge stays in the
  // context of the author's next fragment of this chain.
  Result<std::string> transformed = bridge.ops->TransformLater(std::move(*payload));
  if (!transformed.ok()) {
    bridge.live = false;
    *reason = wire::NACK_REJECTED;
    return transformed.status();
  }
  *payload = std::move(transformed).value();
  return Status::Ok();
}

size_t HostedDocument::BridgeCap() const {
  // Room for a burst: after a failover every author sends all its pending edits at once, each
  // as a chain that the others' thousands pass (a chain is refused past the cap). The cap
  // bounds what one fragment costs the root (a transform per fragment of its bridge).
  // (At least 4096: with a small history_fragments the log supplies the older fragments.)
  return std::max<size_t>(4096, core_->options().history_fragments / 4);
}

bool HostedDocument::BuildBridgeLocked(const EndpointId& origin, uint64_t base_seq,
                                       Bridge* bridge) {
  const uint64_t first = history_.First(head_);
  const size_t cap = BridgeCap();
  // Further behind than a bridge may reach: the author catches up (from the log, while its
  // retention covers the base) and rebases its edits itself, then sends them on a newer base
  // (Replica::OnNack, NACK_STALE_BASE), so that the root's work per fragment stays bounded.
  if (head_ - base_seq > cap) return false;
  bridge->base = base_seq;
  bridge->overflowed = false;
  bridge->ops = type_->NewPendingEdits();
  auto pass = [&](const wire::Envelope& prior) {
    if (prior.origin() != origin.bytes()) bridge->ops->Push(prior.fragment().payload());
  };
  if (base_seq + 1 < first) {
    // Older than the memory holds (a small history_fragments, or big fragments past
    // history_bytes): the rest from the log.
    if (!journal_ || !stored_) return false;
    uint64_t next = base_seq + 1;
    wire::Envelope prior;
    Status s = journal_->store()->ReadLog(
        name_, base_seq + 1, first - 1, [&](uint64_t seq, std::string_view record) {
          if (seq != next) return false;  // A hole: compacted meanwhile.
          if (!prior.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
            return false;
          }
          pass(prior);
          ++next;
          return true;
        });
    if (!s.ok() || next != first) {
      if (!s.ok()) core_->logger().Warn("ZINC-STORE", "doc=" + name_ + " bridge: " + s.ToString());
      bridge->ops.reset();
      return false;
    }
    core_->metrics().bridges_from_store->Add();
  }
  for (uint64_t s = std::max(base_seq + 1, first); s <= head_; ++s) pass(history_.At(s, head_));
  return true;
}

void HostedDocument::ExtendBridgesLocked(const EndpointId& origin, const std::string& payload) {
  const size_t cap = BridgeCap();
  for (auto& [other, bridge] : bridges_) {
    if (other == origin || bridge.overflowed || !bridge.ops) continue;
    if (bridge.ops->size() >= cap) {
      // Its chain can no longer continue; a fragment that still tries is refused (STALE_BASE).
      bridge.overflowed = true;
      bridge.ops.reset();
      continue;
    }
    bridge.ops->Push(payload);
  }
}

void HostedDocument::SequenceReceivedLocked(Message* msg, std::vector<DocumentChange>* changes,
                                            std::vector<OutboundFrame>* out) {
  DocumentChange change;
  wire::NackReason reason = wire::NACK_UNSPECIFIED;
  uint64_t expected = 0;
  const uint64_t origin_seq = msg->envelope.origin_seq();
  if (refusing_until_micros_ != 0) {
    if (core_->clock().NowMicros() < refusing_until_micros_) {
      // The store failed (disk full, an I/O error): the edit is refused without consuming its
      // origin_seq, and its author keeps it to send again.
      core_->counters().Get("zinc_fragments_refused_total{reason=\"NACK_STORE_FAILED\"}")->Add();
      out->push_back(NackFrame(msg->origin, {wire::NACK_STORE_FAILED,
                                             "the host cannot write its store (" + store_error_ +
                                                 "); edits are refused for now",
                                             origin_seq}));
      return;
    }
    refusing_until_micros_ = 0;  // Tried again from here.
  }
  if (!core_->TakeFragmentToken(msg->origin)) {
    // Over its rate: refused without consuming its origin_seq; its author sends it again.
    core_->counters().Get("zinc_fragments_refused_total{reason=\"NACK_RATE_LIMITED\"}")->Add();
    out->push_back(NackFrame(
        msg->origin,
        {wire::NACK_RATE_LIMITED,
         "over " +
             std::to_string(static_cast<uint64_t>(core_->options().max_fragments_per_second)) +
             " fragments a second; sent again later",
         origin_seq}));
    return;
  }
  auto refused = last_refused_.find(msg->origin);
  if (refused != last_refused_.end() && refused->second.origin_seq == origin_seq) {
    // A copy of an edit this host refused: its author has not heard (the nack was lost, or the
    // copy crossed it). Answered alike, counted apart.
    core_->metrics().fragments_renacked->Add();
    out->push_back(
        NackFrame(msg->origin, {refused->second.reason, refused->second.text, origin_seq}));
    return;
  }
  Status s =
      SequenceLocked(std::move(msg->envelope), msg->origin, &change, &reason, &expected, out);
  // Its last refusal is moot once a later fragment of it is in: the table keeps only authors
  // whose last fragment was refused.
  if (s.ok() && refused != last_refused_.end()) last_refused_.erase(refused);
  if (s.ok()) {
    if (reason == wire::NACK_UNSPECIFIED && change.seq != 0 && staged_.wants_changes()) {
      changes->push_back(std::move(change));
    }
    return;
  }
  core_->counters()
      .Get(std::string("zinc_fragments_refused_total{reason=\"") + wire::NackReason_Name(reason) +
           "\"}")
      ->Add();
  core_->logger().Warn("ZINC-REFUSED", "doc=" + name_ + " origin=" + msg->origin.ToString() +
                                           " origin_seq=" + std::to_string(origin_seq) + " " +
                                           s.ToString());
  if (reason != wire::NACK_OUT_OF_ORDER && reason != wire::NACK_STALE_BASE &&
      reason != wire::NACK_LIMIT && reason != wire::NACK_RATE_LIMITED) {
    // It consumed its origin_seq: remembered, so that a copy of it is answered alike.
    last_refused_[msg->origin] = Refusal{origin_seq, reason, s.message()};
  }
  out->push_back(NackFrame(msg->origin, {reason, s.message(), origin_seq, expected}));
}

void HostedDocument::OnFragment(Message msg) { OnFragments(&msg, 1); }

void HostedDocument::OnFragments(Message* msgs, size_t n) {
  std::vector<OutboundFrame> out;
  out.reserve(n);
  {
    MutexLock l(&mu_);
    for (size_t i = 0; i < n; ++i) SequenceReceivedLocked(&msgs[i], staged_.changes(), &out);
    // Under the lock, so that fragments are published in seq order whoever sequenced them.
    EmitLocked(std::move(out));
    // With no standby to wait for, the root's own commit acknowledges.
    if (AcksAfterStandby() && !core_->has_standby()) DurableLocked(head_);
  }
  Notify();
}

OutboundFrame HostedDocument::NackFrame(const EndpointId& origin,
                                        const EndpointCore::NackSpec& nack) const {
  // An author below a relay is not connected here: the nack goes down the document's topic.
  return core_->NackFrame(name_, nack, &origin, RoutingIdOf(origin), name_);
}

wire::SnapshotReply HostedDocument::SnapshotLocked() const {
  wire::SnapshotReply r;
  r.set_found(true);
  r.set_type(std::string(type_->name()));
  if (!encoded_state_valid_) {
    encoded_state_ = state_->Snapshot();
    encoded_state_valid_ = true;
  }
  r.set_state(encoded_state_);
  if (encoded_state_.size() < kEncodedStateMinBytes) ForgetEncodedStateLocked();
  for (const auto& [origin, origin_seq] : applied_) {
    wire::OriginSeq* a = r.add_applied();
    a->set_origin(std::string(origin.bytes()));
    a->set_origin_seq(origin_seq);
  }
  if (AcksAfterStandby()) {
    r.set_acks_after_standby(true);
    r.set_durable_seq(core_->has_standby() ? durable_seq_ : head_);
  }
  return r;
}

void HostedDocument::OnSnapshotRequest(const Message& msg) {
  wire::Envelope e = core_->NewEnvelope(name_);
  core_->metrics().snapshots_served->Add();
  MutexLock l(&mu_);
  TouchLocked();
  *e.mutable_snapshot_reply() = SnapshotLocked();
  e.set_seq(head_);
  // Behind the commits of what it shows (with a store).
  EmitLocked(SyncReplyFrame(msg.routing_id, e));
}

void HostedDocument::OnCatchupRequest(const Message& msg) {
  const wire::CatchupRequest& req = msg.envelope.catchup_request();
  wire::Envelope e = core_->NewEnvelope(name_);
  wire::CatchupReply* reply = e.mutable_catchup_reply();
  core_->metrics().catchups_served->Add();
  MutexLock l(&mu_);
  TouchLocked();
  e.set_seq(head_);
  const size_t max = core_->options().limits.max_catchup_fragments;
  if (!history_.FillCatchup(req, head_, max, reply) && !FillCatchupFromStoreLocked(req, reply)) {
    // Compacted past from_seq: a fresh snapshot instead.
    *reply->mutable_snapshot() = SnapshotLocked();
  }
  EmitLocked(SyncReplyFrame(msg.routing_id, e));
}

bool HostedDocument::FillCatchupFromStoreLocked(const wire::CatchupRequest& req,
                                                wire::CatchupReply* reply) {
  if (!journal_ || !stored_ || req.from_seq() == 0 || head_ == 0) return false;
  // The part older than the history in memory, from the log's retention window. (What the
  // journal has not committed yet is the newest, in the history.) The author asks again for
  // the rest.
  const uint64_t to = std::min(req.to_seq(), history_.First(head_) - 1);
  if (req.from_seq() > to) return false;
  const size_t max = core_->options().limits.max_catchup_fragments;
  uint64_t next = req.from_seq();
  size_t bytes = 0;
  Status s = journal_->store()->ReadLog(
      name_, req.from_seq(), to, [&](uint64_t seq, std::string_view record) {
        if (seq != next) return false;  // A hole: compacted meanwhile.
        bytes += record.size();
        if (reply->fragments_size() > 0 && (bytes > History::kCatchupReplyBytes ||
                                            static_cast<size_t>(reply->fragments_size()) >= max)) {
          return false;
        }
        if (!reply->add_fragments()->ParseFromArray(record.data(),
                                                    static_cast<int>(record.size()))) {
          return false;
        }
        ++next;
        return true;
      });
  if (!s.ok() || reply->fragments_size() == 0 || reply->fragments(0).seq() != req.from_seq()) {
    if (!s.ok()) {
      core_->logger().Warn("ZINC-STORE",
                           "doc=" + name_ + " catch-up from the log: " + s.ToString());
    }
    reply->clear_fragments();
    return false;
  }
  core_->metrics().catchups_from_store->Add();
  return true;
}

void HostedDocument::OnTick(int64_t now_micros) {
  bool unload = false;
  {
    MutexLock l(&mu_);
    if (deleted_) {
      StopTickingLocked();
      return;
    }
    // The standby left the roster: what it did not confirm counts on the root's disk alone.
    if (AcksAfterStandby() && !core_->has_standby()) DurableLocked(head_);
    const int64_t quiet = now_micros - last_publish_micros_;
    if (head_ != 0 && quiet <= kHeadNoticeIdleMicros &&
        (quiet <= kHeadNoticeMicros || now_micros - last_notice_micros_ >= kHeadNoticeMicros)) {
      last_notice_micros_ = now_micros;
      wire::Envelope e = core_->NewEnvelope(name_);
      e.set_seq(head_);
      e.mutable_heartbeat()->set_head_seq(head_);
      EmitLocked(OutboundFrame{Route::kPublish, name_, EncodeEnvelope(e)});
      if (AcksAfterStandby() && durable_seq_ > 0) {
        // The watermark again with the head: a Durable lost at a subscriber's high-water mark
        // (or a restarted root's, never sent) must not hold acknowledgements for good.
        wire::Envelope d = core_->NewEnvelope(name_);
        d.set_seq(durable_seq_);
        d.mutable_durable();
        EmitLocked(OutboundFrame{Route::kPublish, name_, EncodeEnvelope(d)});
      }
    }
    CollectLocked(now_micros);
    const int64_t idle = now_micros - std::max(last_used_micros_, last_publish_micros_);
    if (!journal_) {
      // Nothing more to do until the next fragment: without a store, nothing is unloaded.
      if (quiet > kHeadNoticeIdleMicros) StopTickingLocked();
      return;
    }
    if (idle <= std::chrono::microseconds(core_->options().unload_after).count()) return;
    // Only what is all on disk: an unstored document (never sequenced) has nothing there, and
    // one whose store failed reloads first.
    unload = stored_ && records_.empty() && refusing_until_micros_ == 0;
    if (!unload) StopTickingLocked();
  }
  if (unload) core_->Unload(name_);
}

void HostedDocument::CollectLocked(int64_t now_micros) {
  const int64_t interval = std::chrono::microseconds(core_->options().collect_interval).count();
  if (interval <= 0) return;
  if (last_collect_micros_ == 0) last_collect_micros_ = now_micros;  // A full interval first.
  if (now_micros - last_collect_micros_ < interval || !core_->accepting()) return;
  last_collect_micros_ = now_micros;
  bool notify = false;
  for (std::string& payload : state_->Collect(head_)) {
    DocumentChange change;
    Status s = EditLocked(std::move(payload), &change);
    if (!s.ok()) {
      // Collected at a later call instead (the tombstones are still there, and older).
      core_->logger().Warn("ZINC-COLLECT", "doc=" + name_ + " " + s.ToString());
      break;
    }
    core_->counters().Get("zinc_collects_total")->Add();
    // Listeners hear of it like any change (a canvas's shapes are as they were).
    if (staged_.wants_changes()) {
      staged_.changes()->push_back(std::move(change));
      notify = true;
    }
  }
  if (notify) core_->Post(name_, [self = shared_from_this()] { self->Notify(); });
}

void HostedDocument::DurableLocked(uint64_t seq) {
  seq = std::min(seq, head_);
  if (seq <= durable_seq_) return;
  durable_seq_ = seq;
  wire::Envelope e = core_->NewEnvelope(name_);
  e.set_seq(seq);
  e.mutable_durable();
  EmitLocked(OutboundFrame{Route::kPublish, name_, EncodeEnvelope(e)});
}

void HostedDocument::OnStandbyDurable(uint64_t seq) {
  MutexLock l(&mu_);
  if (AcksAfterStandby()) DurableLocked(seq);
}

void HostedDocument::ForgetEncodedStateLocked() const {
  encoded_state_valid_ = false;
  std::string().swap(encoded_state_);
}

void HostedDocument::StopTickingLocked() {
  ForgetEncodedStateLocked();  // Nobody asked for a while.
  if (!ticking_) return;
  ticking_ = false;
  core_->SetTicking(name_, false);
}

void HostedDocument::TouchLocked() {
  last_used_micros_ = core_->clock().NowMicros();
  if (!ticking_) {
    ticking_ = true;
    core_->SetTicking(name_, true);
  }
}

HostedDocument::Info HostedDocument::Describe() const {
  MutexLock l(&mu_);
  return Info{head_, state_bytes_};
}

uint64_t HostedDocument::SetDeleted(bool deleted) {
  MutexLock l(&mu_);
  deleted_ = deleted;
  return head_;
}

Status HostedDocument::EditLocked(std::string payload, DocumentChange* change) {
  if (deleted_) {
    return Status(StatusCode::kNotFound, "document '" + name_ + "' was deleted");
  }
  if (refusing_until_micros_ != 0 && core_->clock().NowMicros() < refusing_until_micros_) {
    return Status(StatusCode::kIoError,
                  "the host cannot write its store (" + store_error_ + "); try again later");
  }
  if (!core_->accepting()) {
    return Status(StatusCode::kUnavailable,
                  "this endpoint is not sequencing: it may have been replaced as the root");
  }
  wire::NackReason reason = wire::NACK_UNSPECIFIED;
  uint64_t expected = 0;
  wire::Envelope env = core_->NewEnvelope(name_);
  env.set_origin_seq(next_origin_seq_);
  env.set_base_seq(head_);
  env.mutable_fragment()->set_type(std::string(type_->name()));
  env.mutable_fragment()->set_payload(std::move(payload));
  std::vector<OutboundFrame> out;
  Status s = SequenceLocked(std::move(env), core_->id(), change, &reason, &expected, &out);
  // A refused local edit still consumed its origin_seq.
  ++next_origin_seq_;
  // Sent under the lock, so that the host's own fragments are published in seq order.
  if (!out.empty() || !records_.empty()) EmitLocked(std::move(out));
  return s;
}

Status HostedDocument::Edit(std::string payload) {
  return EditWith(
      [&payload](const Document&) -> Result<std::string> { return std::move(payload); });
}

Status HostedDocument::EditWith(const std::function<Result<std::string>(const Document&)>& make) {
  bool notify;
  {
    MutexLock l(&mu_);
    Result<std::string> payload = make(*state_);
    if (!payload.ok()) return payload.status();
    DocumentChange change;
    ZINC_RETURN_IF_ERROR(EditLocked(std::move(payload).value(), &change));
    staged_.AddAck(next_origin_seq_ - 1, change.seq);
    if (staged_.wants_changes()) staged_.changes()->push_back(std::move(change));
    notify = !staged_.empty();
  }
  // Local changes, like remote ones, reach the listener on the strand, in the order they were
  // applied.
  if (notify) core_->Post(name_, [self = shared_from_this()] { self->Notify(); });
  return Status::Ok();
}

uint64_t HostedDocument::seq() const {
  MutexLock l(&mu_);
  return head_;
}

std::string HostedDocument::ToJson() const {
  MutexLock l(&mu_);
  return DocumentToJson(*type_, head_, *state_);
}

void HostedDocument::Read(const std::function<void(const Document&)>& fn) const {
  MutexLock l(&mu_);
  fn(*state_);
}

void HostedDocument::SetListeners(DocumentListeners* listeners) {
  MutexLock l(&mu_);
  staged_.Attach(listeners);
}

Status HostedDocument::SetPresence(std::string state) {
  if (state.size() > core_->options().limits.max_presence_bytes) {
    return Status(StatusCode::kResourceExhausted, "presence state over the limit");
  }
  wire::Envelope e = core_->NewEnvelope(name_);
  e.mutable_presence()->set_state(std::move(state));
  core_->Send(OutboundFrame{Route::kPublish, name_, EncodeEnvelope(e)});
  return Status::Ok();
}

void HostedDocument::OnPresenceMessage(const Message& msg) {
  {
    // At most max_presence_bytes_per_second per author: presence fans out to every subscriber.
    MutexLock l(&mu_);
    const double bytes = std::max<double>(1, msg.envelope.presence().state().size());
    if (!presence_rate_.Take(std::string(msg.origin.bytes()), bytes, core_->clock().NowMicros())) {
      core_->counters().Get("zinc_refused_total{reason=\"presence\"}")->Add();
      return;
    }
  }
  // Relayed unchanged to everyone with the document open (its author drops its own).
  core_->Send(OutboundFrame{Route::kPublish, name_, EncodeEnvelope(msg.envelope)});
  NotifyPresence(&mu_, &staged_, msg.origin, msg.envelope.presence().state());
}

void HostedDocument::Notify() { NotifyStaged(&mu_, &staged_); }

void HostedDocument::SequenceOwnPending(uint64_t base_seq, uint64_t next_origin_seq,
                                        std::vector<std::pair<uint64_t, std::string>> edits) {
  std::vector<OutboundFrame> out;
  {
    MutexLock l(&mu_);
    const uint64_t before = head_;
    next_origin_seq_ = std::max(next_origin_seq_, next_origin_seq);
    for (auto& [origin_seq, payload] : edits) {
      wire::Envelope env = core_->NewEnvelope(name_);
      env.set_origin_seq(origin_seq);
      env.set_base_seq(base_seq);
      env.mutable_fragment()->set_type(std::string(type_->name()));
      env.mutable_fragment()->set_payload(std::move(payload));
      DocumentChange change;
      wire::NackReason reason = wire::NACK_UNSPECIFIED;
      uint64_t expected = 0;
      Status s = SequenceLocked(std::move(env), core_->id(), &change, &reason, &expected, &out);
      next_origin_seq_ = std::max(next_origin_seq_, origin_seq + 1);
      if (!s.ok()) {
        core_->metrics().edits_refused->Add();
        core_->logger().Warn(
            "ZINC-EDIT-REFUSED",
            "doc=" + name_ + " origin_seq=" + std::to_string(origin_seq) + " " + s.ToString());
        continue;
      }
      // Sequenced now, or before (a duplicate the tail brought): acknowledged either way.
      staged_.AddAck(origin_seq, change.seq ? change.seq : head_);
    }
    if (!out.empty()) EmitLocked(std::move(out));
    // The application saw its replica: the state it has now replaces that view.
    StageResetLocked();
    core_->logger().Info("ZINC-TAKEOVER", "doc=" + name_ + " " + std::to_string(edits.size()) +
                                              " own pending edits from seq " +
                                              std::to_string(before) + " to " +
                                              std::to_string(head_));
  }
  core_->Post(name_, [self = shared_from_this()] { self->Notify(); });
}

HostedDocument::StepDownState HostedDocument::TakeStepDownState(size_t max) const {
  MutexLock l(&mu_);
  StepDownState out;
  out.state = state_->Snapshot();
  out.seq = head_;
  out.epoch = core_->epoch();
  out.next_origin_seq = next_origin_seq_;
  if (head_ == 0) return out;
  for (uint64_t s = head_; s >= history_.First(head_) && s > 0 && out.own.size() < max; --s) {
    const wire::Envelope& env = history_.At(s, head_);
    if (env.origin() != core_->id().bytes()) continue;
    out.own.emplace_back(env.origin_seq(), env.fragment().payload());
  }
  std::reverse(out.own.begin(), out.own.end());
  return out;
}

}  // namespace internal
}  // namespace zinc
