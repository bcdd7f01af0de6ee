#include "endpoints/replica.h"

// Replica: the application's side: edits, waits and reads through its handle, and the listeners'
// notifications (the rest is in replica.cpp).

#include <algorithm>

namespace zinc {
namespace internal {

void Replica::WakePendingWaitersLocked() {
  if (pending_waits_.empty() || pending_.size() > *pending_waits_.rbegin()) return;
  if (defer_wake_) {
    wake_deferred_ = true;
  } else {
    cv_.notify_all();
  }
}

bool Replica::TakeDeferredWakeLocked() {
  const bool wake = wake_deferred_;
  defer_wake_ = false;
  wake_deferred_ = false;
  return wake;
}

bool Replica::WaitPendingLocked(MutexLock* l, size_t n, bool synced,
                                std::chrono::steady_clock::time_point deadline) {
  auto it = pending_waits_.insert(n);
  const bool done = l->WaitUntil(&cv_, deadline, [&]() REQUIRES(mu_) {
    return state_ == State::kFailed || ((!synced || state_ == State::kSynced) &&
                                        pending_.size() <= n && (!synced || held_acks_.empty()));
  });
  pending_waits_.erase(it);
  return done;
}

const DocumentType* Replica::type() const {
  MutexLock l(&mu_);
  return type_;
}

Status Replica::EditLocked(std::string payload, DocumentChange* c) {
  if (state_ == State::kFailed) return error_;
  if (!type_) return Status(StatusCode::kUnavailable, "document '" + name_ + "' has no type yet");
  if (serving_ && pending_.empty() && !server_.has_confirmed() && state_ == State::kSynced) {
    // Children are served the sequenced state: keep it apart while edits of ours are pending.
    server_.KeepConfirmed(*doc_, *type_);
  }
  ZINC_RETURN_IF_ERROR(doc_->Apply(payload));
  const uint64_t origin_seq = next_origin_seq_++;
  if (pending_.empty()) pending_progress_micros_ = core_->clock().NowMicros();
  c->local = true;
  c->origin = core_->id();
  if (staged_.wants_changes()) c->payload = payload;
  pending_.Push(origin_seq, std::move(payload));
  // Held back while a chain is broken (pending_queue.h), sent when its last edit is
  // acknowledged; and while catching up after a lost parent, sent with the others.
  if (!resend_on_catchup_ && pending_.MayJoinChain(type_->host_transforms())) {
    SendPendingLocked(pending_.sent(), 1);
  }
  return Status::Ok();
}

Status Replica::Edit(std::string payload) {
  // (Not through EditWith: this is the hot path of a writer, one lock and no std::function.)
  bool notify;
  {
    MutexLock l(&mu_);
    DocumentChange c;
    ZINC_RETURN_IF_ERROR(EditLocked(std::move(payload), &c));
    notify = staged_.wants_changes();
    if (notify) staged_.changes()->push_back(std::move(c));
  }
  if (notify) core_->Post(name_, [this] { Notify(); });
  return Status::Ok();
}

Status Replica::EditWith(const std::function<Result<std::string>(const Document&)>& make) {
  bool notify;
  {
    MutexLock l(&mu_);
    if (state_ == State::kFailed) return error_;
    if (!doc_) return Status(StatusCode::kUnavailable, "document '" + name_ + "' has no type yet");
    Result<std::string> payload = make(*doc_);
    if (!payload.ok()) return payload.status();
    DocumentChange c;
    ZINC_RETURN_IF_ERROR(EditLocked(std::move(payload).value(), &c));
    notify = staged_.wants_changes();
    if (notify) staged_.changes()->push_back(std::move(c));
  }
  // Delivered on the strand, in the order of application with remote changes.
  if (notify) core_->Post(name_, [this] { Notify(); });
  return Status::Ok();
}

Status Replica::WaitSynced(std::chrono::milliseconds timeout) {
  MutexLock l(&mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!l.WaitUntil(&cv_, deadline, [&]() REQUIRES(mu_) { return state_ != State::kOpening; })) {
    return Status(StatusCode::kTimeout, "document '" + name_ + "' did not sync in time");
  }
  return state_ == State::kFailed ? error_ : Status::Ok();
}

Status Replica::WaitAcknowledged(std::chrono::milliseconds timeout) {
  MutexLock l(&mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!WaitPendingLocked(&l, 0, /*synced=*/true, deadline)) {
    return Status(StatusCode::kTimeout, std::to_string(pending_.size() + held_acks_.size()) +
                                            " edits of '" + name_ + "' not acknowledged in time");
  }
  return state_ == State::kFailed ? error_ : Status::Ok();
}

Status Replica::WaitPendingAtMost(size_t n, std::chrono::milliseconds timeout) {
  MutexLock l(&mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!WaitPendingLocked(&l, n, /*synced=*/false, deadline)) {
    return Status(StatusCode::kTimeout, std::to_string(pending_.size()) + " edits of '" + name_ +
                                            "' not acknowledged in time");
  }
  return state_ == State::kFailed ? error_ : Status::Ok();
}

uint64_t Replica::seq() const {
  MutexLock l(&mu_);
  return applied_seq_;
}

size_t Replica::pending() const {
  MutexLock l(&mu_);
  return pending_.size();
}

std::string Replica::ToJson() const {
  MutexLock l(&mu_);
  if (!type_ || !doc_) return "null";
  return DocumentToJson(*type_, applied_seq_, *doc_);
}

void Replica::Read(const std::function<void(const Document&)>& fn) const {
  MutexLock l(&mu_);
  if (doc_) fn(*doc_);
}

void Replica::SetListeners(DocumentListeners* listeners) {
  MutexLock l(&mu_);
  // What was applied for the old listeners goes to them first.
  staged_.Attach(listeners);
}

Status Replica::SetPresence(std::string state) {
  if (state.size() > core_->options().limits.max_presence_bytes) {
    return Status(StatusCode::kResourceExhausted, "presence state over the limit");
  }
  {
    MutexLock l(&mu_);
    if (state_ == State::kFailed) return error_;
  }
  wire::Envelope e = core_->NewEnvelope(name_);
  e.mutable_presence()->set_state(std::move(state));
  core_->Send(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(e)});
  return Status::Ok();
}

void Replica::OnPresenceMessage(const Message& msg) {
  if (msg.origin == core_->id()) return;  // Our own, back from the host.
  NotifyPresence(&mu_, &staged_, msg.origin, msg.envelope.presence().state());
}

void Replica::Notify() {
  if (serving_) {
    // A relay's replica: what it applied goes to its store (and the standby's report).
    MutexLock l(&mu_);
    FlushStoreLocked();
  }
  NotifyStaged(&mu_, &staged_);
}

}  // namespace internal
}  // namespace zinc
