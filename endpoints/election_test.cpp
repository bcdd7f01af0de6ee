#include "endpoints/election.h"

#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"

namespace zinc {
namespace internal {
namespace {

// A heartbeat of 100 ms, missed 3 times.
constexpr int64_t kTimeout = 300000;

class ElectionTest : public ::testing::Test {
 protected:
  ElectionTest() {
    for (int i = 0; i < 5; ++i) members_.push_back(EndpointId::Random());
    clock_.Advance(1000000);
  }
  int64_t now() const { return clock_.NowMicros(); }
  const EndpointId& standby() const { return members_[0]; }

  ManualClock clock_;
  // The roster's members but the root; the standby first.
  std::vector<EndpointId> members_;
  Election election_{kTimeout};
};

TEST_F(ElectionTest, TheStandbyIsElectedByAMajorityOfLiveVotes) {
  EXPECT_TRUE(election_.Start(now()));
  EXPECT_FALSE(election_.Start(now()));
  election_.Vote(standby(), now());
  election_.Vote(members_[1], now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kUndecided);  // 2 of 5
  clock_.Advance(50000);
  election_.Vote(members_[2], now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kElected);  // 3 of 5
}

TEST_F(ElectionTest, AVoteCountsForOneHeartbeatTimeout) {
  election_.Start(now());
  election_.Vote(members_[1], now());
  election_.Vote(members_[2], now());
  clock_.Advance(kTimeout + 1);
  // The standby's own vote is fresh, the others' have lapsed: the root may be back for them.
  election_.Vote(standby(), now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kUndecided);
  election_.Vote(members_[1], now());
  election_.Vote(members_[2], now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kElected);
}

TEST_F(ElectionTest, VotesOfOthersThanTheVotersDoNotCount) {
  election_.Start(now());
  election_.Vote(standby(), now());
  for (int i = 0; i < 100; ++i) election_.Vote(EndpointId::Random(), now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kUndecided);
}

TEST_F(ElectionTest, VotesBeforeTheStandbyLostTheRootCountOnceItHas) {
  // Members may lose the root before the standby does: their votes wait for it.
  election_.Vote(members_[1], now());
  election_.Vote(members_[2], now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kUndecided);  // not running
  clock_.Advance(100000);
  election_.Start(now());
  election_.Vote(standby(), now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kElected);
}

TEST_F(ElectionTest, AStandbyCutOffFromTheOthersGivesUpAfterTwentyTimeouts) {
  election_.Start(now());
  for (int64_t t = 0; t <= Election::kGiveUpTimeouts * kTimeout; t += 100000) {
    election_.Vote(standby(), now());
    ASSERT_EQ(election_.Count(now(), members_), Election::Outcome::kUndecided) << t;
    clock_.Advance(100000);
  }
  election_.Vote(standby(), now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kGaveUp);
  EXPECT_FALSE(election_.running());
  EXPECT_EQ(election_.votes(), 0u);
}

TEST_F(ElectionTest, ClearEndsTheElectionAndForgetsTheVotes) {
  election_.Start(now());
  election_.Vote(members_[1], now());
  election_.Clear();
  EXPECT_FALSE(election_.running());
  EXPECT_TRUE(election_.Voters().empty());
  EXPECT_TRUE(election_.Start(now()));
}

TEST_F(ElectionTest, VotesFromNewOriginsAreBounded) {
  for (size_t i = 0; i < Election::kMaxVotes + 10; ++i) election_.Vote(EndpointId::Random(), now());
  EXPECT_EQ(election_.votes(), Election::kMaxVotes);
  // A known voter's vote is still renewed.
  election_.Clear();
  election_.Vote(members_[1], now());
  clock_.Advance(kTimeout);
  election_.Vote(members_[1], now());
  election_.Start(now());
  election_.Vote(standby(), now());
  election_.Vote(members_[2], now());
  EXPECT_EQ(election_.Count(now(), members_), Election::Outcome::kElected);
}

}  // namespace
}  // namespace internal
}  // namespace zinc
