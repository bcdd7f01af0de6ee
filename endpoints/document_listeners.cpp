#include "endpoints/document_listeners.h"

namespace zinc {
namespace internal {

void DocumentListeners::SetChange(ChangeFn fn) {
  MutexLock l(&mu_);
  wants_changes_.store(static_cast<bool>(fn), std::memory_order_release);
  change_ = fn ? std::make_shared<ChangeFn>(std::move(fn)) : nullptr;
}

void DocumentListeners::SetPresence(PresenceFn fn) {
  MutexLock l(&mu_);
  presence_ = fn ? std::make_shared<PresenceFn>(std::move(fn)) : nullptr;
}

void DocumentListeners::SetAck(AckFn fn) {
  MutexLock l(&mu_);
  wants_acks_.store(static_cast<bool>(fn), std::memory_order_release);
  ack_ = fn ? std::make_shared<AckFn>(std::move(fn)) : nullptr;
}

void DocumentListeners::Queue(std::vector<DocumentChange>* changes,
                              std::vector<std::pair<uint64_t, uint64_t>>* acks) {
  if (changes->empty() && acks->empty()) return;
  MutexLock l(&mu_);
  if (changes_.empty()) {
    changes_.swap(*changes);
  } else {
    for (DocumentChange& c : *changes) changes_.push_back(std::move(c));
    changes->clear();
  }
  acks_.insert(acks_.end(), acks->begin(), acks->end());
  acks->clear();
}

void DocumentListeners::Notify() {
  std::vector<DocumentChange> changes;
  std::vector<std::pair<uint64_t, uint64_t>> acks;
  std::shared_ptr<ChangeFn> change;
  std::shared_ptr<AckFn> ack;
  {
    MutexLock l(&mu_);
    if (changes_.empty() && acks_.empty()) return;  // Most calls, at a busy replica.
    changes.swap(changes_);
    acks.swap(acks_);
    change = change_;
    ack = ack_;
  }
  if (change) {
    for (const DocumentChange& c : changes) (*change)(c);
  }
  if (ack) {
    for (const auto& [origin_seq, seq] : acks) (*ack)(origin_seq, seq);
  }
}

void DocumentListeners::NotifyPresence(const EndpointId& origin, const std::string& state) {
  std::shared_ptr<PresenceFn> presence;
  {
    MutexLock l(&mu_);
    presence = presence_;
  }
  if (presence) (*presence)(origin, state);
}

}  // namespace internal
}  // namespace zinc
