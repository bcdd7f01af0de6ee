#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/status.h"

namespace zinc {

class ChannelContext;

// One member of a cluster as the roster shows it.
struct MemberInfo {
  EndpointId id;
  // Nil for the root.
  EndpointId parent;
  // The base address it hosts children on; empty for a leaf.
  std::string listen;
  // 0 for the root.
  uint32_t depth = 0;
  // 0: no limit.
  uint32_t max_children = 0;
  uint32_t children = 0;
  std::string name;
  // Standby preference: the root picks its direct child (with a listen address) of the highest
  // priority, then the lowest id, as its standby. 0: never.
  uint32_t priority = 0;
  // Its CurveZMQ public key (Z85) with keys; empty without.
  std::string public_key;
};

// The members of a cluster, as the root last published them.
struct RosterInfo {
  EndpointId root;
  // The root's epoch (bumped by every failover) and its standby (nil: none).
  uint64_t epoch = 0;
  EndpointId standby;
  // The member this copy is from (the one asked), and its role as it sees itself: "root",
  // "standby", "relay", "client", or "joining" while it has no parent.
  EndpointId asked;
  std::string role;
  // Sorted by depth, then id.
  std::vector<MemberInfo> members;
  // What the member asked refused, by reason (wire::Roster.refused; FetchRoster only).
  std::map<std::string, uint64_t> refused;
};

// "root", "standby", "relay" or "client": m's role in roster.
const char* RoleOf(const RosterInfo& roster, const MemberInfo& m);

// {"root":ID,"epoch":N,"standby":ID|null,"asked":ID,"role":S,"members":[{"id":ID,"name":S,
// "role":S,"parent":ID|null,"depth":N,"listen":S,"children":N,"max_children":N,"priority":N
// [,"public_key":S]},
// ...],"count":N,"depth":N,"refused":{REASON:N,...}} (zincctl stat's output; docs/zincctl.md).
std::string RosterToJson(const RosterInfo& roster);

// Asks the member hosting at base address `address` for its roster over the sync channel, and
// waits up to timeout. Returns kTimeout if no answer came, kInvalidArgument for a bad address.
// With keys, over CurveZMQ (keys.server_key: the member's).
Result<RosterInfo> FetchRoster(const std::string& address, std::chrono::milliseconds timeout,
                               const CodecLimits& limits = CodecLimits(),
                               const ClientKeys& keys = ClientKeys());

namespace internal {

RosterInfo RosterFromProto(const wire::Roster& roster);

// One request on the sync channel of the member hosting at `address` and its answer: the first
// reply for which answers is true, or a nack. context: nullptr makes one for the request.
// kTimeout if none came in time. With keys, over CurveZMQ, from an origin the key owns.
Result<wire::Envelope> SyncRequest(ChannelContext* context, const std::string& address,
                                   wire::Envelope request, std::chrono::milliseconds timeout,
                                   const CodecLimits& limits,
                                   const std::function<bool(const wire::Envelope&)>& answers,
                                   const ClientKeys& keys = ClientKeys());

// The roster as one member keeps it: at the root, built from the members' reports; elsewhere, the
// root's last published copy. Also picks where a newcomer should go. Thread-compatible.
class RosterBook {
 public:
  // The root's own entry, kept up to date by the root (which makes this book the root's).
  void SetSelf(const MemberInfo& self);
  // Most members kept (reports of more are dropped): CodecLimits::max_roster_members, so that
  // the roster still fits in one envelope.
  void set_max_members(size_t n) { max_members_ = n; }
  // Most bytes the members may take in the published roster (EntryBytes each), so that it
  // always fits the subscribers' frame limit: CodecLimits::max_envelope_bytes / 2.
  void set_max_bytes(size_t n) { max_bytes_ = n; }
  // What one member costs in the roster's encoding, at most.
  static size_t EntryBytes(const wire::MemberReport& r) {
    return 128 + r.listen().size() + r.name().size();
  }
  // Whether a report of id fits: a member already listed, or room in members and bytes.
  bool Fits(const EndpointId& id, const wire::MemberReport& report) const;
  // How many listed members name parent as theirs.
  size_t ChildrenOf(const EndpointId& parent) const;
  // Root: a member's report (or its leaving). Returns whether the roster changed.
  bool Report(const EndpointId& id, const wire::MemberReport& report, int64_t now_micros);
  // Root: drops the members not heard from since before cutoff; returns their ids.
  std::vector<EndpointId> Expire(int64_t cutoff_micros);
  // Root: counts the member id (if listed) as heard from at now_micros: a direct child's
  // heartbeat, which arrives more often than its reports and is handled as it arrives.
  void HeardFrom(const EndpointId& id, int64_t now_micros);
  // Counts every member as heard from at now_micros (this host read nothing for a while: what
  // they sent waited unread).
  void HeardFromAll(int64_t now_micros);
  // Elsewhere: replaces the whole roster with the root's.
  void Replace(const wire::Roster& roster);
  // A standby taking over: this copy becomes the root's book, with self as the root, without the
  // old root and its other direct children (they join again), the rest seen at now_micros.
  void TakeOver(const MemberInfo& self, const EndpointId& old_root, int64_t now_micros);
  const MemberInfo* Find(const EndpointId& id) const;
  // Members other than the root.
  std::vector<EndpointId> Others(const EndpointId& root) const;
  // The standby (nil: none) and epoch the roster carries.
  void set_standby(const EndpointId& id) { standby_ = id; }
  const EndpointId& standby() const { return standby_; }
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }
  uint64_t epoch() const { return epoch_; }

  // A newcomer was sent to host: counted as its child until it reports, or until expiry.
  // Expired reservations are dropped here; at most max_members are kept.
  void Reserve(const EndpointId& newcomer, const EndpointId& host, int64_t until_micros,
               int64_t now_micros);
  size_t reservations() const { return reservations_.size(); }

  // The member with room (and a listen address) that is shallowest, then has the fewest
  // children, then the lowest id, other than those in exclude; nullptr if none has room.
  // The member, or nullptr.
  const MemberInfo* ChooseHost(const std::vector<EndpointId>& exclude, int64_t now_micros) const;

  // Root: the roster to publish, with children counted from the members' parents.
  wire::Roster ToProto(const EndpointId& root) const;
  RosterInfo ToInfo(const EndpointId& root) const;
  size_t size() const { return members_.size(); }

 private:
  struct Entry {
    MemberInfo info;
    int64_t last_seen_micros = 0;
    size_t bytes = 0;  // EntryBytes of its last report
  };
  struct Reservation {
    EndpointId host;
    int64_t until_micros = 0;
  };
  // Children per member: reported counts (a copy of the root's) or members naming it as parent
  // (at the root), plus live reservations for newcomers not yet in the roster.
  std::map<EndpointId, uint32_t> ChildCounts(int64_t now_micros, bool reservations) const;

  std::map<EndpointId, Entry> members_;
  std::map<EndpointId, Reservation> reservations_;  // by newcomer
  bool authoritative_ = false;                      // this is the root's own book
  EndpointId standby_;
  uint64_t epoch_ = 0;
  size_t max_members_ = 100000;
  size_t max_bytes_ = 512 << 10;
  size_t bytes_ = 0;  // EntryBytes of every member listed
};

}  // namespace internal
}  // namespace zinc
