#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "core/mutex.h"
#include "endpoints/document_backend.h"
#include "endpoints/document_listeners.h"
#include "endpoints/endpoint.h"

namespace zinc {
namespace internal {

// The one DocumentHandle an application holds for an open document. It does its work with a
// backend (the sequencer at the root, a replica elsewhere) that the Endpoint replaces when its
// role changes (SwapBackend): the handle, its listeners and its edits carry on. Owned by the
// Endpoint and valid until it is destroyed. Thread-safe.
class DocumentHandleImpl final : public DocumentHandle {
 public:
  // backend must outlive this handle, or be replaced before it goes.
  DocumentHandleImpl(std::string name, DocumentBackend* backend);

  // Replaces the backend. move runs under the handle's lock, so that no edit through this
  // handle lands between what it moves from the old backend and the new one taking over
  // (pending edits, say); the new backend already queues to listeners() then. Never call from
  // a listener.
  void SwapBackend(DocumentBackend* backend, const std::function<void()>& move) EXCLUDES(mu_);
  DocumentBackend* backend() const EXCLUDES(mu_);
  DocumentListeners* listeners() { return &listeners_; }

  // DocumentHandle.
  const std::string& name() const override { return name_; }
  const DocumentType* type() const override EXCLUDES(mu_);
  Status Edit(std::string payload) override EXCLUDES(mu_);
  Status EditJson(std::string_view json) override EXCLUDES(mu_);
  Status EditWith(const std::function<Result<std::string>(const Document&)>& make) override
      EXCLUDES(mu_);
  Status WaitSynced(std::chrono::milliseconds timeout) override EXCLUDES(mu_);
  Status WaitAcknowledged(std::chrono::milliseconds timeout) override EXCLUDES(mu_);
  Status WaitPendingAtMost(size_t n, std::chrono::milliseconds timeout) override EXCLUDES(mu_);
  uint64_t seq() const override EXCLUDES(mu_);
  size_t pending() const override EXCLUDES(mu_);
  std::string ToJson() const override EXCLUDES(mu_);
  void Read(const std::function<void(const Document&)>& fn) const override EXCLUDES(mu_);
  void OnChange(std::function<void(const DocumentChange&)> listener) override;
  Status SetPresence(std::string state) override EXCLUDES(mu_);
  void OnPresence(std::function<void(const EndpointId&, const std::string&)> listener) override;
  void OnAcknowledged(std::function<void(uint64_t, uint64_t)> listener) override;

 private:
  // Runs wait on the backend without the handle's lock (it blocks); a backend retired under
  // the wait (kUnavailable) hands over to the new one for the time that is left.
  Status Wait(std::chrono::milliseconds timeout,
              const std::function<Status(DocumentBackend*, std::chrono::milliseconds)>& wait)
      EXCLUDES(mu_);

  // Constant after construction.
  const std::string name_;
  DocumentListeners listeners_;

  // Held across the non-blocking calls into the backend (they nest the backend's lock inside
  // this one; backends never call their handle).
  mutable Mutex mu_;
  DocumentBackend* backend_ GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace zinc
