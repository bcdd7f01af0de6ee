#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/mutex.h"
#include "endpoints/endpoint.h"

namespace zinc {
namespace internal {

// The application's listeners on one open document (DocumentHandle::OnChange, OnPresence,
// OnAcknowledged) and what waits to be handed to them. Owned by the document's handle, so that
// they stay put when the handle's backend changes (a takeover, a step-down): the backend that
// applies a change queues it here, in the order of application, and Notify hands everything
// queued to the listeners. Thread-safe; Notify runs on the document's strand only.
class DocumentListeners {
 public:
  using ChangeFn = std::function<void(const DocumentChange&)>;
  using PresenceFn = std::function<void(const EndpointId& origin, const std::string& state)>;
  using AckFn = std::function<void(uint64_t origin_seq, uint64_t seq)>;

  // Replace the listener (an empty function: none).
  void SetChange(ChangeFn fn) EXCLUDES(mu_);
  void SetPresence(PresenceFn fn) EXCLUDES(mu_);
  void SetAck(AckFn fn) EXCLUDES(mu_);

  // Whether a change (or acknowledgement) listener is set: backends only build and queue
  // changes (and acknowledgements) then.
  bool wants_changes() const { return wants_changes_.load(std::memory_order_acquire); }
  bool wants_acks() const { return wants_acks_.load(std::memory_order_acquire); }

  // Queue what a backend applied, in order; *changes and *acks are left empty. Call under the
  // backend's lock, so that the queue is in the order of application.
  void Queue(std::vector<DocumentChange>* changes, std::vector<std::pair<uint64_t, uint64_t>>* acks)
      EXCLUDES(mu_);

  // Hands the queued changes, then the queued acknowledgements, to the listeners. Strand only,
  // so that two calls never interleave. Calls the listeners without holding a lock.
  void Notify() EXCLUDES(mu_);
  // Hands one presence of another endpoint to the presence listener.
  void NotifyPresence(const EndpointId& origin, const std::string& state) EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::shared_ptr<ChangeFn> change_ GUARDED_BY(mu_);
  std::shared_ptr<PresenceFn> presence_ GUARDED_BY(mu_);
  std::shared_ptr<AckFn> ack_ GUARDED_BY(mu_);
  std::vector<DocumentChange> changes_ GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, uint64_t>> acks_ GUARDED_BY(mu_);
  std::atomic<bool> wants_changes_{false};
  std::atomic<bool> wants_acks_{false};
};

// What a backend has applied and not yet queued for its handle's listeners, staged under the
// backend's own lock so that the listeners' queue gets it in the order of application. A member
// of HostedDocument and Replica, guarded by their mutex. Thread-compatible.
class StagedChanges {
 public:
  // The listeners to queue for from now on (nullptr: none); what is staged goes to the old ones.
  void Attach(DocumentListeners* listeners) {
    Flush();
    listeners_ = listeners;
  }
  DocumentListeners* listeners() const { return listeners_; }
  // Whether a change (acknowledgement) listener is set: build changes (acks) only then.
  bool wants_changes() const { return listeners_ && listeners_->wants_changes(); }
  bool wants_acks() const { return listeners_ && listeners_->wants_acks(); }
  // Where to append changes, in the order of application.
  std::vector<DocumentChange>* changes() { return &changes_; }
  // An acknowledgement (origin_seq, seq), if an acknowledgement listener is set.
  void AddAck(uint64_t origin_seq, uint64_t seq) {
    if (wants_acks()) acks_.emplace_back(origin_seq, seq);
  }
  bool empty() const { return changes_.empty() && acks_.empty(); }
  // Queues what is staged for the listeners (or drops it, with none); returns them, for the
  // caller to Notify after it lets go of its lock.
  DocumentListeners* Flush() {
    if (listeners_) {
      listeners_->Queue(&changes_, &acks_);
    } else {
      changes_.clear();
      acks_.clear();
    }
    return listeners_;
  }

 private:
  DocumentListeners* listeners_ = nullptr;
  std::vector<DocumentChange> changes_;
  std::vector<std::pair<uint64_t, uint64_t>> acks_;
};

// A backend's Notify (strand only, so that two never interleave): queues what *staged holds
// under *mu, which guards it, then tells the listeners after letting go of *mu.
inline void NotifyStaged(Mutex* mu, StagedChanges* staged) EXCLUDES(*mu) {
  DocumentListeners* listeners;
  {
    MutexLock l(mu);
    listeners = staged->Flush();
  }
  if (listeners) listeners->Notify();
}

// Tells the listeners of *staged (guarded by *mu) of a presence from origin, outside *mu.
inline void NotifyPresence(Mutex* mu, const StagedChanges* staged, const EndpointId& origin,
                           const std::string& state) EXCLUDES(*mu) {
  DocumentListeners* listeners;
  {
    MutexLock l(mu);
    listeners = staged->listeners();
  }
  if (listeners) listeners->NotifyPresence(origin, state);
}

}  // namespace internal
}  // namespace zinc
