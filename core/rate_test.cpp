#include "core/rate.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace zinc {
namespace {

TEST(TokenBucketTest, AllowsTheBurstThenTheRate) {
  ManualClock clock;
  TokenBucket b(/*rate=*/10, /*burst=*/5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.Take(1, clock.NowMicros()));
  EXPECT_FALSE(b.Take(1, clock.NowMicros()));
  clock.Advance(100000);  // One token.
  EXPECT_TRUE(b.Take(1, clock.NowMicros()));
  EXPECT_FALSE(b.Take(1, clock.NowMicros()));
  clock.Advance(60000000);  // Never more than the burst.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.Take(1, clock.NowMicros()));
  EXPECT_FALSE(b.Take(1, clock.NowMicros()));
  EXPECT_FALSE(b.Take(6, clock.NowMicros() + 10000000));  // More than it can ever hold.
}

TEST(RateTableTest, OneBucketPerKeyAndABoundOnTheKeys) {
  ManualClock clock;
  RateTable t(/*rate=*/1, /*burst=*/2, /*max_keys=*/3);
  EXPECT_TRUE(t.Take("a", 2, clock.NowMicros()));
  EXPECT_FALSE(t.Take("a", 1, clock.NowMicros()));
  EXPECT_TRUE(t.Take("b", 2, clock.NowMicros()));  // Another key has its own.
  EXPECT_TRUE(t.Take("c", 1, clock.NowMicros()));
  EXPECT_FALSE(t.Take("a", 1, clock.NowMicros()));  // a used last: b is the oldest.
  EXPECT_TRUE(t.Take("d", 1, clock.NowMicros()));   // b makes room.
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.Take("a", 1, clock.NowMicros()));  // a kept its empty bucket.
  clock.Advance(1000000);
  EXPECT_TRUE(t.Take("a", 1, clock.NowMicros()));
  RateTable off(0, 0, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.Take("x", 1e9, 0));
  EXPECT_FALSE(off.limited());
}

}  // namespace
}  // namespace zinc
