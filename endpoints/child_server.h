#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/message.h"
#include "core/status.h"
#include "documents/document.h"
#include "endpoints/endpoint_internal.h"
#include "endpoints/history.h"

namespace zinc {
namespace internal {

// What a relay's replica of one document serves its children, as the root would: snapshots of
// the state as sequenced (without the relay's own unacknowledged edits: confirmed), with the
// dedup table as of the replica's seq, and catch-up from the replica's history. A request it
// cannot answer yet (the replica still syncing, a catch-up past what it has, a child that saw
// a later epoch) is parked until it can, or, for a catch-up, until the retry interval passed
// (then answered with what there is). At most kMaxParked wait. Thread-compatible: the replica
// calls it under its lock.
class ChildServer {
 public:
  static constexpr size_t kMaxParked = 4096;

  // The replica as it stands, for an answer.
  struct Source {
    bool synced = false;
    const Status* failed = nullptr;  // why, once the open failed for good
    uint64_t seq = 0;
    uint64_t epoch = 0;  // of the state (may trail the relay's own)
    const DocumentType* type = nullptr;
    const Document* doc = nullptr;  // the visible state (with the relay's own pending edits)
    const History* history = nullptr;
    // AckAfter::kStandby at the root, and its Durable watermark as this replica last heard.
    bool acks_after_standby = false;
    uint64_t durable_seq = 0;
  };

  // core and name must outlive this object.
  ChildServer(EndpointCore* core, const std::string* name) : core_(core), name_(name) {}

  // A sequenced fragment the replica applied: into the dedup table and the confirmed state.
  // Returns false if the confirmed state did not take it (cannot happen for what a root
  // sequenced): the replica resyncs.
  bool Record(const wire::Envelope& env);
  // The replica restored snap; with own_pending, it holds edits of the relay's own on top.
  void Restore(const wire::SnapshotReply& snap, const DocumentType& type, bool own_pending);
  // The relay's first own pending edit is about to apply to doc: keep the sequenced state apart.
  void KeepConfirmed(const Document& doc, const DocumentType& type);
  bool has_confirmed() const { return confirmed_ != nullptr; }
  // No own edit is pending any more: the replica's state is the sequenced one again.
  void DropConfirmed() { confirmed_.reset(); }
  // The state as sequenced.
  const Document& Sequenced(const Document& doc) const { return confirmed_ ? *confirmed_ : doc; }
  const std::unordered_map<std::string, uint64_t>& applied() const { return applied_; }
  // Drops the state kept (a replica closed for good).
  void Release();

  // A child's snapshot or catch-up request: answered, or parked. Nacked when too many wait.
  void Request(const Source& src, const std::string& routing_id, const wire::Envelope& request);
  // Answers what waits and can be answered; with now_micros != 0 also the catch-ups that
  // waited longer than the retry interval, with what there is.
  void ServeParked(const Source& src, int64_t now_micros);
  bool has_parked() const { return !parked_.empty(); }
  void Nack(const std::string& routing_id, wire::NackReason reason, const std::string& text);

 private:
  struct Parked {
    std::string routing_id;
    wire::Envelope request;
    int64_t since_micros = 0;
  };
  // Answers one request, or returns false if it must wait.
  bool Serve(const Source& src, const std::string& routing_id, const wire::Envelope& request,
             bool force);

 public:
  // The state as sequenced at src.seq, with the dedup table: what a child is served, and what a
  // relay's store keeps.
  wire::SnapshotReply Snapshot(const Source& src) const;

 private:
  EndpointCore* const core_;
  const std::string* const name_;
  std::vector<Parked> parked_;
  // The last origin_seq sequenced per origin (the root's dedup table, as of the replica's seq).
  std::unordered_map<std::string, uint64_t> applied_;
  // The state as sequenced, while the replica's also holds the relay's own pending edits.
  std::unique_ptr<Document> confirmed_;
};

}  // namespace internal
}  // namespace zinc
