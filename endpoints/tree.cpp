// The cluster's tree: joining (with redirects), the roster, and what relays add to an endpoint
// (subscriptions that follow their children's, replicas that serve them). docs/trees.md.

#include "core/keys.h"
#include "endpoints/address.h"
#include "endpoints/endpoint_impl.h"

namespace zinc {
namespace internal {

namespace {
// The root publishes the roster at least this often.
constexpr int64_t kRosterMicros = 1000000;
// Redirects a newcomer follows before it starts over from its join address.
constexpr uint32_t kMaxHops = 16;
// A newcomer sent to a member counts as its child this long, until it reports.
constexpr int64_t kReservationMicros = 2000000;
// A relay keeps a replica it made for a child that never subscribed this long.
constexpr int64_t kServingGraceMicros = 10000000;

void Unpack(const std::string& bytes, EndpointId* id) { EndpointId::FromBytes(bytes, id); }
}  // namespace

void EndpointImpl::SendJoinRequestLocked() {
  Result<BaseAddress> base = ParseBaseAddress(target_);
  if (!base.ok()) {
    // Only a redirect can be bad (the join address was checked by Init): start over.
    logger_.Warn("ZINC-JOIN", "bad redirect '" + target_ + "': " + base.status().ToString());
    target_ = join_address_;
    hops_ = 0;
    base = ParseBaseAddress(target_);
    if (!base.ok()) return;
  }
  listener_->JoinVia(DeriveChannelAddresses(*base).sync);
  wire::Envelope e = NewEnvelope("");
  wire::JoinRequest* r = e.mutable_join_request();
  r->set_listen(OfferedListenLocked());
  r->set_max_children(static_cast<uint32_t>(options_.max_children));
  r->set_hops(hops_);
  r->set_name(options_.name);
  r->set_priority(options_.priority);
  join_sent_micros_ = clock_->NowMicros();
  listener_->Send(OutboundFrame{Route::kJoin, "", EncodeEnvelope(e)});
}

void EndpointImpl::HandleJoinRequest(Message msg) {
  if (msg.channel != ChannelKind::kSyncServer) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "join request on the wrong channel");
    return;
  }
  const wire::JoinRequest& req = msg.envelope.join_request();
  const int64_t now = clock_->NowMicros();
  wire::Envelope e = NewEnvelope("");
  wire::JoinReply* reply = e.mutable_join_reply();
  std::string verdict;
  {
    MutexLock l(&tree_mu_);
    const bool known = children_.count(msg.origin) > 0;
    const bool room = options_.max_children == 0 || children_.size() < options_.max_children;
    if (msg.origin == id_) {
      reply->set_text("an endpoint cannot join itself");
    } else if (!is_root() && !is_relay()) {
      // A member that does not host (a replaced root) points the newcomer at one that does.
      const MemberInfo* host = roster_.ChooseHost({msg.origin, id_}, now);
      if (host && req.hops() < kMaxHops) {
        reply->set_redirect(host->listen);
        reply->set_redirect_key(KeyBytes(host->public_key));
        verdict = "redirected to " + host->listen;
      } else {
        reply->set_text("this member does not host");
      }
    } else if (role() == Role::kPaused) {
      reply->set_text("this root is not sure it still is the root");
    } else if (!IsJoined(role())) {
      reply->set_text("this member has not joined its own parent yet");
    } else if (known || room) {
      Child& c = children_[msg.origin];
      c.listen = req.listen();
      c.last_seen_micros = now;
      reply->set_accepted(true);
      reply->set_listen(listen_address_);
      if (keys_on()) reply->set_listen_key(KeyBytes(public_key_));
      reply->set_depth(depth_ + 1);
      for (const EndpointId& p : path_) reply->add_path(std::string(p.bytes()));
      reply->add_path(std::string(id_.bytes()));
      report_dirty_ = true;
      if (is_root()) {
        // In the roster at once, so that the next newcomer is placed knowing of it.
        wire::MemberReport r;
        r.set_parent(std::string(id_.bytes()));
        r.set_listen(req.listen());
        r.set_depth(1);
        r.set_max_children(req.max_children());
        r.set_name(req.name());
        r.set_priority(req.priority());
        // The key it connected with (its id is that key's: Admit checked).
        if (keys_on()) r.set_public_key(KeyBytes(msg.peer));
        roster_dirty_ = roster_.Report(msg.origin, r, now) || roster_dirty_;
      }
      verdict = "accepted";
    } else if (req.hops() >= kMaxHops) {
      reply->set_text("too many redirects");
    } else {
      const MemberInfo* host = roster_.ChooseHost({msg.origin, id_}, now);
      if (host) {
        reply->set_redirect(host->listen);
        reply->set_redirect_key(KeyBytes(host->public_key));
        roster_.Reserve(msg.origin, host->id, now + kReservationMicros, now);
        verdict = "redirected to " + host->listen;
      } else {
        reply->set_text("no member has room");
      }
    }
  }
  if (verdict.empty()) verdict = "refused: " + reply->text();
  logger_.Info("ZINC-JOIN", "newcomer " + msg.origin.ToString() + " " + verdict);
  counters_
      .Get(reply->accepted()           ? "zinc_joins_accepted_total"
           : reply->redirect().empty() ? "zinc_joins_refused_total"
                                       : "zinc_joins_redirected_total")
      ->Add();
  listener_->Send(OutboundFrame{Route::kSyncReply, msg.routing_id, EncodeEnvelope(e)});
}

void EndpointImpl::HandleJoinReply(Message msg) {
  if (msg.channel != ChannelKind::kSyncClient) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "join reply on the wrong channel");
    return;
  }
  const wire::JoinReply& r = msg.envelope.join_reply();
  {
    MutexLock l(&tree_mu_);
    if (IsJoined(role())) return;  // A late answer to a request asked twice.
    if (r.accepted()) {
      // The member that accepted: a late answer may come from one asked before the current
      // target (the tick moved on meanwhile); attach to it, not to whoever is asked now.
      if (!r.listen().empty()) target_ = r.listen();
      if (keys_on() && !r.listen_key().empty()) {
        listener_->SetServerKey(target_, KeyText(r.listen_key()));
      }
      Result<BaseAddress> base = ParseBaseAddress(target_);
      if (!base.ok()) return;
      const ChannelAddresses a = DeriveChannelAddresses(*base);
      TransitionLocked(RoleEvent::kJoined);
      standby_given_up_ = false;
      // A standby that joined again (its parent was lost) is the standby still, as the roster
      // it has says, until a newer one names another.
      if (roster_.standby() == id_) TransitionLocked(RoleEvent::kNamedStandby);
      depth_ = r.depth();
      path_.clear();
      for (const std::string& p : r.path()) Unpack(p, &path_.emplace_back());
      parent_id_ = msg.origin;
      parent_address_ = target_;
      parent_seen_micros_ = clock_->NowMicros();
      root_seen_micros_ = parent_seen_micros_;
      attempts_ = 0;
      report_dirty_ = true;
      listener_->Attach(a.outbound, a.inbound);
      logger_.Info("ZINC-JOIN", "joined " + target_ + " at depth " + std::to_string(depth_));
    } else if (!r.redirect().empty() && hops_ < kMaxHops) {
      target_ = r.redirect();
      // The member that redirects was connected to with its key: its word on the next is good.
      if (keys_on()) listener_->SetServerKey(target_, KeyText(r.redirect_key()));
      ++hops_;
      attempts_ = 0;
      SendJoinRequestLocked();
      return;
    } else {
      // Nobody has room, or the member is not ready: ask the join address again later. While
      // the root is lost, the member that answered is alive: ask it again (the standby that
      // has not taken over yet, the root of a dead relay's children before it drops the dead
      // one).
      logger_.Warn("ZINC-JOIN", "not accepted by " + target_ + ": " + r.text());
      if (!root_lost_) target_ = FallbackTargetLocked();
      hops_ = 0;
      join_sent_micros_ = clock_->NowMicros();
      return;
    }
  }
  // Requests made before joining were dropped: each replica asks again.
  std::vector<Replica*> replicas;
  {
    MutexLock l(&mu_);
    for (auto& [name, replica] : replicas_) replicas.push_back(replica.get());
  }
  for (Replica* replica : replicas) Post(replica->name(), [replica] { replica->OnAttached(); });
}

wire::MemberReport EndpointImpl::SelfReportLocked() const {
  wire::MemberReport r;
  if (!parent_id_.is_nil()) r.set_parent(std::string(parent_id_.bytes()));
  r.set_listen(OfferedListenLocked());
  r.set_depth(depth_);
  r.set_max_children(static_cast<uint32_t>(options_.max_children));
  r.set_children(static_cast<uint32_t>(children_.size()));
  r.set_name(options_.name);
  r.set_priority(options_.priority);
  if (keys_on()) r.set_public_key(KeyBytes(public_key_));
  return r;
}

void EndpointImpl::HandleMemberReport(Message msg) {
  if (msg.channel != ChannelKind::kInbound) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "member report on the wrong channel");
    return;
  }
  const wire::MemberReport& r = msg.envelope.member_report();
  const int64_t now = clock_->NowMicros();
  if (r.listen().size() > kMaxListenBytes || r.name().size() > kMaxNameBytes) {
    RefuseHostile("member_report", "from " + msg.origin.ToString() + ": a listen address over " +
                                       std::to_string(kMaxListenBytes) + " or a name over " +
                                       std::to_string(kMaxNameBytes) + " bytes");
    return;
  }
  std::string refused;
  if (is_root()) {
    MutexLock l(&tree_mu_);
    refused = MemberReportRefusalLocked(msg.origin, r);
  }
  if (!refused.empty()) {
    if (refused.rfind("its parent", 0) == 0) {
      // Most likely the parent's own report with the new child is still on its way: the
      // member's next report (within a second) gets it in.
      counters_.Get("zinc_refused_total{reason=\"member_report\"}")->Add();
      logger_.Info("ZINC-REFUSED", "member_report: from " + msg.origin.ToString() + ": " + refused);
    } else {
      RefuseHostile("member_report", "from " + msg.origin.ToString() + ": " + refused);
    }
    return;
  }
  if (r.leaving() && is_root()) ReleaseAuthors({msg.origin});
  MutexLock l(&tree_mu_);
  auto child = children_.find(msg.origin);
  if (child != children_.end()) {
    if (r.leaving()) {
      children_.erase(child);
      report_dirty_ = true;
    } else {
      child->second.last_seen_micros = now;
    }
  }
  if (is_root()) {
    const bool changed = roster_.Report(msg.origin, r, now);
    if (r.leaving() && changed) metrics_.members_left->Add();
    roster_dirty_ = changed || roster_dirty_;
    if (keys_on() && !r.listen().empty() && !r.public_key().empty()) {
      listener_->SetServerKey(r.listen(), KeyText(r.public_key()));
    }
  }
}

std::string EndpointImpl::MemberReportRefusalLocked(const EndpointId& origin,
                                                    const wire::MemberReport& r) const {
  EndpointId parent;
  Unpack(r.parent(), &parent);
  if (origin == id_) return "a report in this root's own name";
  if (children_.count(origin) > 0) {
    // A direct child, which joined here: its report names this root as its parent.
    if (parent != id_ && !r.leaving()) return "a child of this root naming another parent";
  } else {
    // Deeper: relayed from a member that accepted it, which names it among its children.
    const MemberInfo* p = roster_.Find(parent);
    if (parent.is_nil() || parent == id_ || !p || p->listen.empty()) {
      return "not joined through the member it names as its parent";
    }
    const MemberInfo* known = roster_.Find(origin);
    if (r.leaving()) {
      if (!known || known->parent != parent) return "leaving a parent it was not listed under";
    } else if ((!known || known->parent != parent) && roster_.ChildrenOf(parent) >= p->children) {
      return "its parent " + parent.ToString() + " reports only " + std::to_string(p->children) +
             " children";
    }
  }
  if (!roster_.Fits(origin, r)) {
    return "the roster is full (" + std::to_string(roster_.size()) + " members)";
  }
  return "";
}

void EndpointImpl::HandleRosterRequest(Message msg) {
  if (msg.channel != ChannelKind::kSyncServer) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "roster request on the wrong channel");
    return;
  }
  wire::Envelope e = NewEnvelope("");
  {
    MutexLock l(&tree_mu_);
    *e.mutable_roster() = roster_.ToProto(roster_root_);
    e.mutable_roster()->set_role(RoleLocked());
  }
  // The refusals, by reason: the bounds' and the rights' (zincctl stat).
  std::map<std::string, uint64_t> refused;
  for (const char* prefix :
       {"zinc_refused_total{reason=\"", "zinc_messages_refused_total{reason=\"",
        "zinc_fragments_refused_total{reason=\""}) {
    for (const auto& [rest, n] : counters_.WithPrefix(prefix)) {
      if (n > 0) refused[rest.substr(0, rest.find('"'))] += n;
    }
  }
  for (const auto& [reason, n] : refused) {
    wire::Refusal* r = e.mutable_roster()->add_refused();
    r->set_reason(reason);
    r->set_count(n);
  }
  listener_->Send(OutboundFrame{Route::kSyncReply, msg.routing_id, EncodeEnvelope(e)});
}

void EndpointImpl::HandleRoster(Message msg) {
  if (msg.channel != ChannelKind::kSubscription) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "roster on the wrong channel");
    return;
  }
  if (is_root()) return;
  bool subscribe_all = false;
  bool unsubscribe_all = false;
  {
    MutexLock l(&tree_mu_);
    // Only the root's, relayed down unchanged; a stale root's is of an older epoch (dropped).
    EndpointId root;
    Unpack(msg.envelope.roster().root(), &root);
    if (msg.origin != root) return;
    roster_.Replace(msg.envelope.roster());
    if (root != roster_root_) root_seen_micros_ = clock_->NowMicros();
    roster_root_ = root;
    LearnKeysLocked();
    // Depth and path as the root sees them: they change when an ancestor is replaced (the
    // standby that took over is one level up from where this member joined it).
    if (const MemberInfo* p = IsJoined(role()) ? roster_.Find(parent_id_) : nullptr) {
      if (p->depth + 1 != depth_) {
        std::vector<EndpointId> path;
        for (const MemberInfo* a = p; a && path.size() <= options_.limits.max_tree_depth;
             a = roster_.Find(a->parent)) {
          path.insert(path.begin(), a->id);
          if (a->parent.is_nil()) break;
        }
        depth_ = p->depth + 1;
        path_ = std::move(path);
        report_dirty_ = true;
      }
    }
    if (const MemberInfo* s = roster_.Find(roster_.standby())) {
      if (s->id != id_) standby_hint_ = s->listen;
    }
    // The standby replicates every document: it subscribes to all of them.
    const bool standby = roster_.standby() == id_ && is_relay();
    TransitionLocked(standby ? RoleEvent::kNamedStandby : RoleEvent::kNotStandby);
    // Subscribed to everything as the standby; unsubscribed only when a roster names another
    // (not while this one is joining again, named still).
    const bool all = ReplicatesAll(role());
    if (all != subscribed_all_.load() && (all || !standby)) {
      subscribed_all_.store(all);
      subscribe_all = all;
      unsubscribe_all = !all;
      logger_.Info("ZINC-STANDBY", all ? "this relay is the standby" : "no longer the standby");
    }
  }
  if (subscribe_all) listener_->Subscribe("");
  if (unsubscribe_all) listener_->Unsubscribe("");
}

void EndpointImpl::TreeTick(int64_t now) {
  std::vector<OutboundFrame> out;
  std::vector<EndpointId> departed;
  bool take_over = false;
  bool recovery_over = false;
  {
    MutexLock l(&tree_mu_);
    // While the root is lost, joining the standby is what ends the outage: ask every heartbeat.
    const int64_t retry = root_lost_ ? timeouts_.heartbeat_micros : timeouts_.retry_micros;
    if (!IsJoined(role()) && !target_.empty() && now - join_sent_micros_ >= retry) {
      // No answer: ask again, and after a few tries start over from the join address.
      if (++attempts_ >= 3) {
        std::string next = FallbackTargetLocked();
        RejoinContext other = RejoinContextLocked();
        other.standby_dead = !standby_given_up_;
        if (root_lost_ && next == target_ && FallbackTarget(roster_, other) != next &&
            attempts_ >= kSurvivorSwitchTimeouts * options_.heartbeat_misses) {
          // No answer for several heartbeat timeouts: the standby died too, or (asking the join
          // address) nobody restarted the root there yet. Alternate between the two, so that
          // whichever comes back first is found.
          standby_given_up_ = !standby_given_up_;
          next = FallbackTargetLocked();
          logger_.Warn("ZINC-JOIN", target_ + " does not answer either; asking " + next);
        }
        if (next != target_) {
          target_ = next;
          hops_ = 0;
          attempts_ = 0;
        }
      }
      SendJoinRequestLocked();
    }
    const int64_t dead_after = timeouts_.dead_after_micros;
    // While nothing is read (saturated), silence proves nothing.
    const bool reading = !saturated_.load(std::memory_order_relaxed);
    for (auto it = children_.begin(); it != children_.end();) {
      if (reading && timeouts_.Silent(it->second.last_seen_micros, now)) {
        logger_.Info("ZINC-TREE", "child " + it->first.ToString() + " missed its heartbeats");
        metrics_.children_lost->Add();
        if (is_root()) departed.push_back(it->first);
        if (is_root() && it->first != roster_.standby()) {
          // (The standby stays in the roster until it times out: see FailoverTickLocked.)
          wire::MemberReport gone;
          gone.set_leaving(true);
          roster_dirty_ = roster_.Report(it->first, gone, now) || roster_dirty_;
        }
        it = children_.erase(it);
        report_dirty_ = true;
      } else {
        ++it;
      }
    }
    if (IsJoined(role()) && !is_root()) {
      parent_seen_micros_ =
          std::max(parent_seen_micros_, parent_traffic_micros_.load(std::memory_order_relaxed));
    }
    take_over = FailoverTickLocked(now, &out);
    recovery_over = role() == Role::kRecovering && now >= recovery_until_micros_;
    // The standby does not leave a silent root: it holds the election (FailoverTickLocked).
    const bool electing = election_.running() || take_over;
    if (IsJoined(role()) && !is_root()) {
      if (reading && timeouts_.Silent(parent_seen_micros_, now) && !electing) {
        RejoinLocked("no heartbeat from the parent for " + std::to_string(dead_after / 1000) +
                     " ms");
      } else {
        // This member's own heartbeat, for its parent only (relays do not pass it on).
        wire::Envelope e = NewEnvelope("");
        e.mutable_heartbeat();
        out.push_back(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(e)});
      }
    }
    if (is_root()) {
      const std::vector<EndpointId> gone =
          reading ? roster_.Expire(now - timeouts_.member_timeout_micros)
                  : std::vector<EndpointId>();
      for (const EndpointId& id : gone) {
        logger_.Info("ZINC-TREE", "member " + id.ToString() + " timed out (no report for " +
                                      std::to_string(timeouts_.member_timeout_micros / 1000) +
                                      " ms)");
      }
      if (!gone.empty()) {
        metrics_.members_timed_out->Add(gone.size());
        roster_dirty_ = true;
      }
      if (roster_dirty_ || now - roster_published_micros_ >= kRosterMicros) {
        wire::Envelope e = NewEnvelope("");
        *e.mutable_roster() = roster_.ToProto(id_);
        out.push_back(
            OutboundFrame{Route::kPublish, std::string(kControlTopic), EncodeEnvelope(e)});
        roster_dirty_ = false;
        roster_published_micros_ = now;
      }
    } else if (IsJoined(role()) &&
               (report_dirty_ || now - reported_micros_ >= Timeouts::kReportMicros)) {
      wire::Envelope e = NewEnvelope("");
      *e.mutable_member_report() = SelfReportLocked();
      out.push_back(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(e)});
      report_dirty_ = false;
      reported_micros_ = now;
    }
  }
  ReleaseAuthors(std::move(departed));
  if (take_over) TakeOver();
  if (recovery_over) EndRecovery("a heartbeat timeout passed");
  {
    MutexLock l(&tree_mu_);
    StandbyListTickLocked(now, &out);
  }
  if (is_relay() && !subscribed_all_.load(std::memory_order_acquire)) {
    // Replicas made for a child's request whose subscription never came.
    MutexLock l(&mu_);
    std::vector<std::string> stale;
    for (const auto& [name, t] : topics_) {
      if (!t.app && !t.children && t.serving_since_micros != 0 &&
          now - t.serving_since_micros > kServingGraceMicros) {
        stale.push_back(name);
      }
    }
    for (const std::string& name : stale) {
      RetireReplicaLocked(name, /*release_state=*/true);
      UpdateUpwardLocked(name);
    }
  }
  if (!out.empty()) listener_->Send(std::move(out));
}

void EndpointImpl::OnChildHeartbeat(const EndpointId& child) {
  MutexLock l(&tree_mu_);
  // Only a direct child heartbeats here (relays do not pass them on): one that was dropped for
  // silence but lives (a starved process) is taken back, even over max_children, rather than
  // left attached to a parent that no longer counts it.
  if (child == roster_.standby()) standby_seen_micros_ = clock_->NowMicros();
  auto [it, readmitted] = children_.try_emplace(child);
  if (readmitted) {
    metrics_.children_readmitted->Add();
    report_dirty_ = true;
  }
  it->second.last_seen_micros = clock_->NowMicros();
  if (is_root()) roster_.HeardFrom(child, it->second.last_seen_micros);
}

void EndpointImpl::OnParentHeartbeat(const EndpointId& from) {
  MutexLock l(&tree_mu_);
  if (IsJoined(role()) && from == parent_id_) parent_seen_micros_ = clock_->NowMicros();
  if (from == roster_root_ && !roster_root_.is_nil()) {
    // Relayed down from the root: it lives (a standby holding an election stands down).
    root_seen_micros_ = clock_->NowMicros();
    if (role() != Role::kTakingOver) {
      if (root_lost_) logger_.Info("ZINC-ROOT-LOST", "the root is back");
      root_lost_ = false;
      // The root speaks: whatever votes came (forged ones included) count for nothing.
      election_.Clear();
    }
  }
}

void EndpointImpl::RejoinLocked(const std::string& why) {
  metrics_.parent_lost->Add();
  RejoinContext c = RejoinContextLocked();
  c.lost_parent = parent_id_;
  bool root_lost = false;
  const std::string next = RejoinTarget(roster_, c, &root_lost);
  // The root itself: its standby takes over.
  if (root_lost) root_lost_ = true;
  logger_.Warn("ZINC-TREE", "parent " + parent_address_ + " lost (" + why + "); joining " + next);
  lost_parent_id_ = parent_id_;
  TransitionLocked(RoleEvent::kParentLost);
  parent_id_ = EndpointId();
  parent_address_.clear();
  target_ = next;
  hops_ = 0;
  attempts_ = 0;
  SendJoinRequestLocked();
}

RejoinContext EndpointImpl::RejoinContextLocked() const {
  RejoinContext c;
  c.self = id_;
  c.root = roster_root_;
  c.lost_parent = lost_parent_id_;
  c.root_lost = root_lost_;
  c.standby_hint = standby_hint_;
  c.join_address = join_address_;
  c.standby_dead = standby_given_up_;
  return c;
}

std::string EndpointImpl::FallbackTargetLocked() const {
  return FallbackTarget(roster_, RejoinContextLocked());
}

MemberInfo EndpointImpl::SelfInfoLocked() const {
  MemberInfo self;
  self.id = id_;
  self.listen = OfferedListenLocked();
  self.max_children = static_cast<uint32_t>(options_.max_children);
  self.name = options_.name;
  self.priority = options_.priority;
  self.public_key = public_key_;
  return self;
}

std::string EndpointImpl::OfferedListenLocked() const {
  return hosts_.load(std::memory_order_acquire) ? listen_address_ : std::string();
}

Replica* EndpointImpl::ServingReplica(const std::string& name, const std::string& type_name,
                                      bool create) {
  Replica* replica = nullptr;
  {
    MutexLock l(&mu_);
    if (stopped_) return nullptr;
    auto it = replicas_.find(name);
    if (it != replicas_.end()) return it->second.get();
    const DocumentType* type = type_name.empty() ? nullptr : types_->Find(type_name);
    auto r = std::make_unique<Replica>(this, name, type, create && type != nullptr, types_);
    replica = r.get();
    replicas_.emplace(name, std::move(r));
    topics_[name].serving_since_micros = clock_->NowMicros();
    UpdateUpwardLocked(name);
  }
  metrics_.relay_replicas_opened->Add();
  replica->Start();
  return replica;
}

void EndpointImpl::UpdateUpwardLocked(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return;
  Topic& t = it->second;
  const bool want = t.app || t.children || replicas_.count(name) > 0;
  if (want != t.upward) {
    if (want) {
      listener_->Subscribe(name);
    } else {
      listener_->Unsubscribe(name);
    }
    t.upward = want;
  }
  if (!want) topics_.erase(it);
}

void EndpointImpl::RetireReplicaLocked(const std::string& name, bool release_state) {
  auto it = replicas_.find(name);
  if (it == replicas_.end()) return;
  it->second->Close(release_state);
  metrics_.relay_replicas_closed->Add();
  closed_.push_back(std::move(it->second));
  replicas_.erase(it);
  auto t = topics_.find(name);
  if (t != topics_.end()) t->second.serving_since_micros = 0;
}

void EndpointImpl::OnSubscription(const std::string& topic, bool subscribed) {
  if (!is_relay() || topic == kControlTopic || !ValidateDocId(topic, options_.limits).ok()) return;
  (subscribed ? metrics_.child_subscriptions : metrics_.child_unsubscriptions)->Add();
  MutexLock l(&mu_);
  if (stopped_) return;
  Topic& t = topics_[topic];
  t.children = subscribed;
  if (!subscribed && !t.app) {
    auto r = replicas_.find(topic);
    if (r != replicas_.end() && r->second->HasParkedRequests()) {
      // The last subscriber left, but another child's request waits: its subscription travels
      // on another socket and may not be here yet. Kept as a replica made for a request (the
      // tick retires it if that subscription never comes).
      t.serving_since_micros = clock_->NowMicros();
      return;
    }
    // The last child below closed it: so does this relay.
    RetireReplicaLocked(topic, /*release_state=*/true);
  }
  UpdateUpwardLocked(topic);
}

Status EndpointImpl::Close(const std::string& name) {
  if (is_root()) return Status::Ok();
  MutexLock l(&mu_);
  auto t = topics_.find(name);
  if (t == topics_.end() || !t->second.app) {
    return Status(StatusCode::kNotFound, "document '" + name + "' is not open");
  }
  t->second.app = false;
  if (!t->second.children) RetireReplicaLocked(name, /*release_state=*/false);
  UpdateUpwardLocked(name);
  // The handle stays valid, on its replica: frozen once closed (a relay keeps serving its
  // children from it instead, as before). An Open makes a new handle.
  auto h = handles_.find(name);
  if (h != handles_.end()) {
    closed_handles_.push_back(std::move(h->second));
    handles_.erase(h);
  }
  return Status::Ok();
}

Status EndpointImpl::WaitJoined(std::chrono::milliseconds timeout) {
  MutexLock l(&tree_mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bool done = l.WaitUntil(&joined_cv_, deadline, [&]() REQUIRES(tree_mu_) {
    return IsJoined(role()) || !key_refused_.empty();
  });
  if (IsJoined(role())) return Status::Ok();
  if (done) return Status(StatusCode::kPermissionDenied, key_refused_);
  return Status(StatusCode::kTimeout, "not accepted by any member of " + join_address_ +
                                          " in time (asking " + target_ + ")");
}

void EndpointImpl::OnHandshake(const Channel::HandshakeEvent& event) {
  MutexLock l(&tree_mu_);
  if (event.outcome == Channel::Handshake::kSucceeded) {
    key_refused_.clear();
    return;
  }
  if (event.outcome == Channel::Handshake::kRefused) {
    counters_.Get("zinc_key_refused_total")->Add(1);
    const bool first = key_refused_.empty();
    key_refused_ = "the member at " + event.address + " refused this endpoint's key " +
                   public_key_ + " (ZAP status " + std::to_string(event.detail) +
                   "): it is not in that host's authorized keys";
    if (first) logger_.Log(LogLevel::kError, "ZINC-KEY-REFUSED", key_refused_);
    joined_cv_.notify_all();
    return;
  }
  logger_.Warn("ZINC-HANDSHAKE",
               "the CurveZMQ handshake with " + event.address + " failed (libzmq protocol error " +
                   std::to_string(event.detail) + "): is the server key that member's public key?");
}

TreePosition EndpointImpl::position() const {
  MutexLock l(&tree_mu_);
  TreePosition p;
  p.joined = IsJoined(role());
  p.depth = depth_;
  p.path = path_;
  p.parent = parent_address_;
  p.children = children_.size();
  return p;
}

RosterInfo EndpointImpl::roster() const {
  MutexLock l(&tree_mu_);
  RosterInfo info = roster_.ToInfo(roster_root_);
  info.asked = id_;
  info.role = RoleLocked();
  return info;
}

bool EndpointImpl::TransitionLocked(RoleEvent event) {
  const Role from = role();
  const Role to = NextRole(from, event, hosts_.load(std::memory_order_acquire));
  if (to == from) return false;
  role_.store(to, std::memory_order_release);
  logger_.Info("ZINC-ROLE", std::string(RoleName(from)) + " -> " + RoleName(to) + " (" +
                                RoleEventName(event) + ")");
  if (IsJoined(to) && !IsJoined(from)) joined_cv_.notify_all();
  return true;
}

std::string EndpointImpl::RoleLocked() const {
  if (is_root()) return "root";
  if (!IsJoined(role())) return "joining";
  if (roster_.standby() == id_) return "standby";
  return OfferedListenLocked().empty() ? "client" : "relay";
}

}  // namespace internal
}  // namespace zinc
