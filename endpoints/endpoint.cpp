#include "endpoints/endpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "endpoints/address.h"
#include "endpoints/endpoint_impl.h"
#include "endpoints/stored.h"
#include "store/lmdb_store.h"

namespace zinc {
namespace internal {

namespace {

// Messages handed to the handlers in one task at most.
constexpr size_t kMaxTaskMessages = 256;

// Tries to bind the three channels of base, picking consecutive free ports when base.port is 0.
Status BindHostChannels(ChannelContext* ctx, BaseAddress* base, SocketType pub_type,
                        const ChannelOptions& pub_opts, const ChannelOptions& in_opts,
                        const ChannelOptions& sync_opts, ChannelListener::Channels* out) {
  const bool pick = base->transport == "tcp" && base->port == 0;
  Status last;
  for (int attempt = 0; attempt < (pick ? 64 : 1); ++attempt) {
    Result<std::unique_ptr<Channel>> pub = Channel::Create(ctx, pub_type, pub_opts);
    Result<std::unique_ptr<Channel>> pull = Channel::Create(ctx, SocketType::kPull, in_opts);
    Result<std::unique_ptr<Channel>> router = Channel::Create(ctx, SocketType::kRouter, sync_opts);
    if (!pub.ok()) return pub.status();
    if (!pull.ok()) return pull.status();
    if (!router.ok()) return router.status();
    BaseAddress b = *base;
    if (pick) {
      Result<std::string> bound = (*pub)->Bind("tcp://" + b.host + ":*");
      if (!bound.ok()) return bound.status();
      Result<BaseAddress> parsed = ParseBaseAddress(*bound);
      if (!parsed.ok()) return parsed.status();
      b.port = parsed->port;
      if (b.port > 65533) continue;
    }
    ChannelAddresses a = DeriveChannelAddresses(b);
    if (!pick) {
      Result<std::string> bound = (*pub)->Bind(a.outbound);
      if (!bound.ok()) return bound.status();
    }
    Result<std::string> in = (*pull)->Bind(a.inbound);
    Result<std::string> sync = in.ok() ? (*router)->Bind(a.sync) : in;
    if (!in.ok() || !sync.ok()) {
      last = in.ok() ? sync.status() : in.status();
      if (pick && last.code() == StatusCode::kUnavailable) continue;  // Port taken: try again.
      return last;
    }
    *base = b;
    out->outbound = std::move(pub).value();
    out->inbound = std::move(pull).value();
    out->sync_server = std::move(router).value();
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "no three consecutive free ports: " + last.message());
}

// The public key of secret (Z85), or "" without a valid one (InitKeys says why).
std::string PublicKeyOf(const std::string& secret) {
  if (secret.empty()) return "";
  Result<std::string> pub = CurvePublicKey(secret);
  return pub.ok() ? *pub : "";
}

// kTypeMismatch for a document open as have (nullptr: not known yet) asked for as want (nullptr:
// any type).
Status CheckOpenType(const std::string& name, const DocumentType* have, const DocumentType* want) {
  if (!want || !have || have == want) return Status::Ok();
  return Status(StatusCode::kTypeMismatch,
                "document '" + name + "' is open as '" + std::string(have->name()) + "'");
}

}  // namespace

ChannelOptions EndpointImpl::HostOptions(SocketType type) const {
  ChannelOptions o;
  if (type == SocketType::kXPub) {
    o.sndhwm = options_.publish_hwm;
    o.xpub_manual = keys_on();  // Who may subscribe to what: AdmitSubscription.
  } else {
    o.max_message_bytes = static_cast<int64_t>(options_.limits.max_envelope_bytes) + 1024;
  }
  if (type == SocketType::kRouter) o.sndhwm = ChannelListener::kSyncServerHwm;
  if (keys_on()) {
    o.curve_server = true;
    o.curve_secret_key = options_.secret_key;
    o.zap_domain = zap_domain_;
  }
  return o;
}

Result<std::unique_ptr<Channel>> EndpointImpl::HostChannel(SocketType type) const {
  return Channel::Create(context_, type, HostOptions(type));
}

EndpointImpl::EndpointImpl(EndpointOptions options)
    : options_(std::move(options)),
      timeouts_(Timeouts::From(options_)),
      public_key_(PublicKeyOf(options_.secret_key)),
      id_(NewIdForKey(public_key_)),
      own_types_(options_.types ? nullptr : TypeRegistry::WithBuiltins()),
      types_(options_.types ? options_.types : own_types_.get()),
      clock_(options_.clock ? options_.clock : &system_clock_),
      logger_(clock_, options_.log_level,
              options_.name.empty() ? id_.ToString().substr(0, 8) : options_.name),
      fragment_rate_(options_.max_fragments_per_second, options_.max_fragments_per_second,
                     /*max_keys=*/100000),
      election_(timeouts_.dead_after_micros),
      pause_watch_(timeouts_.dead_after_micros) {}

Status EndpointImpl::Init() {
  for (ChannelKind kind : {ChannelKind::kInbound, ChannelKind::kSyncServer,
                           ChannelKind::kSubscription, ChannelKind::kSyncClient}) {
    received_[static_cast<size_t>(kind)] = counters_.Get(
        std::string("zinc_messages_received_total{channel=\"") + ChannelKindName(kind) + "\"}");
  }
  fragments_received_ = metrics_.fragments_received;
  stale_dropped_ = metrics_.stale_epoch_dropped;
  if (options_.listen.empty() && options_.join.empty()) {
    return Status(StatusCode::kInvalidArgument, "an endpoint needs a listen or a join address");
  }
  if (!options_.listen.empty() && !options_.insecure && !keys_on()) {
    Result<BaseAddress> base = ParseBaseAddress(options_.listen);
    if (base.ok() && !IsLoopbackAddress(*base)) {
      return Status(StatusCode::kInvalidArgument,
                    "refusing to listen on " + options_.listen +
                        " without keys: anyone who reaches it could read and write every "
                        "document. Listen on 127.0.0.1, or pass --insecure "
                        "(EndpointOptions::insecure) on a network only trusted peers reach "
                        "(docs/security.md)");
    }
  }
  role_.store(options_.join.empty() ? Role::kRoot : Role::kJoining);
  hosts_.store(!options_.listen.empty());
  {
    MutexLock l(&tree_mu_);
    join_address_ = options_.join;
  }
  if (options_.context) {
    context_ = options_.context;
  } else {
    owned_context_ = std::make_unique<ChannelContext>();
    context_ = owned_context_.get();
  }
  ZINC_RETURN_IF_ERROR(InitKeys());
  ChannelListener::Channels channels;
  // Client channels: made on joining, again on every rejoin, and by a root that steps down; and
  // the PUSH sockets of failover's votes and notices.
  ChannelListener::ChannelFactory remake =
      [this](SocketType type) -> Result<std::unique_ptr<Channel>> {
    ChannelOptions o;
    if (type == SocketType::kXPub) return HostChannel(type);  // Rebind.
    o.curve_public_key = public_key_;
    o.curve_secret_key = options_.secret_key;
    if (type == SocketType::kSub) {
      o.rcvhwm = options_.subscribe_hwm;
      o.rcvbuf = options_.subscribe_rcvbuf;
      o.max_message_bytes = static_cast<int64_t>(options_.limits.max_envelope_bytes) + 1024;
    } else if (type == SocketType::kPush) {
      // The last words (a leaving member's report) get a moment to go out.
      o.linger_ms = 200;
    } else if (type == SocketType::kDealer) {
      o.routing_id = RoutingIdOf(id_);
      o.max_message_bytes = static_cast<int64_t>(options_.limits.max_sync_envelope_bytes) + 1024;
    }
    Result<std::unique_ptr<Channel>> c = Channel::Create(context_, type, o);
    if (c.ok() && type == SocketType::kSub) {
      ZINC_RETURN_IF_ERROR((*c)->Subscribe(WireTopic(kControlTopic)));
    }
    return c;
  };
  if (!options_.listen.empty()) {
    Result<BaseAddress> base = ParseBaseAddress(options_.listen);
    if (!base.ok()) return base.status();
    const ChannelOptions pub_opts = HostOptions(SocketType::kXPub);
    const ChannelOptions in_opts = HostOptions(SocketType::kPull);
    const ChannelOptions sync_opts = HostOptions(SocketType::kRouter);
    // An XPUB tells a relay what its children subscribe to (a root may become one: failover).
    ZINC_RETURN_IF_ERROR(BindHostChannels(context_, &*base, SocketType::kXPub, pub_opts, in_opts,
                                          sync_opts, &channels));
    channels.xpub = true;
    channels.relay = is_relay();
    channels.gated = keys_on();
    channels.outbound_bound = DeriveChannelAddresses(*base).outbound;
    listen_address_ = FormatBaseAddress(*base);
  }
  if (!options_.join.empty()) {
    Result<BaseAddress> base = ParseBaseAddress(options_.join);
    if (!base.ok()) return base.status();
    if (base->transport == "tcp" && base->port == 0) {
      return Status(StatusCode::kInvalidArgument, "a join address needs a port");
    }
    // Connected once a member accepts this endpoint (tree.cpp).
    auto sub = remake(SocketType::kSub);
    auto push = remake(SocketType::kPush);
    auto dealer = remake(SocketType::kDealer);
    if (!sub.ok()) return sub.status();
    if (!push.ok()) return push.status();
    if (!dealer.ok()) return dealer.status();
    channels.subscription = std::move(sub).value();
    channels.upstream = std::move(push).value();
    channels.sync_client = std::move(dealer).value();
  }
  RegisterHandlers();
  ZINC_RETURN_IF_ERROR(OpenStore());
  size_t threads = options_.handler_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency() / 2);
  pool_ = std::make_unique<HandlerPool>(threads, options_.max_queued_messages);
  channels.curve_client = keys_on();
  channels.context = context_;
  listener_ = std::make_unique<ChannelListener>(std::move(channels), this, options_.limits,
                                                options_.heartbeat, std::string(id_.bytes()),
                                                std::move(remake));
  if (keys_on() && !options_.join.empty())
    listener_->SetServerKey(options_.join, options_.server_key);
  ZINC_RETURN_IF_ERROR(listener_->Start());
  MutexLock l(&tree_mu_);
  if (is_root()) {
    roster_.set_max_members(options_.limits.max_roster_members);
    roster_.set_max_bytes(options_.limits.max_envelope_bytes / 2);
    roster_.SetSelf(SelfInfoLocked());
    roster_.set_epoch(epoch());
    roster_root_ = id_;
    if (restarted_ && TransitionLocked(RoleEvent::kPaused)) {
      // A standby may have taken over while this root was down: its takeover notices come
      // every kTakeoverReminderMicros; until one has had the time to arrive, nothing is
      // sequenced (fragments wait at their authors, who send them again; the application's
      // edits here return kUnavailable).
      restart_hold_until_micros_ =
          clock_->NowMicros() + kTakeoverReminderMicros + 2 * timeouts_.heartbeat_micros;
      logger_.Info("ZINC-RESTART", "restarted at epoch " + std::to_string(epoch()) +
                                       ": holding for a newer root's takeover notice");
    }
  } else {
    target_ = options_.join;
    SendJoinRequestLocked();
  }
  return Status::Ok();
}

void EndpointImpl::Stop() {
  {
    MutexLock l(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (listener_ && !is_root()) {
    // Tell the parent at once rather than let it time this endpoint out (best effort: the
    // listener sends what is queued as it stops).
    MutexLock l(&tree_mu_);
    if (IsJoined(role())) {
      wire::Envelope e = NewEnvelope("");
      *e.mutable_member_report() = SelfReportLocked();
      e.mutable_member_report()->set_leaving(true);
      listener_->Send(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(e)});
    }
  }
  // The listener first, so that no new message reaches the pool; then the pool, whose tasks
  // may still queue frames on the (stopped) listener harmlessly.
  if (listener_) listener_->Stop();
  if (!zap_domain_.empty()) context_->StopZap(zap_domain_);
  if (pool_) pool_->Stop();
  // What the pool's last tasks handed in is committed.
  if (journal_) journal_->Stop();
}

Status EndpointImpl::OpenStore() {
  Store* store = options_.store;
  if (!store && !options_.data_dir.empty()) {
    LmdbOptions o;
    o.sync = options_.sync;
    Result<std::unique_ptr<Store>> opened = OpenLmdbStore(options_.data_dir, o);
    if (!opened.ok()) return opened.status();
    owned_store_ = std::move(opened).value();
    store = owned_store_.get();
  }
  if (!store) return Status::Ok();
  journal_ = std::make_unique<Journal>(
      store, [this](std::vector<OutboundFrame> frames) { listener_->Send(std::move(frames)); },
      &logger_);
  if (!is_root()) return Status::Ok();
  Result<uint64_t> epoch = store->Epoch();
  if (!epoch.ok()) return epoch.status();
  if (*epoch == 0) {
    WriteBatch b;
    b.SetEpoch(epoch_.load());
    ZINC_RETURN_IF_ERROR(store->Commit(b));
  } else {
    epoch_.store(*epoch, std::memory_order_release);
    restarted_ = true;
  }
  Result<std::vector<std::string>> names = store->Documents();
  if (!names.ok()) return names.status();
  {
    MutexLock l(&mu_);
    documents_total_ = names->size();
  }
  // Loaded on demand (FindHosted), so that a restart serves its first document in the time of
  // one load whatever the store holds.
  serves_store_ = true;
  logger_.Info("ZINC-STORE", "serving " + std::to_string(names->size()) + " documents from " +
                                 store->Describe() + " at epoch " + std::to_string(epoch_.load()));
  return Status::Ok();
}

void EndpointImpl::PersistEpoch(uint64_t epoch) {
  if (!journal_) return;
  WriteBatch b;
  b.SetEpoch(epoch);
  journal_->Submit("", std::move(b), {}, nullptr);
}

void EndpointImpl::RegisterHandlers() {
  auto add = [this](MessageKind kind, void (EndpointImpl::*fn)(Message),
                    FunctionHandler::BatchFn batch = nullptr) {
    handler_storage_.push_back(std::make_unique<FunctionHandler>(
        [this, fn](Message m) { (this->*fn)(std::move(m)); }, std::move(batch)));
    handlers_.Register(kind, handler_storage_.back().get());
  };
  add(MessageKind::kFragment, &EndpointImpl::HandleFragment,
      [this](Message* msgs, size_t n) { HandleFragments(msgs, n); });
  add(MessageKind::kHeartbeat, &EndpointImpl::HandleHeartbeat);
  add(MessageKind::kPresence, &EndpointImpl::HandlePresence);
  add(MessageKind::kSnapshotRequest, &EndpointImpl::HandleSnapshotRequest);
  add(MessageKind::kCatchupRequest, &EndpointImpl::HandleCatchupRequest);
  add(MessageKind::kSnapshotReply, &EndpointImpl::HandleSyncReply);
  add(MessageKind::kCatchupReply, &EndpointImpl::HandleSyncReply);
  add(MessageKind::kNack, &EndpointImpl::HandleSyncReply);
  add(MessageKind::kJoinRequest, &EndpointImpl::HandleJoinRequest);
  add(MessageKind::kJoinReply, &EndpointImpl::HandleJoinReply);
  add(MessageKind::kMemberReport, &EndpointImpl::HandleMemberReport);
  add(MessageKind::kRosterRequest, &EndpointImpl::HandleRosterRequest);
  add(MessageKind::kRoster, &EndpointImpl::HandleRoster);
  add(MessageKind::kRootLost, &EndpointImpl::HandleRootLost);
  add(MessageKind::kTakeover, &EndpointImpl::HandleTakeover);
  add(MessageKind::kTailOffer, &EndpointImpl::HandleTailOffer);
  add(MessageKind::kListRequest, &EndpointImpl::HandleListRequest);
  add(MessageKind::kDocumentList, &EndpointImpl::HandleSyncReply);
  add(MessageKind::kDeleteRequest, &EndpointImpl::HandleDeleteRequest);
  add(MessageKind::kDeleted, &EndpointImpl::HandleDeleted);
  add(MessageKind::kDurable, &EndpointImpl::HandleDurable);
  add(MessageKind::kChunk, &EndpointImpl::HandleChunkedReply);
}

Result<DocumentHandle*> EndpointImpl::Open(const std::string& name, const OpenOptions& options) {
  ZINC_RETURN_IF_ERROR(ValidateDocId(name, options_.limits));
  const DocumentType* type = nullptr;
  if (!options.type.empty()) {
    type = types_->Find(options.type);
    if (!type) {
      return Status(StatusCode::kNotFound, "unknown document type '" + options.type + "'");
    }
  }
  {
    MutexLock l(&mu_);
    auto h = handles_.find(name);
    if (h != handles_.end()) {
      ZINC_RETURN_IF_ERROR(CheckOpenType(name, h->second->type(), type));
      return static_cast<DocumentHandle*>(h->second.get());
    }
  }
  if (is_root()) {
    while (true) {
      wire::NackReason reason = wire::NACK_UNSPECIFIED;
      std::string why;
      std::shared_ptr<HostedDocument> doc =
          FindHosted(name, options.type, type && options.create, &reason, &why);
      if (!doc) {
        return Status(reason == wire::NACK_TYPE_MISMATCH  ? StatusCode::kTypeMismatch
                      : reason == wire::NACK_STORE_FAILED ? StatusCode::kDataLoss
                                                          : StatusCode::kNotFound,
                      why);
      }
      MutexLock l(&mu_);
      // (Unloaded between the two: loaded again. The handle pins it in memory from now on.)
      auto it = hosted_.find(name);
      if (it == hosted_.end() || it->second != doc) continue;
      return static_cast<DocumentHandle*>(HandleLocked(name, doc.get()));
    }
  }
  Replica* replica = nullptr;
  DocumentHandleImpl* handle = nullptr;
  {
    MutexLock l(&mu_);
    auto it = replicas_.find(name);
    if (it != replicas_.end()) {
      ZINC_RETURN_IF_ERROR(CheckOpenType(name, it->second->type(), type));
      // (A relay's replica made for its children, now opened here too.)
      topics_[name].app = true;
      return static_cast<DocumentHandle*>(HandleLocked(name, it->second.get()));
    }
    auto r = std::make_unique<Replica>(this, name, type, options.create, types_);
    replica = r.get();
    replicas_.emplace(name, std::move(r));
    topics_[name].app = true;
    handle = HandleLocked(name, replica);
    // Subscribe before asking for the snapshot (the Clone pattern): the listener runs commands
    // before frames, so the subscription is in place first.
    UpdateUpwardLocked(name);
  }
  replica->Start();
  return static_cast<DocumentHandle*>(handle);
}

DocumentHandleImpl* EndpointImpl::HandleLocked(const std::string& name, DocumentBackend* backend) {
  std::unique_ptr<DocumentHandleImpl>& h = handles_[name];
  if (!h) h = std::make_unique<DocumentHandleImpl>(name, backend);
  return h.get();
}

bool EndpointImpl::TakeFragmentToken(const EndpointId& origin) {
  // (The limit itself is an option, constant after construction.)
  if (options_.max_fragments_per_second <= 0 || origin == id_) return true;
  // With keys an origin's first 8 bytes are its key's: every endpoint of one key shares it.
  const std::string key(origin.bytes().substr(0, keys_on() ? 8 : 16));
  MutexLock l(&rate_mu_);
  return fragment_rate_.Take(key, 1, clock_->NowMicros());
}

std::shared_ptr<HostedDocument> EndpointImpl::FindHosted(const std::string& name,
                                                         const std::string& type_name, bool create,
                                                         wire::NackReason* reason, std::string* why,
                                                         const EndpointId* creator) {
  auto checked =
      [&](const std::shared_ptr<HostedDocument>& doc) -> std::shared_ptr<HostedDocument> {
    if (!type_name.empty() && type_name != doc->type()->name()) {
      *reason = wire::NACK_TYPE_MISMATCH;
      *why = "document '" + name + "' is of type '" + std::string(doc->type()->name()) +
             "', not '" + type_name + "'";
      return nullptr;
    }
    return doc;
  };
  {
    MutexLock l(&mu_);
    auto it = hosted_.find(name);
    if (it != hosted_.end()) return checked(it->second);
  }
  // Loads are serialized with each other and with unloads and deletions (load_mu_), so that a
  // document is never loaded from what its store held before a commit it made.
  MutexLock load(&load_mu_);
  {
    MutexLock l(&mu_);
    auto it = hosted_.find(name);
    if (it != hosted_.end()) return checked(it->second);
  }
  if (serves_store_.load(std::memory_order_acquire)) {
    Store* store = journal_->store();
    Result<StoredDocument> stored = store->Load(name);
    if (stored.ok()) {
      const DocumentType* type = types_->Find(stored->type);
      Status s =
          type ? Status::Ok()
               : Status(StatusCode::kUnsupported, "store " + store->Describe() + ": document '" +
                                                      name + "' is of type '" + stored->type +
                                                      "', which this endpoint does not know");
      auto doc = type ? std::make_shared<HostedDocument>(this, name, type) : nullptr;
      if (doc) s = doc->Restore(*stored);
      if (!s.ok()) {
        // Never replaced by a new document: that would write over what the store holds.
        metrics_.documents_unloadable->Add();
        logger_.Warn("ZINC-STORE", s.ToString());
        *reason = wire::NACK_STORE_FAILED;
        *why = s.message();
        return nullptr;
      }
      metrics_.documents_loaded->Add();
      MutexLock l(&mu_);
      hosted_[name] = doc;
      return checked(doc);
    }
    if (stored.status().code() != StatusCode::kNotFound) {
      metrics_.documents_unloadable->Add();
      logger_.Warn("ZINC-STORE", stored.status().ToString());
      *reason = wire::NACK_STORE_FAILED;
      *why = stored.status().message();
      return nullptr;
    }
  }
  if (!create || type_name.empty()) {
    *reason = wire::NACK_UNKNOWN_DOCUMENT;
    *why = "document '" + name + "' does not exist";
    return nullptr;
  }
  const DocumentType* type = types_->Find(type_name);
  if (!type) {
    *reason = wire::NACK_UNKNOWN_TYPE;
    *why = "unknown document type '" + type_name + "'";
    return nullptr;
  }
  // The bounds: in all, and per key (an origin's first 8 bytes are its key's).
  const std::string key =
      creator && keys_on() ? std::string(creator->bytes().substr(0, 8)) : std::string();
  MutexLock l(&mu_);
  if (documents_total_ >= options_.max_documents) {
    *reason = wire::NACK_LIMIT;
    *why = "this root hosts " + std::to_string(documents_total_) +
           " documents, the most it may (max_documents): '" + name + "' is not created";
    counters_.Get("zinc_refused_total{reason=\"documents\"}")->Add();
    return nullptr;
  }
  if (!key.empty() && documents_by_key_[key] >= options_.max_documents_per_key) {
    *reason = wire::NACK_LIMIT;
    *why = "this key created " + std::to_string(documents_by_key_[key]) +
           " documents, the most one key may (max_documents_per_key): '" + name +
           "' is not created";
    counters_.Get("zinc_refused_total{reason=\"documents_per_key\"}")->Add();
    return nullptr;
  }
  auto doc = std::make_shared<HostedDocument>(this, name, type);
  hosted_.emplace(name, doc);
  ++documents_total_;
  if (!key.empty()) ++documents_by_key_[key];
  metrics_.documents_created->Add();
  return doc;
}

void EndpointImpl::SetTicking(const std::string& doc, bool on) {
  MutexLock l(&tick_mu_);
  if (on) {
    ticking_.insert(doc);
  } else {
    ticking_.erase(doc);
  }
}

void EndpointImpl::Unload(const std::string& name) {
  // Everything it handed to the journal is on disk first: it loads again from there.
  if (journal_) journal_->Flush();
  MutexLock load(&load_mu_);
  MutexLock l(&mu_);
  auto it = hosted_.find(name);
  // The application's own open documents stay (its handle points at them).
  if (it == hosted_.end() || handles_.count(name) > 0) return;
  hosted_.erase(it);
  metrics_.documents_unloaded->Add();
  // (Its ticks stopped with it: SetTicking is not called again for an erased document, so the
  // name is dropped here.)
  MutexLock t(&tick_mu_);
  ticking_.erase(name);
}

Replica* EndpointImpl::FindOrReplicate(const std::string& name, const std::string& type_name) {
  if (Replica* r = FindReplica(name)) return r;
  // The standby replicates every document the root publishes anything of.
  if (!subscribed_all_.load(std::memory_order_acquire)) return nullptr;
  return ServingReplica(name, type_name, /*create=*/false);
}

Replica* EndpointImpl::FindReplica(const std::string& name) {
  MutexLock l(&mu_);
  auto it = replicas_.find(name);
  return it == replicas_.end() ? nullptr : it->second.get();
}

void EndpointImpl::OnTransferProgress(const std::string& doc) {
  // Under mu_: a replica leaves replicas_ under it before it is destroyed.
  MutexLock l(&mu_);
  auto it = replicas_.find(doc);
  if (it != replicas_.end()) it->second->NoteTransferProgress();
}

void EndpointImpl::OnMessages(std::vector<Message> msgs) {
  // One task for the lot: they share a strand, and a hand-off per message would cost more than
  // handling most of them.
  size_t kept = 0;
  for (Message& m : msgs) {
    if (!handlers_.Find(m.kind())) {
      Refuse(m, wire::NACK_UNSUPPORTED, "message kind not served here");
      continue;
    }
    // Every message carries its sender's epoch (docs/failover.md). A later one than ours from
    // the parent's side means a new root; a root steps down on a new root's takeover notice
    // only (a child's word is not enough to depose it). From the parent, an older one is a
    // replaced root's.
    const uint64_t e = m.envelope.epoch();
    if (e != epoch()) {
      const bool from_above =
          m.channel == ChannelKind::kSubscription || m.channel == ChannelKind::kSyncClient;
      if (e > epoch() && from_above) {
        ObserveEpoch(m);
      } else if (e > epoch() && m.envelope.has_takeover()) {
        // From below: only a root has anything to step down from, and only for a takeover it
        // can verify. Anyone else's epoch comes from its parent alone.
        std::string why;
        bool verified = false;
        {
          MutexLock l(&tree_mu_);
          verified = is_root() && TakeoverVerifiedLocked(m, &why);
          if (!is_root()) why = "a takeover sent to a member that is not the root";
        }
        if (!verified) {
          RefuseHostile("takeover", "takeover at epoch " + std::to_string(e) + " from " +
                                        m.origin.ToString() + " refused: " + why);
          continue;
        }
        ObserveEpoch(m);
      } else if (m.channel == ChannelKind::kSubscription) {
        stale_dropped_->Add();
        continue;
      }
    }
    received_[static_cast<size_t>(m.channel)]->Add();
    if (m.kind() == MessageKind::kHeartbeat && m.envelope.doc().empty()) {
      // A member's own heartbeat is handled here, on the I/O thread, as it arrives: behind a
      // backlog of data in the handlers' queue it would come too late, and a busy host would
      // take its live children (or a child its live parent) for dead.
      HandleHeartbeat(std::move(m));
      continue;
    }
    if (&msgs[kept] != &m) msgs[kept] = std::move(m);
    // Anything from the parent shows it alive, not only its heartbeats (a busy parent's may
    // queue behind its data).
    ++kept;
  }
  msgs.resize(kept);
  if (msgs.empty()) return;
  if (role() == Role::kRoot) {
    // A root that stood still (SIGSTOP) finds its members' frames waiting when it resumes: it
    // must doubt it is still the root before it handles any, not at its next tick.
    const int64_t now = clock_->NowMicros();
    const int64_t last = last_tick_seen_micros_.load(std::memory_order_relaxed);
    if (last != 0 && timeouts_.Silent(last, now)) {
      MutexLock l(&tree_mu_);
      SuspectPauseLocked(now, now - last);
    }
  }
  if (msgs[0].channel == ChannelKind::kSubscription) {
    parent_traffic_micros_.store(clock_->NowMicros(), std::memory_order_relaxed);
  }
  // Each document is a strand; control traffic has a strand of its own.
  const std::string& doc = msgs[0].envelope.doc();
  const std::string key = doc.empty() ? std::string(kControlTopic) : doc;
  const HandlerPool::Priority priority =
      doc.empty() ? HandlerPool::Priority::kUrgent : HandlerPool::Priority::kNormal;
  // In tasks of at most kMaxTaskMessages, so that no task holds a worker for long (one read
  // burst of batches can be thousands of messages): a worker looks at the urgent strand again
  // after each.
  for (size_t from = 0; from < msgs.size(); from += kMaxTaskMessages) {
    std::vector<Message> chunk;
    if (from == 0 && msgs.size() <= kMaxTaskMessages) {
      chunk = std::move(msgs);
    } else {
      const size_t to = std::min(msgs.size(), from + kMaxTaskMessages);
      chunk.assign(std::make_move_iterator(msgs.begin() + from),
                   std::make_move_iterator(msgs.begin() + to));
    }
    const size_t weight = chunk.size();
    auto task = [this, ms = std::move(chunk)]() mutable {
      // Runs of one kind from one channel go to their handler together.
      for (size_t i = 0; i < ms.size();) {
        size_t j = i + 1;
        while (j < ms.size() && ms[j].kind() == ms[i].kind() && ms[j].channel == ms[i].channel) {
          ++j;
        }
        handlers_.Find(ms[i].kind())->HandleBatch(&ms[i], j - i);
        i = j;
      }
    };
    // Never blocks the I/O thread, which must go on ticking (heartbeats) while the handlers
    // are behind: the back-pressure is Saturated, which stops the reading. Control traffic goes
    // ahead of the documents' (a member's report must not wait behind a backlog of data, or
    // the root would expire the member).
    Status s = pool_->Submit(key, std::move(task), /*block=*/false, weight, priority);
    if (!s.ok()) return;      // kClosed while stopping.
    if (msgs.empty()) break;  // (Moved whole.)
  }
}

bool EndpointImpl::Saturated() {
  const bool full = pool_->queued() >= options_.max_queued_messages;
  if (full == saturated_.load(std::memory_order_relaxed)) return full;
  saturated_.store(full, std::memory_order_relaxed);
  if (full) {
    metrics_.reading_paused->Add();
    return full;
  }
  // What the members sent while nothing was read is being read now: each has a full
  // heartbeat timeout again from here.
  const int64_t now = clock_->NowMicros();
  MutexLock l(&tree_mu_);
  for (auto& [id, child] : children_)
    child.last_seen_micros = std::max(child.last_seen_micros, now);
  parent_seen_micros_ = std::max(parent_seen_micros_, now);
  if (!roster_root_.is_nil()) root_seen_micros_ = std::max(root_seen_micros_, now);
  if (is_root()) roster_.HeardFromAll(now);
  return full;
}

void EndpointImpl::OnBadFrame(ChannelKind channel, const Status& why,
                              const wire::Envelope* envelope, const std::string& routing_id) {
  counters_
      .Get(std::string("zinc_frames_rejected_total{channel=\"") + ChannelKindName(channel) +
           "\",reason=\"" + StatusCodeName(why.code()) + "\"}")
      ->Add();
  logger_.Warn("ZINC-BAD-FRAME",
               std::string("channel=") + ChannelKindName(channel) + " " + why.ToString());
  // Nack the origin where one is known and it is a child (a host never nacks its parent).
  if (channel != ChannelKind::kInbound && channel != ChannelKind::kSyncServer) return;
  std::string to = routing_id;
  if (to.empty() && envelope) {
    EndpointId origin;
    if (EndpointId::FromBytes(envelope->origin(), &origin)) to = RoutingIdOf(origin);
  }
  if (to.empty()) return;
  NackSpec nack;
  switch (why.code()) {
    case StatusCode::kVersionMismatch:
      nack.reason = wire::NACK_VERSION_MISMATCH;
      break;
    case StatusCode::kResourceExhausted:
      nack.reason = wire::NACK_TOO_LARGE;
      break;
    case StatusCode::kUnsupported:
      nack.reason = wire::NACK_UNSUPPORTED;
      break;
    default:
      nack.reason = wire::NACK_MALFORMED;
      break;
  }
  nack.text = why.message();
  if (envelope && envelope->has_fragment()) nack.refused_origin_seq = envelope->origin_seq();
  const bool named = envelope && ValidateDocId(envelope->doc(), options_.limits).ok();
  listener_->Send(NackFrame(named ? envelope->doc() : "", nack, nullptr, std::move(to)));
}

void EndpointImpl::OnTick() {
  const int64_t now = clock_->NowMicros();
  last_tick_seen_micros_.store(now, std::memory_order_relaxed);
  if (keys_on()) {
    // Connections the ZAP handler refused (a key not authorized), counted on its thread.
    const uint64_t refused = key_table_->refused.load(std::memory_order_relaxed);
    if (refused != zap_refused_seen_) {
      counters_.Get("zinc_connections_refused_total")->Add(refused - zap_refused_seen_);
      zap_refused_seen_ = refused;
    }
  }
  std::vector<std::shared_ptr<HostedDocument>> hosted;
  std::vector<Replica*> replicas;
  {
    std::vector<std::string> names;
    {
      MutexLock t(&tick_mu_);
      names.assign(ticking_.begin(), ticking_.end());
    }
    MutexLock l(&mu_);
    // Only the documents that asked for ticks: an idle one costs nothing here.
    for (const std::string& name : names) {
      auto it = hosted_.find(name);
      if (it != hosted_.end()) hosted.push_back(it->second);
    }
    for (auto& [name, r] : replicas_) replicas.push_back(r.get());
  }
  if (!saturated_.load(std::memory_order_relaxed)) {
    // (Behind a backlog, a document's tick would come late anyway: the next one will do.)
    for (auto& d : hosted) Post(d->name(), [d, now] { d->OnTick(now); });
    for (Replica* r : replicas) Post(r->name(), [r, now] { r->OnTick(now); });
  }
  TreeTick(now);
  {
    MutexLock t(&tree_mu_);
    standby_self_.store(!roster_.standby().is_nil() && roster_.standby() == id_,
                        std::memory_order_relaxed);
    standby_known_.store(!roster_.standby().is_nil(), std::memory_order_relaxed);
  }
  // A deposed root hosts no more: its silence (and its notice) sends its members on.
  if (hosts_.load(std::memory_order_acquire)) {
    wire::Envelope e = NewEnvelope("");
    e.mutable_heartbeat();
    listener_->Send(OutboundFrame{Route::kPublish, std::string(kControlTopic), EncodeEnvelope(e)});
  }
}

}  // namespace internal

Result<std::unique_ptr<Endpoint>> Endpoint::Start(EndpointOptions options) {
  auto endpoint = std::make_unique<internal::EndpointImpl>(std::move(options));
  ZINC_RETURN_IF_ERROR(endpoint->Init());
  return std::unique_ptr<Endpoint>(std::move(endpoint));
}

Status ReadStore(const std::string& data_dir, const TypeRegistry& types, const std::string& only,
                 const std::function<void(const std::string& name, const std::string& json)>& fn) {
  struct stat st;
  if (stat(data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(StatusCode::kNotFound, "no data directory " + data_dir);
  }
  Result<std::unique_ptr<Store>> store = OpenLmdbStore(data_dir, LmdbOptions());
  if (!store.ok()) return store.status();
  std::vector<std::string> names;
  if (only.empty()) {
    Result<std::vector<std::string>> all = (*store)->Documents();
    if (!all.ok()) return all.status();
    names = std::move(all).value();
  } else {
    names.push_back(only);
  }
  for (const std::string& name : names) {
    Result<StoredDocument> stored = (*store)->Load(name);
    if (!stored.ok()) return stored.status();
    const std::string where = "store " + (*store)->Describe() + ": document '" + name + "'";
    const DocumentType* type = types.Find(stored->type);
    if (!type) {
      return Status(StatusCode::kUnsupported,
                    where + " is of type '" + stored->type + "', which is not known here");
    }
    internal::Replayed r;
    ZINC_RETURN_IF_ERROR(internal::ReplayStored(*type, *stored, CodecLimits(), where, &r));
    fn(name, internal::DocumentToJson(*type, r.head, *r.state));
  }
  return Status::Ok();
}

}  // namespace zinc
