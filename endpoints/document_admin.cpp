#include <future>
#include <set>

#include "endpoints/endpoint_impl.h"

// EndpointImpl: listing and deleting documents (zincctl ls and rm, Endpoint::Delete;
// docs/protocol.md), and the standby's walk over the root's list, which replicates the
// documents that publish nothing (unloaded while idle).

namespace zinc {
namespace internal {

namespace {

// Most documents in one DocumentList.
constexpr size_t kMaxListed = 10000;
// How often the standby walks the root's list again.
constexpr int64_t kStandbyListMicros = 5000000;

Status DeletionStatus(const wire::Envelope& reply, const std::string& name) {
  if (!reply.has_nack()) return Status::Ok();
  switch (reply.nack().reason()) {
    case wire::NACK_UNKNOWN_DOCUMENT:
      return Status(StatusCode::kNotFound, reply.nack().text());
    case wire::NACK_STORE_FAILED:
      return Status(StatusCode::kIoError, reply.nack().text());
    case wire::NACK_UNSUPPORTED:
      return Status(StatusCode::kUnsupported, reply.nack().text());
    case wire::NACK_FORBIDDEN:
      return Status(StatusCode::kPermissionDenied, reply.nack().text());
    default:
      return Status(StatusCode::kUnavailable,
                    "deleting '" + name + "' was refused: " + reply.nack().text());
  }
}

Result<uint64_t> RequestDeletion(ChannelContext* context, const std::string& address,
                                 const std::string& name, std::chrono::milliseconds timeout,
                                 const ClientKeys& keys) {
  CodecLimits limits;
  ZINC_RETURN_IF_ERROR(ValidateDocId(name, limits));
  wire::Envelope request;
  request.set_doc(name);
  request.mutable_delete_request();
  Result<wire::Envelope> reply = SyncRequest(
      context, address, std::move(request), timeout, limits,
      [&](const wire::Envelope& e) { return e.has_deleted() && e.doc() == name; }, keys);
  if (!reply.ok()) return reply.status();
  ZINC_RETURN_IF_ERROR(DeletionStatus(*reply, name));
  return reply->deleted().seq();
}

}  // namespace

void EndpointImpl::HandleListRequest(Message msg) {
  if (msg.channel != ChannelKind::kSyncServer) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "list request on the wrong channel");
    return;
  }
  const wire::ListRequest& req = msg.envelope.list_request();
  const std::string& after = req.after();
  const size_t limit = req.limit() == 0 || req.limit() > kMaxListed ? kMaxListed : req.limit();
  // The limit + 1 smallest names after `after` (one more tells whether more follow).
  std::set<std::string> names;
  // With keys, a key lists only what it may read (the names are the documents' too).
  std::shared_ptr<const AuthorizedKeys> keys = keys_on() ? key_table_->Get() : nullptr;
  const KeyRights* rights = keys ? keys->Find(msg.peer) : nullptr;
  if (keys_on() && !rights) return;  // Admit let it through, and the key was removed since.
  auto consider = [&](const std::string& name) {
    if (name <= after) return;
    if (rights && !rights->CanRead(name)) return;
    if (names.size() > limit && name >= *names.rbegin()) return;
    names.insert(name);
    if (names.size() > limit + 1) names.erase(std::prev(names.end()));
  };
  std::unordered_map<std::string, std::shared_ptr<HostedDocument>> hosted;
  std::unordered_map<std::string, Replica*> replicas;
  std::set<std::string> opened;
  {
    MutexLock l(&mu_);
    for (const auto& [name, doc] : hosted_) consider(name);
    for (const auto& [name, r] : replicas_) consider(name);
  }
  Store* store = serves_store_.load(std::memory_order_acquire) ? journal_->store() : nullptr;
  if (store) {
    Result<std::vector<std::string>> stored = store->Documents();
    if (!stored.ok()) {
      Refuse(msg, wire::NACK_STORE_FAILED, stored.status().message());
      return;
    }
    for (auto it = std::upper_bound(stored->begin(), stored->end(), after);
         it != stored->end() && (names.size() <= limit || *it < *names.rbegin()); ++it) {
      consider(*it);
    }
  }
  const bool more = names.size() > limit;
  if (more) names.erase(std::prev(names.end()));
  {
    MutexLock l(&mu_);
    for (const std::string& name : names) {
      auto h = hosted_.find(name);
      if (h != hosted_.end()) hosted.emplace(name, h->second);
      auto r = replicas_.find(name);
      if (r != replicas_.end()) replicas.emplace(name, r->second.get());
      if (handles_.count(name) > 0) opened.insert(name);
    }
  }
  wire::Envelope e = NewEnvelope("");
  wire::DocumentList* list = e.mutable_document_list();
  list->set_more(more);
  for (const std::string& name : names) {
    wire::DocumentInfo info;
    info.set_name(name);
    info.set_open(listener_->Subscribers(name) + (opened.count(name) > 0 ? 1 : 0));
    info.set_in_memory(true);
    if (auto h = hosted.find(name); h != hosted.end()) {
      HostedDocument::Info d = h->second->Describe();
      info.set_type(std::string(h->second->type()->name()));
      info.set_seq(d.seq);
      info.set_bytes(d.bytes);
    } else if (auto r = replicas.find(name); r != replicas.end()) {
      // (Replicas of a closed endpoint are not freed: the pointer is still good.)
      const DocumentType* type = r->second->type();
      if (type) info.set_type(std::string(type->name()));
      info.set_seq(r->second->seq());
    } else if (store) {
      Result<DocumentStat> st = store->Stat(name);
      if (!st.ok()) continue;  // deleted meanwhile
      info.set_type(st->type);
      info.set_seq(st->seq);
      info.set_bytes(st->bytes);
      info.set_in_memory(false);
    } else {
      continue;
    }
    *list->add_documents() = std::move(info);
  }
  listener_->Send(OutboundFrame{Route::kSyncReply, msg.routing_id, EncodeEnvelope(e)});
}

Status EndpointImpl::DeleteHosted(const std::string& name, wire::NackReason* reason,
                                  uint64_t* seq) {
  std::string why;
  std::shared_ptr<HostedDocument> doc = FindHosted(name, "", false, reason, &why);
  // A document whose store is corrupt can still be deleted (its bytes go).
  if (!doc && *reason != wire::NACK_STORE_FAILED) {
    return Status(StatusCode::kNotFound, why);
  }
  *seq = doc ? doc->SetDeleted(true) : 0;
  // Everything it handed to the journal first; then the deletion, on its own, before the
  // document leaves memory (a load after it finds nothing).
  if (journal_) journal_->Flush();
  MutexLock load(&load_mu_);
  if (journal_) {
    WriteBatch batch;
    batch.Delete(name);
    Status s = journal_->store()->Commit(batch);
    if (!s.ok()) {
      if (doc) doc->SetDeleted(false);
      *reason = wire::NACK_STORE_FAILED;
      return s;
    }
  }
  {
    MutexLock l(&mu_);
    hosted_.erase(name);
    if (documents_total_ > 0) --documents_total_;
    auto h = handles_.find(name);
    if (h != handles_.end()) {
      // The application's handle freezes on the deleted document (its edits are refused).
      if (doc) deleted_docs_.push_back(doc);
      closed_handles_.push_back(std::move(h->second));
      handles_.erase(h);
    }
  }
  SetTicking(name, false);
  metrics_.documents_deleted->Add();
  logger_.Info("ZINC-DELETE", "doc=" + name + " deleted at seq " + std::to_string(*seq));
  // Every replica hears of it on the document's topic (relays pass it down).
  wire::Envelope e = NewEnvelope(name);
  e.mutable_deleted()->set_seq(*seq);
  listener_->Send(OutboundFrame{Route::kPublish, name, EncodeEnvelope(e)});
  return Status::Ok();
}

void EndpointImpl::HandleDeleteRequest(Message msg) {
  if (msg.channel != ChannelKind::kSyncServer) {
    Refuse(msg, wire::NACK_UNSUPPORTED, "delete request on the wrong channel");
    return;
  }
  if (!is_root()) {
    Refuse(msg, wire::NACK_UNSUPPORTED,
           "this member is not the root: send the deletion to the root (zincctl stat shows it)");
    return;
  }
  if (!accepting() || HoldWhileRecovering(msg)) {
    if (!accepting()) {
      Refuse(msg, wire::NACK_UNSUPPORTED, "this root is not sequencing now; ask again");
    }
    return;
  }
  const std::string& name = msg.envelope.doc();
  wire::NackReason reason = wire::NACK_UNSPECIFIED;
  uint64_t seq = 0;
  Status s = DeleteHosted(name, &reason, &seq);
  if (!s.ok()) {
    Refuse(msg, reason == wire::NACK_UNSPECIFIED ? wire::NACK_UNKNOWN_DOCUMENT : reason,
           s.message());
    return;
  }
  wire::Envelope e = NewEnvelope(name);
  e.mutable_deleted()->set_seq(seq);
  listener_->Send(OutboundFrame{Route::kSyncReply, msg.routing_id, EncodeEnvelope(e)});
}

void EndpointImpl::HandleDeleted(Message msg) {
  if (msg.channel != ChannelKind::kSubscription) {
    // (A reply to this endpoint's own request goes to the request's socket, not here.)
    Refuse(msg, wire::NACK_UNSUPPORTED, "deletion notice on the wrong channel");
    return;
  }
  const std::string& name = msg.envelope.doc();
  MutexLock l(&mu_);
  if (stopped_) return;
  auto r = replicas_.find(name);
  if (r == replicas_.end()) return;
  r->second->Close(/*release_state=*/true, "document '" + name + "' was deleted");
  if (journal_ && is_relay()) {
    // A relay's store (the standby's) drops its copy too.
    WriteBatch b;
    b.Delete(name);
    journal_->Submit(name, std::move(b), {}, nullptr);
  }
  metrics_.relay_replicas_closed->Add();
  closed_.push_back(std::move(r->second));
  replicas_.erase(r);
  auto t = topics_.find(name);
  if (t != topics_.end()) {
    t->second.app = false;
    t->second.serving_since_micros = 0;
  }
  auto h = handles_.find(name);
  if (h != handles_.end()) {
    closed_handles_.push_back(std::move(h->second));
    handles_.erase(h);
  }
  // (A relay stays subscribed while its children are: they may create the name again.)
  UpdateUpwardLocked(name);
}

Status EndpointImpl::Delete(const std::string& name, std::chrono::milliseconds timeout) {
  ZINC_RETURN_IF_ERROR(ValidateDocId(name, options_.limits));
  if (is_root()) {
    // On the document's strand, like every change of it.
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> result = done->get_future();
    Status posted = pool_->Submit(name, [this, name, done] {
      wire::NackReason reason = wire::NACK_UNSPECIFIED;
      uint64_t seq = 0;
      Status s = DeleteHosted(name, &reason, &seq);
      if (!s.ok() && reason == wire::NACK_STORE_FAILED)
        s = Status(StatusCode::kIoError, s.message());
      done->set_value(s);
    });
    ZINC_RETURN_IF_ERROR(posted);
    if (result.wait_for(timeout) != std::future_status::ready) {
      return Status(StatusCode::kTimeout, "deleting '" + name + "' took longer than " +
                                              std::to_string(timeout.count()) + " ms");
    }
    return result.get();
  }
  std::string root;
  ClientKeys keys = OwnKeys();
  {
    MutexLock l(&tree_mu_);
    if (const MemberInfo* m = roster_.Find(roster_root_)) {
      root = m->listen;
      keys.server_key = m->public_key;
    }
  }
  if (root.empty()) {
    return Status(StatusCode::kUnavailable, "the root is not known yet (no roster received)");
  }
  Result<uint64_t> seq = RequestDeletion(context_, root, name, timeout, keys);
  return seq.ok() ? Status::Ok() : seq.status();
}

void EndpointImpl::StandbyListTickLocked(int64_t now, std::vector<OutboundFrame>* out) {
  if (!subscribed_all_.load(std::memory_order_acquire) || !IsJoined(role())) return;
  if (standby_list_after_.empty() && now - standby_listed_micros_ < kStandbyListMicros) return;
  if (now - standby_list_sent_micros_ < timeouts_.retry_micros) return;  // a page on its way
  standby_list_sent_micros_ = now;
  wire::Envelope e = NewEnvelope("");
  e.mutable_list_request()->set_after(standby_list_after_);
  out->push_back(OutboundFrame{Route::kSyncRequest, "", EncodeEnvelope(e)});
}

void EndpointImpl::OnDocumentList(const wire::DocumentList& list) {
  if (!subscribed_all_.load(std::memory_order_acquire)) return;
  // Documents the standby has not seen anything of (idle at the root): replicated now.
  for (const wire::DocumentInfo& d : list.documents()) {
    if (d.type().empty() || FindReplica(d.name())) continue;
    ServingReplica(d.name(), d.type(), /*create=*/false);
  }
  MutexLock l(&tree_mu_);
  standby_list_sent_micros_ = 0;
  if (list.more() && list.documents_size() > 0) {
    standby_list_after_ = list.documents(list.documents_size() - 1).name();
  } else {
    standby_list_after_.clear();
    standby_listed_micros_ = clock_->NowMicros();
  }
}

}  // namespace internal

Result<std::vector<DocumentInfo>> ListDocuments(const std::string& address,
                                                std::chrono::milliseconds timeout,
                                                const ClientKeys& keys) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  CodecLimits limits;
  std::vector<DocumentInfo> out;
  std::string after;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status(StatusCode::kTimeout, "no document list from " + address + " within " +
                                              std::to_string(timeout.count()) + " ms");
    }
    wire::Envelope request;
    request.mutable_list_request()->set_after(after);
    Result<wire::Envelope> reply = internal::SyncRequest(
        nullptr, address, std::move(request), left, limits,
        [](const wire::Envelope& e) { return e.has_document_list(); }, keys);
    if (!reply.ok()) return reply.status();
    if (reply->has_nack()) {
      return Status(StatusCode::kUnavailable, "refused: " + reply->nack().text());
    }
    const wire::DocumentList& list = reply->document_list();
    for (const wire::DocumentInfo& d : list.documents()) {
      DocumentInfo info;
      info.name = d.name();
      info.type = d.type();
      info.seq = d.seq();
      info.bytes = d.bytes();
      info.open = d.open();
      info.in_memory = d.in_memory();
      out.push_back(std::move(info));
    }
    if (!list.more() || list.documents_size() == 0) return out;
    // (Names only grow: a host that answers with an older one is not followed round.)
    if (list.documents(list.documents_size() - 1).name() <= after) return out;
    after = list.documents(list.documents_size() - 1).name();
  }
}

Result<uint64_t> DeleteDocument(const std::string& address, const std::string& name,
                                std::chrono::milliseconds timeout, const ClientKeys& keys) {
  return internal::RequestDeletion(nullptr, address, name, timeout, keys);
}

}  // namespace zinc
