#include "documents/map_document.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"

namespace zinc {
namespace {

MapOp Set(std::string key, std::string value) {
  MapOp op;
  op.kind = MapOp::Kind::kSet;
  op.key = std::move(key);
  op.value = std::move(value);
  return op;
}

MapOp Del(std::string key) {
  MapOp op;
  op.kind = MapOp::Kind::kDelete;
  op.key = std::move(key);
  return op;
}

class MapDocumentTest : public ::testing::Test {
 protected:
  void ApplyOk(const std::vector<MapOp>& ops) {
    const Status s = doc_.Apply(EncodeMapOps(ops));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Applies payload, expects kMalformed and an unchanged document.
  void ExpectRejected(std::string_view payload) {
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Apply(payload);
    EXPECT_EQ(s.code(), StatusCode::kMalformed) << s.ToString();
    EXPECT_EQ(doc_.Snapshot(), before);
  }

  // Restores snapshot, expects kMalformed and an unchanged document.
  void ExpectRestoreRejected(std::string_view snapshot) {
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Restore(snapshot);
    EXPECT_EQ(s.code(), StatusCode::kMalformed) << s.ToString();
    EXPECT_EQ(doc_.Snapshot(), before);
  }

  // A document holding a=1, b="x".
  void Populate() { ApplyOk({Set("a", "1"), Set("b", "\"x\"")}); }

  MapDocument doc_;
  MapType type_;
};

// ---- Apply -----------------------------------------------------------------------------------

TEST_F(MapDocumentTest, NewDocumentIsEmpty) {
  EXPECT_EQ(doc_.type(), "map");
  EXPECT_TRUE(doc_.entries().empty());
  EXPECT_EQ(doc_.ToJson(), "{}");
}

TEST_F(MapDocumentTest, SetAddsAndReplacesEntries) {
  ApplyOk({Set("a", "1")});
  ApplyOk({Set("b", "2"), Set("a", "3")});
  const std::map<std::string, std::string> want = {{"a", "3"}, {"b", "2"}};
  EXPECT_EQ(doc_.entries(), want);
}

TEST_F(MapDocumentTest, DeleteRemovesEntry) {
  Populate();
  ApplyOk({Del("a")});
  const std::map<std::string, std::string> want = {{"b", "\"x\""}};
  EXPECT_EQ(doc_.entries(), want);
}

TEST_F(MapDocumentTest, DeleteOfMissingKeyIsANoOp) {
  Populate();
  const std::string before = doc_.Snapshot();
  ApplyOk({Del("zzz")});
  EXPECT_EQ(doc_.Snapshot(), before);
}

TEST_F(MapDocumentTest, EmptyFragmentIsANoOp) {
  Populate();
  const std::string before = doc_.Snapshot();
  ApplyOk({});
  EXPECT_EQ(doc_.Snapshot(), before);
}

TEST_F(MapDocumentTest, LastWriterInApplyOrderWins) {
  ApplyOk({Set("k", "1")});
  ApplyOk({Set("k", "2")});
  EXPECT_EQ(doc_.entries().at("k"), "2");
  // Within one fragment too.
  ApplyOk({Set("k", "3"), Set("k", "4")});
  EXPECT_EQ(doc_.entries().at("k"), "4");
  ApplyOk({Set("k", "5"), Del("k")});
  EXPECT_EQ(doc_.entries().count("k"), 0u);
  ApplyOk({Del("k"), Set("k", "6")});
  EXPECT_EQ(doc_.entries().at("k"), "6");
}

TEST_F(MapDocumentTest, KeysAndValuesAreArbitraryBytes) {
  const std::string key("k\0\xff", 3);
  const std::string value("\0\x01\x02", 3);
  ApplyOk({Set(key, value), Set(std::string(kMapMaxKeyBytes, 'K'), "")});
  EXPECT_EQ(doc_.entries().at(key), value);
  EXPECT_EQ(doc_.entries().at(std::string(kMapMaxKeyBytes, 'K')), "");
}

TEST_F(MapDocumentTest, EncodeDecodeRoundTrips) {
  const std::vector<MapOp> ops = {Set("a", "1"), Del("b"), Set("c", "")};
  std::vector<MapOp> out;
  ASSERT_TRUE(DecodeMapOps(EncodeMapOps(ops), &out).ok());
  ASSERT_EQ(out.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(out[i].kind, ops[i].kind);
    EXPECT_EQ(out[i].key, ops[i].key);
    EXPECT_EQ(out[i].value, ops[i].value);
  }
}

// ---- Apply of bad payloads -------------------------------------------------------------------

TEST_F(MapDocumentTest, TruncatedPayloadIsRejectedAndChangesNothing) {
  Populate();
  const std::string payload = EncodeMapOps({Set("a", "2"), Del("b"), Set("c", "3")});
  for (size_t n = 0; n < payload.size(); ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    ExpectRejected(std::string_view(payload).substr(0, n));
  }
}

TEST_F(MapDocumentTest, UnknownOpKindIsRejectedAndChangesNothing) {
  Populate();
  for (uint8_t kind : {0, 3, 0x7f, 0xff}) {
    ByteWriter w;
    w.PutVarint(2);
    w.PutByte(1);  // a good first op, which must not be applied either
    w.PutString("a");
    w.PutString("9");
    w.PutByte(kind);
    w.PutString("b");
    w.PutString("9");
    SCOPED_TRACE("kind " + std::to_string(kind));
    ExpectRejected(w.Release());
  }
}

TEST_F(MapDocumentTest, EmptyKeyIsRejectedAndChangesNothing) {
  Populate();
  ExpectRejected(EncodeMapOps({Set("a", "9"), Set("", "1")}));
  ExpectRejected(EncodeMapOps({Del("")}));
}

TEST_F(MapDocumentTest, OversizedKeyIsRejectedAndChangesNothing) {
  Populate();
  ExpectRejected(EncodeMapOps({Set("a", "9"), Set(std::string(kMapMaxKeyBytes + 1, 'k'), "1")}));
  ExpectRejected(EncodeMapOps({Del(std::string(kMapMaxKeyBytes + 1, 'k'))}));
}

TEST_F(MapDocumentTest, TrailingBytesAreRejectedAndChangesNothing) {
  Populate();
  ExpectRejected(EncodeMapOps({Set("a", "9")}) + "x");
  ExpectRejected(EncodeMapOps({}) + std::string(1, '\0'));
}

TEST_F(MapDocumentTest, TooManyOpsAreRejectedAndChangesNothing) {
  Populate();
  ByteWriter w;
  w.PutVarint(kMapMaxOpsPerFragment + 1);
  ExpectRejected(w.Release());
  // A count far beyond the bytes that follow must not allocate or read past the end.
  ByteWriter huge;
  huge.PutVarint(UINT64_MAX);
  ExpectRejected(huge.Release());
}

TEST_F(MapDocumentTest, CountLargerThanTheOpsIsRejectedAndChangesNothing) {
  Populate();
  ByteWriter w;
  w.PutVarint(3);
  w.PutByte(1);
  w.PutString("a");
  w.PutString("9");
  ExpectRejected(w.Release());
}

TEST_F(MapDocumentTest, RandomPayloadsNeverCrashAndChangeNothingWhenRejected) {
  Populate();
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 40);
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string payload(length(rng), '\0');
    for (char& c : payload) c = static_cast<char>(byte(rng));
    // Random bytes usually fail; make the first byte a small count half the time.
    if (!payload.empty() && (i % 2) == 0) payload[0] = static_cast<char>(rng() % 3);
    std::vector<MapOp> ops;
    const bool decodes = DecodeMapOps(payload, &ops).ok();
    const std::string before = doc_.Snapshot();
    std::map<std::string, std::string> model = doc_.entries();
    const Status s = doc_.Apply(payload);
    EXPECT_EQ(s.ok(), decodes) << "payload " << i;
    if (s.ok()) {
      ++accepted;
      for (const MapOp& op : ops) {
        if (op.kind == MapOp::Kind::kSet) {
          model[op.key] = op.value;
        } else {
          model.erase(op.key);
        }
      }
      EXPECT_EQ(doc_.entries(), model) << "payload " << i;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kMalformed) << "payload " << i;
      EXPECT_EQ(doc_.Snapshot(), before) << "payload " << i;
    }
  }
  EXPECT_GT(accepted, 0);  // the generator reaches the apply path
}

// ---- Snapshot / Restore ----------------------------------------------------------------------

TEST_F(MapDocumentTest, SnapshotRestoreRoundTrips) {
  ApplyOk({Set("a", "1"), Set("b", "{\"x\":[1,2]}"), Set(std::string("\0k", 2), "")});
  const std::string snapshot = doc_.Snapshot();
  MapDocument copy;
  const Status s = copy.Restore(snapshot);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(copy.entries(), doc_.entries());
  EXPECT_EQ(copy.Snapshot(), snapshot);
}

TEST_F(MapDocumentTest, RestoreReplacesTheState) {
  MapDocument other;
  ASSERT_TRUE(other.Apply(EncodeMapOps({Set("z", "26")})).ok());
  Populate();
  ASSERT_TRUE(doc_.Restore(other.Snapshot()).ok());
  EXPECT_EQ(doc_.entries(), other.entries());
  ASSERT_TRUE(doc_.Restore(MapDocument().Snapshot()).ok());
  EXPECT_TRUE(doc_.entries().empty());
}

TEST_F(MapDocumentTest, TruncatedSnapshotIsRejectedAndChangesNothing) {
  MapDocument other;
  ASSERT_TRUE(other.Apply(EncodeMapOps({Set("p", "1"), Set("q", "22")})).ok());
  const std::string snapshot = other.Snapshot();
  Populate();
  for (size_t n = 0; n < snapshot.size(); ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    ExpectRestoreRejected(std::string_view(snapshot).substr(0, n));
  }
}

TEST_F(MapDocumentTest, SnapshotWithDuplicateKeyIsRejectedAndChangesNothing) {
  Populate();
  ByteWriter w;
  w.PutVarint(2);
  w.PutString("k");
  w.PutString("1");
  w.PutString("k");
  w.PutString("2");
  ExpectRestoreRejected(w.Release());
}

TEST_F(MapDocumentTest, SnapshotWithBadKeyOrTrailingBytesIsRejectedAndChangesNothing) {
  Populate();
  {
    ByteWriter w;
    w.PutVarint(1);
    w.PutString("");
    w.PutString("1");
    ExpectRestoreRejected(w.Release());
  }
  {
    ByteWriter w;
    w.PutVarint(1);
    w.PutString(std::string(kMapMaxKeyBytes + 1, 'k'));
    w.PutString("1");
    ExpectRestoreRejected(w.Release());
  }
  ExpectRestoreRejected(doc_.Snapshot() + "x");
  {
    ByteWriter w;
    w.PutVarint(UINT64_MAX);
    ExpectRestoreRejected(w.Release());
  }
}

TEST_F(MapDocumentTest, RandomSnapshotsNeverCrashAndChangeNothingWhenRejected) {
  Populate();
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 32);
  for (int i = 0; i < 5000; ++i) {
    std::string snapshot(length(rng), '\0');
    for (char& c : snapshot) c = static_cast<char>(byte(rng));
    if (!snapshot.empty() && (i % 2) == 0) snapshot[0] = static_cast<char>(rng() % 3);
    MapDocument probe;
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Restore(snapshot);
    if (s.ok()) {
      ASSERT_TRUE(probe.Restore(snapshot).ok());
      EXPECT_EQ(doc_.entries(), probe.entries());
      ASSERT_TRUE(doc_.Restore(before).ok());
    } else {
      EXPECT_EQ(s.code(), StatusCode::kMalformed) << "snapshot " << i;
      EXPECT_EQ(doc_.Snapshot(), before) << "snapshot " << i;
    }
  }
}

// ---- ToJson ----------------------------------------------------------------------------------

TEST_F(MapDocumentTest, ToJsonRendersJsonValues) {
  ApplyOk({Set("n", "1"), Set("s", "\"x\""), Set("o", "{\"a\":[true,null]}")});
  EXPECT_EQ(doc_.ToJson(), R"({"n":1,"o":{"a":[true,null]},"s":"x"})");
}

TEST_F(MapDocumentTest, ToJsonRendersNonJsonValueAsString) {
  ApplyOk({Set("raw", "not json"), Set("empty", "")});
  EXPECT_EQ(doc_.ToJson(), R"({"empty":"","raw":"not json"})");
}

TEST_F(MapDocumentTest, DeeplyNestedValueRendersWithoutCrashing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string payload = EncodeMapOps({Set("k", deep)});
  ASSERT_TRUE(doc_.Apply(payload).ok());
  EXPECT_FALSE(doc_.ToJson().empty());
  EXPECT_FALSE(type_.FragmentToJson(payload).empty());
  // Too deep to be an edit anyone means: refused with a clear error.
  Result<std::string> parsed = type_.FragmentFromJson(R"({"set":["k",)" + deep + "]}");
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << parsed.status().ToString();
}

// ---- JSON fragments --------------------------------------------------------------------------

TEST_F(MapDocumentTest, FragmentFromJsonParsesSet) {
  Result<std::string> payload = type_.FragmentFromJson(R"({"set":["k",1]})");
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  std::vector<MapOp> ops;
  ASSERT_TRUE(DecodeMapOps(payload.value(), &ops).ok());
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, MapOp::Kind::kSet);
  EXPECT_EQ(ops[0].key, "k");
  EXPECT_EQ(ops[0].value, "1");
  EXPECT_EQ(type_.FragmentToJson(payload.value()), R"({"set":["k",1]})");
}

TEST_F(MapDocumentTest, FragmentFromJsonParsesDel) {
  Result<std::string> payload = type_.FragmentFromJson(R"({"del":"k"})");
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  std::vector<MapOp> ops;
  ASSERT_TRUE(DecodeMapOps(payload.value(), &ops).ok());
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, MapOp::Kind::kDelete);
  EXPECT_EQ(ops[0].key, "k");
  EXPECT_EQ(type_.FragmentToJson(payload.value()), R"({"del":"k"})");
}

TEST_F(MapDocumentTest, FragmentFromJsonParsesAnArrayOfEdits) {
  const std::string json = R"([{"set":["a",{"x":"y"}]},{"del":"b"},{"set":["c","s"]}])";
  Result<std::string> payload = type_.FragmentFromJson(json);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  std::vector<MapOp> ops;
  ASSERT_TRUE(DecodeMapOps(payload.value(), &ops).ok());
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].key, "a");
  EXPECT_EQ(ops[0].value, R"({"x":"y"})");
  EXPECT_EQ(ops[1].kind, MapOp::Kind::kDelete);
  EXPECT_EQ(ops[2].value, R"("s")");
  EXPECT_EQ(type_.FragmentToJson(payload.value()), json);
  ApplyOk({Set("b", "0")});
  ASSERT_TRUE(doc_.Apply(payload.value()).ok());
  EXPECT_EQ(doc_.ToJson(), R"({"a":{"x":"y"},"c":"s"})");
}

TEST_F(MapDocumentTest, FragmentToJsonRendersNonJsonValueAsString) {
  EXPECT_EQ(type_.FragmentToJson(EncodeMapOps({Set("k", "raw")})), R"({"set":["k","raw"]})");
}

TEST_F(MapDocumentTest, FragmentToJsonOfBadPayloadIsNull) {
  EXPECT_EQ(type_.FragmentToJson("\x05"), "null");
  EXPECT_EQ(type_.FragmentToJson(EncodeMapOps({Set("k", "1")}) + "x"), "null");
}

TEST_F(MapDocumentTest, BadJsonEditsAreInvalidArgument) {
  for (const char* json : {
           "",
           "not json",
           R"({"set":["k",1])",
           "42",
           R"("set")",
           "null",
           "[]",
           "{}",
           R"({"put":["k",1]})",
           R"({"set":["k",1],"del":"k"})",
           R"({"set":["k",1,2]})",
           R"({"set":["k"]})",
           R"({"set":"k"})",
           R"({"set":[1,2]})",
           R"({"set":[null,2]})",
           R"({"del":1})",
           R"({"del":["k"]})",
           R"([{"set":["k",1]},{"del":2}])",
           R"([1])",
       }) {
    Result<std::string> payload = type_.FragmentFromJson(json);
    EXPECT_FALSE(payload.ok()) << json;
    EXPECT_EQ(payload.status().code(), StatusCode::kInvalidArgument)
        << json << " -> " << payload.status().ToString();
  }
}

TEST_F(MapDocumentTest, JsonEditWithEmptyOrOversizedKeyIsRefused) {
  const std::string long_key(kMapMaxKeyBytes + 1, 'k');
  for (const std::string& json :
       {std::string(R"({"set":["",1]})"), std::string(R"({"del":""})"),
        R"({"set":[")" + long_key + R"(",1]})", R"({"del":")" + long_key + R"("})"}) {
    Result<std::string> payload = type_.FragmentFromJson(json);
    EXPECT_FALSE(payload.ok()) << json;
  }
}

TEST_F(MapDocumentTest, JsonEditWithEmptyOrOversizedKeyIsInvalidArgument) {
  const std::string long_key(kMapMaxKeyBytes + 1, 'k');
  for (const std::string& json :
       {std::string(R"({"set":["",1]})"), std::string(R"({"del":""})"),
        R"({"set":[")" + long_key + R"(",1]})", R"({"del":")" + long_key + R"("})"}) {
    EXPECT_EQ(type_.FragmentFromJson(json).status().code(), StatusCode::kInvalidArgument);
  }
}

// ---- Transform -------------------------------------------------------------------------------

TEST_F(MapDocumentTest, HostDoesNotTransform) { EXPECT_FALSE(type_.host_transforms()); }

TEST_F(MapDocumentTest, WinningTransformReturnsTheOpUnchanged) {
  const std::string op = EncodeMapOps({Set("a", "1"), Del("b")});
  const std::string against = EncodeMapOps({Set("a", "2")});
  Result<std::string> t = type_.Transform(op, against, true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value(), op);
}

TEST_F(MapDocumentTest, LosingTransformDropsKeysTheOtherSideTouches) {
  const std::string op = EncodeMapOps({Set("a", "1"), Del("b"), Set("c", "3")});
  const std::string against = EncodeMapOps({Set("a", "2"), Del("c")});
  Result<std::string> t = type_.Transform(op, against, false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value(), EncodeMapOps({Del("b")}));
}

TEST_F(MapDocumentTest, TransformOfMalformedPayloadIsMalformed) {
  const std::string good = EncodeMapOps({Set("a", "1")});
  EXPECT_EQ(type_.Transform("\x05", good, false).status().code(), StatusCode::kMalformed);
  EXPECT_EQ(type_.Transform("\x05", good, true).status().code(), StatusCode::kMalformed);
  EXPECT_EQ(type_.Transform(good, "\x05", false).status().code(), StatusCode::kMalformed);
}

// Random fragments over a small key alphabet, so that concurrent fragments conflict.
class RandomMapOps {
 public:
  explicit RandomMapOps(uint32_t seed) : rng_(seed) {}

  std::vector<MapOp> Ops(size_t max_ops) {
    std::vector<MapOp> ops(rng_() % (max_ops + 1));
    for (MapOp& op : ops) {
      op.key = std::string(1, static_cast<char>('a' + rng_() % 5));
      if (rng_() % 3 == 0) {
        op.kind = MapOp::Kind::kDelete;
      } else {
        op.kind = MapOp::Kind::kSet;
        op.value = std::to_string(rng_() % 100);
      }
    }
    return ops;
  }

 private:
  std::mt19937 rng_;
};

TEST_F(MapDocumentTest, TransformSatisfiesTP1) {
  RandomMapOps random(31337);
  for (int i = 0; i < 2000; ++i) {
    SCOPED_TRACE("pair " + std::to_string(i));
    MapDocument start;
    ASSERT_TRUE(start.Apply(EncodeMapOps(random.Ops(6))).ok());
    const std::string s = start.Snapshot();
    const std::string a = EncodeMapOps(random.Ops(4));
    const std::string b = EncodeMapOps(random.Ops(4));

    Result<std::string> b_after_a = type_.Transform(b, a, false);
    Result<std::string> a_after_b = type_.Transform(a, b, true);
    ASSERT_TRUE(b_after_a.ok()) << b_after_a.status().ToString();
    ASSERT_TRUE(a_after_b.ok()) << a_after_b.status().ToString();

    MapDocument left;
    ASSERT_TRUE(left.Restore(s).ok());
    ASSERT_TRUE(left.Apply(a).ok());
    ASSERT_TRUE(left.Apply(b_after_a.value()).ok());

    MapDocument right;
    ASSERT_TRUE(right.Restore(s).ok());
    ASSERT_TRUE(right.Apply(b).ok());
    ASSERT_TRUE(right.Apply(a_after_b.value()).ok());

    ASSERT_EQ(left.Snapshot(), right.Snapshot())
        << "a=" << type_.FragmentToJson(a) << " b=" << type_.FragmentToJson(b)
        << " start=" << start.ToJson();
  }
}

}  // namespace
}  // namespace zinc
