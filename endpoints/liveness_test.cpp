// The tree's timing rules on a ManualClock: timeouts from the options, a root's pause, the
// standby's choice and keeping its post, where a member that lost its parent joins, and the
// standby's takeover after heartbeat x misses of silence and a majority of votes (with
// Election). No sockets, no wall-clock waits.

#include "endpoints/liveness.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "endpoints/election.h"

namespace zinc {
namespace internal {
namespace {

TEST(TimeoutsTest, FollowTheHeartbeatOptions) {
  EndpointOptions o;  // a heartbeat of 100 ms, missed 3 times
  Timeouts t = Timeouts::From(o);
  EXPECT_EQ(t.heartbeat_micros, 100000);
  EXPECT_EQ(t.dead_after_micros, 300000);
  EXPECT_EQ(t.member_timeout_micros, 3500000);
  EXPECT_FALSE(t.Silent(1000000, 1300000));
  EXPECT_TRUE(t.Silent(1000000, 1300001));

  o.heartbeat = std::chrono::milliseconds(50);
  o.heartbeat_misses = 10;
  t = Timeouts::From(o);
  EXPECT_EQ(t.dead_after_micros, 500000);
  // A member that misses ten reports (one a second) leaves the roster.
  EXPECT_EQ(t.member_timeout_micros, 10500000);

  o.heartbeat_misses = 0;  // taken as 1
  EXPECT_EQ(Timeouts::From(o).dead_after_micros, 50000);
}

TEST(PauseWatchTest, ATickLaterThanTheTimeoutIsAPause) {
  ManualClock clock;
  clock.Advance(1000000);
  PauseWatch watch(300000);
  EXPECT_EQ(watch.Tick(clock.NowMicros()), 0);  // the first tick
  for (int i = 0; i < 10; ++i) {
    clock.Advance(100000);
    EXPECT_EQ(watch.Tick(clock.NowMicros()), 0);
  }
  clock.Advance(300000);  // as long as the timeout: not yet
  EXPECT_EQ(watch.Tick(clock.NowMicros()), 0);
  clock.Advance(2000000);  // SIGSTOPped for 2 s
  EXPECT_EQ(watch.GapAt(clock.NowMicros()), 2000000);
  EXPECT_EQ(watch.Tick(clock.NowMicros()), 2000000);
  clock.Advance(100000);
  EXPECT_EQ(watch.Tick(clock.NowMicros()), 0);
  // A new root watches from its takeover.
  clock.Advance(5000000);
  watch.Restart(clock.NowMicros());
  clock.Advance(100000);
  EXPECT_EQ(watch.Tick(clock.NowMicros()), 0);
}

class TreeRulesTest : public ::testing::Test {
 protected:
  TreeRulesTest() {
    MemberInfo self;
    self.id = root_;
    self.listen = "tcp://root:1";
    book_.SetSelf(self);
  }
  EndpointId Join(const EndpointId& parent, uint32_t depth, const std::string& listen,
                  uint32_t priority = 1) {
    const EndpointId id = EndpointId::Random();
    wire::MemberReport r;
    r.set_parent(std::string(parent.bytes()));
    r.set_depth(depth);
    r.set_listen(listen);
    r.set_priority(priority);
    EXPECT_TRUE(book_.Report(id, r, 1));
    return id;
  }
  RejoinContext Context(const EndpointId& self) const {
    RejoinContext c;
    c.self = self;
    c.root = root_;
    c.join_address = "tcp://join:1";
    return c;
  }

  const EndpointId root_ = EndpointId::Random();
  RosterBook book_;
};

TEST_F(TreeRulesTest, TheStandbyHostsAndHasTheHighestPriorityThenTheLowestId) {
  const EndpointId leaf = Join(root_, 1, "", 9);            // hosts nothing: never
  const EndpointId never = Join(root_, 1, "tcp://n:1", 0);  // priority 0: never
  const EndpointId a = Join(root_, 1, "tcp://a:1", 5);
  const EndpointId b = Join(root_, 1, "tcp://b:1", 5);
  const EndpointId low = Join(root_, 1, "tcp://l:1", 1);
  const EndpointId deep = Join(a, 2, "tcp://d:1", 50);  // not a direct child: never
  const std::vector<EndpointId> children = {leaf, never, a, b, low};
  EXPECT_EQ(ChooseStandby(book_, root_, children, false), a < b ? a : b);
  EXPECT_TRUE(ChooseStandby(book_, root_, {leaf, never}, false).is_nil());
  EXPECT_TRUE(ChooseStandby(book_, root_, {deep}, false).is_nil());
  EXPECT_EQ(ChooseStandby(book_, root_, {low}, false), low);
}

TEST_F(TreeRulesTest, AStarvedStandbyKeepsItsPostWithinTheMemberTimeout) {
  ManualClock clock;
  const Timeouts t = Timeouts::From(EndpointOptions());
  const EndpointId standby = Join(root_, 1, "tcp://s:1", 10);
  const EndpointId other = Join(root_, 1, "tcp://o:1", 1);
  book_.set_standby(ChooseStandby(book_, root_, {standby, other}, false));
  ASSERT_EQ(book_.standby(), standby);
  const int64_t seen = clock.NowMicros();
  // It missed its heartbeats and was dropped as a child; the root still heard from it lately.
  clock.Advance(t.dead_after_micros + 1);
  auto keep = [&] { return clock.NowMicros() - seen < t.member_timeout_micros; };
  EXPECT_EQ(ChooseStandby(book_, root_, {other}, keep()), standby);
  clock.Advance(t.member_timeout_micros - t.dead_after_micros - 2);
  EXPECT_EQ(ChooseStandby(book_, root_, {other}, keep()), standby);
  clock.Advance(1);
  EXPECT_EQ(ChooseStandby(book_, root_, {other}, keep()), other);
}

TEST_F(TreeRulesTest, ARelayWhoseParentIsSilentJoinsItsGrandparent) {
  const EndpointId relay = Join(root_, 1, "tcp://r:1");
  const EndpointId mid = Join(relay, 2, "tcp://m:1");
  const EndpointId leaf = Join(mid, 3, "");
  RejoinContext c = Context(leaf);
  c.lost_parent = mid;
  bool root_lost = true;
  EXPECT_EQ(RejoinTarget(book_, c, &root_lost), "tcp://r:1");
  EXPECT_FALSE(root_lost);
  // One whose parent is a direct child of the root joins the root.
  c.self = mid;
  c.lost_parent = relay;
  EXPECT_EQ(RejoinTarget(book_, c, &root_lost), "tcp://root:1");
  // A parent the roster does not know: the join address.
  c.lost_parent = EndpointId::Random();
  EXPECT_EQ(RejoinTarget(book_, c, &root_lost), "tcp://join:1");
}

TEST_F(TreeRulesTest, AMemberThatLostTheRootTurnsToTheStandby) {
  const EndpointId standby = Join(root_, 1, "tcp://s:1", 10);
  Join(root_, 1, "tcp://r:1");  // another member that hosts
  const EndpointId leaf = Join(root_, 1, "");
  book_.set_standby(standby);
  RejoinContext c = Context(leaf);
  c.lost_parent = root_;
  bool root_lost = false;
  EXPECT_EQ(RejoinTarget(book_, c, &root_lost), "tcp://s:1");
  EXPECT_TRUE(root_lost);
  // Not joined yet, its requests unanswered: the same while the root is lost.
  c.root_lost = true;
  EXPECT_EQ(FallbackTarget(book_, c), "tcp://s:1");
  // The standby itself, or a member whose lost parent was the standby, goes elsewhere: the
  // last standby a roster named, else any other member that hosts.
  c.self = standby;
  EXPECT_EQ(FallbackTarget(book_, c), "tcp://r:1");
  c.self = leaf;
  c.lost_parent = standby;
  c.standby_hint = "tcp://hint:1";
  EXPECT_EQ(FallbackTarget(book_, c), "tcp://r:1");
  book_.set_standby(EndpointId());
  EXPECT_EQ(FallbackTarget(book_, c), "tcp://hint:1");
  // The root not lost: the join address.
  c.root_lost = false;
  EXPECT_EQ(FallbackTarget(book_, c), "tcp://join:1");
}

TEST_F(TreeRulesTest, APausedRootResumesWhenAMajorityHeartbeatsAfterThePause) {
  const EndpointId a = Join(root_, 1, "tcp://a:1");
  const EndpointId b = Join(root_, 1, "tcp://b:1");
  const EndpointId below_a1 = Join(a, 2, "");
  const EndpointId below_a2 = Join(a, 2, "");
  (void)below_a1;
  (void)below_a2;
  // Members: a, b and two below a. After the pause at 1000, only b heartbeats: 1 of 4.
  std::map<EndpointId, int64_t> seen = {{a, 900}, {b, 1500}};
  auto child_seen = [&](const EndpointId& id) {
    auto it = seen.find(id);
    return it == seen.end() ? int64_t{0} : it->second;
  };
  EXPECT_FALSE(MajorityStillHere(book_, root_, child_seen, 1000));
  // a heartbeats: it and the two below it are here: 4 of 4.
  seen[a] = 1200;
  EXPECT_TRUE(MajorityStillHere(book_, root_, child_seen, 1000));
  seen[b] = 0;  // b gone: 3 of 4
  EXPECT_TRUE(MajorityStillHere(book_, root_, child_seen, 1000));
  seen[a] = 999;  // 0 of 4
  EXPECT_FALSE(MajorityStillHere(book_, root_, child_seen, 1000));
}

// The members tick every heartbeat; the root stops. Each member that finds the root silent
// (heartbeat x misses) votes; the standby is elected at its first tick with a majority of live
// votes, not a tick sooner, in microseconds of test time.
TEST_F(TreeRulesTest, TheStandbyTakesOverAfterTheTimeoutOfSilenceAndAMajorityOfVotes) {
  ManualClock clock;
  clock.Advance(1000000);
  const Timeouts t = Timeouts::From(EndpointOptions());
  std::vector<EndpointId> members;
  for (int i = 0; i < 5; ++i) members.push_back(Join(root_, 1, "tcp://m:" + std::to_string(i)));
  const EndpointId standby = members[0];
  book_.set_standby(standby);
  Election election(t.dead_after_micros);
  // Members 3 and 4 still hear the root (another path, a partition): they do not vote.
  std::vector<int64_t> root_seen(members.size(), clock.NowMicros());
  const int64_t root_died = clock.NowMicros();
  int64_t elected_at = 0;
  for (int tick = 1; tick <= 20 && elected_at == 0; ++tick) {
    clock.Advance(t.heartbeat_micros);
    const int64_t now = clock.NowMicros();
    root_seen[3] = root_seen[4] = now;
    for (size_t i = 0; i < members.size(); ++i) {
      if (!t.Silent(root_seen[i], now)) continue;
      if (members[i] == standby) election.Start(now);
      election.Vote(members[i], now);
    }
    if (election.running() &&
        election.Count(now, book_.Others(root_)) == Election::Outcome::kElected) {
      elected_at = now;
    }
  }
  // Three of five voted at the first tick past the timeout.
  EXPECT_EQ(elected_at - root_died, t.dead_after_micros + t.heartbeat_micros);
  EXPECT_EQ(election.live_votes(), 3u);
}

}  // namespace
}  // namespace internal
}  // namespace zinc
