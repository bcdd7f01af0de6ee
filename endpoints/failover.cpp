// Failover: the standby, the members' votes, the takeover, epochs and stepping down.
// docs/failover.md.

#include <algorithm>

#include "endpoints/address.h"
#include "endpoints/endpoint_impl.h"

namespace zinc {
namespace internal {

namespace {
// A new root tells the root it replaced of the takeover every heartbeat for this long (in case
// that one was only paused, and resumes), then every kTakeoverReminderMicros for as long as it is
// the root (in case it is restarted on its data directory, which it holds in its restart hold),
// until it shows up as a member.
constexpr int64_t kTakeoverNoticeMicros = 10000000;

std::string InboundOf(const std::string& listen) {
  Result<BaseAddress> base = ParseBaseAddress(listen);
  return base.ok() ? DeriveChannelAddresses(*base).inbound : std::string();
}
}  // namespace

void EndpointImpl::RefuseHostile(const char* reason, const std::string& text) {
  counters_.Get(std::string("zinc_refused_total{reason=\"") + reason + "\"}")->Add();
  logger_.Warn("ZINC-REFUSED", std::string(reason) + ": " + text);
}

bool EndpointImpl::TakeoverVerifiedLocked(const Message& msg, std::string* why) {
  const uint64_t e = msg.envelope.epoch();
  if (e - epoch() > kMaxEpochLead) {
    *why = "epoch far beyond this root's " + std::to_string(epoch());
    return false;
  }
  const bool restart_hold = role() == Role::kPaused && restart_hold_until_micros_ != 0;
  if (roster_.standby().is_nil()) {
    // Restarted on its store, it knows no standby: any member's notice in the hold (a standby
    // that took over while it was down). Otherwise, no one could have taken over.
    if (restart_hold) return true;
    *why = "this root has no standby";
    return false;
  }
  if (msg.origin != roster_.standby()) {
    *why = "not from the standby " + roster_.standby().ToString();
    return false;
  }
  // The votes: at least half of the other members (the standby counted more than half of its
  // copy of this roster, which may lag by a report or two).
  const std::vector<EndpointId> others = roster_.Others(id_);
  std::set<EndpointId> voters;
  for (const std::string& v : msg.envelope.takeover().voters()) {
    EndpointId id;
    if (EndpointId::FromBytes(v, &id) && roster_.Find(id) && id != id_) voters.insert(id);
    if (voters.size() > others.size()) break;
  }
  if (2 * voters.size() < others.size()) {
    *why = "backed by " + std::to_string(voters.size()) + " of " + std::to_string(others.size()) +
           " members";
    return false;
  }
  return true;
}

void EndpointImpl::ObserveEpoch(const Message& msg) {
  const uint64_t e = msg.envelope.epoch();
  bool step_down = false;
  std::string listen;
  {
    MutexLock l(&tree_mu_);
    if (e <= epoch()) return;
    if (is_root()) {
      step_down = true;
      if (msg.envelope.has_takeover()) {
        listen = msg.envelope.takeover().listen();
      } else if (const MemberInfo* s = roster_.Find(roster_.standby())) {
        listen = s->listen;  // Most likely the one that took over.
      }
    } else {
      logger_.Info("ZINC-EPOCH", "epoch " + std::to_string(epoch()) + " -> " + std::to_string(e) +
                                     ": a new root; resyncing");
      epoch_.store(e, std::memory_order_release);
      root_lost_ = false;
      election_.Clear();
      root_seen_micros_ = clock_->NowMicros();
      const wire::Takeover& t = msg.envelope.takeover();
      if (msg.envelope.has_takeover() && t.deposed() && msg.origin == parent_id_ &&
          IsJoined(role()) && !t.listen().empty()) {
        // The parent was the root and stepped down: join the new root now, not after its
        // silence. (It named that root's address; the key comes with its roster.)
        logger_.Warn("ZINC-STEP-DOWN", "the root stepped down; joining " + t.listen());
        metrics_.parent_lost->Add();
        lost_parent_id_ = parent_id_;
        TransitionLocked(RoleEvent::kParentLost);
        parent_id_ = EndpointId();
        parent_address_.clear();
        target_ = t.listen();
        hops_ = 0;
        attempts_ = 0;
        SendJoinRequestLocked();
      }
    }
  }
  metrics_.epoch_changes->Add();
  if (step_down) {
    StepDown(e, listen);
    return;
  }
  ResyncReplicas(e);
}

void EndpointImpl::ReleaseAuthors(std::vector<EndpointId> gone) {
  if (gone.empty()) return;
  std::vector<std::shared_ptr<HostedDocument>> docs;
  {
    MutexLock l(&mu_);
    for (auto& [name, doc] : hosted_) docs.push_back(doc);
  }
  for (auto& d : docs) {
    Post(d->name(), [d, gone] {
      for (const EndpointId& id : gone) d->ReleaseAuthor(id);
    });
  }
}

size_t EndpointImpl::ResyncReplicas(uint64_t epoch) {
  std::vector<Replica*> replicas;
  {
    MutexLock l(&mu_);
    for (auto& [name, r] : replicas_) replicas.push_back(r.get());
  }
  // After every replica's tail offers, this member's last word (a TailOffer without a
  // document): the new root waits for it from every member before it sequences.
  auto last_word = [this] {
    wire::Envelope done = NewEnvelope("");
    done.mutable_tail_offer();
    listener_->Send(OutboundFrame{Route::kUpstream, "", EncodeEnvelope(done)});
  };
  if (replicas.empty()) last_word();
  auto remaining = std::make_shared<std::atomic<size_t>>(replicas.size());
  for (Replica* r : replicas) {
    Post(r->name(), [r, epoch, remaining, last_word] {
      r->OnEpoch(epoch);
      if (remaining->fetch_sub(1) == 1) last_word();
    });
  }
  return replicas.size();
}

void EndpointImpl::HandleRootLost(Message msg) {
  if (msg.channel != ChannelKind::kInbound) return;
  bool take_over = false;
  {
    MutexLock l(&tree_mu_);
    if (is_root() || msg.envelope.epoch() < epoch()) return;  // Settled already.
    if (!roster_.Find(msg.origin) || msg.origin == roster_root_) {
      // Only members that joined vote (the majority is counted over them).
      counters_.Get("zinc_refused_total{reason=\"vote\"}")->Add();
      return;
    }
    const int64_t now = clock_->NowMicros();
    election_.Vote(msg.origin, now);
    // Counted at once rather than at the next tick: every millisecond here is downtime.
    if (election_.running() && role() == Role::kStandby &&
        election_.Count(now, roster_.Others(roster_root_)) == Election::Outcome::kElected) {
      take_over = TransitionLocked(RoleEvent::kElected);
    }
  }
  if (take_over) TakeOver();
}

bool EndpointImpl::HoldWhileRecovering(const Message& msg) {
  if (role() != Role::kRecovering) return false;
  MutexLock l(&held_mu_);
  // Checked again under the lock: EndRecovery ends the role before it takes what is held.
  if (role() != Role::kRecovering) return false;
  if (held_.size() >= options_.max_queued_messages) {
    metrics_.fragments_held_back->Add();
    return true;  // Dropped: the author sends it again.
  }
  held_.push_back(msg);
  return true;
}

void EndpointImpl::EndRecovery(const std::string& why) {
  {
    MutexLock l(&tree_mu_);
    if (!TransitionLocked(RoleEvent::kRecovered)) return;
  }
  std::vector<Message> held;
  {
    MutexLock l(&held_mu_);
    held.swap(held_);
  }
  logger_.Info("ZINC-TAIL", "recovery over (" + why + "); " + std::to_string(held.size()) +
                                " held messages handled now");
  // The application's handles first: its pending edits follow the old root's tail, and come
  // before whatever waited meanwhile.
  std::vector<std::pair<std::string, Replica*>> handover;
  {
    MutexLock l(&mu_);
    handover.swap(handover_);
  }
  for (auto& [name, replica] : handover) {
    Post(name, [this, name = name, replica = replica] { HandOver(name, replica); });
  }
  // Each on its document's strand, in arrival order.
  for (Message& m : held) {
    const std::string doc = m.envelope.doc();
    Post(doc, [this, m = std::move(m)]() mutable {
      if (m.kind() == MessageKind::kFragment) {
        HandleFragment(std::move(m));
      } else {
        HandleSnapshotRequest(std::move(m));
      }
    });
  }
}

void EndpointImpl::HandleTailOffer(Message msg) {
  if (msg.channel != ChannelKind::kInbound || !is_root()) return;
  {
    // Only from the members whose votes made this root, and only while it collects their
    // tails: anyone else's offer could set an author's dedup past its next edits.
    MutexLock l(&tree_mu_);
    const bool voter = tail_voters_.count(msg.origin) > 0;
    if (!voter || clock_->NowMicros() > tail_offers_until_micros_) {
      counters_.Get("zinc_refused_total{reason=\"tail_offer\"}")->Add();
      logger_.Warn("ZINC-REFUSED", "tail_offer: from " + msg.origin.ToString() +
                                       (voter ? ": the collection is over" : ": not a voter"));
      return;
    }
  }
  if (!msg.envelope.doc().empty()) {
    // Taken even after the recovery ended: an offer queued on its document's strand before
    // then is still in time (the document takes it only if it has sequenced nothing since).
    wire::NackReason reason;
    std::string why;
    std::shared_ptr<HostedDocument> doc = FindHosted(msg.envelope.doc(), "", false, &reason, &why);
    const size_t taken = doc ? doc->AppendTail(msg.envelope.tail_offer()) : 0;
    if (taken > 0) {
      metrics_.tail_fragments_taken->Add(taken);
      logger_.Warn("ZINC-TAIL", "doc=" + msg.envelope.doc() + " took " + std::to_string(taken) +
                                    " fragments the old root sequenced, from " +
                                    msg.origin.ToString());
    }
    return;
  }
  // A member's last word: it has offered everything (its offers are queued on their documents'
  // strands, ahead of the held messages EndRecovery posts there).
  bool done = false;
  {
    MutexLock l(&tree_mu_);
    offered_.insert(msg.origin);
    done = true;
    for (const EndpointId& id : expected_offers_) done = done && offered_.count(id) > 0;
  }
  if (done) EndRecovery("every member offered its tail");
}

void EndpointImpl::HandleTakeover(Message msg) {
  // ObserveEpoch has done what a takeover of a later epoch asks; an older one is moot.
  (void)msg;
}

bool EndpointImpl::FailoverTickLocked(int64_t now, std::vector<OutboundFrame>* out) {
  const int64_t dead_after = timeouts_.dead_after_micros;
  if (is_root()) {
    // A tick this late means this process stood still (SIGSTOP, a stall) for as long as its
    // members take it for dead: a standby may have taken over meanwhile. Sequence nothing until
    // that is ruled out: a takeover notice says so (ObserveEpoch steps down), or members that
    // are a majority keep heartbeating well after the pause.
    if (const int64_t gap = pause_watch_.Tick(now)) SuspectPauseLocked(now, gap);
    if (role() == Role::kPaused && restart_hold_until_micros_ != 0) {
      // Restarted on its store: sequencing once no newer root spoke up in time.
      if (now >= restart_hold_until_micros_) {
        restart_hold_until_micros_ = 0;
        TransitionLocked(RoleEvent::kResumed);
        logger_.Info("ZINC-RESTART", "no newer root spoke up: sequencing");
      }
    } else if (role() == Role::kPaused) {
      auto child_seen = [this](const EndpointId& id) REQUIRES(tree_mu_) {
        auto c = children_.find(id);
        return c == children_.end() ? int64_t{0} : c->second.last_seen_micros;
      };
      if (roster_.standby().is_nil() ||
          MajorityStillHere(roster_, id_, child_seen, suspect_since_micros_ + dead_after)) {
        TransitionLocked(RoleEvent::kResumed);
        logger_.Warn("ZINC-PAUSE", "the members are still here: sequencing again");
      }
    }
    // The standby: the direct child that hosts with the highest priority, then the lowest id.
    // The current one keeps the post while it was heard from lately, even if it missed enough
    // heartbeats to be dropped as a child (starved, most likely): a standby that flaps leaves
    // the members without one to turn to.
    std::vector<EndpointId> children;
    children.reserve(children_.size());
    for (const auto& [id, child] : children_) children.push_back(id);
    const EndpointId standby = ChooseStandby(
        roster_, id_, children, now - standby_seen_micros_ < timeouts_.member_timeout_micros);
    if (standby != roster_.standby()) {
      roster_.set_standby(standby);
      roster_dirty_ = true;
      logger_.Info("ZINC-STANDBY",
                   standby.is_nil() ? std::string("no standby") : "standby " + standby.ToString());
    }
    if (!old_root_inbound_.empty()) {
      if (roster_.Find(old_root_id_)) {
        old_root_inbound_.clear();
      } else if (now <= takeover_until_micros_ ||
                 now - takeover_reminded_micros_ >= kTakeoverReminderMicros) {
        takeover_reminded_micros_ = now;
        wire::Envelope e = NewEnvelope("");
        e.mutable_takeover()->set_listen(listen_address_);
        for (const std::string& v : takeover_voters_) e.mutable_takeover()->add_voters(v);
        out->push_back(OutboundFrame{Route::kDirect, old_root_inbound_, EncodeEnvelope(e)});
      }
    }
    return false;
  }
  if (IsJoined(role()) && parent_id_ == roster_root_) {
    root_seen_micros_ = std::max(root_seen_micros_, parent_seen_micros_);
  }
  if (IsJoined(role()) && !root_lost_ && !roster_root_.is_nil() &&
      !saturated_.load(std::memory_order_relaxed) && timeouts_.Silent(root_seen_micros_, now)) {
    root_lost_ = true;
    metrics_.root_lost->Add();
    logger_.Warn("ZINC-ROOT-LOST",
                 "no heartbeat from the root for " + std::to_string(dead_after / 1000) + " ms");
  }
  if (!root_lost_) return false;
  if (roster_.standby() == id_) {
    if (election_.Start(now)) metrics_.elections->Add();
    election_.Vote(id_, now);
    const std::vector<EndpointId> others = roster_.Others(roster_root_);
    switch (election_.Count(now, others)) {
      case Election::Outcome::kElected:
        if (TransitionLocked(RoleEvent::kElected)) return true;
        break;
      case Election::Outcome::kGaveUp:
        // No majority has lost the root: this standby is the one cut off.
        logger_.Warn("ZINC-ELECTION", "no majority lost the root (" +
                                          std::to_string(election_.live_votes()) + " of " +
                                          std::to_string(others.size()) + "): joining again");
        root_lost_ = false;
        root_seen_micros_ = now;
        if (IsJoined(role())) RejoinLocked("no majority for a takeover");
        break;
      case Election::Outcome::kUndecided:
        break;
    }
    return false;
  }
  // Any other member votes: the standby counts it.
  const MemberInfo* s = roster_.Find(roster_.standby());
  if (s && !s->listen.empty()) {
    const std::string inbound = InboundOf(s->listen);
    if (!inbound.empty()) {
      wire::Envelope e = NewEnvelope("");
      e.mutable_root_lost();
      out->push_back(OutboundFrame{Route::kDirect, inbound, EncodeEnvelope(e)});
    }
  }
  return false;
}

void EndpointImpl::SuspectPauseLocked(int64_t now, int64_t gap) {
  if (roster_.standby().is_nil()) return;  // Nobody could have taken over.
  if (!TransitionLocked(RoleEvent::kPaused)) return;
  suspect_since_micros_ = now;
  metrics_.root_pauses->Add();
  logger_.Warn("ZINC-PAUSE", "stood still for " + std::to_string(gap / 1000) +
                                 " ms: not sequencing until the members are known to be here");
}

void EndpointImpl::TakeOver() {
  // The documents first, so that the first fragment sequenced here finds its document.
  std::vector<std::pair<std::string, Replica*>> replicas;
  {
    MutexLock l(&mu_);
    for (auto& [name, r] : replicas_) replicas.emplace_back(name, r.get());
  }
  std::vector<std::shared_ptr<HostedDocument>> adopted;
  std::string heads;
  for (auto& [name, r] : replicas) {
    Replica::Handover h;
    Status taken = r->TakeHandover(&h);
    if (!taken.ok()) {
      // Its members bring their own edits again (docs/failover.md), but others' are lost.
      logger_.Warn("ZINC-TAKEOVER", "document " + name + " not taken over: " + taken.message());
      metrics_.documents_not_taken_over->Add();
      continue;
    }
    heads += (heads.empty() ? "" : ", ") + name + " at " + std::to_string(h.seq);
    auto doc = std::make_shared<HostedDocument>(this, name, h.type);
    Status s = doc->Adopt(h.state, h.seq, h.applied, std::move(h.history));
    if (!s.ok()) {
      logger_.Warn("ZINC-TAKEOVER", "document " + name + " not taken over: " + s.ToString());
      continue;
    }
    adopted.push_back(std::move(doc));
  }
  {
    MutexLock l(&mu_);
    for (auto& doc : adopted) {
      const std::string name = doc->name();
      hosted_[name] = std::move(doc);
    }
    for (auto& [name, r] : replicas) {
      auto it = replicas_.find(name);
      if (it == replicas_.end()) continue;
      if (handles_.count(name) > 0 && hosted_.count(name) > 0) {
        // The application's: it keeps editing through it until the recovery is over, then its
        // handle moves to the hosted document (HandOver).
        handover_.emplace_back(name, it->second.get());
        closed_.push_back(std::move(it->second));
        replicas_.erase(it);
        continue;
      }
      // An application's replica that could not be taken over is closed: its handle freezes,
      // and an Open makes a new one, hosted here.
      RetireReplicaLocked(name, /*release_state=*/handles_.count(name) == 0);
      auto h = handles_.find(name);
      if (h != handles_.end()) {
        closed_handles_.push_back(std::move(h->second));
        handles_.erase(h);
      }
    }
    topics_.clear();
  }
  const int64_t now = clock_->NowMicros();
  std::vector<OutboundFrame> out;
  {
    MutexLock l(&tree_mu_);
    const uint64_t new_epoch = std::max(epoch(), roster_.epoch()) + 1;
    old_root_id_ = roster_root_;
    if (const MemberInfo* old = roster_.Find(roster_root_)) {
      old_root_inbound_ = InboundOf(old->listen);
      takeover_until_micros_ = now + kTakeoverNoticeMicros;
    }
    roster_.TakeOver(SelfInfoLocked(), roster_root_, now);
    for (const EndpointId& id : roster_.Others(id_)) expected_offers_.insert(id);
    roster_.set_epoch(new_epoch);
    roster_root_ = id_;
    epoch_.store(new_epoch, std::memory_order_release);
    PersistEpoch(new_epoch);
    // Nothing is sequenced until the members have offered the fragments they applied last (or
    // a heartbeat timeout has passed): one that reached them but not this standby is kept.
    TransitionLocked(RoleEvent::kTookOver);
    offered_.clear();
    // Those that voted, and the members below this standby.
    expected_offers_.clear();
    for (const EndpointId& id : election_.Voters()) {
      if (id != id_) expected_offers_.insert(id);
    }
    tail_voters_ = expected_offers_;
    recovery_until_micros_ = now + timeouts_.dead_after_micros;
    // Offers queued behind the recovery's end on their documents' strands are still in time.
    tail_offers_until_micros_ = recovery_until_micros_ + timeouts_.dead_after_micros;
    takeover_voters_.clear();
    for (const EndpointId& id : election_.Voters()) takeover_voters_.emplace_back(id.bytes());
    depth_ = 0;
    path_.clear();
    parent_id_ = EndpointId();
    parent_address_.clear();
    root_lost_ = false;
    election_.Clear();
    subscribed_all_.store(false);  // (The listener drops its client channels: Promote.)
    pause_watch_.Restart(now);
    // Children it had as a relay stay; the old root's other children join now.
    for (auto& [id, child] : children_) child.last_seen_micros = now;
    wire::Envelope e = NewEnvelope("");
    *e.mutable_roster() = roster_.ToProto(id_);
    out.push_back(OutboundFrame{Route::kPublish, std::string(kControlTopic), EncodeEnvelope(e)});
    roster_dirty_ = false;
    roster_published_micros_ = now;
    logger_.Warn("ZINC-TAKEOVER", "took over as the root at epoch " + std::to_string(new_epoch) +
                                      " with " + std::to_string(adopted.size()) + " documents (" +
                                      heads + ")");
  }
  metrics_.takeovers->Add();
  listener_->Promote();
  listener_->Send(std::move(out));
}

void EndpointImpl::HandOver(const std::string& name, Replica* replica) {
  DocumentHandleImpl* handle = nullptr;
  HostedDocument* doc = nullptr;
  {
    MutexLock l(&mu_);
    auto h = handles_.find(name);
    auto d = hosted_.find(name);
    if (h == handles_.end() || d == hosted_.end()) return;
    handle = h->second.get();
    doc = d->second.get();
  }
  handle->SwapBackend(doc, [replica, doc] {
    Replica::PendingHandover p = replica->TakePendingAndClose();
    doc->SequenceOwnPending(p.base_seq, p.next_origin_seq, std::move(p.edits));
  });
}

std::vector<Replica*> EndpointImpl::ReplicateOwnDocuments(
    std::vector<std::pair<DocumentHandleImpl*, HostedDocument*>> docs, uint64_t epoch) {
  std::vector<Replica*> made;
  for (auto& [handle, doc] : docs) {
    const std::string name = doc->name();
    auto r = std::make_unique<Replica>(this, name, doc->type(), /*create=*/true, types_);
    Replica* replica = r.get();
    Status seeded;
    // Under the handle's lock: no edit lands between the state taken and the replica taking over.
    handle->SwapBackend(replica, [&, doc = doc] {
      HostedDocument::StepDownState state = doc->TakeStepDownState(Replica::kAckedTail);
      seeded = replica->Seed(state.state, state.seq, state.epoch, epoch, state.next_origin_seq,
                             std::move(state.own));
    });
    if (!seeded.ok()) {
      logger_.Warn("ZINC-STEP-DOWN", "doc=" + name + " replica not seeded: " + seeded.ToString());
    }
    MutexLock l(&mu_);
    topics_[name].app = true;
    if (replicas_.try_emplace(name, std::move(r)).second) {
      made.push_back(replica);
    } else {
      // (Cannot happen: a root has no replicas, TakeOver moved them all out.)
      closed_.push_back(std::move(r));
    }
  }
  return made;
}

void EndpointImpl::StepDown(uint64_t epoch, const std::string& listen) {
  // The application's documents: hosted ones, whose handles move to replicas now, before the
  // role changes (an edit through them never finds a deposed document); and those still on the
  // replica they had when this endpoint took over (it steps down before its recovery ended),
  // which carries on as it is, resyncing with the new root.
  std::vector<std::pair<DocumentHandleImpl*, HostedDocument*>> own;
  std::vector<std::pair<std::string, Replica*>> kept;
  {
    MutexLock l(&mu_);
    kept.swap(handover_);
    for (auto& [name, doc] : hosted_) {
      auto h = handles_.find(name);
      if (h != handles_.end() && h->second->backend() == doc.get()) {
        own.emplace_back(h->second.get(), doc.get());
      }
      deposed_docs_.push_back(std::move(doc));
    }
    hosted_.clear();
    for (auto& [name, replica] : kept) {
      for (auto& c : closed_) {
        if (c.get() != replica || replicas_.count(name) > 0) continue;
        replicas_.emplace(name, std::move(c));
        topics_[name].app = true;
      }
    }
    closed_.erase(std::remove(closed_.begin(), closed_.end(), nullptr), closed_.end());
  }
  std::vector<Replica*> made = ReplicateOwnDocuments(std::move(own), epoch);
  {
    MutexLock l(&tree_mu_);
    if (!is_root()) return;
    StepDownLocked(epoch, listen);
  }
  // Subscribed once the listener has client channels again (StepDownLocked's Demote).
  {
    MutexLock l(&mu_);
    for (Replica* r : made) UpdateUpwardLocked(r->name());
    for (auto& [name, replica] : kept) UpdateUpwardLocked(name);
  }
  for (Replica* r : made) r->Start();
  for (auto& [name, replica] : kept) replica->OnEpoch(epoch);
}

void EndpointImpl::StepDownLocked(uint64_t epoch, const std::string& listen) {
  logger_.Warn("ZINC-STEP-DOWN", "a root took over at epoch " + std::to_string(epoch) +
                                     ": stepping down" +
                                     (listen.empty() ? std::string() : ", joining " + listen));
  metrics_.stepped_down->Add();
  // Says so to its members, at the new epoch, before it stops hosting: they join the new root
  // at once instead of waiting for its silence.
  {
    wire::Envelope e = NewEnvelope("");
    e.set_epoch(epoch);
    e.mutable_takeover()->set_listen(listen);
    e.mutable_takeover()->set_deposed(true);
    listener_->Send(OutboundFrame{Route::kPublish, std::string(kControlTopic), EncodeEnvelope(e)});
  }
  // A deposed root never hosts again: it joins as a leaf (and publishes no more heartbeats).
  hosts_.store(false, std::memory_order_release);
  TransitionLocked(RoleEvent::kSteppedDown);
  epoch_.store(epoch, std::memory_order_release);
  children_.clear();
  roster_ = RosterBook();
  roster_.set_max_members(options_.limits.max_roster_members);
  roster_.set_max_bytes(options_.limits.max_envelope_bytes / 2);
  roster_root_ = EndpointId();
  if (!listen.empty()) join_address_ = listen;
  listener_->Demote();
  target_ = join_address_;
  hops_ = 0;
  attempts_ = 0;
  if (!target_.empty()) SendJoinRequestLocked();
}

}  // namespace internal
}  // namespace zinc
