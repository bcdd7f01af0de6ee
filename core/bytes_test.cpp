#include "core/bytes.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace zinc {
namespace {

std::string EncodeVarint(uint64_t v) {
  ByteWriter w;
  w.PutVarint(v);
  return w.Release();
}

TEST(BytesTest, VarintRoundTrips) {
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300}, uint64_t{1} << 32,
        (uint64_t{1} << 63) - 1, uint64_t{1} << 63, std::numeric_limits<uint64_t>::max()}) {
    const std::string bytes = EncodeVarint(v);
    ByteReader r(bytes);
    uint64_t out = 12345;
    ASSERT_TRUE(r.GetVarint(&out)) << v;
    EXPECT_EQ(out, v);
    EXPECT_TRUE(r.done()) << v;
  }
}

TEST(BytesTest, VarintUsesSevenBitGroups) {
  EXPECT_EQ(EncodeVarint(0), std::string(1, '\0'));
  EXPECT_EQ(EncodeVarint(127), "\x7f");
  EXPECT_EQ(EncodeVarint(128), "\x80\x01");
  EXPECT_EQ(EncodeVarint(uint64_t{1} << 32).size(), 5u);
  EXPECT_EQ(EncodeVarint(std::numeric_limits<uint64_t>::max()).size(), 10u);
}

TEST(BytesTest, SequenceOfValuesRoundTrips) {
  ByteWriter w;
  w.PutVarint(7);
  w.PutString("hello");
  w.PutByte(0xfe);
  w.PutString("");
  w.PutString(std::string("a\0b", 3));
  w.PutVarint(std::numeric_limits<uint64_t>::max());
  const std::string bytes = w.Release();

  ByteReader r(bytes);
  uint64_t v = 0;
  std::string_view s;
  uint8_t b = 0;
  ASSERT_TRUE(r.GetVarint(&v));
  EXPECT_EQ(v, 7u);
  ASSERT_TRUE(r.GetString(&s));
  EXPECT_EQ(s, "hello");
  ASSERT_TRUE(r.GetByte(&b));
  EXPECT_EQ(b, 0xfe);
  ASSERT_TRUE(r.GetString(&s));
  EXPECT_EQ(s, "");
  ASSERT_TRUE(r.GetString(&s));
  EXPECT_EQ(s, std::string_view("a\0b", 3));
  EXPECT_FALSE(r.done());
  ASSERT_TRUE(r.GetVarint(&v));
  EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.done());
}

TEST(BytesTest, WriterDataShowsWhatWasWritten) {
  ByteWriter w;
  w.PutString("ab");
  EXPECT_EQ(w.data(),
            "\x02"
            "ab");
  EXPECT_EQ(w.Release(),
            "\x02"
            "ab");
}

TEST(BytesTest, LongStringRoundTrips) {
  const std::string big(100000, 'z');
  ByteWriter w;
  w.PutString(big);
  const std::string bytes = w.Release();
  ByteReader r(bytes);
  std::string_view s;
  ASSERT_TRUE(r.GetString(&s));
  EXPECT_EQ(s, big);
  EXPECT_TRUE(r.done());
}

// ---- done() ----------------------------------------------------------------------------------

TEST(BytesTest, EmptyInputIsDoneWithoutReading) {
  ByteReader r("");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.done());
}

TEST(BytesTest, DoneIsFalseWhileBytesRemain) {
  const std::string bytes = EncodeVarint(1) + EncodeVarint(2);
  ByteReader r(bytes);
  EXPECT_FALSE(r.done());
  uint64_t v;
  ASSERT_TRUE(r.GetVarint(&v));
  EXPECT_FALSE(r.done());
  ASSERT_TRUE(r.GetVarint(&v));
  EXPECT_TRUE(r.done());
}

TEST(BytesTest, FailedReaderIsNeverDone) {
  // A failed read moves to the end, but done() must not report success.
  ByteReader r("\x80");
  uint64_t v;
  EXPECT_FALSE(r.GetVarint(&v));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.done());
}

// ---- Errors ----------------------------------------------------------------------------------

TEST(BytesTest, TruncatedVarintFails) {
  const std::string bytes = EncodeVarint(std::numeric_limits<uint64_t>::max());
  for (size_t n = 0; n < bytes.size(); ++n) {
    ByteReader r(std::string_view(bytes).substr(0, n));
    uint64_t v;
    EXPECT_FALSE(r.GetVarint(&v)) << "cut at " << n;
    EXPECT_FALSE(r.ok());
  }
}

TEST(BytesTest, ReadPastTheEndFails) {
  ByteReader r("");
  uint8_t b;
  std::string_view s;
  uint64_t v;
  EXPECT_FALSE(ByteReader("").GetByte(&b));
  EXPECT_FALSE(ByteReader("").GetString(&s));
  EXPECT_FALSE(r.GetVarint(&v));
  EXPECT_FALSE(r.ok());
}

TEST(BytesTest, TruncatedStringFails) {
  ByteWriter w;
  w.PutString("hello");
  const std::string bytes = w.Release();
  for (size_t n = 0; n < bytes.size(); ++n) {
    ByteReader r(std::string_view(bytes).substr(0, n));
    std::string_view s;
    EXPECT_FALSE(r.GetString(&s)) << "cut at " << n;
    EXPECT_FALSE(r.ok());
  }
}

TEST(BytesTest, FailedReaderStaysFailed) {
  // Enough bytes for the later reads, but the first read fails: every read after it fails too.
  ByteWriter w;
  w.PutVarint(100);  // a length prefix larger than the rest
  w.PutString("abc");
  w.PutVarint(5);
  const std::string bytes = w.Release();
  ByteReader r(bytes);
  std::string_view s;
  uint64_t v;
  uint8_t b;
  EXPECT_FALSE(r.GetString(&s));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.GetVarint(&v));
  EXPECT_FALSE(r.GetByte(&b));
  EXPECT_FALSE(r.GetString(&s));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.done());
}

TEST(BytesTest, LengthPrefixLargerThanTheRestFails) {
  ByteWriter w;
  w.PutVarint(6);
  const std::string bytes = w.Release() + "hello";
  ByteReader r(bytes);
  std::string_view s;
  EXPECT_FALSE(r.GetString(&s));
  EXPECT_FALSE(r.ok());
}

TEST(BytesTest, HugeLengthPrefixFails) {
  // A length near 2^64 must not wrap around the bounds check.
  for (uint64_t n : {std::numeric_limits<uint64_t>::max(), uint64_t{1} << 63, uint64_t{1} << 32}) {
    const std::string bytes = EncodeVarint(n) + "abc";
    ByteReader r(bytes);
    std::string_view s;
    EXPECT_FALSE(r.GetString(&s)) << n;
    EXPECT_FALSE(r.ok());
  }
}

TEST(BytesTest, LengthPrefixEqualToTheRestSucceeds) {
  const std::string bytes = EncodeVarint(3) + "abc";
  ByteReader r(bytes);
  std::string_view s;
  ASSERT_TRUE(r.GetString(&s));
  EXPECT_EQ(s, "abc");
  EXPECT_TRUE(r.done());
}

TEST(BytesTest, ElevenByteVarintFails) {
  // Ten continuation bytes then a terminator: longer than any uint64 varint.
  const std::string bytes = std::string(10, '\x80') + std::string(1, '\x01');
  ByteReader r(bytes);
  uint64_t v;
  EXPECT_FALSE(r.GetVarint(&v));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.done());
}

TEST(BytesTest, TenByteVarintOfUint64MaxIsTheLongestAccepted) {
  const std::string bytes = std::string(9, '\xff') + std::string(1, '\x01');
  ByteReader r(bytes);
  uint64_t v = 0;
  ASSERT_TRUE(r.GetVarint(&v));
  EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(r.done());
}

TEST(BytesTest, VarintWithBitsBeyond64Fails) {
  // The tenth byte holds bit 63 only; any higher bit does not fit a uint64.
  for (char last : {'\x02', '\x7f'}) {
    const std::string bytes = std::string(9, '\xff') + std::string(1, last);
    ByteReader r(bytes);
    uint64_t v = 0;
    EXPECT_FALSE(r.GetVarint(&v)) << "read " << v;
    EXPECT_FALSE(r.ok());
  }
}

TEST(BytesTest, UnterminatedVarintFails) {
  const std::string bytes(20, '\xff');
  ByteReader r(bytes);
  uint64_t v;
  EXPECT_FALSE(r.GetVarint(&v));
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace zinc
