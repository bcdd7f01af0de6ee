#pragma once

// An application-defined document type, to show how registration works: an append-only log of
// opaque payloads. Each fragment appends one entry; the host's seq order is the log's order.
// A client shows its own pending appends at the end at once, so a remote append that the host
// sequenced before them is transformed into "insert before the last k entries" (k = the
// pending appends it passed), which is the whole of this type's operational transformation.
// A payload is [varint before_last][entry bytes]; EncodeLogAppend makes one. The log keeps its
// newest `capacity` entries (a capped log, like a capped collection) and counts all of them, so
// that a benchmark can stream millions of entries through it in bounded memory.
//
//   zinc::TypeRegistry types;                      // owned by main()
//   types.Register(std::make_unique<LogType>());   // before starting endpoints
//   options.types = &types;

#include <cstdint>
#include <deque>
#include <string>

#include "documents/document.h"

namespace zinc {
namespace examples {

// The payload of a fragment that appends entry.
std::string EncodeLogAppend(std::string_view entry);

// Thread-compatible.
class LogDocument final : public zinc::Document {
 public:
  explicit LogDocument(size_t capacity) : capacity_(capacity) {}

  std::string_view type() const override { return "log"; }
  // Inserts the entry before the last before_last entries (appends when 0). Returns kMalformed
  // for a bad payload, kResourceExhausted for an entry over 1 MiB, kOutOfRange when before_last
  // exceeds the entries kept.
  Status Apply(std::string_view payload) override;
  std::string Snapshot() const override;
  Status Restore(std::string_view snapshot) override;
  // {"count":N,"bytes":B,"last":[...newest entries as strings...]}
  std::string ToJson() const override;

  uint64_t count() const { return count_; }
  const std::deque<std::string>& entries() const { return entries_; }

 private:
  const size_t capacity_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
  std::deque<std::string> entries_;
};

// The "log" type. Thread-safe.
class LogType final : public zinc::DocumentType {
 public:
  // capacity: entries a replica keeps. Default: 1000.
  explicit LogType(size_t capacity = 1000) : capacity_(capacity) {}

  std::string_view name() const override { return "log"; }
  std::unique_ptr<Document> Create() const override;
  std::string_view json_field() const override { return "log"; }
  // A later (winning) append stays an append; an earlier one moves before the other.
  Result<std::string> Transform(std::string_view op, std::string_view against,
                                bool op_wins) const override;
  bool host_transforms() const override { return false; }
  // Pending appends never change; a remote append moves before all of them: O(1).
  std::unique_ptr<PendingEdits> NewPendingEdits() const override;
  // {"append":"text"}
  Result<std::string> FragmentFromJson(std::string_view json) const override;
  std::string FragmentToJson(std::string_view payload) const override;

 private:
  const size_t capacity_;
};

}  // namespace examples
}  // namespace zinc
