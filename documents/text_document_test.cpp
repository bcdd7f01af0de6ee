#include "documents/text_document.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "tests/testing/utf8.h"
#include <nlohmann/json.hpp>

namespace zinc {
namespace {

using Kind = TextComponent::Kind;

// ---- Helpers ----------------------------------------------------------------------------------

using testing::ToUtf8;

// REQUIRES: s is valid UTF-8.
std::u32string FromUtf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

constexpr char32_t kAlphabet[] = {U'a',      U'b',      U'c',          U'x',
                                  U' ',      U'\u00e9', U'\u0416',     U'\u20ac',
                                  U'\u4e2d', U'\uffff', U'\U0001F600', U'\U0010FFFF'};

std::u32string RandomText(std::mt19937_64& rng, size_t n) {
  std::u32string s;
  std::uniform_int_distribution<size_t> pick(0, std::size(kAlphabet) - 1);
  for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[pick(rng)]);
  return s;
}

size_t Rand(std::mt19937_64& rng, size_t lo, size_t hi) {
  return std::uniform_int_distribution<size_t>(lo, hi)(rng);
}

TextComponent Comp(Kind kind, uint64_t count, std::string text = {}) {
  return TextComponent{kind, count, std::move(text)};
}

// A random operation on a text of len code points, in canonical form, with several components:
// retains, inserts (often at one position, sometimes several in a row), deletes, and the two
// orders of an insert and a delete at one position.
TextOp RandomOp(std::mt19937_64& rng, size_t len) {
  std::vector<TextComponent> raw;
  size_t left = len;
  const size_t parts = Rand(rng, 0, 6);
  for (size_t i = 0; i < parts; ++i) {
    switch (Rand(rng, 0, 2)) {
      case 0:
        if (left > 0) {
          const size_t n = Rand(rng, 1, std::min<size_t>(left, 4));
          raw.push_back(Comp(Kind::kRetain, n));
          left -= n;
        }
        break;
      case 1: {
        const std::u32string text = RandomText(rng, Rand(rng, 1, 3));
        raw.push_back(Comp(Kind::kInsert, text.size(), ToUtf8(text)));
        break;
      }
      case 2:
        if (left > 0) {
          const size_t n = Rand(rng, 1, std::min<size_t>(left, 4));
          raw.push_back(Comp(Kind::kDelete, n));
          left -= n;
        }
        break;
    }
  }
  // Canonical form: merge neighbours of one kind, drop a trailing retain.
  TextOp op;
  for (TextComponent& c : raw) {
    if (!op.components.empty() && op.components.back().kind == c.kind) {
      op.components.back().count += c.count;
      op.components.back().text += c.text;
    } else {
      op.components.push_back(std::move(c));
    }
  }
  op.Trim();
  return op;
}

// Applies op to s the obvious way; nullopt when it does not fit.
std::optional<std::u32string> ModelApply(const std::u32string& s, const TextOp& op) {
  std::u32string out;
  size_t pos = 0;
  for (const TextComponent& c : op.components) {
    switch (c.kind) {
      case Kind::kRetain:
        if (c.count > s.size() - pos) return std::nullopt;
        out.append(s, pos, c.count);
        pos += c.count;
        break;
      case Kind::kInsert:
        out += FromUtf8(c.text);
        break;
      case Kind::kDelete:
        if (c.count > s.size() - pos) return std::nullopt;
        pos += c.count;
        break;
    }
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// Applies payloads in order to a fresh document holding text; returns the resulting text.
std::string ApplyAll(std::string_view text, const std::vector<std::string>& payloads) {
  TextDocument doc;
  Status s = doc.Restore(text);
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (const std::string& p : payloads) {
    s = doc.Apply(p);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return doc.Snapshot();
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

class TextDocumentTest : public ::testing::Test {
 protected:
  void ApplyOk(const TextOp& op) {
    const Status s = doc_.Apply(EncodeTextOp(op));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Applies payload, expects code and an unchanged document.
  void ExpectRejected(std::string_view payload, StatusCode code = StatusCode::kMalformed) {
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Apply(payload);
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_EQ(doc_.Snapshot(), before);
  }

  // Restores snapshot, expects kMalformed and an unchanged document.
  void ExpectRestoreRejected(std::string_view snapshot) {
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Restore(snapshot);
    EXPECT_EQ(s.code(), StatusCode::kMalformed) << s.ToString();
    EXPECT_EQ(doc_.Snapshot(), before);
  }

  // A document holding "h€llo wörld 😀".
  void Populate() { ApplyOk(TextInsert(0, ToUtf8(U"h\u20acllo w\u00f6rld \U0001F600"))); }

  std::string Text() const { return doc_.Snapshot(); }

  TextDocument doc_;
  TextType type_;
};

// ---- Apply ------------------------------------------------------------------------------------

TEST_F(TextDocumentTest, NewDocumentIsEmpty) {
  EXPECT_EQ(doc_.type(), "text");
  EXPECT_EQ(Text(), "");
  EXPECT_EQ(doc_.ToJson(), "\"\"");
  EXPECT_EQ(type_.name(), "text");
  EXPECT_EQ(type_.json_field(), "text");
  EXPECT_TRUE(type_.host_transforms());
  EXPECT_EQ(type_.Create()->type(), "text");
}

TEST_F(TextDocumentTest, InsertPlacesTextBeforeCodePoint) {
  ApplyOk(TextInsert(0, "world"));
  ApplyOk(TextInsert(0, "hello "));
  ApplyOk(TextInsert(11, "!"));
  ApplyOk(TextInsert(5, ","));
  EXPECT_EQ(Text(), "hello, world!");
}

TEST_F(TextDocumentTest, PositionsCountCodePointsNotBytes) {
  Populate();
  // "h€llo wörld 😀": the emoji is position 12, the euro sign position 1.
  ApplyOk(TextInsert(13, "!"));
  ApplyOk(TextDelete(12, 1));
  ApplyOk(TextSplice(1, 1, "e"));
  EXPECT_EQ(Text(), ToUtf8(U"hello w\u00f6rld !"));
  EXPECT_EQ(doc_.text().size(), 13u);
}

TEST_F(TextDocumentTest, FitClampsAnEditMadeOnALongerTextToThisOne) {
  ApplyOk(TextInsert(0, "abc"));
  // Made on a text of ten: it no longer applies, fitted it does.
  const std::string far = EncodeTextOp(TextOp().Retain(8).Insert("X").Delete(2));
  EXPECT_FALSE(doc_.Apply(far).ok());
  Result<std::string> fitted = doc_.Fit(far);
  ASSERT_TRUE(fitted.ok());
  ASSERT_TRUE(doc_.Apply(*fitted).ok());
  EXPECT_EQ(Text(), "abcX");
  // A delete past the end shrinks to what is there; one that fits is left as it is.
  const std::string del = EncodeTextOp(TextOp().Retain(2).Delete(5));
  fitted = doc_.Fit(del);
  ASSERT_TRUE(fitted.ok());
  ASSERT_TRUE(doc_.Apply(*fitted).ok());
  EXPECT_EQ(Text(), "ab");
  const std::string fits = EncodeTextOp(TextOp().Retain(1).Insert("-"));
  EXPECT_EQ(*doc_.Fit(fits), fits);
  EXPECT_FALSE(doc_.Fit("\xff").ok());
}

TEST_F(TextDocumentTest, DeleteRemovesCodePoints) {
  Populate();
  ApplyOk(TextDelete(0, 6));
  EXPECT_EQ(Text(), ToUtf8(U"w\u00f6rld \U0001F600"));
  ApplyOk(TextDelete(1, 1));
  EXPECT_EQ(Text(), ToUtf8(U"wrld \U0001F600"));
}

TEST_F(TextDocumentTest, SpliceRemovesThenInserts) {
  ApplyOk(TextInsert(0, "abcdef"));
  ApplyOk(TextSplice(2, 2, ToUtf8(U"\U0001F600\U0001F600\U0001F600")));
  EXPECT_EQ(Text(), ToUtf8(U"ab\U0001F600\U0001F600\U0001F600ef"));
  ApplyOk(TextSplice(0, 0, "<"));
  ApplyOk(TextSplice(7, 1, ""));
  EXPECT_EQ(Text(), ToUtf8(U"<ab\U0001F600\U0001F600\U0001F600e"));
}

TEST_F(TextDocumentTest, MultiComponentOpAppliesFromPositionZero) {
  ApplyOk(TextInsert(0, "the quick brown fox"));
  TextOp op;
  op.Retain(4).Delete(5).Insert("slow").Retain(7).Insert("ish").Delete(3).Insert("dog");
  ApplyOk(op);
  EXPECT_EQ(Text(), "the slow brown ishdog");
}

TEST_F(TextDocumentTest, EmptyOpChangesNothing) {
  Populate();
  const std::string before = Text();
  ApplyOk(TextOp());
  ApplyOk(TextInsert(3, ""));
  ApplyOk(TextDelete(3, 0));
  EXPECT_EQ(Text(), before);
}

TEST_F(TextDocumentTest, LargeInsertsAndDeletesWork) {
  std::mt19937_64 rng(5);
  const std::u32string big = RandomText(rng, 100000);
  ApplyOk(TextInsert(0, ToUtf8(big)));
  ApplyOk(TextDelete(10, 99980));
  EXPECT_EQ(Text(), ToUtf8(big.substr(0, 10) + big.substr(99990)));
}

TEST_F(TextDocumentTest, RandomOpsMatchAModel) {
  std::mt19937_64 rng(2024);
  std::u32string model;
  for (int i = 0; i < 3000; ++i) {
    const TextOp op = RandomOp(rng, model.size());
    const std::optional<std::u32string> want = ModelApply(model, op);
    ASSERT_TRUE(want.has_value());
    ApplyOk(op);
    model = *want;
    ASSERT_EQ(Text(), ToUtf8(model)) << "op " << i;
  }
}

// ---- Apply refuses bad payloads and changes nothing ---------------------------------------------

TEST_F(TextDocumentTest, OutOfRangeOpsAreRefusedAndChangeNothing) {
  Populate();  // 13 code points
  ExpectRejected(EncodeTextOp(TextInsert(14, "x")), StatusCode::kOutOfRange);
  ExpectRejected(EncodeTextOp(TextDelete(12, 2)), StatusCode::kOutOfRange);
  ExpectRejected(EncodeTextOp(TextDelete(0, 14)), StatusCode::kOutOfRange);
  ExpectRejected(EncodeTextOp(TextSplice(13, 1, "x")), StatusCode::kOutOfRange);
  ExpectRejected(EncodeTextOp(TextDelete(kTextMaxCount, kTextMaxCount)), StatusCode::kOutOfRange);
  // The first components fit, the last does not: nothing at all is applied.
  TextOp op;
  op.Insert("A").Retain(2).Delete(3).Insert("B").Retain(5).Delete(4);
  ExpectRejected(EncodeTextOp(op), StatusCode::kOutOfRange);
  // The exact end fits.
  ApplyOk(TextDelete(12, 1));
  ApplyOk(TextInsert(12, "."));
}

TEST_F(TextDocumentTest, InvalidUtf8InsertIsRefusedAndChangesNothing) {
  Populate();
  for (const std::string& bad :
       {Bytes({0xc0, 0x80}), Bytes({0xe0, 0x80, 0xaf}), Bytes({0xf0, 0x82, 0x82, 0xac}),
        Bytes({0xed, 0xa0, 0x80}), Bytes({0xed, 0xbf, 0xbf}), Bytes({0xf4, 0x90, 0x80, 0x80}),
        Bytes({0xf8, 0x88, 0x80, 0x80, 0x80}), Bytes({'a', 0xe2, 0x82}), Bytes({0x80}),
        Bytes({0xff})}) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    ExpectRejected(EncodeTextOp(TextInsert(1, bad)));
    ExpectRejected(EncodeTextOp(TextSplice(0, 1, bad)));
  }
}

TEST_F(TextDocumentTest, TruncatedPayloadIsRefusedAndChangesNothing) {
  Populate();
  TextOp op;
  op.Retain(2).Insert(ToUtf8(U"\u4e2d\U0001F600")).Delete(3).Retain(1).Insert("xyz");
  const std::string payload = EncodeTextOp(op);
  for (size_t n = 0; n < payload.size(); ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    ExpectRejected(std::string_view(payload).substr(0, n));
  }
  ExpectRejected(payload + '\0');  // trailing bytes
  ExpectRejected(payload + "\x01\x01");
}

TEST_F(TextDocumentTest, UnknownComponentKindIsRefusedAndChangesNothing) {
  Populate();
  for (int kind : {0, 4, 0x7f, 0x80, 0xff}) {
    ByteWriter w;
    w.PutVarint(2);
    w.PutByte(2);  // a good first component, which must not be applied either
    w.PutString("x");
    w.PutByte(static_cast<uint8_t>(kind));
    w.PutVarint(1);
    ExpectRejected(w.data());
  }
}

TEST_F(TextDocumentTest, EmptyComponentsAreRefusedAndChangeNothing) {
  Populate();
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kRetain, 0), Comp(Kind::kInsert, 1, "a")}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kDelete, 0)}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kInsert, 0, "")}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kInsert, 1, "a"), Comp(Kind::kInsert, 0, "")}}));
}

TEST_F(TextDocumentTest, NonCanonicalOpsAreRefusedAndChangeNothing) {
  Populate();
  // Two adjacent components of one kind.
  ExpectRejected(EncodeTextOp(
      TextOp{{Comp(Kind::kRetain, 1), Comp(Kind::kRetain, 1), Comp(Kind::kDelete, 1)}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kInsert, 1, "a"), Comp(Kind::kInsert, 1, "b")}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kDelete, 1), Comp(Kind::kDelete, 1)}}));
  // A trailing retain.
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kRetain, 3)}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kInsert, 1, "a"), Comp(Kind::kRetain, 3)}}));
}

TEST_F(TextDocumentTest, OversizedPayloadsAreRefusedAndChangeNothing) {
  Populate();
  // Too many components.
  {
    TextOp op;
    for (size_t i = 0; i <= kTextMaxComponents; ++i) {
      op.components.push_back(Comp(i % 2 == 0 ? Kind::kInsert : Kind::kRetain, 1, "a"));
    }
    op.components.back() = Comp(Kind::kInsert, 1, "a");
    ExpectRejected(EncodeTextOp(op));
  }
  // A component count far above what the payload holds.
  {
    ByteWriter w;
    w.PutVarint(kTextMaxComponents);
    w.PutByte(2);
    w.PutString("a");
    ExpectRejected(w.data());
  }
  // A count above kTextMaxCount, and one that is not a valid varint.
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kDelete, kTextMaxCount + 1)}}));
  ExpectRejected(EncodeTextOp(TextOp{{Comp(Kind::kDelete, UINT64_MAX)}}));
  ExpectRejected(Bytes({1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}));
  // An insert whose length prefix runs past the end.
  ExpectRejected(Bytes({1, 2, 0x7f, 'a', 'b'}));
}

TEST_F(TextDocumentTest, RandomBytesAreRefusedOrAppliedWhole) {
  Populate();
  std::mt19937_64 rng(31337);
  for (int i = 0; i < 20000; ++i) {
    std::string payload(Rand(rng, 0, 24), '\0');
    for (char& c : payload) c = static_cast<char>(Rand(rng, 0, 255));
    // Often start with a plausible component count so decoding gets further.
    if (!payload.empty() && i % 2 == 0) payload[0] = static_cast<char>(Rand(rng, 0, 4));
    const std::string before = Text();
    const Status s = doc_.Apply(payload);
    if (!s.ok()) {
      ASSERT_EQ(Text(), before) << s.ToString();
    }
    ASSERT_TRUE(doc_.text().CheckInvariants());
    ASSERT_TRUE(IsValidUtf8(Text()));
  }
}

TEST_F(TextDocumentTest, MutatedPayloadsAreRefusedOrAppliedWhole) {
  Populate();
  std::mt19937_64 rng(4711);
  for (int i = 0; i < 5000; ++i) {
    std::string payload = EncodeTextOp(RandomOp(rng, doc_.text().size()));
    if (payload.empty()) continue;
    const size_t at = Rand(rng, 0, payload.size() - 1);
    payload[at] = static_cast<char>(payload[at] ^ (1 << Rand(rng, 0, 7)));
    std::u32string model = FromUtf8(Text());
    TextOp decoded;
    const bool decodes = DecodeTextOp(payload, &decoded).ok();
    const std::optional<std::u32string> want = decodes ? ModelApply(model, decoded) : std::nullopt;
    const std::string before = Text();
    const Status s = doc_.Apply(payload);
    if (want.has_value()) {
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(Text(), ToUtf8(*want));
    } else {
      ASSERT_FALSE(s.ok());
      ASSERT_EQ(Text(), before);
    }
  }
}

// ---- Encoding ---------------------------------------------------------------------------------

TEST(TextOpTest, EncodeDecodeRoundTrips) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    const TextOp op = RandomOp(rng, Rand(rng, 0, 20));
    TextOp out;
    const Status s = DecodeTextOp(EncodeTextOp(op), &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(out, op);
  }
}

TEST(TextOpTest, BuildersKeepCanonicalForm) {
  TextOp op;
  op.Retain(0).Retain(2).Retain(3).Insert("").Insert("a").Insert(ToUtf8(U"\U0001F600"));
  op.Delete(1).Delete(2).Insert("b").Delete(0).Retain(4).Trim();
  const TextOp want{{Comp(Kind::kRetain, 5), Comp(Kind::kInsert, 3, ToUtf8(U"a\U0001F600b")),
                     Comp(Kind::kDelete, 3)}};
  EXPECT_EQ(op, want);
  EXPECT_EQ(
      TextSplice(2, 3, "xy"),
      (TextOp{{Comp(Kind::kRetain, 2), Comp(Kind::kInsert, 2, "xy"), Comp(Kind::kDelete, 3)}}));
  EXPECT_EQ(TextInsert(0, "a"), (TextOp{{Comp(Kind::kInsert, 1, "a")}}));
  EXPECT_EQ(TextDelete(0, 0), TextOp());
  EXPECT_EQ(EncodeTextOp(TextOp()), Bytes({0}));
}

TEST(TextOpTest, DecoderAcceptsDeleteBeforeInsert) {
  const TextOp op{{Comp(Kind::kRetain, 1), Comp(Kind::kDelete, 2), Comp(Kind::kInsert, 1, "x")}};
  TextOp out;
  ASSERT_TRUE(DecodeTextOp(EncodeTextOp(op), &out).ok());
  EXPECT_EQ(out, op);
  EXPECT_EQ(ApplyAll("abcd", {EncodeTextOp(op)}), "axd");
}

// ---- Snapshot and Restore ---------------------------------------------------------------------

TEST_F(TextDocumentTest, SnapshotRestoreRoundTripsRandomDocuments) {
  std::mt19937_64 rng(77);
  for (int i = 0; i < 200; ++i) {
    TextDocument a;
    std::u32string model;
    for (int k = 0; k < 20; ++k) {
      const TextOp op = RandomOp(rng, model.size());
      ASSERT_TRUE(a.Apply(EncodeTextOp(op)).ok());
      model = *ModelApply(model, op);
    }
    if (i % 20 == 0) {
      ASSERT_TRUE(a.Apply(EncodeTextOp(TextInsert(0, ToUtf8(RandomText(rng, 3000))))).ok());
    }
    TextDocument b;
    ASSERT_TRUE(b.Restore(a.Snapshot()).ok());
    EXPECT_EQ(b.Snapshot(), a.Snapshot());
    EXPECT_EQ(b.ToJson(), a.ToJson());
    EXPECT_TRUE(b.text().CheckInvariants());
  }
}

TEST_F(TextDocumentTest, RestoreReplacesTheText) {
  Populate();
  ASSERT_TRUE(doc_.Restore("new").ok());
  EXPECT_EQ(Text(), "new");
  ApplyOk(TextInsert(3, "!"));
  EXPECT_EQ(Text(), "new!");
  ASSERT_TRUE(doc_.Restore("").ok());
  EXPECT_EQ(Text(), "");
}

TEST_F(TextDocumentTest, BadSnapshotsAreRefusedAndChangeNothing) {
  Populate();
  ExpectRestoreRejected(Bytes({'o', 'k', 0xc0, 0x80}));
  ExpectRestoreRejected(Bytes({0xed, 0xa0, 0x80}));
  ExpectRestoreRejected(Bytes({0xf4, 0x90, 0x80, 0x80}));
  ExpectRestoreRejected(Bytes({'a', 0xf0, 0x9f, 0x98}));  // truncated emoji
  ExpectRestoreRejected(std::string(10000, 'a') + Bytes({0xff}));
  std::mt19937_64 rng(8);
  for (int i = 0; i < 2000; ++i) {
    std::string snapshot(Rand(rng, 1, 40), '\0');
    for (char& c : snapshot) c = static_cast<char>(Rand(rng, 0, 255));
    const std::string before = Text();
    const Status s = doc_.Restore(snapshot);
    if (s.ok()) {
      ASSERT_EQ(Text(), snapshot);
      ASSERT_TRUE(doc_.Restore(before).ok());
    } else {
      ASSERT_EQ(s.code(), StatusCode::kMalformed);
      ASSERT_EQ(Text(), before);
    }
  }
}

TEST_F(TextDocumentTest, ToJsonIsOneJsonString) {
  ApplyOk(TextInsert(0, ToUtf8(U"a \"quoted\"\n\t\\ \u00e9\U0001F600") + std::string(1, '\0')));
  const nlohmann::json j = nlohmann::json::parse(doc_.ToJson());
  ASSERT_TRUE(j.is_string());
  EXPECT_EQ(j.get<std::string>(), Text());
}

// ---- JSON edits -------------------------------------------------------------------------------

TEST_F(TextDocumentTest, FragmentFromJsonParsesTheThreeForms) {
  Result<std::string> r = type_.FragmentFromJson(R"({"insert":[0,"h\u00e9llo"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EncodeTextOp(TextInsert(0, ToUtf8(U"h\u00e9llo"))));
  ASSERT_TRUE(doc_.Apply(*r).ok());
  r = type_.FragmentFromJson(R"({"delete":[1,2]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EncodeTextOp(TextDelete(1, 2)));
  ASSERT_TRUE(doc_.Apply(*r).ok());
  EXPECT_EQ(Text(), "hlo");
  r = type_.FragmentFromJson(
      R"({"ops":[{"retain":1},{"delete":1},{"insert":"EL"},{"retain":1},{"insert":"!"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(doc_.Apply(*r).ok());
  EXPECT_EQ(Text(), "hELo!");
  r = type_.FragmentFromJson(R"({"ops":[]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, EncodeTextOp(TextOp()));
  // A trailing retain and neighbours of one kind are normalized away.
  r = type_.FragmentFromJson(R"({"ops":[{"insert":"a"},{"insert":"b"},{"retain":5}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, EncodeTextOp(TextInsert(0, "ab")));
}

TEST_F(TextDocumentTest, FragmentToJsonRendersEachForm) {
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextInsert(3, "x\"y"))), R"({"insert":[3,"x\"y"]})");
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextInsert(0, ToUtf8(U"\U0001F600")))),
            "{\"insert\":[0,\"" + ToUtf8(U"\U0001F600") + "\"]}");
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextDelete(2, 5))), R"({"delete":[2,5]})");
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextDelete(0, 1))), R"({"delete":[0,1]})");
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextSplice(1, 2, "ab"))),
            R"({"ops":[{"retain":1},{"insert":"ab"},{"delete":2}]})");
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextOp())), R"({"ops":[]})");
  EXPECT_EQ(type_.FragmentToJson(""), "null");
  EXPECT_EQ(type_.FragmentToJson(Bytes({1, 9, 1})), "null");
  EXPECT_EQ(type_.FragmentToJson(EncodeTextOp(TextInsert(0, Bytes({0xc0, 0x80})))), "null");
}

TEST_F(TextDocumentTest, JsonRoundTripsRandomOps) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 2000; ++i) {
    // Builder-made ops: canonical with inserts before deletes, as FragmentFromJson makes them.
    const TextOp raw = RandomOp(rng, 30);
    TextOp op;
    for (const TextComponent& c : raw.components) {
      if (c.kind == Kind::kRetain) op.Retain(c.count);
      if (c.kind == Kind::kInsert) op.Insert(c.text);
      if (c.kind == Kind::kDelete) op.Delete(c.count);
    }
    const std::string payload = EncodeTextOp(op);
    const std::string json = type_.FragmentToJson(payload);
    const Result<std::string> back = type_.FragmentFromJson(json);
    ASSERT_TRUE(back.ok()) << json << ": " << back.status().ToString();
    ASSERT_EQ(*back, payload) << json;
  }
}

TEST_F(TextDocumentTest, BadJsonIsInvalidArgument) {
  const std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      "null",
      R"("insert")",
      R"({})",
      R"({"insert":[0,"a"],"delete":[0,1]})",
      R"({"append":"x"})",
      R"({"insert":[0]})",
      R"({"insert":[0,"a",1]})",
      R"({"insert":["0","a"]})",
      R"({"insert":[-1,"a"]})",
      R"({"insert":[1.5,"a"]})",
      R"({"insert":[1e3,"a"]})",
      R"({"insert":[99999999999999999999999,"a"]})",
      R"({"insert":[1099511627777,"a"]})",
      R"({"insert":[0,""]})",
      R"({"insert":[0,5]})",
      R"({"insert":[0,"\ud800"]})",
      R"({"insert":{"pos":0}})",
      R"({"delete":[0,0]})",
      R"({"delete":[0,-2]})",
      R"({"delete":[0]})",
      R"({"delete":[null,1]})",
      R"({"delete":[0,true]})",
      R"({"ops":{}})",
      R"({"ops":[1]})",
      R"({"ops":[{}]})",
      R"({"ops":[{"retain":0}]})",
      R"({"ops":[{"retain":-1}]})",
      R"({"ops":[{"retain":1.0}]})",
      R"({"ops":[{"delete":"3"}]})",
      R"({"ops":[{"insert":""}]})",
      R"({"ops":[{"insert":"a","delete":1}]})",
      R"({"ops":[{"move":1}]})",
      std::string(100000, '[') + std::string(100000, ']'),
      R"({"ops":)" + std::string(1000, '[') + std::string(1000, ']') + "}",
      "{\"insert\":[0,\"" + Bytes({0xc0, 0x80}) + "\"]}",
  };
  for (const std::string& json : bad) {
    SCOPED_TRACE(json.substr(0, 80));
    const Result<std::string> r = type_.FragmentFromJson(json);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(r.status().message().empty());
  }
  // Retains that merge into a count above the limit.
  std::string json = R"({"ops":[)";
  for (int i = 0; i < 2; ++i) json += R"({"retain":1099511627776},)";
  json += R"({"delete":1}]})";
  EXPECT_EQ(type_.FragmentFromJson(json).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TextDocumentTest, FragmentToJsonNeverCrashesOnRandomBytes) {
  std::mt19937_64 rng(123);
  for (int i = 0; i < 10000; ++i) {
    std::string payload(Rand(rng, 0, 20), '\0');
    for (char& c : payload) c = static_cast<char>(Rand(rng, 0, 255));
    if (!payload.empty()) payload[0] = static_cast<char>(Rand(rng, 0, 3));
    const std::string json = type_.FragmentToJson(payload);
    if (json == "null") continue;
    const Result<std::string> back = type_.FragmentFromJson(json);
    ASSERT_TRUE(back.ok()) << json;
  }
}

// ---- Transform --------------------------------------------------------------------------------

// TP1 on one pair: both orders of applying give the same text, for both tie-breaks.
void ExpectTp1(const TextType& type, const std::string& s, const TextOp& a, const TextOp& b) {
  const std::string pa = EncodeTextOp(a), pb = EncodeTextOp(b);
  for (bool w : {true, false}) {
    const Result<std::string> b2 = type.Transform(pb, pa, w);
    const Result<std::string> a2 = type.Transform(pa, pb, !w);
    ASSERT_TRUE(b2.ok()) << b2.status().ToString();
    ASSERT_TRUE(a2.ok()) << a2.status().ToString();
    ASSERT_EQ(ApplyAll(s, {pa, *b2}), ApplyAll(s, {pb, *a2}))
        << "s=" << s << " a=" << type.FragmentToJson(pa) << " b=" << type.FragmentToJson(pb)
        << " w=" << w;
  }
}

TEST_F(TextDocumentTest, ConcurrentInsertsAtOnePositionPutTheWinnerFirst) {
  const std::string a = EncodeTextOp(TextInsert(1, "A"));
  const std::string b = EncodeTextOp(TextInsert(1, "B"));
  // b is sequenced after a: b wins and goes first.
  Result<std::string> b2 = type_.Transform(b, a, /*op_wins=*/true);
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(ApplyAll("xy", {a, *b2}), "xBAy");
  Result<std::string> a2 = type_.Transform(a, b, /*op_wins=*/false);
  ASSERT_TRUE(a2.ok());
  EXPECT_EQ(ApplyAll("xy", {b, *a2}), "xBAy");
  // The other way round.
  b2 = type_.Transform(b, a, /*op_wins=*/false);
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(ApplyAll("xy", {a, *b2}), "xABy");
}

TEST_F(TextDocumentTest, TransformShiftsAndClipsAroundConcurrentEdits) {
  const std::string s = "0123456789";
  const std::string ins = EncodeTextOp(TextInsert(2, "ab"));
  const std::string del = EncodeTextOp(TextDelete(1, 5));  // removes 1..5
  const std::string late = EncodeTextOp(TextInsert(8, "Z"));
  // An insert after an earlier insert moves right.
  Result<std::string> r = type_.Transform(late, ins, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ApplyAll(s, {ins, *r}), "01ab234567Z89");
  // An insert inside a concurrently deleted range survives at its edge.
  r = type_.Transform(ins, del, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ApplyAll(s, {del, *r}), "0ab6789");
  // A delete does not delete concurrently inserted text.
  r = type_.Transform(del, ins, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ApplyAll(s, {ins, *r}), "0ab6789");
  // Overlapping deletes delete each code point once.
  const std::string del2 = EncodeTextOp(TextDelete(4, 4));  // removes 4..7
  r = type_.Transform(del2, del, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ApplyAll(s, {del, *r}), "089");
}

TEST_F(TextDocumentTest, TransformRefusesMalformedPayloads) {
  const std::string good = EncodeTextOp(TextInsert(0, "a"));
  for (const std::string& bad : {std::string(), Bytes({1, 9}), Bytes({1, 1, 0}),
                                 EncodeTextOp(TextInsert(0, Bytes({0xed, 0xa0, 0x80})))}) {
    EXPECT_EQ(type_.Transform(bad, good, true).status().code(), StatusCode::kMalformed);
    EXPECT_EQ(type_.Transform(good, bad, false).status().code(), StatusCode::kMalformed);
    EXPECT_EQ(type_.Compose(bad, good).status().code(), StatusCode::kMalformed);
    EXPECT_EQ(type_.Compose(good, bad).status().code(), StatusCode::kMalformed);
  }
}

TEST_F(TextDocumentTest, TransformAndComposeNeverCrashOnRandomBytes) {
  std::mt19937_64 rng(555);
  for (int i = 0; i < 10000; ++i) {
    std::string x(Rand(rng, 0, 16), '\0'), y(Rand(rng, 0, 16), '\0');
    for (char& c : x) c = static_cast<char>(Rand(rng, 0, 255));
    for (char& c : y) c = static_cast<char>(Rand(rng, 0, 255));
    if (!x.empty()) x[0] = static_cast<char>(Rand(rng, 0, 3));
    if (!y.empty()) y[0] = static_cast<char>(Rand(rng, 0, 3));
    for (const Result<std::string>& r :
         {type_.Transform(x, y, true), type_.Transform(x, y, false), type_.Compose(x, y)}) {
      if (!r.ok()) continue;
      TextOp out;
      ASSERT_TRUE(DecodeTextOp(*r, &out).ok());  // every result is a valid payload
    }
  }
}

TEST_F(TextDocumentTest, TransformResultsExceedingLimitsAreRefused) {
  // An op of the maximum size whose transform needs a retain between each insert and delete.
  TextOp op, against;
  for (size_t i = 0; i + 3 <= kTextMaxComponents; i += 3) op.Insert("a").Delete(1).Retain(1);
  op.Trim();
  for (size_t i = 0; i < 1000; ++i) against.Retain(1).Insert("b");
  ASSERT_LE(op.components.size(), kTextMaxComponents);
  Result<std::string> r = type_.Transform(EncodeTextOp(op), EncodeTextOp(against), true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  // Retains merged beyond kTextMaxCount.
  const std::string big = EncodeTextOp(TextInsert(kTextMaxCount, "x"));
  const std::string before = EncodeTextOp(TextInsert(0, "y"));
  r = type_.Transform(big, before, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
}

TEST_F(TextDocumentTest, Tp1HoldsForRandomOpPairs) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 6000; ++i) {
    const std::u32string s = RandomText(rng, Rand(rng, 0, 12));
    const TextOp a = RandomOp(rng, s.size());
    const TextOp b = RandomOp(rng, s.size());
    ExpectTp1(type_, ToUtf8(s), a, b);
    if (HasFatalFailure()) return;
  }
}

TEST_F(TextDocumentTest, Tp1HoldsForSamePositionInsertsAndOverlappingDeletes) {
  std::mt19937_64 rng(42);
  const std::string s = ToUtf8(U"a\u00e9\U0001F600d");
  for (uint64_t p = 0; p <= 4; ++p) {
    for (uint64_t q = 0; q <= 4; ++q) {
      for (uint64_t n = 0; p + n <= 4; ++n) {
        for (uint64_t m = 0; q + m <= 4; ++m) {
          ExpectTp1(type_, s, TextInsert(p, "X"), TextInsert(q, ToUtf8(U"\U0001F9D1")));
          ExpectTp1(type_, s, TextDelete(p, n), TextDelete(q, m));
          ExpectTp1(type_, s, TextSplice(p, n, "XY"), TextSplice(q, m, ToUtf8(U"\u20ac")));
          ExpectTp1(type_, s, TextInsert(p, "X"), TextDelete(q, m));
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

// A client with pending edits receives a remote fragment: transforming it past all of them (the
// default PendingEdits) gives the state the host reaches by applying the remote first.
TEST_F(TextDocumentTest, PendingEditsConvergeWithTheHost) {
  std::mt19937_64 rng(777);
  for (int i = 0; i < 1500; ++i) {
    const std::u32string s = RandomText(rng, Rand(rng, 0, 10));
    std::unique_ptr<PendingEdits> pending = type_.NewPendingEdits();
    // The client makes k edits in a row on s.
    std::u32string local = s;
    std::vector<std::string> local_ops;
    const size_t k = Rand(rng, 1, 4);
    for (size_t j = 0; j < k; ++j) {
      const TextOp op = RandomOp(rng, local.size());
      local = *ModelApply(local, op);
      local_ops.push_back(EncodeTextOp(op));
      pending->Push(local_ops.back());
    }
    // The host sequenced a remote edit on s before any of them.
    const std::string remote = EncodeTextOp(RandomOp(rng, s.size()));
    const Result<std::string> r = pending->TransformRemote(remote);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> client = local_ops;
    client.push_back(*r);
    std::vector<std::string> host = {remote};
    for (size_t j = 0; j < pending->size(); ++j) host.push_back(pending->at(j));
    ASSERT_EQ(ApplyAll(ToUtf8(s), client), ApplyAll(ToUtf8(s), host)) << "case " << i;
  }
}

// ---- Compose ----------------------------------------------------------------------------------

TEST_F(TextDocumentTest, ComposeThenApplyEqualsApplyThenApply) {
  std::mt19937_64 rng(9001);
  for (int i = 0; i < 6000; ++i) {
    const std::u32string s = RandomText(rng, Rand(rng, 0, 12));
    const TextOp a = RandomOp(rng, s.size());
    const std::u32string sa = *ModelApply(s, a);
    const TextOp b = RandomOp(rng, sa.size());
    const Result<std::string> ab = type_.Compose(EncodeTextOp(a), EncodeTextOp(b));
    ASSERT_TRUE(ab.ok()) << ab.status().ToString();
    ASSERT_EQ(ApplyAll(ToUtf8(s), {*ab}), ToUtf8(*ModelApply(sa, b)))
        << "a=" << type_.FragmentToJson(EncodeTextOp(a))
        << " b=" << type_.FragmentToJson(EncodeTextOp(b));
  }
}

TEST_F(TextDocumentTest, ComposeOfManyEditsEqualsApplyingThemInOrder) {
  std::mt19937_64 rng(31);
  for (int i = 0; i < 200; ++i) {
    const std::u32string s = RandomText(rng, Rand(rng, 0, 20));
    std::u32string model = s;
    std::string composed = EncodeTextOp(TextOp());
    for (int k = 0; k < 30; ++k) {
      const TextOp op = RandomOp(rng, model.size());
      model = *ModelApply(model, op);
      const Result<std::string> c = type_.Compose(composed, EncodeTextOp(op));
      ASSERT_TRUE(c.ok());
      composed = *c;
    }
    ASSERT_EQ(ApplyAll(ToUtf8(s), {composed}), ToUtf8(model));
  }
}

TEST_F(TextDocumentTest, ComposeCancelsDeletedInserts) {
  const Result<std::string> c =
      type_.Compose(EncodeTextOp(TextInsert(1, "abc")), EncodeTextOp(TextDelete(1, 3)));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, EncodeTextOp(TextOp()));
}

}  // namespace
}  // namespace zinc
