#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/message.h"
#include "core/mutex.h"
#include "core/rate.h"
#include "endpoints/document_backend.h"
#include "endpoints/document_listeners.h"
#include "endpoints/endpoint.h"
#include "endpoints/endpoint_internal.h"
#include "endpoints/history.h"
#include "endpoints/journal.h"
#include "store/store.h"

namespace zinc {
namespace internal {

// A document at the root host, which sequences it: every fragment from a child is deduplicated
// by (origin, origin_seq), transformed from its base_seq to the head when the type needs it,
// applied to this replica, given the next seq and published. Keeps the newest
// history_fragments (and history_bytes) sequenced fragments for catch-up. The backend of the
// application's handle at the root. Always owned by a shared_ptr (tasks posted for it hold one).
// Thread-safe; the On* methods run on the document's strand.
class HostedDocument final : public DocumentBackend,
                             public std::enable_shared_from_this<HostedDocument> {
 public:
  // core must outlive this object.
  HostedDocument(EndpointCore* core, std::string name, const DocumentType* type);
  // A standby taking over: starts from its replica's sequenced state, seq, dedup table (by
  // origin bytes) and history instead of empty. Call before the document is shared.
  Status Adopt(const std::string& state, uint64_t seq,
               const std::unordered_map<std::string, uint64_t>& applied, History history)
      EXCLUDES(mu_);
  // A standby that took over, once the recovery is over: sequences the edits the application
  // made through its replica that were still unacknowledged (origin_seq, payload as made on
  // base_seq), as if they had come from the network (duplicates of what the old root's tail
  // brought are dropped), and queues one reset change with the state, since what the
  // application saw was its replica's. Each one sequenced or found sequenced is acknowledged.
  void SequenceOwnPending(uint64_t base_seq, uint64_t next_origin_seq,
                          std::vector<std::pair<uint64_t, std::string>> edits) EXCLUDES(mu_);
  // A root stepping down: what its replica of this document starts from (docs/failover.md):
  // the state and head, the next own origin_seq, and this endpoint's own sequenced fragments
  // among the history kept (origin_seq, payload; the newest max of them, oldest first), so
  // that those the new root lacks are sent again.
  struct StepDownState {
    std::string state;
    uint64_t seq = 0;
    uint64_t epoch = 0;
    uint64_t next_origin_seq = 1;
    std::vector<std::pair<uint64_t, std::string>> own;
  };
  StepDownState TakeStepDownState(size_t max) const EXCLUDES(mu_);

  // A new root's recovery (docs/failover.md): appends the offered fragments that follow the
  // head, as the old root sequenced them, and publishes them; returns how many it took.
  size_t AppendTail(const wire::TailOffer& offer) EXCLUDES(mu_);
  // A root restarted on its data directory: the document as stored (snapshot, then the log
  // replayed on it). kDataLoss names the record that does not decode or apply. Call before
  // the document is shared.
  Status Restore(const StoredDocument& stored) EXCLUDES(mu_);
  // A member left: its chain state goes (its dedup entry stays, should it come back).
  void ReleaseAuthor(const EndpointId& origin) EXCLUDES(mu_);
  // Strand handlers.
  void OnFragment(Message msg) EXCLUDES(mu_);
  // Fragments that arrived together: one lock, one send.
  void OnFragments(Message* msgs, size_t n) EXCLUDES(mu_);
  void OnSnapshotRequest(const Message& msg) EXCLUDES(mu_);
  void OnCatchupRequest(const Message& msg) EXCLUDES(mu_);
  // Head notices while recently active; with a store, idle for options().unload_after, asks
  // the endpoint to unload it (EndpointCore::Unload). Runs only while it asked for ticks
  // (EndpointCore::SetTicking): an idle document costs nothing per tick.
  void OnTick(int64_t now_micros) EXCLUDES(mu_);
  // AckAfter::kStandby: the standby has this document on disk up to seq (its wire::Durable).
  void OnStandbyDurable(uint64_t seq) EXCLUDES(mu_);
  // What zincctl ls shows of it.
  struct Info {
    uint64_t seq = 0;
    uint64_t bytes = 0;
  };
  Info Describe() const EXCLUDES(mu_);
  // Deleted (Endpoint::Delete): refuses the application's edits from now on (the endpoint
  // drops it, so nothing else reaches it); false again if the deletion failed. Returns the head.
  uint64_t SetDeleted(bool deleted) EXCLUDES(mu_);

  // DocumentBackend.
  const DocumentType* type() const override { return type_; }
  Status Edit(std::string payload) override EXCLUDES(mu_);
  Status EditWith(const std::function<Result<std::string>(const Document&)>& make) override
      EXCLUDES(mu_);
  Status WaitSynced(std::chrono::milliseconds) override { return Status::Ok(); }
  Status WaitAcknowledged(std::chrono::milliseconds) override { return Status::Ok(); }
  Status WaitPendingAtMost(size_t, std::chrono::milliseconds) override { return Status::Ok(); }
  uint64_t seq() const override EXCLUDES(mu_);
  size_t pending() const override { return 0; }
  std::string ToJson() const override EXCLUDES(mu_);
  void Read(const std::function<void(const Document&)>& fn) const override EXCLUDES(mu_);
  Status SetPresence(std::string state) override;
  void SetListeners(DocumentListeners* listeners) override EXCLUDES(mu_);

  const std::string& name() const { return name_; }
  // Strand handler: a presence from the network.
  void OnPresenceMessage(const Message& msg) EXCLUDES(mu_);

 private:
  // Sequences env (a fragment from origin) and appends the frame that publishes it to *out. On
  // success fills *change and returns Ok; otherwise returns the refusal to nack with (its code
  // picks the reason) and changes nothing.
  Status SequenceLocked(wire::Envelope env, const EndpointId& origin, DocumentChange* change,
                        wire::NackReason* reason, uint64_t* expected,
                        std::vector<OutboundFrame>* out) REQUIRES(mu_);
  // Sequences one fragment received from the network; a refusal is counted, logged and nacked.
  void SequenceReceivedLocked(Message* msg, std::vector<DocumentChange>* changes,
                              std::vector<OutboundFrame>* out) REQUIRES(mu_);
  // Per author, for types that transform (OT with any number of fragments in flight): the
  // others' fragments sequenced since the author's chain began at base, each transformed past
  // the author's fragments of that chain, i.e. in the context of its next fragment. A client
  // sends a fragment with an older base only while no remote fragment has reached it since its
  // oldest unacknowledged one (endpoints/replica.h), so a chain is a run of fragments that share
  // one base_seq.
  struct Bridge {
    uint64_t base = 0;
    bool live = false;        // a chain has started
    bool overflowed = false;  // grew past the cap, or broken: the chain cannot continue
    // The type's PendingEdits: TransformLater passes a fragment over them and them over it.
    std::unique_ptr<PendingEdits> ops;
  };
  // Transforms *payload (from origin, made on base_seq) to apply at the head, and the author's
  // bridge past it. Sets *bridge to the bridge used.
  Status TransformLocked(const EndpointId& origin, uint64_t base_seq, std::string* payload,
                         Bridge** bridge, wire::NackReason* reason) REQUIRES(mu_);
  // Fills bridge->ops with the others' fragments from base_seq + 1 to the head: those older
  // than the history in memory from the store's log (its retention window). Returns false
  // (the chain is refused: NACK_STALE_BASE) when neither holds them all, or past the cap.
  bool BuildBridgeLocked(const EndpointId& origin, uint64_t base_seq, Bridge* bridge) REQUIRES(mu_);
  // The most fragments a bridge may hold before its chain is ended.
  size_t BridgeCap() const;
  // Adds a just-sequenced fragment of origin to every other author's bridge.
  void ExtendBridgesLocked(const EndpointId& origin, const std::string& payload) REQUIRES(mu_);
  wire::SnapshotReply SnapshotLocked() const REQUIRES(mu_);
  // A catch-up older than the history in memory, served from the store's log (its retention
  // window) into *reply; false if the log does not hold req.from_seq.
  bool FillCatchupFromStoreLocked(const wire::CatchupRequest& req, wire::CatchupReply* reply)
      REQUIRES(mu_);
  // Sequences payload as this host's own edit; fills *change.
  Status EditLocked(std::string payload, DocumentChange* change) REQUIRES(mu_);
  // The nack frame for a refused fragment.
  OutboundFrame NackFrame(const EndpointId& origin, const EndpointCore::NackSpec& nack) const;
  // Hands what the listeners' queue holds to them. Strand only.
  void Notify() EXCLUDES(mu_);
  // Sends out (in order, under mu_): with a store, through the journal with the records
  // sequenced since the last call, so that nothing goes out before it is on disk.
  void EmitLocked(std::vector<OutboundFrame> out) REQUIRES(mu_);
  void EmitLocked(OutboundFrame frame) REQUIRES(mu_);
  // The store refused a commit of this document: back to what is on disk, refusing edits for
  // a while (NACK_STORE_FAILED) before it tries again. Strand only.
  void OnStoreFailed(const Status& why) EXCLUDES(mu_);
  Status RestoreLocked(const StoredDocument& stored) REQUIRES(mu_);
  // Ticks: stops asking for them; marks it used now and asks for them (to be unloaded once
  // idle).
  void StopTickingLocked() REQUIRES(mu_);
  // The state changed (or nobody asks): the next snapshot reply encodes it again.
  void ForgetEncodedStateLocked() const REQUIRES(mu_);
  // Sequences the document's housekeeping (Document::Collect) once per
  // options().collect_interval.
  void CollectLocked(int64_t now_micros) REQUIRES(mu_);
  void TouchLocked() REQUIRES(mu_);
  // Stages a change that replaces the listeners' view with the whole state (if they want
  // changes).
  void StageResetLocked() REQUIRES(mu_);
  // With a store: the record of the fragment just sequenced at seq, and a snapshot (with the
  // log compacted behind it) when one is due.
  void RecordLocked(uint64_t seq, const std::string& bytes) REQUIRES(mu_);

  // Constant after construction.
  EndpointCore* const core_;
  const std::string name_;
  const DocumentType* const type_;
  Counter* const sequenced_;
  Counter* const duplicates_;
  Journal* const journal_;

  mutable Mutex mu_;
  std::unique_ptr<Document> state_ GUARDED_BY(mu_);
  uint64_t head_ GUARDED_BY(mu_) = 0;
  // Adopted by a standby that took over and has sequenced nothing yet: the old root's tail may
  // still be appended (AppendTail).
  bool adopting_ GUARDED_BY(mu_) = false;
  // The newest sequenced fragments, up to head_.
  History history_ GUARDED_BY(mu_);
  // The last origin_seq sequenced per origin (the dedup table).
  std::unordered_map<EndpointId, uint64_t, EndpointIdHash> applied_ GUARDED_BY(mu_);
  // Presence bytes a second per author (EndpointOptions::max_presence_bytes_per_second), for at
  // most 10,000 authors at a time.
  RateTable presence_rate_ GUARDED_BY(mu_);
  // Transforms a second per author for building bridges (chains from a new base_seq):
  // kBridgeBudget full bridges' worth (BridgeCap), for the 10,000 most recent authors.
  static constexpr double kBridgeBudget = 16;
  RateTable bridge_budget_ GUARDED_BY(mu_);
  uint64_t next_origin_seq_ GUARDED_BY(mu_) = 1;
  std::unordered_map<EndpointId, Bridge, EndpointIdHash> bridges_ GUARDED_BY(mu_);
  // The last fragment refused per origin, to refuse a copy of it alike.
  struct Refusal {
    uint64_t origin_seq = 0;
    wire::NackReason reason = wire::NACK_UNSPECIFIED;
    std::string text;
  };
  std::unordered_map<EndpointId, Refusal, EndpointIdHash> last_refused_ GUARDED_BY(mu_);
  int64_t last_publish_micros_ GUARDED_BY(mu_) = 0;
  // AckAfter::kStandby: the watermark published (wire::Durable on the topic): what authors
  // count as acknowledged.
  uint64_t durable_seq_ GUARDED_BY(mu_) = 0;
  bool AcksAfterStandby() const {
    return core_->options().ack_after == EndpointOptions::AckAfter::kStandby;
  }
  // Publishes the watermark seq (behind the commits of what it covers) if it moves it.
  void DurableLocked(uint64_t seq) REQUIRES(mu_);
  int64_t last_notice_micros_ GUARDED_BY(mu_) = 0;
  // Changes and acknowledgements applied (in seq order) and not yet queued for the handle's
  // listeners.
  StagedChanges staged_ GUARDED_BY(mu_);
  // With a store: the records sequenced and not yet handed to the journal, and whether the
  // store has (or is to have, by them) the document: it is created with its first record, so
  // that a reply that only reads it never carries a write.
  WriteBatch records_ GUARDED_BY(mu_);
  bool stored_ GUARDED_BY(mu_) = false;
  // The seq of the last snapshot written (or restored), and the record bytes since.
  uint64_t snapshot_seq_ GUARDED_BY(mu_) = 0;
  size_t bytes_since_snapshot_ GUARDED_BY(mu_) = 0;
  // The size of the state in its snapshot encoding: measured at loads and snapshots, plus the
  // payload bytes sequenced since (an estimate that only grows between measures); measured
  // again when it nears options().max_document_bytes.
  size_t state_bytes_ GUARDED_BY(mu_) = 0;
  // Asked the endpoint for ticks (SetTicking), and deleted (MarkDeleted); when it was last
  // loaded or asked for anything (a snapshot, a catch-up): the idle time that unloads it counts
  // from this or the last fragment sequenced.
  int64_t last_used_micros_ GUARDED_BY(mu_) = 0;
  int64_t last_collect_micros_ GUARDED_BY(mu_) = 0;  // 0: not yet ticked
  // The state as the last snapshot reply encoded it, kept while the state stays as it is and
  // the document is in use, so that a peer asking again and again for a large document costs a
  // copy each time, not an encode (states under kEncodedStateMinBytes are not kept).
  static constexpr size_t kEncodedStateMinBytes = 64 << 10;
  mutable std::string encoded_state_ GUARDED_BY(mu_);
  mutable bool encoded_state_valid_ GUARDED_BY(mu_) = false;
  bool ticking_ GUARDED_BY(mu_) = false;
  bool deleted_ GUARDED_BY(mu_) = false;
  // The store failed: edits are refused until then (micros; 0: not refusing).
  int64_t refusing_until_micros_ GUARDED_BY(mu_) = 0;
  std::string store_error_ GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace zinc
