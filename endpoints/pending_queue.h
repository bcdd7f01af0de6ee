#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "core/status.h"
#include "documents/document.h"

namespace zinc {
namespace internal {

// The edits a replica has applied locally that the root has not acknowledged yet, oldest first,
// each its origin_seq and its payload as rebased onto the replica's applied state (so that is
// its base_seq when it goes again), and the chain they were sent in.
//
// For types the host transforms, the sent edits form a chain that shares one base_seq (the
// host's bridge, hosted_document.h): a new edit joins the chain only while no remote fragment
// has been applied since it was sent (remote_since_send); otherwise it is held until every sent
// edit is acknowledged, and the held ones start a new chain. The chain's base_seq is the applied
// seq when it started: an edit that joins later goes with it, not with the applied seq of then
// (the echoes of the chain's first edits may have moved it since, and the host must pass the
// edit over what others sequenced after those echoes as transformed past the chain's edits
// still in flight, which only the chain's bridge has). Thread-compatible (the replica's lock).
class PendingQueue {
 public:
  // Empties the queue, for edits of type (nullptr: no type yet; no Push until there is one).
  void Reset(const DocumentType* type);
  bool has_type() const { return edits_ != nullptr; }

  bool empty() const { return origin_seqs_.empty(); }
  size_t size() const { return origin_seqs_.size(); }
  uint64_t front() const { return origin_seqs_.front(); }
  uint64_t origin_seq(size_t i) const { return origin_seqs_[i]; }
  const std::string& payload(size_t i) const { return edits_->at(i); }

  // Appends a local edit just applied. REQUIRES: has_type().
  void Push(uint64_t origin_seq, std::string payload);
  // Puts an acknowledged edit a new root lacks back in front (oldest first); the chain starts
  // over.
  void PushFront(uint64_t origin_seq, std::string payload);
  // Drops the oldest (acknowledged).
  void PopFront();
  // Drops the edit origin_seq (refused); returns whether it was pending.
  bool Erase(uint64_t origin_seq);
  // Transforms remote, sequenced before every pending edit, to apply on top of them, and
  // rebases them past it (PendingEdits::TransformRemote); remote as it is when none is pending.
  Result<std::string> TransformRemote(std::string remote);
  // Replays the edits in order through apply, which may change a payload (fit it) and returns
  // whether the edit stays; those it refuses are dropped. The chain starts over. Returns how
  // many were dropped.
  // REQUIRES: has_type().
  template <typename Apply>
  size_t Replay(Apply apply) {
    std::unique_ptr<PendingEdits> replayed = type_->NewPendingEdits();
    std::deque<uint64_t> kept;
    for (size_t i = 0; i < origin_seqs_.size(); ++i) {
      std::string payload = edits_->at(i);
      if (!apply(&payload)) continue;
      kept.push_back(origin_seqs_[i]);
      replayed->Push(std::move(payload));
    }
    const size_t dropped = origin_seqs_.size() - kept.size();
    origin_seqs_ = std::move(kept);
    edits_ = std::move(replayed);
    sent_ = 0;
    return dropped;
  }

  // The chain. The edits [0, sent()) have been sent.
  size_t sent() const { return sent_; }
  uint64_t chain_base() const { return chain_base_; }
  bool remote_since_send() const { return remote_since_send_; }
  // A new chain on base_seq: the edits go again from the first.
  void StartChain(uint64_t base_seq) {
    remote_since_send_ = false;
    chain_base_ = base_seq;
  }
  // The edits [0, n) are sent.
  void MarkSent(size_t n) {
    if (n > sent_) sent_ = n;
  }
  // A remote fragment was applied: a chain in flight is broken for new edits.
  void NoteRemote() {
    if (sent_ > 0) remote_since_send_ = true;
  }
  // Whether a new edit (the last one) may go now, joining the chain or starting one.
  bool MayJoinChain(bool host_transforms) const {
    return sent_ == origin_seqs_.size() - 1 &&
           (sent_ == 0 || !remote_since_send_ || !host_transforms);
  }

 private:
  const DocumentType* type_ = nullptr;
  std::deque<uint64_t> origin_seqs_;
  // Their payloads, in the same order: the type's PendingEdits, which transforms them.
  std::unique_ptr<PendingEdits> edits_;
  size_t sent_ = 0;
  uint64_t chain_base_ = 0;
  bool remote_since_send_ = false;
};

}  // namespace internal
}  // namespace zinc
