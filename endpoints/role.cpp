#include "endpoints/role.h"

namespace zinc {
namespace internal {

Role NextRole(Role role, RoleEvent event, bool hosts) {
  switch (event) {
    case RoleEvent::kJoined:
      if (role == Role::kJoining || role == Role::kDeposed) {
        return hosts ? Role::kRelay : Role::kClient;
      }
      break;
    case RoleEvent::kParentLost:
      if (role == Role::kClient || role == Role::kRelay || role == Role::kStandby) {
        return Role::kJoining;
      }
      break;
    case RoleEvent::kNamedStandby:
      if (role == Role::kRelay && hosts) return Role::kStandby;
      break;
    case RoleEvent::kNotStandby:
      if (role == Role::kStandby) return Role::kRelay;
      break;
    case RoleEvent::kElected:
      if (role == Role::kStandby) return Role::kTakingOver;
      break;
    case RoleEvent::kTookOver:
      if (role == Role::kTakingOver) return Role::kRecovering;
      break;
    case RoleEvent::kRecovered:
      if (role == Role::kRecovering) return Role::kRoot;
      break;
    case RoleEvent::kPaused:
      if (role == Role::kRoot) return Role::kPaused;
      break;
    case RoleEvent::kResumed:
      if (role == Role::kPaused) return Role::kRoot;
      break;
    case RoleEvent::kSteppedDown:
      if (IsRoot(role)) return Role::kDeposed;
      break;
  }
  return role;
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kJoining:
      return "joining";
    case Role::kClient:
      return "client";
    case Role::kRelay:
      return "relay";
    case Role::kStandby:
      return "standby";
    case Role::kTakingOver:
      return "taking-over";
    case Role::kRecovering:
      return "recovering";
    case Role::kRoot:
      return "root";
    case Role::kPaused:
      return "paused";
    case Role::kDeposed:
      return "deposed";
  }
  return "?";
}

const char* RoleEventName(RoleEvent e) {
  switch (e) {
    case RoleEvent::kJoined:
      return "joined";
    case RoleEvent::kParentLost:
      return "parent-lost";
    case RoleEvent::kNamedStandby:
      return "named-standby";
    case RoleEvent::kNotStandby:
      return "not-standby";
    case RoleEvent::kElected:
      return "elected";
    case RoleEvent::kTookOver:
      return "took-over";
    case RoleEvent::kRecovered:
      return "recovered";
    case RoleEvent::kPaused:
      return "paused";
    case RoleEvent::kResumed:
      return "resumed";
    case RoleEvent::kSteppedDown:
      return "stepped-down";
  }
  return "?";
}

}  // namespace internal
}  // namespace zinc
