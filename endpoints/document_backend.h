#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "documents/document.h"

namespace zinc {
namespace internal {

class DocumentListeners;

// What a document handle (DocumentHandleImpl) does its work with: the sequencer at the root
// (HostedDocument), a replica elsewhere (Replica). The backend of a handle changes with the
// endpoint's role (a standby that takes over, a root that steps down); the handle outlives
// them all. The calls mean what DocumentHandle's of the same name do. Thread-safe.
class DocumentBackend {
 public:
  virtual ~DocumentBackend() = default;

  virtual const DocumentType* type() const = 0;
  // kUnavailable once this backend was closed. (An edit never meets a backend replaced under
  // its handle: the handle holds its lock across both. A Wait* that was waiting on one returns
  // kUnavailable, and the handle waits on the new backend for the time left.)
  virtual Status Edit(std::string payload) = 0;
  virtual Status EditWith(const std::function<Result<std::string>(const Document&)>& make) = 0;
  virtual Status WaitSynced(std::chrono::milliseconds timeout) = 0;
  virtual Status WaitAcknowledged(std::chrono::milliseconds timeout) = 0;
  virtual Status WaitPendingAtMost(size_t n, std::chrono::milliseconds timeout) = 0;
  virtual uint64_t seq() const = 0;
  virtual size_t pending() const = 0;
  virtual std::string ToJson() const = 0;
  virtual void Read(const std::function<void(const Document&)>& fn) const = 0;
  virtual Status SetPresence(std::string state) = 0;
  // Where this backend queues the changes it applies (nullptr: nowhere). listeners must
  // outlive this backend, or be replaced before it goes.
  virtual void SetListeners(DocumentListeners* listeners) = 0;
};

// {"type":T,"seq":N,"<type's json_field>":<doc's ToJson>}: DocumentHandle::ToJson.
std::string DocumentToJson(const DocumentType& type, uint64_t seq, const Document& doc);

}  // namespace internal
}  // namespace zinc
