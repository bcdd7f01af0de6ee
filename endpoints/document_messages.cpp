#include "endpoints/endpoint_impl.h"

// EndpointImpl: the handlers of document traffic (fragments, presence, heartbeats, snapshot and
// catch-up requests and their replies), which hand each message to the document's backend: the
// HostedDocument at the root, a Replica elsewhere. The tree's and failover's handlers are in
// tree.cpp and failover.cpp.

namespace zinc {
namespace internal {

void EndpointImpl::Refuse(const Message& msg, wire::NackReason reason, const std::string& text) {
  counters_
      .Get(std::string("zinc_messages_refused_total{reason=\"") + wire::NackReason_Name(reason) +
           "\"}")
      ->Add();
  logger_.Warn("ZINC-REFUSED", std::string("channel=") + ChannelKindName(msg.channel) +
                                   " origin=" + msg.origin.ToString() + " " + text);
  if (msg.channel != ChannelKind::kInbound && msg.channel != ChannelKind::kSyncServer) return;
  const NackSpec nack{reason, text, msg.envelope.has_fragment() ? msg.envelope.origin_seq() : 0};
  if (msg.channel == ChannelKind::kSyncServer) {
    listener_->Send(NackFrame(msg.envelope.doc(), nack, &msg.origin, msg.routing_id));
    return;
  }
  // An author below a relay is not connected here: the nack goes down its document's topic.
  const bool valid = ValidateDocId(msg.envelope.doc(), options_.limits).ok();
  listener_->Send(NackFrame(msg.envelope.doc(), nack, &msg.origin, RoutingIdOf(msg.origin),
                            valid ? msg.envelope.doc() : ""));
}

void EndpointImpl::HandleFragment(Message msg) {
  const std::string& name = msg.envelope.doc();
  if (msg.channel == ChannelKind::kInbound) {
    if (!is_root()) {
      Refuse(msg, wire::NACK_UNSUPPORTED, "this endpoint does not sequence");
      return;
    }
    if (!accepting()) {
      // Maybe replaced (docs/failover.md): the author sends it again to whoever is the root.
      metrics_.fragments_held_back->Add();
      return;
    }
    if (HoldWhileRecovering(msg)) return;
    wire::NackReason reason = wire::NACK_UNSPECIFIED;
    std::string why;
    std::shared_ptr<HostedDocument> doc = FindHosted(name, msg.envelope.fragment().type(),
                                                     /*create=*/true, &reason, &why, &msg.origin);
    if (!doc) {
      if (reason == wire::NACK_TYPE_MISMATCH) {
        // The document consumes the origin_seq and nacks it itself.
        doc = FindHosted(name, "", false, &reason, &why);
      }
      if (!doc) {
        Refuse(msg, reason, why);
        return;
      }
    }
    doc->OnFragment(std::move(msg));
    return;
  }
  if (msg.channel == ChannelKind::kSubscription) {
    fragments_received_->Add();
    if (Replica* r = FindOrReplicate(name, msg.envelope.fragment().type())) {
      r->OnFragment(std::move(msg.envelope));
    }
    return;
  }
  Refuse(msg, wire::NACK_UNSUPPORTED, "fragment on the wrong channel");
}

void EndpointImpl::HandleFragments(Message* msgs, size_t n) {
  const std::string& name = msgs[0].envelope.doc();
  if (msgs[0].channel == ChannelKind::kSubscription) {
    fragments_received_->Add(n);
    if (Replica* r = FindOrReplicate(name, msgs[0].envelope.fragment().type())) {
      r->OnFragments(msgs, n);
    }
    return;
  }
  if (msgs[0].channel == ChannelKind::kInbound && role() == Role::kRoot) {
    wire::NackReason reason = wire::NACK_UNSPECIFIED;
    std::string why;
    // The document checks each fragment's type itself.
    if (std::shared_ptr<HostedDocument> doc = FindHosted(name, "", false, &reason, &why)) {
      doc->OnFragments(msgs, n);
      return;
    }
  }
  for (size_t i = 0; i < n; ++i) HandleFragment(std::move(msgs[i]));
}

void EndpointImpl::HandlePresence(Message msg) {
  if (msg.channel == ChannelKind::kInbound && is_root()) {
    wire::NackReason reason = wire::NACK_UNSPECIFIED;
    std::string why;
    // Presence for a document nobody has created is dropped: there is nobody to tell.
    if (std::shared_ptr<HostedDocument> doc =
            FindHosted(msg.envelope.doc(), "", false, &reason, &why)) {
      doc->OnPresenceMessage(msg);
    }
    return;
  }
  if (msg.channel == ChannelKind::kSubscription) {
    if (Replica* r = FindReplica(msg.envelope.doc())) r->OnPresenceMessage(msg);
    return;
  }
  Refuse(msg, wire::NACK_UNSUPPORTED, "presence on the wrong channel");
}

void EndpointImpl::HandleHeartbeat(Message msg) {
  if (msg.channel == ChannelKind::kInbound) {
    if (msg.envelope.doc().empty()) OnChildHeartbeat(msg.origin);
    return;
  }
  if (msg.channel != ChannelKind::kSubscription) return;
  if (msg.envelope.doc().empty()) {
    OnParentHeartbeat(msg.origin);
    return;
  }
  if (Replica* r = FindOrReplicate(msg.envelope.doc(), "")) r->OnHeartbeat(msg.envelope);
}

void EndpointImpl::HandleChunkedReply(Message msg) {
  if (msg.channel != ChannelKind::kSyncClient) return;  // (The listener makes these itself.)
  Message reply;
  Status s = DecodeChunkedReply(msg, options_.limits, &reply);
  if (!s.ok()) {
    OnBadFrame(ChannelKind::kSyncClient, s, nullptr, "");
    return;
  }
  // As OnMessages would: a later epoch from above is a new root's.
  if (reply.envelope.epoch() > epoch()) ObserveEpoch(reply);
  MessageHandler* h = handlers_.Find(reply.kind());
  if (!h || reply.kind() == MessageKind::kChunk) return;
  h->Handle(std::move(reply));
}

void EndpointImpl::HandleDurable(Message msg) {
  const std::string& name = msg.envelope.doc();
  if (msg.channel == ChannelKind::kSubscription) {
    if (Replica* r = FindReplica(name)) r->OnDurable(msg.envelope);
    return;
  }
  if (msg.channel != ChannelKind::kInbound || !is_root()) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "durable report on the wrong channel");
    return;
  }
  // Of this epoch's state only: a standby still on an old root's state says nothing of ours.
  if (msg.envelope.epoch() != epoch()) return;
  {
    // Only the standby's word counts (issue 15 binds it to the standby's key).
    MutexLock t(&tree_mu_);
    if (roster_.standby().is_nil() || msg.origin != roster_.standby()) return;
  }
  std::shared_ptr<HostedDocument> doc;
  {
    MutexLock l(&mu_);
    auto it = hosted_.find(name);
    if (it != hosted_.end()) doc = it->second;
  }
  // (A document unloaded meanwhile had every commit on disk; its next load counts them.)
  if (doc) doc->OnStandbyDurable(msg.envelope.seq());
}

void EndpointImpl::HandleSnapshotRequest(Message msg) {
  if (msg.channel != ChannelKind::kSyncServer) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "snapshot request on the wrong channel");
    return;
  }
  if (!is_root() && !is_relay()) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "this member does not host");
    return;
  }
  if (!is_root()) {
    const wire::SnapshotRequest& req = msg.envelope.snapshot_request();
    if (Replica* r = ServingReplica(msg.envelope.doc(), req.type(), req.create())) {
      r->OnSnapshotRequest(msg);
    }
    return;
  }
  // A new root serves snapshots once the members' tails are in.
  if (HoldWhileRecovering(msg)) return;
  const wire::SnapshotRequest& req = msg.envelope.snapshot_request();
  wire::NackReason reason = wire::NACK_UNSPECIFIED;
  std::string why;
  std::shared_ptr<HostedDocument> doc =
      FindHosted(msg.envelope.doc(), req.type(), req.create(), &reason, &why, &msg.origin);
  if (doc) {
    doc->OnSnapshotRequest(msg);
    return;
  }
  if (reason == wire::NACK_UNKNOWN_DOCUMENT) {
    wire::Envelope e = NewEnvelope(msg.envelope.doc());
    e.mutable_snapshot_reply()->set_found(false);
    listener_->Send(OutboundFrame{Route::kSyncReply, msg.routing_id, EncodeEnvelope(e)});
    return;
  }
  Refuse(msg, reason, why);
}

void EndpointImpl::HandleCatchupRequest(Message msg) {
  if (msg.channel != ChannelKind::kSyncServer) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "catch-up request on the wrong channel");
    return;
  }
  if (!is_root() && !is_relay()) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "this member does not host");
    return;
  }
  if (!is_root()) {
    if (Replica* r = ServingReplica(msg.envelope.doc(), "", false)) r->OnCatchupRequest(msg);
    return;
  }
  wire::NackReason reason = wire::NACK_UNSPECIFIED;
  std::string why;
  std::shared_ptr<HostedDocument> doc = FindHosted(msg.envelope.doc(), "", false, &reason, &why);
  if (!doc) {
    Refuse(msg, reason, why);
    return;
  }
  doc->OnCatchupRequest(msg);
}

void EndpointImpl::HandleSyncReply(Message msg) {
  if (msg.channel == ChannelKind::kSubscription && msg.kind() == MessageKind::kNack) {
    // A nack the root published for an author below a relay: only its target reads it.
    if (msg.envelope.nack().target() != id_.bytes()) return;
    if (Replica* r = FindReplica(msg.envelope.doc())) r->OnNack(msg.envelope);
    return;
  }
  if (msg.channel != ChannelKind::kSyncClient) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "reply on the wrong channel");
    return;
  }
  if (msg.kind() == MessageKind::kDocumentList) {
    OnDocumentList(msg.envelope.document_list());
    return;
  }
  Replica* r = msg.envelope.doc().empty() ? nullptr : FindReplica(msg.envelope.doc());
  if (!r) {
    if (msg.kind() == MessageKind::kNack) {
      logger_.Warn("ZINC-NACK", "doc=" + msg.envelope.doc() + " " + msg.envelope.nack().text());
    }
    return;
  }
  switch (msg.kind()) {
    case MessageKind::kSnapshotReply:
      r->OnSnapshotReply(msg.envelope);
      break;
    case MessageKind::kCatchupReply:
      r->OnCatchupReply(msg.envelope);
      break;
    case MessageKind::kNack:
      r->OnNack(msg.envelope);
      break;
    default:
      break;
  }
}

}  // namespace internal
}  // namespace zinc
