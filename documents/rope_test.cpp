#include "documents/rope.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/utf8.h"

namespace zinc {
namespace {

using testing::ToUtf8;

// Code points of every UTF-8 length, emoji included.
constexpr char32_t kAlphabet[] = {U'a',          U'b',          U'z',          U' ',
                                  U'\n',         U'\u00e9',     U'\u0416',     U'\u07ff',
                                  U'\u0800',     U'\u20ac',     U'\u4e2d',     U'\uffff',
                                  U'\U0001F600', U'\U0001F9D1', U'\U00010348', U'\U0010FFFF'};

std::u32string RandomText(std::mt19937_64& rng, size_t n) {
  std::u32string s;
  s.reserve(n);
  std::uniform_int_distribution<size_t> pick(0, std::size(kAlphabet) - 1);
  for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[pick(rng)]);
  return s;
}

void ExpectSame(const Rope& rope, const std::u32string& model) {
  const std::string want = ToUtf8(model);
  ASSERT_EQ(rope.size(), model.size());
  ASSERT_EQ(rope.size_bytes(), want.size());
  ASSERT_EQ(rope.ToString(), want);
  ASSERT_TRUE(rope.CheckInvariants());
}

// ---- UTF-8 ------------------------------------------------------------------------------------

TEST(Utf8Test, ValidTextIsAcceptedAndCounted) {
  size_t n = 99;
  EXPECT_TRUE(IsValidUtf8("", &n));
  EXPECT_EQ(n, 0u);
  const std::string text = ToUtf8(U"a\u00e9\u20ac\U0001F600\U0010FFFF\uD7FF\uE000");
  EXPECT_TRUE(IsValidUtf8(text, &n));
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(CountCodePoints(text), 7u);
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3), &n));
  EXPECT_EQ(n, 3u);
}

TEST(Utf8Test, InvalidSequencesAreRejected) {
  const std::vector<std::string> bad = {
      "\x80",              // lone continuation byte
      "\xbf",              // lone continuation byte
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong 2-byte
      "\xe0\x80\x80",      // overlong 3-byte
      "\xe0\x9f\xbf",      // overlong 3-byte
      "\xf0\x80\x80\x80",  // overlong 4-byte
      "\xf0\x8f\xbf\xbf",  // overlong 4-byte
      "\xed\xa0\x80",      // U+D800 surrogate
      "\xed\xbf\xbf",      // U+DFFF surrogate
      "\xf4\x90\x80\x80",  // U+110000
      "\xf5\x80\x80\x80",  // lead byte above F4
      "\xff",              // never valid
      "\xc3",              // truncated 2-byte
      "\xe2\x82",          // truncated 3-byte
      "\xf0\x9f\x98",      // truncated 4-byte
      "\xe2\x28\xa1",      // bad continuation
      "a\xc3(",            // bad continuation after ASCII
  };
  for (const std::string& s : bad) {
    SCOPED_TRACE(::testing::PrintToString(s));
    EXPECT_FALSE(IsValidUtf8(s));
    EXPECT_FALSE(IsValidUtf8("ok " + s + " ok"));
  }
}

TEST(Utf8Test, ByteOffsetFindsCodePoints) {
  const std::string text = ToUtf8(U"a\u00e9\u20ac\U0001F600b");
  EXPECT_EQ(Utf8ByteOffset(text, 0), 0u);
  EXPECT_EQ(Utf8ByteOffset(text, 1), 1u);
  EXPECT_EQ(Utf8ByteOffset(text, 2), 3u);
  EXPECT_EQ(Utf8ByteOffset(text, 3), 6u);
  EXPECT_EQ(Utf8ByteOffset(text, 4), 10u);
  EXPECT_EQ(Utf8ByteOffset(text, 5), 11u);
  EXPECT_EQ(Utf8ByteOffset(text, 6), 11u);
}

// ---- Rope -------------------------------------------------------------------------------------

TEST(RopeTest, NewRopeIsEmpty) {
  Rope rope;
  EXPECT_TRUE(rope.empty());
  EXPECT_EQ(rope.size(), 0u);
  EXPECT_EQ(rope.size_bytes(), 0u);
  EXPECT_EQ(rope.ToString(), "");
  EXPECT_EQ(rope.Substr(0, 10), "");
  EXPECT_TRUE(rope.CheckInvariants());
}

TEST(RopeTest, InsertAndEraseCountCodePoints) {
  Rope rope;
  ASSERT_TRUE(rope.Insert(0, ToUtf8(U"h\U0001F600llo")).ok());
  ASSERT_TRUE(rope.Insert(5, "!").ok());
  ASSERT_TRUE(rope.Insert(0, ToUtf8(U"\u00bf")).ok());
  EXPECT_EQ(rope.ToString(), ToUtf8(U"\u00bfh\U0001F600llo!"));
  EXPECT_EQ(rope.size(), 7u);
  EXPECT_EQ(rope.size_bytes(), 2u + 1 + 4 + 3 + 1);
  ASSERT_TRUE(rope.Erase(2, 1).ok());  // the emoji is one position
  EXPECT_EQ(rope.ToString(), ToUtf8(U"\u00bfhllo!"));
  EXPECT_EQ(rope.Substr(1, 3), "hll");
  ASSERT_TRUE(rope.Erase(0, rope.size()).ok());
  EXPECT_TRUE(rope.empty());
  EXPECT_TRUE(rope.CheckInvariants());
}

TEST(RopeTest, OutOfRangeEditsAreRefusedAndChangeNothing) {
  Rope rope;
  ASSERT_TRUE(rope.Insert(0, "abc").ok());
  EXPECT_EQ(rope.Insert(4, "x").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(rope.Erase(2, 2).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(rope.Erase(4, 0).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(rope.Erase(1, SIZE_MAX).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(rope.Erase(SIZE_MAX, 2).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(rope.ToString(), "abc");
  EXPECT_TRUE(rope.Erase(3, 0).ok());
  EXPECT_TRUE(rope.Insert(3, "").ok());
  EXPECT_EQ(rope.ToString(), "abc");
}

TEST(RopeTest, InvalidUtf8IsRefusedAndChangesNothing) {
  Rope rope;
  ASSERT_TRUE(rope.Insert(0, "abc").ok());
  for (const char* bad : {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\xe2\x82"}) {
    EXPECT_EQ(rope.Insert(1, bad).code(), StatusCode::kMalformed);
  }
  EXPECT_EQ(rope.ToString(), "abc");
}

TEST(RopeTest, SubstrClampsToTheEnd) {
  Rope rope;
  ASSERT_TRUE(rope.Insert(0, ToUtf8(U"\u4e2d\u6587 text")).ok());
  EXPECT_EQ(rope.Substr(0, 2), ToUtf8(U"\u4e2d\u6587"));
  EXPECT_EQ(rope.Substr(3, 100), "text");
  EXPECT_EQ(rope.Substr(7, 100), "");
  EXPECT_EQ(rope.Substr(100, 1), "");
  EXPECT_EQ(rope.Substr(1, SIZE_MAX), ToUtf8(U"\u6587 text"));
}

TEST(RopeTest, CopyIsDeepAndMoveTransfers) {
  Rope a;
  ASSERT_TRUE(a.Insert(0, std::string(5000, 'x')).ok());
  Rope b = a;
  ASSERT_TRUE(b.Erase(0, 4000).ok());
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(b.size(), 1000u);
  Rope c = std::move(a);
  EXPECT_EQ(c.size(), 5000u);
  a = c;
  EXPECT_EQ(a.ToString(), c.ToString());
  c = std::move(b);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_TRUE(a.CheckInvariants());
  EXPECT_TRUE(c.CheckInvariants());
}

TEST(RopeTest, ForEachChunkVisitsTheTextInOrder) {
  std::mt19937_64 rng(7);
  const std::u32string model = RandomText(rng, 20000);
  Rope rope;
  ASSERT_TRUE(rope.Insert(0, ToUtf8(model)).ok());
  std::string joined;
  size_t chunks = 0;
  rope.ForEachChunk([&](std::string_view chunk) {
    EXPECT_FALSE(chunk.empty());
    EXPECT_LE(chunk.size(), Rope::kMaxChunkBytes);
    EXPECT_TRUE(IsValidUtf8(chunk));
    joined.append(chunk);
    ++chunks;
  });
  EXPECT_EQ(joined, ToUtf8(model));
  EXPECT_EQ(chunks, rope.chunk_count());
}

// Thousands of random inserts and erases, small and multi-chunk, against a u32string.
TEST(RopeTest, RandomEditsMatchAModel) {
  std::mt19937_64 rng(12345);
  Rope rope;
  std::u32string model;
  for (int step = 0; step < 6000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const int what = std::uniform_int_distribution<int>(0, 99)(rng);
    if (what < 55 || model.empty()) {
      // Mostly typing, sometimes a paste of several chunks.
      const size_t n = what < 5 ? std::uniform_int_distribution<size_t>(100, 3000)(rng)
                                : std::uniform_int_distribution<size_t>(1, 8)(rng);
      const size_t pos = std::uniform_int_distribution<size_t>(0, model.size())(rng);
      const std::u32string text = RandomText(rng, n);
      ASSERT_TRUE(rope.Insert(pos, ToUtf8(text)).ok());
      model.insert(pos, text);
    } else {
      const size_t pos = std::uniform_int_distribution<size_t>(0, model.size() - 1)(rng);
      const size_t max = what < 60 ? model.size() - pos : std::min<size_t>(10, model.size() - pos);
      const size_t n = std::uniform_int_distribution<size_t>(0, max)(rng);
      ASSERT_TRUE(rope.Erase(pos, n).ok());
      model.erase(pos, n);
    }
    if (step % 50 == 0) {
      ExpectSame(rope, model);
      const size_t pos = std::uniform_int_distribution<size_t>(0, model.size())(rng);
      const size_t n = std::uniform_int_distribution<size_t>(0, 700)(rng);
      ASSERT_EQ(rope.Substr(pos, n), ToUtf8(model.substr(pos, n)));
    } else {
      ASSERT_EQ(rope.size(), model.size());
    }
  }
  ExpectSame(rope, model);
}

// Typing and backspacing one code point at a time keeps chunks merged and the text right.
TEST(RopeTest, KeystrokeEditsMatchAModel) {
  std::mt19937_64 rng(99);
  Rope rope;
  std::u32string model;
  size_t cursor = 0;
  for (int step = 0; step < 20000; ++step) {
    if (std::uniform_int_distribution<int>(0, 19)(rng) == 0) {
      cursor = std::uniform_int_distribution<size_t>(0, model.size())(rng);
    }
    if (std::uniform_int_distribution<int>(0, 3)(rng) == 0 && cursor > 0) {
      ASSERT_TRUE(rope.Erase(cursor - 1, 1).ok());
      model.erase(cursor - 1, 1);
      --cursor;
    } else {
      const std::u32string c = RandomText(rng, 1);
      ASSERT_TRUE(rope.Insert(cursor, ToUtf8(c)).ok());
      model.insert(cursor, c);
      ++cursor;
    }
  }
  ExpectSame(rope, model);
  // Chunks stay reasonably full: at least a quarter of the maximum on average.
  EXPECT_LE(rope.chunk_count(), rope.size_bytes() / (Rope::kMaxChunkBytes / 4) + 1);
}

// A 4 MB text: random edits anywhere stay correct and the tree stays shallow.
TEST(RopeTest, BigTextEditsStayCorrect) {
  std::mt19937_64 rng(4242);
  std::u32string model = RandomText(rng, 1750000);  // over 4 MB of UTF-8
  Rope rope;
  const std::string initial = ToUtf8(model);
  ASSERT_GE(initial.size(), 4u << 20);
  ASSERT_TRUE(rope.Insert(0, initial).ok());
  ExpectSame(rope, model);
  for (int step = 0; step < 300; ++step) {
    const size_t pos = std::uniform_int_distribution<size_t>(0, model.size())(rng);
    if (step % 2 == 0) {
      const std::u32string text = RandomText(
          rng, std::uniform_int_distribution<size_t>(1, step % 10 == 0 ? 5000 : 20)(rng));
      ASSERT_TRUE(rope.Insert(pos, ToUtf8(text)).ok());
      model.insert(pos, text);
    } else {
      const size_t n = std::uniform_int_distribution<size_t>(
          0, std::min<size_t>(model.size() - pos, step % 10 == 1 ? 100000 : 30))(rng);
      ASSERT_TRUE(rope.Erase(pos, n).ok());
      model.erase(pos, n);
    }
    ASSERT_EQ(rope.size(), model.size());
    if (step % 100 == 0) {
      const size_t n = 1000;
      const size_t at = std::uniform_int_distribution<size_t>(0, model.size())(rng);
      ASSERT_EQ(rope.Substr(at, n), ToUtf8(model.substr(at, n)));
    }
  }
  ExpectSame(rope, model);
  // About 10,000 chunks: a treap's expected depth is about 3 ln n, around 30.
  EXPECT_LT(rope.depth(), 100u);
}

// Many small edits on a big text: each is O(log n), so this is quick (no model to compare).
TEST(RopeTest, ManySmallEditsOnBigTextKeepInvariants) {
  std::mt19937_64 rng(777);
  Rope rope;
  ASSERT_TRUE(rope.Insert(0, std::string(4u << 20, 'a')).ok());
  size_t bytes = 4u << 20;
  for (int step = 0; step < 200000; ++step) {
    const size_t pos = std::uniform_int_distribution<size_t>(0, rope.size() - 1)(rng);
    if (step % 3 == 0) {
      bytes -= rope.Substr(pos, 1).size();
      ASSERT_TRUE(rope.Erase(pos, 1).ok());
    } else {
      ASSERT_TRUE(rope.Insert(pos, ToUtf8(U"\u00e9")).ok());
      bytes += 2;
    }
  }
  EXPECT_EQ(rope.size_bytes(), bytes);
  EXPECT_TRUE(rope.CheckInvariants());
  EXPECT_LT(rope.depth(), 100u);
}

}  // namespace
}  // namespace zinc
