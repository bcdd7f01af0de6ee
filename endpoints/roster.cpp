#include "endpoints/roster.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "core/channel.h"
#include "core/keys.h"
#include "endpoints/address.h"

namespace zinc {

namespace {

void AppendJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

EndpointId IdOf(const std::string& bytes) {
  EndpointId id;
  EndpointId::FromBytes(bytes, &id);  // Checked by the codec; nil when empty.
  return id;
}

// The fields a wire::Member and a wire::MemberReport share (by the same names), into *m.
template <typename Wire>
void FillMember(const Wire& w, MemberInfo* m) {
  m->parent = IdOf(w.parent());
  m->listen = w.listen();
  m->depth = w.depth();
  m->max_children = w.max_children();
  m->children = w.children();
  m->name = w.name();
  m->priority = w.priority();
  m->public_key = KeyText(w.public_key());
}

bool SameMember(const MemberInfo& a, const MemberInfo& b) {
  return std::tie(a.id, a.parent, a.listen, a.depth, a.max_children, a.children, a.name, a.priority,
                  a.public_key) == std::tie(b.id, b.parent, b.listen, b.depth, b.max_children,
                                            b.children, b.name, b.priority, b.public_key);
}

void SortMembers(std::vector<MemberInfo>* members) {
  std::sort(members->begin(), members->end(), [](const MemberInfo& a, const MemberInfo& b) {
    return std::tie(a.depth, a.id) < std::tie(b.depth, b.id);
  });
}

}  // namespace

const char* RoleOf(const RosterInfo& roster, const MemberInfo& m) {
  if (m.id == roster.root) return "root";
  if (m.id == roster.standby) return "standby";
  return m.listen.empty() ? "client" : "relay";
}

std::string RosterToJson(const RosterInfo& roster) {
  auto id_or_null = [](std::string* out, const EndpointId& id) {
    if (id.is_nil()) {
      *out += "null";
    } else {
      AppendJsonString(out, id.ToString());
    }
  };
  std::string out = "{\"root\":";
  AppendJsonString(&out, roster.root.ToString());
  out += ",\"epoch\":" + std::to_string(roster.epoch) + ",\"standby\":";
  id_or_null(&out, roster.standby);
  out += ",\"asked\":";
  id_or_null(&out, roster.asked);
  out += ",\"role\":";
  AppendJsonString(&out, roster.role);
  out += ",\"members\":[";
  uint32_t depth = 0;
  for (size_t i = 0; i < roster.members.size(); ++i) {
    const MemberInfo& m = roster.members[i];
    depth = std::max(depth, m.depth);
    if (i > 0) out += ",";
    out += "{\"id\":";
    AppendJsonString(&out, m.id.ToString());
    out += ",\"name\":";
    AppendJsonString(&out, m.name);
    out += ",\"role\":";
    AppendJsonString(&out, RoleOf(roster, m));
    out += ",\"parent\":";
    id_or_null(&out, m.parent);
    out += ",\"depth\":" + std::to_string(m.depth) + ",\"listen\":";
    AppendJsonString(&out, m.listen);
    out += ",\"children\":" + std::to_string(m.children) +
           ",\"max_children\":" + std::to_string(m.max_children) +
           ",\"priority\":" + std::to_string(m.priority);
    if (!m.public_key.empty()) {
      out += ",\"public_key\":";
      AppendJsonString(&out, m.public_key);
    }
    out += "}";
  }
  out += "],\"count\":" + std::to_string(roster.members.size()) +
         ",\"depth\":" + std::to_string(depth) + ",\"refused\":{";
  bool first = true;
  for (const auto& [reason, n] : roster.refused) {
    if (!first) out += ",";
    first = false;
    AppendJsonString(&out, reason);
    out += ":" + std::to_string(n);
  }
  out += "}}";
  return out;
}

namespace internal {

Result<wire::Envelope> SyncRequest(ChannelContext* context, const std::string& address,
                                   wire::Envelope request, std::chrono::milliseconds timeout,
                                   const CodecLimits& limits,
                                   const std::function<bool(const wire::Envelope&)>& answers,
                                   const ClientKeys& keys) {
  Result<BaseAddress> base = ParseBaseAddress(address);
  if (!base.ok()) return base.status();
  if (base->transport == "tcp" && base->port == 0) {
    return Status(StatusCode::kInvalidArgument, "address needs a port: " + address);
  }
  // A context of its own for one request unless given one (declared first: it outlives the
  // socket).
  std::unique_ptr<ChannelContext> own;
  if (!context) {
    own = std::make_unique<ChannelContext>();
    context = own.get();
  }
  ChannelOptions options;
  options.curve_public_key = keys.public_key;
  options.curve_secret_key = keys.secret_key;
  Result<std::unique_ptr<Channel>> dealer = Channel::Create(context, SocketType::kDealer, options);
  if (!dealer.ok()) return dealer.status();
  ZINC_RETURN_IF_ERROR((*dealer)->Connect(DeriveChannelAddresses(*base).sync, keys.server_key));
  request.set_version(kProtocolVersion);
  if (request.origin().empty()) {
    request.set_origin(std::string(NewIdForKey(keys.public_key).bytes()));
  }
  const std::string bytes = EncodeEnvelope(request);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool sent = false;
  std::vector<std::string> parts;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::vector<PollItem> items(1);
    items[0].channel = dealer->get();
    items[0].want_in = sent;
    items[0].want_out = !sent;
    ZINC_RETURN_IF_ERROR(
        Poll(&items, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
    if (!sent && items[0].writable) {
      std::string_view part(bytes);
      Status s = (*dealer)->Send(&part, 1);
      if (s.ok()) sent = true;
      continue;
    }
    if (!items[0].readable) continue;
    Result<bool> got = (*dealer)->Receive(&parts);
    if (!got.ok()) return got.status();
    if (!*got || parts.size() != 1) continue;
    wire::Envelope reply;
    Status s = DecodeEnvelope(parts[0], limits.max_sync_envelope_bytes, limits, &reply);
    if (!s.ok()) return Status(s.code(), "bad reply from " + address + ": " + s.message());
    if (reply.has_nack() || answers(reply)) return reply;
  }
  return Status(StatusCode::kTimeout,
                "no reply from " + address + " within " + std::to_string(timeout.count()) + " ms");
}

}  // namespace internal

Result<RosterInfo> FetchRoster(const std::string& address, std::chrono::milliseconds timeout,
                               const CodecLimits& limits, const ClientKeys& keys) {
  wire::Envelope request;
  request.mutable_roster_request();
  Result<wire::Envelope> reply = internal::SyncRequest(
      nullptr, address, std::move(request), timeout, limits,
      [](const wire::Envelope& e) { return e.has_roster(); }, keys);
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kTimeout) {
      return Status(StatusCode::kTimeout, "no roster from " + address + " within " +
                                              std::to_string(timeout.count()) + " ms");
    }
    return reply.status();
  }
  if (reply->has_nack()) {
    return Status(StatusCode::kUnavailable, "refused: " + reply->nack().text());
  }
  RosterInfo info = internal::RosterFromProto(reply->roster());
  info.asked = IdOf(reply->origin());
  info.role = reply->roster().role();
  for (const wire::Refusal& r : reply->roster().refused()) info.refused[r.reason()] += r.count();
  return info;
}

namespace internal {

RosterInfo RosterFromProto(const wire::Roster& roster) {
  RosterInfo info;
  info.root = IdOf(roster.root());
  info.epoch = roster.epoch();
  info.standby = IdOf(roster.standby());
  for (const wire::Member& m : roster.members()) {
    MemberInfo& mi = info.members.emplace_back();
    mi.id = IdOf(m.id());
    FillMember(m, &mi);
  }
  SortMembers(&info.members);
  return info;
}

void RosterBook::SetSelf(const MemberInfo& self) {
  authoritative_ = true;
  Entry& e = members_[self.id];
  e.info = self;
  e.last_seen_micros = INT64_MAX;  // Never expires.
}

bool RosterBook::Fits(const EndpointId& id, const wire::MemberReport& r) const {
  if (r.leaving()) return true;
  auto it = members_.find(id);
  const size_t now_bytes = it == members_.end() ? 0 : it->second.bytes;
  if (it == members_.end() && members_.size() >= max_members_) return false;
  return bytes_ - now_bytes + EntryBytes(r) <= max_bytes_;
}

size_t RosterBook::ChildrenOf(const EndpointId& parent) const {
  size_t n = 0;
  for (const auto& [id, e] : members_) n += e.info.parent == parent;
  return n;
}

bool RosterBook::Report(const EndpointId& id, const wire::MemberReport& r, int64_t now_micros) {
  reservations_.erase(id);
  if (r.leaving()) {
    auto it = members_.find(id);
    if (it == members_.end()) return false;
    bytes_ -= it->second.bytes;
    members_.erase(it);
    return true;
  }
  if (!Fits(id, r)) return false;
  auto [it, added] = members_.try_emplace(id);
  Entry& e = it->second;
  MemberInfo info;
  info.id = id;
  FillMember(r, &info);
  const bool changed = added || !SameMember(info, e.info);
  e.info = std::move(info);
  e.last_seen_micros = now_micros;
  bytes_ = bytes_ - e.bytes + EntryBytes(r);
  e.bytes = EntryBytes(r);
  return changed;
}

std::vector<EndpointId> RosterBook::Expire(int64_t cutoff_micros) {
  std::vector<EndpointId> gone;
  for (auto it = members_.begin(); it != members_.end();) {
    if (it->second.last_seen_micros < cutoff_micros) {
      gone.push_back(it->first);
      bytes_ -= it->second.bytes;
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

void RosterBook::HeardFrom(const EndpointId& id, int64_t now_micros) {
  auto it = members_.find(id);
  if (it != members_.end()) {
    it->second.last_seen_micros = std::max(it->second.last_seen_micros, now_micros);
  }
}

void RosterBook::HeardFromAll(int64_t now_micros) {
  for (auto& [id, e] : members_) e.last_seen_micros = std::max(e.last_seen_micros, now_micros);
}

void RosterBook::Replace(const wire::Roster& roster) {
  members_.clear();
  bytes_ = 0;
  standby_ = IdOf(roster.standby());
  epoch_ = roster.epoch();
  for (const wire::Member& m : roster.members()) {
    Entry& e = members_[IdOf(m.id())];
    e.info.id = IdOf(m.id());
    FillMember(m, &e.info);
    e.bytes = 128 + m.listen().size() + m.name().size();
    bytes_ += e.bytes;
    reservations_.erase(e.info.id);  // It has arrived.
  }
}

void RosterBook::TakeOver(const MemberInfo& self, const EndpointId& old_root, int64_t now_micros) {
  for (auto it = members_.begin(); it != members_.end();) {
    const MemberInfo& m = it->second.info;
    if (m.id == old_root || (m.parent == old_root && m.id != self.id)) {
      bytes_ -= it->second.bytes;
      it = members_.erase(it);
      continue;
    }
    it->second.last_seen_micros = now_micros;
    ++it;
  }
  reservations_.clear();
  standby_ = EndpointId();
  SetSelf(self);
}

const MemberInfo* RosterBook::Find(const EndpointId& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second.info;
}

std::vector<EndpointId> RosterBook::Others(const EndpointId& root) const {
  std::vector<EndpointId> out;
  for (const auto& [id, e] : members_) {
    if (id != root) out.push_back(id);
  }
  return out;
}

void RosterBook::Reserve(const EndpointId& newcomer, const EndpointId& host, int64_t until_micros,
                         int64_t now_micros) {
  // Expired ones go first (a newcomer that never came), and there are never more than the
  // roster's bound: the oldest makes room.
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    it = it->second.until_micros <= now_micros ? reservations_.erase(it) : std::next(it);
  }
  if (reservations_.size() >= max_members_ && reservations_.count(newcomer) == 0) {
    auto oldest = reservations_.begin();
    for (auto it = reservations_.begin(); it != reservations_.end(); ++it) {
      if (it->second.until_micros < oldest->second.until_micros) oldest = it;
    }
    reservations_.erase(oldest);
  }
  reservations_[newcomer] = Reservation{host, until_micros};
}

std::map<EndpointId, uint32_t> RosterBook::ChildCounts(int64_t now_micros,
                                                       bool reservations) const {
  std::map<EndpointId, uint32_t> counts;
  for (const auto& [id, e] : members_) {
    if (authoritative_) {
      if (!e.info.parent.is_nil()) ++counts[e.info.parent];
    } else {
      counts[id] += e.info.children;
    }
  }
  for (const auto& [newcomer, r] : reservations_) {
    if (reservations && r.until_micros >= now_micros && members_.count(newcomer) == 0)
      ++counts[r.host];
  }
  return counts;
}

const MemberInfo* RosterBook::ChooseHost(const std::vector<EndpointId>& exclude,
                                         int64_t now_micros) const {
  const std::map<EndpointId, uint32_t> counts = ChildCounts(now_micros, /*reservations=*/true);
  const Entry* best = nullptr;
  uint32_t best_children = 0;
  for (const auto& [id, e] : members_) {
    if (e.info.listen.empty() || std::find(exclude.begin(), exclude.end(), id) != exclude.end()) {
      continue;
    }
    auto c = counts.find(id);
    const uint32_t children = c == counts.end() ? 0 : c->second;
    if (e.info.max_children != 0 && children >= e.info.max_children) continue;
    if (!best || std::tie(e.info.depth, children, id) <
                     std::tie(best->info.depth, best_children, best->info.id)) {
      best = &e;
      best_children = children;
    }
  }
  return best ? &best->info : nullptr;
}

wire::Roster RosterBook::ToProto(const EndpointId& root) const {
  wire::Roster r;
  r.set_root(std::string(root.bytes()));
  r.set_epoch(epoch_);
  if (!standby_.is_nil()) r.set_standby(std::string(standby_.bytes()));
  const std::map<EndpointId, uint32_t> counts = ChildCounts(0, /*reservations=*/false);
  for (const auto& [id, e] : members_) {
    wire::Member* m = r.add_members();
    m->set_id(std::string(id.bytes()));
    if (!e.info.parent.is_nil()) m->set_parent(std::string(e.info.parent.bytes()));
    m->set_listen(e.info.listen);
    m->set_depth(e.info.depth);
    m->set_max_children(e.info.max_children);
    auto c = counts.find(id);
    m->set_children(c == counts.end() ? 0 : c->second);
    m->set_name(e.info.name);
    m->set_priority(e.info.priority);
    if (!e.info.public_key.empty()) m->set_public_key(KeyBytes(e.info.public_key));
  }
  return r;
}

RosterInfo RosterBook::ToInfo(const EndpointId& root) const {
  return RosterFromProto(ToProto(root));
}

}  // namespace internal
}  // namespace zinc
