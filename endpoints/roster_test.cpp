// RosterBook at the root: members' reports, expiry of the silent, and where a newcomer goes.
// Times are plain numbers (the book takes now_micros; the tree passes its Clock's).

#include "endpoints/roster.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace zinc {
namespace internal {
namespace {

class RosterBookTest : public ::testing::Test {
 protected:
  RosterBookTest() {
    MemberInfo self;
    self.id = root_;
    self.listen = "tcp://root:1";
    self.max_children = 2;
    book_.SetSelf(self);
  }
  // A member below parent at depth, hosting children when listen is set.
  EndpointId Join(const EndpointId& parent, uint32_t depth, const std::string& listen, int64_t now,
                  uint32_t max_children = 0) {
    const EndpointId id = EndpointId::Random();
    wire::MemberReport r;
    r.set_parent(std::string(parent.bytes()));
    r.set_depth(depth);
    r.set_listen(listen);
    r.set_max_children(max_children);
    EXPECT_TRUE(book_.Report(id, r, now));
    return id;
  }

  const EndpointId root_ = EndpointId::Random();
  RosterBook book_;
};

TEST_F(RosterBookTest, ANewcomerGoesToTheShallowestMemberWithRoom) {
  EXPECT_EQ(book_.ChooseHost({}, 0)->id, root_);
  const EndpointId relay = Join(root_, 1, "tcp://relay:1", 0);
  Join(root_, 1, "", 0);  // A leaf: the root is full now (2 children).
  EXPECT_EQ(book_.ChooseHost({}, 0)->id, relay);
  // Excluded (it did not answer, say): nobody else has room.
  EXPECT_EQ(book_.ChooseHost({relay}, 0), nullptr);
}

TEST_F(RosterBookTest, AReservationHoldsAPlaceUntilItsNewcomerReportsOrItLapses) {
  const EndpointId newcomer = EndpointId::Random();
  Join(root_, 1, "", 0);
  book_.Reserve(newcomer, root_, /*until_micros=*/1000, /*now_micros=*/0);
  const EndpointId relay = Join(root_, 1, "tcp://relay:1", 0);
  // The root has 2 children with the reservation, or 3: full either way.
  EXPECT_EQ(book_.ChooseHost({}, 500)->id, relay);
  book_.Reserve(EndpointId::Random(), relay, /*until_micros=*/1000, /*now_micros=*/0);
  wire::MemberReport full;
  full.set_parent(std::string(root_.bytes()));
  full.set_depth(1);
  full.set_listen("tcp://relay:1");
  full.set_max_children(1);
  book_.Report(relay, full, 0);
  EXPECT_EQ(book_.ChooseHost({}, 500), nullptr);     // The relay's one place is reserved.
  EXPECT_EQ(book_.ChooseHost({}, 1001)->id, relay);  // The reservation lapsed.
  // Lapsed ones are dropped, and a flood of newcomers that never come keeps at most the
  // roster's bound of them.
  book_.set_max_members(10);
  for (int i = 0; i < 1000; ++i) book_.Reserve(EndpointId::Random(), relay, 5000 + i, 2000);
  EXPECT_EQ(book_.reservations(), 10u);
  book_.Reserve(EndpointId::Random(), relay, 10000, /*now_micros=*/9000);
  EXPECT_EQ(book_.reservations(), 1u);
}

TEST_F(RosterBookTest, TheRosterIsBoundedInBytes) {
  book_.set_max_bytes(4096);
  size_t taken = 0;
  for (int i = 0; i < 100; ++i) {
    wire::MemberReport r;
    r.set_parent(std::string(root_.bytes()));
    r.set_depth(1);
    r.set_listen("tcp://10.0.0.1:" + std::string(200, '9'));
    const EndpointId id = EndpointId::Random();
    if (book_.Fits(id, r)) {
      EXPECT_TRUE(book_.Report(id, r, 0));
      ++taken;
    } else {
      EXPECT_FALSE(book_.Report(id, r, 0));
    }
  }
  EXPECT_GT(taken, 0u);
  EXPECT_LE(taken * wire::MemberReport().ByteSizeLong(), 4096u);
  EXPECT_LE(book_.ToProto(root_).ByteSizeLong(), 4096u + 512);
}

TEST_F(RosterBookTest, MembersNotHeardFromExpireAndAHeartbeatKeepsOneListed) {
  const EndpointId quiet = Join(root_, 1, "", 0);
  const EndpointId talking = Join(root_, 1, "", 0);
  book_.HeardFrom(talking, 3000);
  const std::vector<EndpointId> gone = book_.Expire(/*cutoff_micros=*/2000);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], quiet);
  EXPECT_NE(book_.Find(talking), nullptr);
  EXPECT_NE(book_.Find(root_), nullptr);  // The root's own entry never expires.
  // A host that read nothing for a while counts everyone as heard from.
  book_.HeardFromAll(10000);
  EXPECT_TRUE(book_.Expire(9000).empty());
}

TEST_F(RosterBookTest, ReportsBeyondTheBoundAreDroppedAndALeavingMemberGoes) {
  book_.set_max_members(3);
  const EndpointId a = Join(root_, 1, "", 0);
  Join(root_, 1, "", 0);
  wire::MemberReport r;
  r.set_parent(std::string(root_.bytes()));
  EXPECT_FALSE(book_.Report(EndpointId::Random(), r, 0));
  EXPECT_EQ(book_.size(), 3u);
  wire::MemberReport leaving;
  leaving.set_leaving(true);
  EXPECT_TRUE(book_.Report(a, leaving, 0));
  EXPECT_EQ(book_.Find(a), nullptr);
}

TEST_F(RosterBookTest, AStandbyTakingOverDropsTheOldRootAndItsOtherChildren) {
  const EndpointId standby = Join(root_, 1, "tcp://standby:1", 0);
  const EndpointId sibling = Join(root_, 1, "", 0);
  const EndpointId grandchild = Join(standby, 2, "", 0);
  MemberInfo self;
  self.id = standby;
  self.listen = "tcp://standby:1";
  book_.TakeOver(self, root_, 5000);
  EXPECT_EQ(book_.Find(root_), nullptr);
  EXPECT_EQ(book_.Find(sibling), nullptr);  // It joins again.
  EXPECT_NE(book_.Find(grandchild), nullptr);
  EXPECT_TRUE(book_.Expire(4000).empty());  // Everyone left is fresh.
}

}  // namespace
}  // namespace internal
}  // namespace zinc
