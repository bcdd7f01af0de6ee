#include "endpoints/document_handle_impl.h"

namespace zinc {
namespace internal {

std::string DocumentToJson(const DocumentType& type, uint64_t seq, const Document& doc) {
  return "{\"type\":\"" + std::string(type.name()) + "\",\"seq\":" + std::to_string(seq) + ",\"" +
         std::string(type.json_field()) + "\":" + doc.ToJson() + "}";
}

DocumentHandleImpl::DocumentHandleImpl(std::string name, DocumentBackend* backend)
    : name_(std::move(name)), backend_(backend) {
  backend_->SetListeners(&listeners_);
}

void DocumentHandleImpl::SwapBackend(DocumentBackend* backend, const std::function<void()>& move) {
  MutexLock l(&mu_);
  // The new backend queues for the listeners before move runs: what move makes it apply (the
  // pending edits it takes over) is the application's to hear of.
  backend_->SetListeners(nullptr);
  backend->SetListeners(&listeners_);
  if (move) move();
  backend_ = backend;
}

DocumentBackend* DocumentHandleImpl::backend() const {
  MutexLock l(&mu_);
  return backend_;
}

const DocumentType* DocumentHandleImpl::type() const {
  MutexLock l(&mu_);
  return backend_->type();
}

Status DocumentHandleImpl::Edit(std::string payload) {
  MutexLock l(&mu_);
  return backend_->Edit(std::move(payload));
}

Status DocumentHandleImpl::EditJson(std::string_view json) {
  MutexLock l(&mu_);
  const DocumentType* t = backend_->type();
  if (!t) return Status(StatusCode::kUnavailable, "document '" + name_ + "' has no type yet");
  Result<std::string> payload = t->FragmentFromJson(json);
  if (!payload.ok()) return payload.status();
  return backend_->Edit(std::move(payload).value());
}

Status DocumentHandleImpl::EditWith(
    const std::function<Result<std::string>(const Document&)>& make) {
  MutexLock l(&mu_);
  return backend_->EditWith(make);
}

Status DocumentHandleImpl::Wait(
    std::chrono::milliseconds timeout,
    const std::function<Status(DocumentBackend*, std::chrono::milliseconds)>& wait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  DocumentBackend* b = backend();
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    Status s = wait(b, std::max(left, std::chrono::milliseconds(0)));
    DocumentBackend* now = backend();
    if (s.code() != StatusCode::kUnavailable || now == b) return s;
    b = now;
  }
}

Status DocumentHandleImpl::WaitSynced(std::chrono::milliseconds timeout) {
  return Wait(timeout,
              [](DocumentBackend* b, std::chrono::milliseconds t) { return b->WaitSynced(t); });
}

Status DocumentHandleImpl::WaitAcknowledged(std::chrono::milliseconds timeout) {
  return Wait(timeout, [](DocumentBackend* b, std::chrono::milliseconds t) {
    return b->WaitAcknowledged(t);
  });
}

Status DocumentHandleImpl::WaitPendingAtMost(size_t n, std::chrono::milliseconds timeout) {
  return Wait(timeout, [n](DocumentBackend* b, std::chrono::milliseconds t) {
    return b->WaitPendingAtMost(n, t);
  });
}

uint64_t DocumentHandleImpl::seq() const {
  MutexLock l(&mu_);
  return backend_->seq();
}

size_t DocumentHandleImpl::pending() const {
  MutexLock l(&mu_);
  return backend_->pending();
}

std::string DocumentHandleImpl::ToJson() const {
  MutexLock l(&mu_);
  return backend_->ToJson();
}

void DocumentHandleImpl::Read(const std::function<void(const Document&)>& fn) const {
  MutexLock l(&mu_);
  backend_->Read(fn);
}

void DocumentHandleImpl::OnChange(std::function<void(const DocumentChange&)> listener) {
  listeners_.SetChange(std::move(listener));
}

Status DocumentHandleImpl::SetPresence(std::string state) {
  MutexLock l(&mu_);
  return backend_->SetPresence(std::move(state));
}

void DocumentHandleImpl::OnPresence(
    std::function<void(const EndpointId&, const std::string&)> listener) {
  listeners_.SetPresence(std::move(listener));
}

void DocumentHandleImpl::OnAcknowledged(std::function<void(uint64_t, uint64_t)> listener) {
  listeners_.SetAck(std::move(listener));
}

}  // namespace internal
}  // namespace zinc
