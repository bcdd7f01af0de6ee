// Keys and rights on a host (docs/security.md): who may connect (the context's ZAP handler asks
// the authorized keys), what each key may send (Admit, on the I/O thread, before a relay
// forwards anything), and which topics it may subscribe to (AdmitSubscription).

#include "core/keys.h"
#include "endpoints/address.h"
#include "endpoints/endpoint_impl.h"

namespace zinc {
namespace internal {

namespace {

// How a refusal names a key: by its name in the file, or by the start of the key.
std::string KeyLabel(const KeyRights* rights, std::string_view peer) {
  if (rights) return "'" + rights->name + "'";
  if (peer.empty()) return "(no key)";
  return "(unknown key " + std::string(peer.substr(0, 8)) + "...)";
}

}  // namespace

Status EndpointImpl::InitKeys() {
  if (!keys_on()) {
    if (!options_.authorized_keys.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "an authorized-keys file needs a key of this endpoint's own (--key)");
    }
    if (!options_.server_key.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "a server key needs a key of this endpoint's own (--key)");
    }
    return Status::Ok();
  }
  if (public_key_.empty()) {
    return Status(StatusCode::kInvalidArgument, "the secret key is not a Z85 key (40 characters)");
  }
  if (!options_.join.empty() && !IsZ85Key(options_.server_key)) {
    return Status(StatusCode::kInvalidArgument,
                  "joining " + options_.join +
                      " with a key needs that member's public key (--server-key Z85|FILE)");
  }
  if (options_.listen.empty()) return Status::Ok();
  if (options_.authorized_keys.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "a host with a key needs an authorized-keys file (--authorized-keys FILE): "
                  "without one no one could connect");
  }
  Result<AuthorizedKeys> keys = AuthorizedKeys::Load(options_.authorized_keys);
  if (!keys.ok()) return keys.status();
  {
    MutexLock l(&key_table_->mu);
    key_table_->keys = std::make_shared<const AuthorizedKeys>(std::move(keys).value());
  }
  // A domain of this endpoint's own: endpoints sharing a context keep their files apart.
  zap_domain_ = "zinc/" + id_.ToString();
  std::shared_ptr<KeyTable> table = key_table_;
  return context_->ServeZap(zap_domain_, [table](const std::string& key) {
    std::shared_ptr<const AuthorizedKeys> current = table->Get();
    const bool ok = current && current->Find(key) != nullptr;
    if (!ok) table->refused.fetch_add(1, std::memory_order_relaxed);
    return ok;
  });
}

ClientKeys EndpointImpl::OwnKeys() const {
  ClientKeys keys;
  keys.public_key = public_key_;
  keys.secret_key = options_.secret_key;
  return keys;
}

void EndpointImpl::Forbid(ChannelKind channel, const wire::Envelope& env,
                          const std::string& routing_id, bool nack, const std::string& why) {
  counters_.Get("zinc_messages_refused_total{reason=\"NACK_FORBIDDEN\"}")->Add();
  logger_.Warn("ZINC-FORBIDDEN", std::string("channel=") + ChannelKindName(channel) + " " + why);
  EndpointId origin;
  if (!nack || !EndpointId::FromBytes(env.origin(), &origin)) return;
  const NackSpec spec{wire::NACK_FORBIDDEN, why, env.has_fragment() ? env.origin_seq() : 0};
  const std::string to = channel == ChannelKind::kSyncServer ? routing_id : RoutingIdOf(origin);
  listener_->Send(NackFrame(env.doc(), spec, &origin, to));
}

bool EndpointImpl::Admit(ChannelKind channel, std::string_view peer, const wire::Envelope& env,
                         const std::string& routing_id) {
  std::shared_ptr<const AuthorizedKeys> keys = key_table_->Get();
  const KeyRights* rights = keys ? keys->Find(peer) : nullptr;
  if (!rights) {
    // Connected with a key that was removed since (SIGHUP): nothing it sends counts any more.
    Forbid(channel, env, routing_id, false,
           "key " + KeyLabel(nullptr, peer) + " is not authorized");
    return false;
  }
  // Identity from the connection: the origin must be the key's own (its id begins with the
  // key's hash). The sync channel is always the requester's own; on the inbound channel a member
  // carries its children's traffic (and checked it itself, at the first hop).
  const bool owned = OriginHasPrefix(env.origin(), rights->id_prefix);
  if (!owned && (channel == ChannelKind::kSyncServer || !rights->member)) {
    Forbid(channel, env, routing_id, false,
           "key " + KeyLabel(rights, peer) + " sent as an origin it does not own");
    return false;
  }
  const std::string& doc = env.doc();
  std::string missing;  // the right the message needs and the key lacks
  switch (env.body_case()) {
    case wire::Envelope::kFragment:
    case wire::Envelope::kDeleteRequest:
      // A member carrying a child's edit: the child's rights were checked where it joined.
      if (owned && !rights->CanWrite(doc)) missing = "write";
      break;
    case wire::Envelope::kPresence:
    case wire::Envelope::kSnapshotRequest:
    case wire::Envelope::kCatchupRequest:
      if (!rights->CanRead(doc)) missing = "read";
      break;
    case wire::Envelope::kHeartbeat:
      if (!doc.empty() && !rights->CanRead(doc)) missing = "read";
      break;
    case wire::Envelope::kJoinRequest:
      // Hosting children is a member's part.
      if (!env.join_request().listen().empty() && !rights->member) missing = "member";
      break;
    case wire::Envelope::kMemberReport: {
      const wire::MemberReport& r = env.member_report();
      if (!r.listen().empty() && !rights->member) {
        missing = "member";
      } else if (!r.public_key().empty() && !OriginOwnedBy(env.origin(), KeyText(r.public_key()))) {
        // The key it reports must own the id it reports for: the roster hands it out.
        Forbid(channel, env, routing_id, false,
               "key " + KeyLabel(rights, peer) + " reported a key that does not own its origin");
        return false;
      }
      break;
    }
    case wire::Envelope::kRootLost:
      break;  // Every joined endpoint votes (its own origin, checked above).
    case wire::Envelope::kTailOffer:
      // Fragments only a member vouches for; anyone's last word (no fragments).
      if (env.tail_offer().fragments_size() > 0 && !rights->member) missing = "member";
      break;
    case wire::Envelope::kTakeover:
    case wire::Envelope::kDurable:
      // Taking over and durability are the members' business alone.
      if (!rights->member) missing = "member";
      break;
    default:
      break;  // Roster and list requests, chunk requests: any authorized key.
  }
  if (missing.empty()) return true;
  const std::string why =
      missing == "member"
          ? "key " + KeyLabel(rights, peer) + " is not a member (no 'member' right)"
          : "key " + KeyLabel(rights, peer) + " may not " + missing + " document '" + doc + "'";
  Forbid(channel, env, routing_id, /*nack=*/true, why);
  return false;
}

bool EndpointImpl::AdmitSubscription(std::string_view peer, const std::string& doc) {
  std::shared_ptr<const AuthorizedKeys> keys = key_table_->Get();
  const KeyRights* rights = keys ? keys->Find(peer) : nullptr;
  bool ok = false;
  if (!rights) {
    ok = false;
  } else if (doc.empty()) {
    ok = rights->member;  // Every topic: the standby replicates every document.
  } else if (doc == kControlTopic) {
    ok = true;  // Heartbeats and the roster: every authorized key needs them.
  } else {
    ok = rights->CanRead(doc);
  }
  if (!ok) {
    counters_.Get("zinc_subscriptions_refused_total")->Add();
    logger_.Warn("ZINC-FORBIDDEN",
                 "subscription to '" + doc + "' refused to key " + KeyLabel(rights, peer));
  }
  return ok;
}

Status EndpointImpl::ReloadAuthorizedKeys() {
  if (!keys_on() || options_.authorized_keys.empty()) {
    return Status(StatusCode::kUnsupported, "this endpoint has no authorized-keys file");
  }
  Result<AuthorizedKeys> loaded = AuthorizedKeys::Load(options_.authorized_keys);
  if (!loaded.ok()) {
    logger_.Warn("ZINC-KEYS",
                 "not reloaded, the keys in force stay: " + loaded.status().ToString());
    return loaded.status();
  }
  auto fresh = std::make_shared<const AuthorizedKeys>(std::move(loaded).value());
  std::shared_ptr<const AuthorizedKeys> old;
  {
    MutexLock l(&key_table_->mu);
    old = key_table_->keys;
    key_table_->keys = fresh;
  }
  const bool changed = !old || !old->SameAs(*fresh);
  counters_.Get("zinc_authorized_keys_reloads_total")->Add();
  logger_.Info("ZINC-KEYS", "reloaded " + options_.authorized_keys + ": " +
                                std::to_string(fresh->size()) + " keys" +
                                (changed ? "; subscribers are authorized again" : ", unchanged"));
  // Messages are checked one by one against the new keys from now on; subscriptions were
  // checked when made, so every subscriber connects again (and a removed key cannot).
  if (changed && listener_) listener_->RebindOutbound();
  return Status::Ok();
}

void EndpointImpl::LearnKeysLocked() {
  if (!keys_on() || !listener_) return;
  for (const MemberInfo& m : roster_.ToInfo(roster_root_).members) {
    if (!m.listen.empty() && !m.public_key.empty()) listener_->SetServerKey(m.listen, m.public_key);
  }
}

}  // namespace internal
}  // namespace zinc
