#pragma once

// The tree's timing rules (docs/trees.md, docs/failover.md): when a child, a parent, the root or
// this endpoint itself counts as gone, where a member that lost its parent joins next, and which
// member is the root's standby. Values and pure functions over the roster: time is the caller's
// (the endpoint's Clock), nothing here sends, locks or reads a clock, so the rules run in unit
// tests on a ManualClock. Thread-compatible (the endpoint holds tree_mu_).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/ids.h"
#include "endpoints/endpoint.h"
#include "endpoints/roster.h"

namespace zinc {
namespace internal {

// The timeouts an endpoint's options make.
struct Timeouts {
  // A member reports itself to the root this often (and at once when it changes).
  static constexpr int64_t kReportMicros = 1000000;

  static Timeouts From(const EndpointOptions& options);

  int64_t heartbeat_micros = 0;
  int64_t retry_micros = 0;
  // heartbeat x heartbeat_misses: a parent, a child or the root silent this long is gone.
  int64_t dead_after_micros = 0;
  // (heartbeat_misses + 1/2) report intervals (3.5 s by default): a member that missed that many
  // reports leaves the root's roster, and a standby not heard from for as long loses its post.
  // A member is dropped as a child sooner (dead_after); the roster keeps it a while longer, as
  // a starved member is more likely than a dead one on a loaded machine.
  int64_t member_timeout_micros = 0;

  // Whether a peer last heard from at last_micros is silent at now_micros.
  bool Silent(int64_t last_micros, int64_t now_micros) const {
    return now_micros - last_micros > dead_after_micros;
  }
};

// A root's own ticks: a tick that comes later than a heartbeat timeout after the one before
// means this process stood still (SIGSTOP, a stall) for as long as its members take it for dead.
class PauseWatch {
 public:
  explicit PauseWatch(int64_t dead_after_micros) : dead_after_micros_(dead_after_micros) {}
  // Returns how long this endpoint stood still before this tick, when longer than the timeout;
  // else 0. The first tick never reports a pause.
  int64_t Tick(int64_t now_micros);
  // A new root starts watching from now (its ticks as a member did not count).
  void Restart(int64_t now_micros) { last_micros_ = now_micros; }
  // The gap since the last tick at now_micros (0 before the first), without ticking.
  int64_t GapAt(int64_t now_micros) const {
    return last_micros_ == 0 ? 0 : now_micros - last_micros_;
  }

 private:
  const int64_t dead_after_micros_;
  int64_t last_micros_ = 0;
};

// A paused root resumes sequencing once members that are a majority of the others heartbeat
// after the pause: when the member's branch (its ancestor among root's direct children) was
// heard from at or after seen_after_micros. child_seen returns a direct child's last heartbeat
// (0: not a child).
bool MajorityStillHere(const RosterBook& roster, const EndpointId& root,
                       const std::function<int64_t(const EndpointId&)>& child_seen,
                       int64_t seen_after_micros);

// The root's standby among its direct children (children): the one that hosts (has a listen
// address) with the highest priority (0: never), then the lowest id. The current standby
// (roster.standby()) stays a candidate while keep_current, even when it is no longer a child
// (dropped for missed heartbeats, but heard from within the member timeout). Nil: none.
EndpointId ChooseStandby(const RosterBook& roster, const EndpointId& root,
                         const std::vector<EndpointId>& children, bool keep_current);

// What a member knows when it looks for a new parent.
struct RejoinContext {
  EndpointId self;
  EndpointId root;            // the roster's root
  EndpointId lost_parent;     // the parent it lost (nil: none)
  bool root_lost = false;     // the root is lost: its standby takes over
  std::string standby_hint;   // the last standby's listen address a roster named
  std::string join_address;   // the address the application gave
  bool standby_dead = false;  // the standby did not answer either while the root was lost
};

// Where a member that is not joined asks next after its requests went unanswered, or when its
// parent was the root: while the root is lost, the standby (not the very parent that was lost:
// the root's heartbeats stopped because that relay died), else the last standby named, else any
// other member that hosts (it redirects to the root there is); otherwise (and once the standby
// is known dead too) the join address.
std::string FallbackTarget(const RosterBook& roster, const RejoinContext& c);

// Where a member whose parent went silent joins: the lost parent's own parent (the nearest
// member likely to have room) or, when the parent was the root, FallbackTarget with the root
// lost; else the join address. Sets *root_lost when the parent was the root.
std::string RejoinTarget(const RosterBook& roster, RejoinContext c, bool* root_lost);

}  // namespace internal
}  // namespace zinc
