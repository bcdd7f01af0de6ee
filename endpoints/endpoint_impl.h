#pragma once

// The one implementation of Endpoint. endpoint.cpp has the documents and messages, tree.cpp the
// cluster's tree: joining, the roster and what relays add. Only endpoints/ includes this.

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/channel.h"
#include "core/mutex.h"
#include "core/rate.h"
#include "endpoints/channel_listener.h"
#include "endpoints/document_handle_impl.h"
#include "endpoints/election.h"
#include "endpoints/endpoint.h"
#include "endpoints/endpoint_internal.h"
#include "endpoints/hosted_document.h"
#include "endpoints/journal.h"
#include "endpoints/liveness.h"
#include "endpoints/replica.h"
#include "endpoints/role.h"
#include "endpoints/roster.h"
#include "handlers/handler_pool.h"
#include "handlers/message_handler.h"

namespace zinc {
namespace internal {

// A new root reminds the root it replaced of the takeover this often, for as long as it is the
// root; a root restarted on its store holds (sequences nothing) a little longer than this.
constexpr int64_t kTakeoverReminderMicros = 500000;
// An epoch more than this far beyond an endpoint's own, offered from below (a Takeover on the
// inbound side), is refused: failovers add one each, and a forged 2^64-1 must never wrap.
constexpr uint64_t kMaxEpochLead = uint64_t{1} << 20;
// The longest listen address and name a member may report (the roster carries them to all).
constexpr size_t kMaxListenBytes = 256;
constexpr size_t kMaxNameBytes = 64;
// A member that lost the root asks the standby, and after this many heartbeat timeouts without
// an answer the join address instead, and so on in turn (docs/failover.md).
constexpr int kSurvivorSwitchTimeouts = 5;

// A MessageHandler made of a function, for handlers that only route to a document.
class FunctionHandler final : public MessageHandler {
 public:
  using BatchFn = std::function<void(Message*, size_t)>;
  FunctionHandler(std::function<void(Message)> fn, BatchFn batch)
      : fn_(std::move(fn)), batch_(std::move(batch)) {}
  void Handle(Message msg) override { fn_(std::move(msg)); }
  void HandleBatch(Message* msgs, size_t n) override {
    if (batch_) {
      batch_(msgs, n);
    } else {
      MessageHandler::HandleBatch(msgs, n);
    }
  }

 private:
  std::function<void(Message)> fn_;
  BatchFn batch_;
};

// Thread-safe.
class EndpointImpl final : public Endpoint, public EndpointCore, public ChannelListener::Sink {
 public:
  explicit EndpointImpl(EndpointOptions options);
  ~EndpointImpl() override { Stop(); }

  Status Init();

  // Endpoint.
  void Stop() override;
  const EndpointId& id() const override { return id_; }
  const std::string& listen_address() const override { return listen_address_; }
  bool is_root() const override { return IsRoot(role()); }
  bool is_relay() const override { return hosts_.load(std::memory_order_acquire) && !is_root(); }
  bool is_standby() const override { return standby_self_.load(std::memory_order_relaxed); }
  bool has_standby() const override { return standby_known_.load(std::memory_order_relaxed); }
  Status WaitJoined(std::chrono::milliseconds timeout) override EXCLUDES(tree_mu_);
  TreePosition position() const override EXCLUDES(tree_mu_);
  RosterInfo roster() const override EXCLUDES(tree_mu_);
  Result<DocumentHandle*> Open(const std::string& name, const OpenOptions& options) override;
  Status Close(const std::string& name) override EXCLUDES(mu_);
  Status Delete(const std::string& name, std::chrono::milliseconds timeout) override
      EXCLUDES(mu_, tree_mu_);
  Status ReloadAuthorizedKeys() override;
  Counters& counters() override { return counters_; }
  const EndpointMetrics& metrics() const override { return metrics_; }
  const TypeRegistry& types() const override { return *types_; }

  // EndpointCore.
  const EndpointOptions& options() const override { return options_; }
  const Clock& clock() const override { return *clock_; }
  Logger& logger() override { return logger_; }
  uint64_t epoch() const override { return epoch_.load(std::memory_order_acquire); }
  bool accepting() const override { return IsAccepting(role()); }
  Journal* journal() override { return journal_.get(); }
  void Send(OutboundFrame frame) override { listener_->Send(std::move(frame)); }
  void Send(std::vector<OutboundFrame> frames) override { listener_->Send(std::move(frames)); }
  void SetTicking(const std::string& doc, bool on) override EXCLUDES(tick_mu_);
  void Unload(const std::string& doc) override EXCLUDES(mu_);
  void Post(const std::string& doc, std::function<void()> task) override {
    Status s = pool_->Submit(doc, std::move(task));
    (void)s;  // kClosed while stopping: the task is moot.
  }

  // ChannelListener::Sink.
  void OnMessages(std::vector<Message> msgs) override;
  void OnBadFrame(ChannelKind channel, const Status& why, const wire::Envelope* envelope,
                  const std::string& routing_id) override;
  void OnTick() override;
  void OnSubscription(const std::string& topic, bool subscribed) override EXCLUDES(mu_);
  void OnTransferProgress(const std::string& doc) override EXCLUDES(mu_);
  // The handlers have max_queued_messages waiting. Leaving that state, the members' silence
  // while nothing was read is forgiven (their frames waited unread here).
  bool Saturated() override EXCLUDES(tree_mu_);
  // Keys (access.cpp, docs/security.md): the rights of a child's key, checked per message.
  bool Admit(ChannelKind channel, std::string_view peer, const wire::Envelope& env,
             const std::string& routing_id) override;
  bool AdmitSubscription(std::string_view peer, const std::string& doc) override;
  // A member that refuses this endpoint's key ends WaitJoined with kPermissionDenied.
  void OnHandshake(const Channel::HandshakeEvent& event) override EXCLUDES(tree_mu_);

 private:
  void RegisterHandlers();
  void Refuse(const Message& msg, wire::NackReason reason, const std::string& text);
  // The hosted document called name; created with type_name when missing and create is set.
  // Sets *reason when it returns nullptr for a reason worth a nack.
  // With a store, a document not in memory is loaded from it (a load that fails is refused
  // with NACK_STORE_FAILED, never replaced by a new document).
  // creator: who asks to create it (nullptr: this endpoint's application), for the bounds
  // (EndpointOptions::max_documents, max_documents_per_key: NACK_LIMIT).
  std::shared_ptr<HostedDocument> FindHosted(const std::string& name, const std::string& type_name,
                                             bool create, wire::NackReason* reason,
                                             std::string* why, const EndpointId* creator = nullptr)
      EXCLUDES(mu_);
  // EndpointCore: the fragment rate limit, per origin (per key with keys).
  bool TakeFragmentToken(const EndpointId& origin) override EXCLUDES(rate_mu_);
  Replica* FindReplica(const std::string& name) EXCLUDES(mu_);
  // The application's handle on name, made over backend if it has none yet.
  DocumentHandleImpl* HandleLocked(const std::string& name, DocumentBackend* backend) REQUIRES(mu_);
  // FindReplica, or at the standby a new replica of a document not replicated yet.
  Replica* FindOrReplicate(const std::string& name, const std::string& type_name) EXCLUDES(mu_);

  void HandleFragment(Message msg);
  // A run of fragments of one document from one channel: one lock and one send for the lot.
  void HandleFragments(Message* msgs, size_t n);
  void HandleHeartbeat(Message msg);
  // wire::Durable: the standby's report at the root (inbound), the root's watermark at a member
  // (subscription).
  void HandleDurable(Message msg) EXCLUDES(mu_);
  // A reply reassembled from chunks (the ChannelListener's Chunk message): decoded here, on the
  // document's strand, then handled as if it had come whole.
  void HandleChunkedReply(Message msg);
  void HandlePresence(Message msg);
  void HandleSnapshotRequest(Message msg);
  void HandleCatchupRequest(Message msg);
  void HandleSyncReply(Message msg);
  // zincctl ls and rm (docs/protocol.md); Deleted from the parent drops the replicas.
  void HandleListRequest(Message msg) EXCLUDES(mu_);
  void HandleDeleteRequest(Message msg) EXCLUDES(mu_);
  void HandleDeleted(Message msg) EXCLUDES(mu_);
  // The standby walks the root's list every few seconds (a page at a time) and replicates the
  // documents it lacks: those idle at the root publish nothing it would see.
  void StandbyListTickLocked(int64_t now, std::vector<OutboundFrame>* out) REQUIRES(tree_mu_);
  void OnDocumentList(const wire::DocumentList& list) EXCLUDES(tree_mu_, mu_);
  // The root deletes name (from the store first): the reply or nack to send, on the strand of
  // name.
  Status DeleteHosted(const std::string& name, wire::NackReason* reason, uint64_t* seq)
      EXCLUDES(mu_);

  // Tree (tree.cpp).
  // Starts joining (Init), or asks the current target again (the tick).
  void SendJoinRequestLocked() REQUIRES(tree_mu_);
  void HandleJoinRequest(Message msg) EXCLUDES(tree_mu_);
  void HandleJoinReply(Message msg) EXCLUDES(tree_mu_);
  void HandleMemberReport(Message msg) EXCLUDES(tree_mu_);
  void HandleRosterRequest(Message msg) EXCLUDES(tree_mu_);
  void HandleRoster(Message msg) EXCLUDES(tree_mu_);
  void TreeTick(int64_t now_micros) EXCLUDES(tree_mu_);
  wire::MemberReport SelfReportLocked() const REQUIRES(tree_mu_);
  // Liveness: a child's heartbeat (inbound), and anything heard on the control topic from the
  // parent itself (not the root's heartbeats it passes on).
  void OnChildHeartbeat(const EndpointId& child) EXCLUDES(tree_mu_);
  void OnParentHeartbeat(const EndpointId& from) EXCLUDES(tree_mu_);
  // The parent is gone: join again, through its parent if the roster knows it.
  void RejoinLocked(const std::string& why) REQUIRES(tree_mu_);
  // Where to ask after a refusal or no answer: the standby while the root is lost, else the
  // join address.
  std::string FallbackTargetLocked() const REQUIRES(tree_mu_);
  RejoinContext RejoinContextLocked() const REQUIRES(tree_mu_);
  // The listen address this endpoint offers to children ("" once deposed: it joins as a leaf).
  std::string OfferedListenLocked() const REQUIRES(tree_mu_);
  // This endpoint's own roster entry as root.
  MemberInfo SelfInfoLocked() const REQUIRES(tree_mu_);
  // "root", "standby", "relay", "client" or "joining" (zincctl stat's roles).
  std::string RoleLocked() const REQUIRES(tree_mu_);
  Role role() const { return role_.load(std::memory_order_acquire); }
  // Moves the role by event (NextRole, endpoints/role.h); returns whether it changed.
  bool TransitionLocked(RoleEvent event) REQUIRES(tree_mu_);

  // Failover (failover.cpp, docs/failover.md).
  // Per message from the I/O thread: a later epoch than this endpoint's.
  void ObserveEpoch(const Message& msg) EXCLUDES(tree_mu_, mu_);
  void HandleRootLost(Message msg) EXCLUDES(tree_mu_);
  void HandleTakeover(Message msg) EXCLUDES(tree_mu_);
  void HandleTailOffer(Message msg) EXCLUDES(tree_mu_, mu_);
  // A root's check of a Takeover from its inbound side (docs/failover.md, "Verified
  // takeovers"): an epoch within kMaxEpochLead of its own, from its standby (any member while
  // it holds after a restart, when it knows none), backed by the votes of at least half of its
  // other members. Sets *why when it refuses.
  bool TakeoverVerifiedLocked(const Message& msg, std::string* why) REQUIRES(tree_mu_);
  // Root: why the report of origin is refused ("" to take it): only from a direct child, or
  // under a hosting member that reports at least as many children as the roster then lists
  // under it; and only while the roster has room in members and bytes.
  std::string MemberReportRefusalLocked(const EndpointId& origin, const wire::MemberReport& r) const
      REQUIRES(tree_mu_);
  // Counts and logs (rate-limited) a message refused as hostile or bogus:
  // zinc_refused_total{reason="<reason>"}.
  void RefuseHostile(const char* reason, const std::string& text);
  // A new root's recovery: fragments and snapshot requests wait (in held_) until the members
  // have offered their tails. Returns true if msg was held.
  bool HoldWhileRecovering(const Message& msg) EXCLUDES(held_mu_);
  // Ends the recovery: the application's handles move to the hosted documents, then the held
  // messages are handled, in order.
  void EndRecovery(const std::string& why) EXCLUDES(held_mu_, mu_);
  // On name's strand, once the recovery is over: the application's handle on name moves from
  // replica (kept since the takeover, taking the application's edits meanwhile) to the hosted
  // document, which sequences the edits still pending.
  void HandOver(const std::string& name, Replica* replica) EXCLUDES(mu_);
  // A root stepping down: the application's handles move from the hosted documents to new
  // replicas, seeded with the hosted state, that resync with the new root (of epoch) once
  // subscribed and started. Returns them (in replicas_ now).
  std::vector<Replica*> ReplicateOwnDocuments(
      std::vector<std::pair<DocumentHandleImpl*, HostedDocument*>> docs, uint64_t epoch)
      EXCLUDES(mu_);
  // The root's liveness as a member sees it, votes and the election; the root's pause check
  // and standby choice. Called by TreeTick; appends frames to *out; returns true when this
  // standby won the election and must take over (after tree_mu_ is released).
  bool FailoverTickLocked(int64_t now_micros, std::vector<OutboundFrame>* out) REQUIRES(tree_mu_);
  // The root stood still for gap_micros (a pause): it sequences nothing until it knows no
  // standby took over meanwhile.
  void SuspectPauseLocked(int64_t now_micros, int64_t gap_micros) REQUIRES(tree_mu_);
  // Opens the store (options_.data_dir or options_.store) and, at a root, serves what it holds:
  // its epoch and every document.
  Status OpenStore();
  // Makes the epoch durable (with a store), behind what was handed to the journal before.
  void PersistEpoch(uint64_t epoch);
  // The standby takes over: its replicas become hosted documents, then it is the root.
  void TakeOver() EXCLUDES(tree_mu_, mu_);
  // A root that learned of a later epoch steps down and joins listen (if known) as a member.
  void StepDown(uint64_t epoch, const std::string& listen) EXCLUDES(tree_mu_, mu_);
  void StepDownLocked(uint64_t epoch, const std::string& listen) REQUIRES(tree_mu_);
  // The root forgets what its documents keep for an author that left (docs/failover.md).
  void ReleaseAuthors(std::vector<EndpointId> gone) EXCLUDES(mu_);
  // Posts Replica::OnEpoch to every replica; returns how many there are.
  size_t ResyncReplicas(uint64_t epoch) EXCLUDES(mu_);
  // A relay's replica of name serving its children, made (and subscribed upward) if missing.
  Replica* ServingReplica(const std::string& name, const std::string& type_name, bool create)
      EXCLUDES(mu_);
  // Subscribes upward to name, or unsubscribes, as its Topic says.
  void UpdateUpwardLocked(const std::string& name) REQUIRES(mu_);
  // Moves the replica of name out of replicas_ and closes it.
  void RetireReplicaLocked(const std::string& name, bool release_state) REQUIRES(mu_);

  // Keys (access.cpp). The authorized-keys file as last read, shared with the context's ZAP
  // handler (which may outlive this endpoint by a request). Thread-safe.
  struct KeyTable {
    Mutex mu;
    std::shared_ptr<const AuthorizedKeys> keys GUARDED_BY(mu);
    std::atomic<uint64_t> refused{0};  // connections the ZAP handler refused
    std::shared_ptr<const AuthorizedKeys> Get() EXCLUDES(mu) {
      MutexLock l(&mu);
      return keys;
    }
  };
  // Init's part for keys: checks the options, reads the authorized keys, serves ZAP.
  Status InitKeys();
  // The options of a host channel (kXPub, kPull, kRouter): CurveZMQ servers with keys.
  ChannelOptions HostOptions(SocketType type) const;
  Result<std::unique_ptr<Channel>> HostChannel(SocketType type) const;
  // This endpoint's own key pair, and the server key of the member at `address` (empty: none
  // known): what a request of its own over the sync channel needs.
  ClientKeys OwnKeys() const;
  // A child's message refused for its key: counted, logged, nacked where the origin is the
  // sender's own (a nack to an origin it does not own would reach the victim).
  void Forbid(ChannelKind channel, const wire::Envelope& env, const std::string& routing_id,
              bool nack, const std::string& why);
  // Keys learned from the roster's members (their listen addresses), for the listener.
  void LearnKeysLocked() REQUIRES(tree_mu_);
  // Whether this endpoint has keys (EndpointOptions::secret_key).
  bool keys_on() const { return !options_.secret_key.empty(); }

  // Constant after construction.
  EndpointOptions options_;
  // From options_: the tree's timeouts.
  const Timeouts timeouts_;
  // Z85; empty without keys.
  const std::string public_key_;
  const EndpointId id_;
  const std::shared_ptr<KeyTable> key_table_ = std::make_shared<KeyTable>();
  std::string zap_domain_;
  uint64_t zap_refused_seen_ = 0;
  std::unique_ptr<TypeRegistry> own_types_;
  const TypeRegistry* types_;
  SystemClock system_clock_;
  const Clock* clock_;
  Logger logger_;
  Counters counters_;
  EndpointMetrics metrics_{&counters_};
  std::string listen_address_;
  std::vector<std::unique_ptr<FunctionHandler>> handler_storage_;
  // zinc_messages_received_total by ChannelKind, looked up once: this is the hot path.
  std::array<Counter*, 4> received_;
  // zinc_fragments_received_total: sequenced fragments from the parent (any document).
  Counter* fragments_received_ = nullptr;
  // zinc_stale_epoch_dropped_total: from the parent, of a replaced root's epoch.
  Counter* stale_dropped_ = nullptr;
  HandlerRegistry handlers_;

  // options_.context, or owned_context_ (declared first: destroyed after the sockets).
  std::unique_ptr<ChannelContext> owned_context_;
  ChannelContext* context_ = nullptr;
  std::unique_ptr<HandlerPool> pool_;
  std::unique_ptr<ChannelListener> listener_;
  // With a data directory (or options_.store): the store and the group commit to it, made in
  // Init (destroyed before the listener, whose Send the journal's thread calls).
  std::unique_ptr<Store> owned_store_;
  std::unique_ptr<Journal> journal_;
  // A root started on its store serves the documents in it, loading them on demand (a
  // standby that took over keeps what it adopted in memory: what its store held before may be
  // stale).
  std::atomic<bool> serves_store_{false};
  // Serializes loads from the store with unloads and deletions (before mu_).
  Mutex load_mu_;

  Mutex mu_;
  // The documents the root sequences that are in memory (with a store, the others are loaded on
  // demand: FindHosted).
  std::unordered_map<std::string, std::shared_ptr<HostedDocument>> hosted_ GUARDED_BY(mu_);
  // Documents whose ticks were asked for (HostedDocument::OnTick; only these are ticked).
  Mutex tick_mu_;
  std::set<std::string> ticking_ GUARDED_BY(tick_mu_);
  std::unordered_map<std::string, std::unique_ptr<Replica>> replicas_ GUARDED_BY(mu_);
  // The roster's standby is this endpoint / is named at all, as of the last tick.
  std::atomic<bool> standby_self_{false};
  std::atomic<bool> standby_known_{false};
  // Why this endpoint is subscribed upward to a document (clients and relays).
  struct Topic {
    bool app = false;                  // opened through Open (and not closed)
    bool children = false;             // a child subscribed (relays; from the XPUB)
    bool upward = false;               // subscribed on the SUB
    int64_t serving_since_micros = 0;  // a replica made for children
  };
  std::map<std::string, Topic> topics_ GUARDED_BY(mu_);
  // The application's handles, by document (Open), and those of documents it closed (frozen).
  std::unordered_map<std::string, std::unique_ptr<DocumentHandleImpl>> handles_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<DocumentHandleImpl>> closed_handles_ GUARDED_BY(mu_);
  // Closed replicas: a handle may still point at them.
  std::vector<std::unique_ptr<Replica>> closed_ GUARDED_BY(mu_);
  // A standby that took over: the application's replicas (in closed_) whose handles move to the
  // hosted documents when the recovery ends.
  std::vector<std::pair<std::string, Replica*>> handover_ GUARDED_BY(mu_);
  // Hosted documents of a root that stepped down (sequencing nothing; the application's
  // handles moved to replicas).
  std::vector<std::shared_ptr<HostedDocument>> deposed_docs_ GUARDED_BY(mu_);
  // Deleted documents the application had open at the root: its frozen handle points at them.
  std::vector<std::shared_ptr<HostedDocument>> deleted_docs_ GUARDED_BY(mu_);
  bool stopped_ GUARDED_BY(mu_) = false;

  // The role (written under tree_mu_ by TransitionLocked, read anywhere); whether this endpoint
  // offers to host children (it listens and was never deposed); and the epoch of the root this
  // endpoint follows (or is).
  std::atomic<Role> role_{Role::kJoining};
  std::atomic<bool> hosts_{false};
  std::atomic<uint64_t> epoch_{1};
  // What a recovering root holds (docs/failover.md).
  Mutex held_mu_;
  std::vector<Message> held_ GUARDED_BY(held_mu_);
  // When OnTick last ran (the I/O thread), to notice a pause before handling what waited.
  std::atomic<int64_t> last_tick_seen_micros_{0};
  // Whether the I/O thread reads nothing because the handlers are saturated (Saturated): the
  // tick then declares no member silent, since what they sent waits unread.
  std::atomic<bool> saturated_{false};

  // The tree. Locks: mu_ and tree_mu_ are never held together. The order is mu_ or tree_mu_,
  // then a handle's, then a backend's (HostedDocument, Replica), then the ChannelListener's and
  // the HandlerPool's, which are innermost: queueing a frame, a subscription or a task only
  // appends under them and never blocks, so it is allowed under any of the others. No
  // application listener is ever called under any of them.
  // Documents hosted in all (memory and store) and created per key (keys only: bounded by
  // the authorized keys), for the bounds. Under mu_.
  size_t documents_total_ GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, size_t> documents_by_key_ GUARDED_BY(mu_);
  // Fragments a second per origin or key (EndpointOptions::max_fragments_per_second).
  Mutex rate_mu_;
  RateTable fragment_rate_ GUARDED_BY(rate_mu_);

  mutable Mutex tree_mu_;
  // Notified when the role becomes joined (IsJoined).
  std::condition_variable joined_cv_;
  // The member asked now, the redirects followed to it, and when it was asked.
  std::string target_ GUARDED_BY(tree_mu_);
  // Why the member asked last refused this endpoint's key ("" while it did not).
  std::string key_refused_ GUARDED_BY(tree_mu_);
  uint32_t hops_ GUARDED_BY(tree_mu_) = 0;
  int attempts_ GUARDED_BY(tree_mu_) = 0;
  int64_t join_sent_micros_ GUARDED_BY(tree_mu_) = 0;
  uint32_t depth_ GUARDED_BY(tree_mu_) = 0;
  std::vector<EndpointId> path_ GUARDED_BY(tree_mu_);
  std::string parent_address_ GUARDED_BY(tree_mu_);
  EndpointId parent_id_ GUARDED_BY(tree_mu_);
  // When the parent was last heard from: its heartbeats, and any frame on the SUB.
  int64_t parent_seen_micros_ GUARDED_BY(tree_mu_) = 0;
  std::atomic<int64_t> parent_traffic_micros_{0};
  struct Child {
    std::string listen;
    int64_t last_seen_micros = 0;
  };
  std::map<EndpointId, Child> children_ GUARDED_BY(tree_mu_);
  RosterBook roster_ GUARDED_BY(tree_mu_);
  EndpointId roster_root_ GUARDED_BY(tree_mu_);
  bool roster_dirty_ GUARDED_BY(tree_mu_) = true;
  int64_t roster_published_micros_ GUARDED_BY(tree_mu_) = 0;
  bool report_dirty_ GUARDED_BY(tree_mu_) = true;
  int64_t reported_micros_ GUARDED_BY(tree_mu_) = 0;
  // The address to join when nothing better is known: options_.join, or the new root's after
  // stepping down.
  std::string join_address_ GUARDED_BY(tree_mu_);

  // Failover state.
  // Member: when the root was last heard from (its heartbeats, relayed down the tree), and
  // whether it is taken for lost, as of which epoch.
  int64_t root_seen_micros_ GUARDED_BY(tree_mu_) = 0;
  bool root_lost_ GUARDED_BY(tree_mu_) = false;
  // The last standby the roster named, kept when a roster names none for a while (a standby
  // that missed heartbeats under load): where to go if the root dies.
  std::string standby_hint_ GUARDED_BY(tree_mu_);
  // The parent lost last (never the target of a fallback).
  EndpointId lost_parent_id_ GUARDED_BY(tree_mu_);
  // Subscribed upward to every document (as the standby, ReplicatesAll; kept through a rejoin
  // until a roster names another). Written under tree_mu_; read on the hot path without it
  // (FindOrReplicate).
  std::atomic<bool> subscribed_all_{false};
  // Standby: the members' votes that the root is lost, and whether it holds an election.
  Election election_ GUARDED_BY(tree_mu_);
  // New root: the inbound address of the root it replaced, told of the takeover until then.
  std::string old_root_inbound_ GUARDED_BY(tree_mu_);
  EndpointId old_root_id_ GUARDED_BY(tree_mu_);
  int64_t takeover_until_micros_ GUARDED_BY(tree_mu_) = 0;
  int64_t takeover_reminded_micros_ GUARDED_BY(tree_mu_) = 0;
  // A root restarted on a store that knew an epoch: paused until then, so that a newer root's
  // takeover notice (which comes every second) finds it before it sequences anything as a
  // second root (docs/durability.md).
  int64_t restart_hold_until_micros_ GUARDED_BY(tree_mu_) = 0;
  bool restarted_ = false;  // set by OpenStore, read by Init
  // New root: until when it waits for tails, and the members that offered theirs.
  int64_t recovery_until_micros_ GUARDED_BY(tree_mu_) = 0;
  std::set<EndpointId> offered_ GUARDED_BY(tree_mu_);
  std::set<EndpointId> expected_offers_ GUARDED_BY(tree_mu_);
  // New root: the members whose votes elected it, the only ones whose tail offers count, and
  // until when they may come (the collection).
  std::set<EndpointId> tail_voters_ GUARDED_BY(tree_mu_);
  std::vector<std::string> takeover_voters_ GUARDED_BY(tree_mu_);  // ids, for the notices
  int64_t tail_offers_until_micros_ GUARDED_BY(tree_mu_) = 0;
  // A survivor that found the standby dead too (no answer while the root was lost, for
  // kSurvivorSwitchTimeouts): it asks its join address, then the standby again, in turn.
  bool standby_given_up_ GUARDED_BY(tree_mu_) = false;
  // Root: when the standby was last heard from: it stays the standby for a while after its
  // parent drops it for silence (it may only be starved), rather than flap.
  int64_t standby_seen_micros_ GUARDED_BY(tree_mu_) = 0;
  // Root: its own ticks (a longer gap than the heartbeat timeout is a pause), and since when it
  // is paused (doubts it is still the root).
  PauseWatch pause_watch_ GUARDED_BY(tree_mu_);
  // Standby: where its walk over the root's list is ("" between walks), when the last walk
  // ended and when its last page was asked for.
  std::string standby_list_after_ GUARDED_BY(tree_mu_);
  int64_t standby_listed_micros_ GUARDED_BY(tree_mu_) = 0;
  int64_t standby_list_sent_micros_ GUARDED_BY(tree_mu_) = 0;
  int64_t suspect_since_micros_ GUARDED_BY(tree_mu_) = 0;
};

}  // namespace internal
}  // namespace zinc
