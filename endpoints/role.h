#pragma once

#include <cstdint>

namespace zinc {
namespace internal {

// Where an endpoint stands in its cluster: one value, changed only by NextRole. What else the
// endpoint does follows from it (docs/architecture.md): whether it sequences, serves children,
// replicates every document, takes part in an election.
enum class Role : uint8_t {
  kJoining,     // a member without a parent, asking to join (at start, after losing its parent)
  kClient,      // joined; hosts nothing
  kRelay,       // joined; hosts children
  kStandby,     // a relay the root named to take over if it dies: replicates every document
  kTakingOver,  // the standby won the election and is becoming the root
  kRecovering,  // a new root collecting its members' tails: it holds fragments until then
  kRoot,        // sequences every document
  kPaused,      // a root that stood still: sequences nothing until its members are known here
  kDeposed,     // a root that was replaced, joining the new one as a leaf
};

// What moves a role (docs/failover.md, docs/trees.md).
enum class RoleEvent : uint8_t {
  kJoined,        // a member accepted this one
  kParentLost,    // the parent went silent, or an election found no majority
  kNamedStandby,  // the roster names this relay the standby
  kNotStandby,    // ... and then another, or none
  kElected,       // a majority of the members lost the root too
  kTookOver,      // the replicas are hosted documents now
  kRecovered,     // every voter offered its tail, or a heartbeat timeout passed
  kPaused,        // a tick came late: a standby may have taken over meanwhile
  kResumed,       // a majority of the members heartbeat after the pause
  kSteppedDown,   // a verified takeover of a later epoch
};

// The one transition function: the role after event, for an endpoint that can host children
// (hosts: it has a listen address and was never deposed); role itself when the event does not
// apply to it (a late or stray event changes nothing).
Role NextRole(Role role, RoleEvent event, bool hosts);

// Sequences (or is about to): kRecovering, kRoot, kPaused.
inline bool IsRoot(Role r) {
  return r == Role::kRecovering || r == Role::kRoot || r == Role::kPaused;
}
// Has a parent, or is the root.
inline bool IsJoined(Role r) { return r != Role::kJoining && r != Role::kDeposed; }
// Takes fragments to sequence: the root, and a new root that holds them until it has recovered.
inline bool IsAccepting(Role r) { return r == Role::kRoot || r == Role::kRecovering; }
// Replicates every document the root publishes.
inline bool ReplicatesAll(Role r) { return r == Role::kStandby || r == Role::kTakingOver; }

const char* RoleName(Role r);
const char* RoleEventName(RoleEvent e);

}  // namespace internal
}  // namespace zinc
