#include "endpoints/role.h"

#include <gtest/gtest.h>

namespace zinc {
namespace internal {
namespace {

constexpr Role kAll[] = {Role::kJoining, Role::kClient,     Role::kRelay,
                         Role::kStandby, Role::kTakingOver, Role::kRecovering,
                         Role::kRoot,    Role::kPaused,     Role::kDeposed};
constexpr RoleEvent kEvents[] = {
    RoleEvent::kJoined,  RoleEvent::kParentLost, RoleEvent::kNamedStandby, RoleEvent::kNotStandby,
    RoleEvent::kElected, RoleEvent::kTookOver,   RoleEvent::kRecovered,    RoleEvent::kPaused,
    RoleEvent::kResumed, RoleEvent::kSteppedDown};

TEST(RoleTest, AStandbyBecomesTheRootThroughAnElectionAndARecovery) {
  Role r = Role::kJoining;
  for (RoleEvent e : {RoleEvent::kJoined, RoleEvent::kNamedStandby, RoleEvent::kElected,
                      RoleEvent::kTookOver, RoleEvent::kRecovered}) {
    r = NextRole(r, e, /*hosts=*/true);
  }
  EXPECT_EQ(r, Role::kRoot);
  EXPECT_TRUE(IsRoot(r));
  EXPECT_TRUE(IsAccepting(r));
}

TEST(RoleTest, AReplacedRootJoinsAsALeafAndNeverHostsAgain) {
  Role r = NextRole(Role::kRoot, RoleEvent::kSteppedDown, /*hosts=*/false);
  EXPECT_EQ(r, Role::kDeposed);
  EXPECT_FALSE(IsJoined(r));
  r = NextRole(r, RoleEvent::kJoined, /*hosts=*/false);
  EXPECT_EQ(r, Role::kClient);
  EXPECT_EQ(NextRole(r, RoleEvent::kNamedStandby, false), Role::kClient);
}

TEST(RoleTest, APausedRootSequencesNothingUntilItResumes) {
  const Role r = NextRole(Role::kRoot, RoleEvent::kPaused, true);
  EXPECT_EQ(r, Role::kPaused);
  EXPECT_TRUE(IsRoot(r));
  EXPECT_FALSE(IsAccepting(r));
  EXPECT_EQ(NextRole(r, RoleEvent::kResumed, true), Role::kRoot);
  EXPECT_EQ(NextRole(r, RoleEvent::kSteppedDown, true), Role::kDeposed);
}

TEST(RoleTest, ARecoveringRootIsNotPausedAndStepsDownOnAVerifiedTakeover) {
  EXPECT_EQ(NextRole(Role::kRecovering, RoleEvent::kPaused, true), Role::kRecovering);
  EXPECT_EQ(NextRole(Role::kRecovering, RoleEvent::kSteppedDown, true), Role::kDeposed);
}

TEST(RoleTest, MembersThatLoseTheirParentJoinAgain) {
  for (Role r : {Role::kClient, Role::kRelay, Role::kStandby}) {
    EXPECT_EQ(NextRole(r, RoleEvent::kParentLost, true), Role::kJoining) << RoleName(r);
  }
  // The root has no parent; an election under way is not given up for a silent parent.
  EXPECT_EQ(NextRole(Role::kRoot, RoleEvent::kParentLost, true), Role::kRoot);
  EXPECT_EQ(NextRole(Role::kTakingOver, RoleEvent::kParentLost, true), Role::kTakingOver);
}

TEST(RoleTest, OnlyAJoinedRelayIsNamedStandbyAndOnlyTheStandbyIsElected) {
  EXPECT_EQ(NextRole(Role::kRelay, RoleEvent::kNamedStandby, true), Role::kStandby);
  for (Role r : kAll) {
    if (r == Role::kRelay) continue;
    if (r != Role::kStandby) {
      EXPECT_EQ(NextRole(r, RoleEvent::kNamedStandby, true), r) << RoleName(r);
    }
    if (r != Role::kStandby) {
      EXPECT_EQ(NextRole(r, RoleEvent::kElected, true), r) << RoleName(r);
    }
  }
  EXPECT_EQ(NextRole(Role::kRelay, RoleEvent::kNamedStandby, false), Role::kRelay);
}

TEST(RoleTest, EveryRoleHasANameAndStrayEventsChangeNothingAtTheRoot) {
  for (Role r : kAll) EXPECT_STRNE(RoleName(r), "?");
  for (RoleEvent e : kEvents) {
    EXPECT_STRNE(RoleEventName(e), "?");
    if (e != RoleEvent::kPaused && e != RoleEvent::kSteppedDown) {
      EXPECT_EQ(NextRole(Role::kRoot, e, true), Role::kRoot) << RoleEventName(e);
    }
  }
}

}  // namespace
}  // namespace internal
}  // namespace zinc
