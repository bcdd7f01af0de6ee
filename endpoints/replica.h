#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/message.h"
#include "core/mutex.h"
#include "endpoints/child_server.h"
#include "endpoints/document_backend.h"
#include "endpoints/document_listeners.h"
#include "endpoints/endpoint.h"
#include "endpoints/endpoint_internal.h"
#include "endpoints/history.h"
#include "endpoints/pending_queue.h"
#include "store/store.h"

namespace zinc {
namespace internal {

// A document away from the root: the Clone pattern's subscriber. It subscribes, buffers what
// arrives, fetches a snapshot, then applies fragments in seq order, fetching any gap with a
// catch-up request. Local edits apply at once and stay pending (PendingQueue) until their echo
// (the fragment with this endpoint as origin) comes back; remote fragments are transformed
// against pending edits. It keeps the newest fragments it applied (its history): a relay serves
// its children catch-up from them (ChildServer), and every replica offers them to a new root
// after a failover. The backend of the application's handle away from the root. Thread-safe; the
// On* methods run on the document's strand.
class Replica final : public DocumentBackend {
 public:
  // Acknowledged own edits a replica keeps to send again after a failover (acked_): far more
  // than a standby can lag behind the root it replaces.
  static constexpr size_t kAckedTail = 16384;
  // Sequenced fragments a replica offers a new root (its newest): far more than a standby lags
  // behind, as long as it lives; in TailOffer frames of at most kTailOfferBytes.
  static constexpr size_t kTailFragments = 4096;
  static constexpr size_t kTailBytes = 4 << 20;
  static constexpr size_t kTailOfferBytes = 256 << 10;

  // core must outlive this object. type may be null (open without a type: learn it from the
  // snapshot; no edits until then).
  Replica(EndpointCore* core, std::string name, const DocumentType* type, bool create,
          const TypeRegistry* types);

  // A root that stepped down (docs/failover.md): starts from the state it had as the root (at
  // seq, of epoch), synced but resyncing with a root of at least min_epoch, its next own
  // origin_seq, and its own sequenced edits (acknowledged: those the new root's snapshot lacks
  // go again). Call before Start and before the replica is shared.
  Status Seed(const std::string& state, uint64_t seq, uint64_t epoch, uint64_t min_epoch,
              uint64_t next_origin_seq, std::vector<std::pair<uint64_t, std::string>> own)
      EXCLUDES(mu_);
  // Sends the first snapshot request. Call once, after subscribing.
  void Start() EXCLUDES(mu_);
  // The endpoint has joined a parent (again): requests made before were dropped, ask again, and
  // after a lost parent catch up and send the oldest pending edit again.
  void OnAttached() EXCLUDES(mu_);
  // A root of a later epoch than this replica's state took over (failover): the state may hold a
  // tail of the old root's fragments the new one never had, so resync from a snapshot of at
  // least that epoch; own edits the snapshot lacks, acknowledged or not, are sent again
  // (docs/failover.md).
  // Sends the tail offers before the resync.
  void OnEpoch(uint64_t epoch) EXCLUDES(mu_);
  // What a standby's replica hands to the document it hosts once it takes over: the state as
  // sequenced (without this endpoint's own pending edits), its seq, the dedup table and the
  // history. Returns false if the replica is not synced (nothing to hand over).
  struct Handover {
    const DocumentType* type = nullptr;
    std::string state;
    uint64_t seq = 0;
    std::unordered_map<std::string, uint64_t> applied;
    // The newest sequenced fragments (the last at seq).
    History history{SIZE_MAX, SIZE_MAX};
  };
  // Returns kUnavailable, saying why, if there is nothing to hand over (not synced).
  Status TakeHandover(Handover* out) EXCLUDES(mu_);
  // What the application's edits through this replica leave to the document it hosts once the
  // standby has taken over: the edits still unacknowledged (origin_seq, payload), as made on
  // base_seq (this replica's applied seq), and the origin_seq of the next edit. Closes the
  // replica (its handle moves to the hosted document).
  struct PendingHandover {
    uint64_t base_seq = 0;
    uint64_t next_origin_seq = 1;
    std::vector<std::pair<uint64_t, std::string>> edits;
  };
  PendingHandover TakePendingAndClose() EXCLUDES(mu_);
  // Ends this replica: edits and waits return kUnavailable from now on, unacknowledged edits are
  // dropped. With release_state the state goes too (a relay's replica nobody holds).
  void Close(bool release_state, const std::string& why = "") EXCLUDES(mu_);

  // A relay's children's requests, served from this replica: the state it has applied (without
  // the relay's own unacknowledged edits) and the sequenced fragments it keeps (history_fragments
  // and history_bytes, as at the root). A request this replica cannot answer yet (still
  // syncing, or a catch-up beyond what it has) waits until it can.
  void OnSnapshotRequest(const Message& msg) EXCLUDES(mu_);
  void OnCatchupRequest(const Message& msg) EXCLUDES(mu_);
  // Whether a child's request waits for this replica to answer it (a child whose subscription
  // has not reached this relay yet).
  bool HasParkedRequests() const EXCLUDES(mu_);

  // Strand handlers.
  void OnFragment(const wire::Envelope& env) EXCLUDES(mu_);
  // The same, taking env (kept without a copy in the tail offered to a new root).
  void OnFragment(wire::Envelope&& env) EXCLUDES(mu_);
  // Fragments that arrived together: one lock, one notification.
  // Takes the messages' envelopes (they are left moved from).
  void OnFragments(Message* msgs, size_t n) EXCLUDES(mu_);
  void OnHeartbeat(const wire::Envelope& env) EXCLUDES(mu_);
  void OnSnapshotReply(const wire::Envelope& env) EXCLUDES(mu_);
  void OnCatchupReply(const wire::Envelope& env) EXCLUDES(mu_);
  void OnNack(const wire::Envelope& env) EXCLUDES(mu_);
  // The root's Durable on the document's topic (AckAfter::kStandby): own edits sequenced up to
  // its seq are acknowledged now.
  void OnDurable(const wire::Envelope& env) EXCLUDES(mu_);
  void OnTick(int64_t now_micros) EXCLUDES(mu_);
  // A chunk of a large reply about this document arrived (from the I/O thread): the request
  // it answers is not sent again while chunks keep coming.
  void NoteTransferProgress() {
    transfer_micros_.store(core_->clock().NowMicros(), std::memory_order_relaxed);
  }

  // DocumentBackend.
  const DocumentType* type() const override EXCLUDES(mu_);
  Status Edit(std::string payload) override EXCLUDES(mu_);
  Status EditWith(const std::function<Result<std::string>(const Document&)>& make) override
      EXCLUDES(mu_);
  Status WaitSynced(std::chrono::milliseconds timeout) override EXCLUDES(mu_);
  Status WaitAcknowledged(std::chrono::milliseconds timeout) override EXCLUDES(mu_);
  Status WaitPendingAtMost(size_t n, std::chrono::milliseconds timeout) override EXCLUDES(mu_);
  uint64_t seq() const override EXCLUDES(mu_);
  size_t pending() const override EXCLUDES(mu_);
  std::string ToJson() const override EXCLUDES(mu_);
  void Read(const std::function<void(const Document&)>& fn) const override EXCLUDES(mu_);
  Status SetPresence(std::string state) override EXCLUDES(mu_);
  void SetListeners(DocumentListeners* listeners) override EXCLUDES(mu_);

  const std::string& name() const { return name_; }
  // Strand handler: a presence from the network.
  void OnPresenceMessage(const Message& msg) EXCLUDES(mu_);

 private:
  enum class State {
    kOpening,    // waiting for the first snapshot; fragments are buffered
    kSynced,     // applying fragments in seq order
    kResyncing,  // waiting for a fresh snapshot after a refusal or an overflow
    kFailed,     // the open failed for good (error_ says why)
  };

  using Changes = std::vector<DocumentChange>;

  // With movable set (env itself), env may be moved from: into the tail, or the buffer.
  void HandleSequencedLocked(const wire::Envelope& env, Changes* changes,
                             wire::Envelope* movable = nullptr) REQUIRES(mu_);
  void ApplySequencedLocked(const wire::Envelope& env, Changes* changes,
                            wire::Envelope* movable = nullptr) REQUIRES(mu_);
  void ApplySequencedInnerLocked(const wire::Envelope& env, Changes* changes) REQUIRES(mu_);
  void DrainBufferedLocked(Changes* changes) REQUIRES(mu_);
  void BufferLocked(const wire::Envelope& env) REQUIRES(mu_);
  // Removes a buffered fragment (counting its bytes out) and returns it.
  wire::Envelope TakeBufferedLocked(std::map<uint64_t, wire::Envelope>::iterator it) REQUIRES(mu_);
  void RestoreLocked(const wire::Envelope& env, const wire::SnapshotReply& snap, Changes* changes)
      REQUIRES(mu_);
  void RequestSnapshotLocked() REQUIRES(mu_);
  void RequestCatchupLocked(uint64_t from, uint64_t to) REQUIRES(mu_);
  void ResyncLocked(const std::string& why) REQUIRES(mu_);
  void FailLocked(Status why) REQUIRES(mu_);
  void SendPendingLocked(size_t from_index, size_t count) REQUIRES(mu_);
  // After an out-of-order nack (out_of_order_expected_): sends every pending edit again once the
  // oldest is the one the host expects, at most once per retry interval.
  void ResendLostLocked(int64_t now_micros) REQUIRES(mu_);
  // Sends the oldest pending edit again, as a copy of one that may still be on its way: unlike
  // SendPendingLocked(0, ...) it does not start a new chain.
  void ResendOldestLocked() REQUIRES(mu_);
  // Sends pending edit i upward as made on base_seq (no bookkeeping).
  void SendPendingEditLocked(size_t i, uint64_t base_seq) REQUIRES(mu_);
  // Applies payload as a local edit and sends or holds it; fills *change.
  Status EditLocked(std::string payload, DocumentChange* change) REQUIRES(mu_);
  // Hands what the listeners' queue holds to them. Strand only, so that two calls never
  // interleave.
  void Notify() EXCLUDES(mu_);
  // Serving children (relays): the replica as ChildServer sees it, and its parked requests
  // answered (ChildServer::ServeParked).
  ChildServer::Source SourceLocked() const REQUIRES(mu_);
  // An own edit (origin_seq) sequenced at seq is acknowledged, or held for the Durable watermark
  // (returns true then).
  bool AckLocked(uint64_t origin_seq, uint64_t seq) REQUIRES(mu_);
  // Acknowledges the held edits the watermark reached (all, when acks do not wait for it).
  void ReleaseHeldAcksLocked() REQUIRES(mu_);
  // Relays with a store: the sequenced fragment just applied, or the snapshot just restored,
  // into the store's next batch; FlushStoreLocked hands the batch to the journal (with the
  // standby's Durable report behind it).
  bool PersistsLocked() const REQUIRES(mu_);
  void StoreAppliedLocked(const wire::Envelope& env) REQUIRES(mu_);
  void StoreSnapshotLocked(uint64_t seq, std::string snapshot) REQUIRES(mu_);
  void FlushStoreLocked() REQUIRES(mu_);
  // The standby's wire::Durable for store_seq_ (to go behind the commit that covers it).
  OutboundFrame DurableReportLocked() REQUIRES(mu_);
  // On the tick: a report if the standby has not reported what its store has.
  void ReportDurableLocked() REQUIRES(mu_);
  void ServeParkedLocked(int64_t now_micros) REQUIRES(mu_);
  // Wakes the Wait* callers once pending_ is down to what one of them waits for (at once, or,
  // while defer_wake_ is set, when the caller lets go of mu_: TakeDeferredWakeLocked).
  void WakePendingWaitersLocked() REQUIRES(mu_);
  // Ends a deferral; returns whether cv_ must be notified.
  bool TakeDeferredWakeLocked() REQUIRES(mu_);
  // Waits on cv_ until pending_.size() <= n (and, with synced, the document is synced), the open
  // failed, or deadline; registered in pending_waits_ meanwhile.
  bool WaitPendingLocked(MutexLock* l, size_t n, bool synced,
                         std::chrono::steady_clock::time_point deadline) REQUIRES(mu_);

  // Constant after construction.
  EndpointCore* const core_;
  const std::string name_;
  const TypeRegistry* const types_;
  const bool serving_;  // at a relay

  mutable Mutex mu_;
  mutable std::condition_variable cv_;  // state_ or pending_ changed
  State state_ GUARDED_BY(mu_) = State::kOpening;
  // Ask the host to create the document (with type_) if it does not exist.
  bool create_ GUARDED_BY(mu_);
  Status error_ GUARDED_BY(mu_);
  const DocumentType* type_ GUARDED_BY(mu_);
  // The visible state: the last snapshot, the fragments applied since, and the pending edits.
  std::unique_ptr<Document> doc_ GUARDED_BY(mu_);
  uint64_t applied_seq_ GUARDED_BY(mu_) = 0;
  // This endpoint's edits not acknowledged yet, and the chain they were sent in.
  PendingQueue pending_ GUARDED_BY(mu_);
  uint64_t next_origin_seq_ GUARDED_BY(mu_) = 1;
  // Fragments that arrived out of order or before the snapshot, by seq.
  std::map<uint64_t, wire::Envelope> buffered_ GUARDED_BY(mu_);
  size_t buffered_bytes_ GUARDED_BY(mu_) = 0;  // their encoded sizes
  // Outstanding requests (send time 0: none).
  int64_t snapshot_sent_micros_ GUARDED_BY(mu_) = 0;
  int64_t catchup_sent_micros_ GUARDED_BY(mu_) = 0;
  uint64_t catchup_to_ GUARDED_BY(mu_) = 0;
  // When the last chunk of a large reply came (NoteTransferProgress); 0: none.
  std::atomic<int64_t> transfer_micros_{0};
  // When pending_ last made progress (an ack, a resend).
  int64_t pending_progress_micros_ GUARDED_BY(mu_) = 0;
  // AckAfter::kStandby at the root (its snapshot says so): an own edit's echo acknowledges it
  // only once the root's Durable watermark reaches its seq; until then it waits in held_acks_
  // (origin_seq, seq), oldest first.
  bool acks_after_standby_ GUARDED_BY(mu_) = false;
  uint64_t durable_seq_ GUARDED_BY(mu_) = 0;
  std::deque<std::pair<uint64_t, uint64_t>> held_acks_ GUARDED_BY(mu_);
  // A relay with a data directory keeps its replica in its store (the standby: durable from its
  // first sequenced edit when it takes over, and what AckAfter::kStandby waits for): what was
  // applied since the last hand-off to the journal, and when the store's last snapshot was.
  WriteBatch store_batch_ GUARDED_BY(mu_);
  uint64_t store_seq_ GUARDED_BY(mu_) = 0;
  uint64_t store_snapshot_seq_ GUARDED_BY(mu_) = 0;
  size_t store_bytes_since_snapshot_ GUARDED_BY(mu_) = 0;
  bool store_created_ GUARDED_BY(mu_) = false;
  uint64_t reported_seq_ GUARDED_BY(mu_) = 0;
  int64_t reported_micros_ GUARDED_BY(mu_) = 0;
  int64_t store_changed_micros_ GUARDED_BY(mu_) = 0;
  // A commit of this replica failed (the journal's thread): the next hand-off starts over from
  // a snapshot.
  // (Shared with the journal's failure callback, which may run after this replica is gone.)
  const std::shared_ptr<std::atomic<bool>> store_failed_ = std::make_shared<std::atomic<bool>>();
  // The newest sequenced fragments applied, up to applied_seq_: served to a relay's children,
  // and offered to a new root (TailOffer) before resyncing with it.
  History history_ GUARDED_BY(mu_);
  // The epoch of the root whose state this is (the snapshot's), and the least epoch a snapshot
  // must have to be taken (raised by OnEpoch).
  uint64_t epoch_ GUARDED_BY(mu_) = 0;
  uint64_t min_epoch_ GUARDED_BY(mu_) = 0;
  // This endpoint's newest acknowledged edits (origin_seq, payload as sequenced), so that those
  // a new root lacks after a failover can be sent again: at most kAckedTail of them.
  std::deque<std::pair<uint64_t, std::string>> acked_ GUARDED_BY(mu_);
  // The newest origin_seq acknowledged (and told to the ack listener) so far.
  uint64_t acked_through_ GUARDED_BY(mu_) = 0;
  // After a lost parent: send every pending edit again once the catch-up is complete.
  bool resend_on_catchup_ GUARDED_BY(mu_) = false;
  // The origin_seq an out-of-order nack said the host expects, while older edits of ours are
  // still unacknowledged here: once they are, the rest goes again (0: none).
  uint64_t out_of_order_expected_ GUARDED_BY(mu_) = 0;
  // Times in a row pending_ made no progress for 4 x retry.
  int stalls_ GUARDED_BY(mu_) = 0;
  // Changes and acknowledgements applied (in the order of application) and not yet queued for
  // the handle's listeners.
  StagedChanges staged_ GUARDED_BY(mu_);
  // The n of every WaitPendingAtMost / WaitAcknowledged (0) call waiting now: an acknowledgement
  // wakes them only when pending_ is down to the largest, not once per echo.
  std::multiset<size_t> pending_waits_ GUARDED_BY(mu_);
  bool defer_wake_ GUARDED_BY(mu_) = false;
  bool wake_deferred_ GUARDED_BY(mu_) = false;

  // What a relay serves its children (relays only; the dedup table is kept at a standby too).
  ChildServer server_ GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace zinc
