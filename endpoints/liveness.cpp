#include "endpoints/liveness.h"

#include <algorithm>
#include <chrono>

namespace zinc {
namespace internal {

Timeouts Timeouts::From(const EndpointOptions& options) {
  Timeouts t;
  const int misses = std::max(1, options.heartbeat_misses);
  t.heartbeat_micros = std::chrono::microseconds(options.heartbeat).count();
  t.retry_micros = std::chrono::microseconds(options.retry).count();
  t.dead_after_micros = t.heartbeat_micros * misses;
  t.member_timeout_micros = kReportMicros * misses + kReportMicros / 2;
  return t;
}

int64_t PauseWatch::Tick(int64_t now_micros) {
  const int64_t gap = GapAt(now_micros);
  last_micros_ = now_micros;
  return gap > dead_after_micros_ ? gap : 0;
}

bool MajorityStillHere(const RosterBook& roster, const EndpointId& root,
                       const std::function<int64_t(const EndpointId&)>& child_seen,
                       int64_t seen_after_micros) {
  size_t here = 0;
  const std::vector<EndpointId> others = roster.Others(root);
  for (const EndpointId& id : others) {
    EndpointId top = id;
    for (int hops = 0; hops < 64; ++hops) {
      const MemberInfo* m = roster.Find(top);
      if (!m || m->parent.is_nil() || m->parent == root) break;
      top = m->parent;
    }
    const int64_t seen = child_seen(top);
    if (seen != 0 && seen >= seen_after_micros) ++here;
  }
  return 2 * here > others.size();
}

EndpointId ChooseStandby(const RosterBook& roster, const EndpointId& root,
                         const std::vector<EndpointId>& children, bool keep_current) {
  EndpointId standby;
  uint32_t best = 0;
  auto consider = [&](const EndpointId& id) {
    const MemberInfo* m = roster.Find(id);
    if (!m || m->listen.empty() || m->priority == 0 || m->parent != root) return;
    if (m->priority > best || (m->priority == best && id < standby)) {
      best = m->priority;
      standby = id;
    }
  };
  for (const EndpointId& id : children) consider(id);
  if (keep_current && !roster.standby().is_nil()) consider(roster.standby());
  return standby;
}

std::string FallbackTarget(const RosterBook& roster, const RejoinContext& c) {
  if (c.root_lost && !c.standby_dead) {
    const MemberInfo* s = roster.Find(roster.standby());
    if (s && s->id != c.self && s->id != c.lost_parent && !s->listen.empty()) return s->listen;
    if (!c.standby_hint.empty() && (!s || s->id != c.lost_parent)) return c.standby_hint;
    for (const EndpointId& id : roster.Others(c.root)) {
      const MemberInfo* m = roster.Find(id);
      if (m && id != c.self && id != c.lost_parent && !m->listen.empty()) return m->listen;
    }
  }
  return c.join_address;
}

std::string RejoinTarget(const RosterBook& roster, RejoinContext c, bool* root_lost) {
  *root_lost = false;
  if (!c.lost_parent.is_nil() && c.lost_parent == c.root) {
    *root_lost = true;
    c.root_lost = true;
    return FallbackTarget(roster, c);
  }
  if (const MemberInfo* m = roster.Find(c.lost_parent)) {
    const MemberInfo* p = roster.Find(m->parent);
    if (p && !p->listen.empty()) return p->listen;
  }
  return c.join_address;
}

}  // namespace internal
}  // namespace zinc
