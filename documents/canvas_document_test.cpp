#include "documents/canvas_document.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"

namespace zinc {
namespace {

using Kind = CanvasKind;
using Prop = CanvasProp;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

CanvasPropWrite Num(Prop p, double v) { return CanvasNumber(p, v); }
CanvasPropWrite Str(Prop p, std::string s) { return CanvasString(p, std::move(s)); }

// n points (i, -i), from start.
std::vector<CanvasPoint> Line(size_t n, double start = 0) {
  std::vector<CanvasPoint> points;
  points.reserve(n);
  for (size_t i = 0; i < n; ++i) points.push_back({start + i, 0 - (start + i)});
  return points;
}

// Checks what a document promises of its state, whatever was applied to it.
void ExpectConsistent(const CanvasDocument& doc) {
  uint64_t points = 0;
  for (const auto& [id, s] : doc.shapes()) {
    points += s.points.size();
    EXPECT_FALSE(doc.tombstoned(id)) << id;
    if (s.kind != Kind::kStroke) {
      EXPECT_TRUE(s.points.empty()) << id;
    }
  }
  EXPECT_EQ(doc.point_count(), points);
  CanvasDocument copy;
  const Status s = copy.Restore(doc.Snapshot());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(copy.Snapshot(), doc.Snapshot());
}

class CanvasDocumentTest : public ::testing::Test {
 protected:
  void ApplyOk(const std::vector<CanvasOp>& ops) { ApplyOk(EncodeCanvasOps(ops)); }
  void ApplyOk(std::string_view payload) {
    const Status s = doc_.Apply(payload);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Applies payload, expects code and an unchanged document.
  void ExpectRejected(std::string_view payload, StatusCode code = StatusCode::kMalformed) {
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Apply(payload);
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_EQ(doc_.Snapshot(), before);
  }
  void ExpectRejected(const std::vector<CanvasOp>& ops, StatusCode code = StatusCode::kMalformed) {
    ExpectRejected(EncodeCanvasOps(ops), code);
  }

  // Restores snapshot, expects code and an unchanged document.
  void ExpectRestoreRejected(std::string_view snapshot, StatusCode code = StatusCode::kMalformed) {
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Restore(snapshot);
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_EQ(doc_.Snapshot(), before);
  }

  // A stroke s1 of 3 points, a rect r1, a text t1 and a deleted d1.
  void Populate() {
    ApplyOk({CanvasOp::Add("s1", Kind::kStroke, {Str(Prop::kColor, "#ff0000")}, Line(3)),
             CanvasOp::Add("r1", Kind::kRect, {Num(Prop::kW, 10), Num(Prop::kH, 5)}),
             CanvasOp::Add("t1", Kind::kText, {Str(Prop::kText, "hi"), Num(Prop::kZ, 2)}),
             CanvasOp::Add("d1", Kind::kEllipse), CanvasOp::Delete("d1")});
  }

  const CanvasShape& Shape(const std::string& id) { return doc_.shapes().at(id); }

  CanvasDocument doc_;
  CanvasType type_;
};

// ---- Apply -----------------------------------------------------------------------------------

TEST_F(CanvasDocumentTest, NewDocumentIsEmpty) {
  EXPECT_EQ(doc_.type(), "canvas");
  EXPECT_EQ(type_.name(), "canvas");
  EXPECT_EQ(type_.json_field(), "canvas");
  EXPECT_FALSE(type_.host_transforms());
  EXPECT_EQ(type_.Create()->type(), "canvas");
  EXPECT_TRUE(doc_.shapes().empty());
  EXPECT_EQ(doc_.ToJson(), R"({"shapes":[]})");
  EXPECT_EQ(doc_.FrontZ(), 0);
  EXPECT_EQ(doc_.BackZ(), 0);
}

TEST_F(CanvasDocumentTest, AddCreatesShapesWithDefaultsForUnnamedProperties) {
  ApplyOk({CanvasOp::Add("s1", Kind::kStroke, {Num(Prop::kWidth, 3), Str(Prop::kColor, "#f00")},
                         {{0, 0}, {5, 5}}),
           CanvasOp::Add("r1", Kind::kRect,
                         {Num(Prop::kX, 1), Num(Prop::kY, 2), Num(Prop::kW, 3), Num(Prop::kH, 4),
                          Num(Prop::kZ, -1), Str(Prop::kFill, "#eee")}),
           CanvasOp::Add("e1", Kind::kEllipse),
           CanvasOp::Add("t1", Kind::kText, {Str(Prop::kText, "hello")})});
  ASSERT_EQ(doc_.shapes().size(), 4u);
  const CanvasShape& s = Shape("s1");
  EXPECT_EQ(s.kind, Kind::kStroke);
  EXPECT_EQ(s.width, 3);
  EXPECT_EQ(s.color, "#f00");
  EXPECT_EQ(s.fill, "none");
  EXPECT_EQ(s.points, (std::vector<CanvasPoint>{{0, 0}, {5, 5}}));
  const CanvasShape& r = Shape("r1");
  EXPECT_EQ(r.kind, Kind::kRect);
  EXPECT_EQ(r.x, 1);
  EXPECT_EQ(r.y, 2);
  EXPECT_EQ(r.w, 3);
  EXPECT_EQ(r.h, 4);
  EXPECT_EQ(r.z, -1);
  EXPECT_EQ(r.fill, "#eee");
  const CanvasShape& e = Shape("e1");
  EXPECT_EQ(e.kind, Kind::kEllipse);
  EXPECT_EQ(e.x, 0);
  EXPECT_EQ(e.width, 1);
  EXPECT_EQ(e.color, "#000000");
  EXPECT_EQ(e.text, "");
  EXPECT_EQ(Shape("t1").text, "hello");
  EXPECT_EQ(doc_.point_count(), 2u);
}

TEST_F(CanvasDocumentTest, UpdateWritesOnlyTheGivenProperties) {
  Populate();
  ApplyOk({CanvasOp::Update("r1", {Num(Prop::kX, 7), Str(Prop::kColor, "#00ff00")})});
  const CanvasShape& r = Shape("r1");
  EXPECT_EQ(r.x, 7);
  EXPECT_EQ(r.color, "#00ff00");
  EXPECT_EQ(r.w, 10);
  EXPECT_EQ(r.h, 5);
  EXPECT_EQ(r.fill, "none");
}

TEST_F(CanvasDocumentTest, LastWriterInApplyOrderWinsPerProperty) {
  Populate();
  ApplyOk({CanvasOp::Update("r1", {Num(Prop::kX, 1), Num(Prop::kY, 1)})});
  ApplyOk({CanvasOp::Update("r1", {Num(Prop::kX, 2)})});
  EXPECT_EQ(Shape("r1").x, 2);
  EXPECT_EQ(Shape("r1").y, 1);  // not written by the later update
  ApplyOk({CanvasOp::Update("r1", {Num(Prop::kX, 3)}), CanvasOp::Update("r1", {Num(Prop::kX, 4)})});
  EXPECT_EQ(Shape("r1").x, 4);
}

TEST_F(CanvasDocumentTest, AppendAddsPointsAtTheEnd) {
  Populate();
  ApplyOk({CanvasOp::Append("s1", {{10, 10}}), CanvasOp::Append("s1", {{11, 11}, {12, 12}})});
  std::vector<CanvasPoint> want = Line(3);
  want.push_back({10, 10});
  want.push_back({11, 11});
  want.push_back({12, 12});
  EXPECT_EQ(Shape("s1").points, want);
  EXPECT_EQ(doc_.point_count(), 6u);
}

TEST_F(CanvasDocumentTest, AppendWithBeforeLastInsertsBeforeTheLastPoints) {
  Populate();
  ApplyOk({CanvasOp::Append("s1", {{9, 9}}, 1)});
  EXPECT_EQ(Shape("s1").points, (std::vector<CanvasPoint>{{0, 0}, {1, -1}, {9, 9}, {2, -2}}));
  ApplyOk({CanvasOp::Append("s1", {{8, 8}}, 4)});  // before all of them
  EXPECT_EQ(Shape("s1").points.front(), (CanvasPoint{8, 8}));
}

TEST_F(CanvasDocumentTest, DeleteRemovesTheShapeAndLeavesATombstone) {
  Populate();
  ApplyOk({CanvasOp::Delete("s1")});
  EXPECT_EQ(doc_.shapes().count("s1"), 0u);
  EXPECT_EQ(doc_.tombstones().count("s1"), 1u);
  EXPECT_EQ(doc_.point_count(), 0u);
  ExpectConsistent(doc_);
}

TEST_F(CanvasDocumentTest, EditsOfADeletedShapeAreNoOps) {
  Populate();
  const std::string before = doc_.Snapshot();
  ApplyOk({CanvasOp::Update("d1", {Num(Prop::kX, 5), Str(Prop::kText, "x")})});
  ApplyOk({CanvasOp::Append("d1", {{1, 1}}, 7)});  // even a before_last no stroke could take
  ApplyOk({CanvasOp::Delete("d1")});
  ApplyOk({CanvasOp::Update("d1", {Num(Prop::kZ, doc_.FrontZ())})});
  EXPECT_EQ(doc_.Snapshot(), before);
}

TEST_F(CanvasDocumentTest, ConcurrentUpdateOfADeletedShapeIsDroppedCleanly) {
  // Two authors saw r1; the host sequenced the delete first.
  Populate();
  ApplyOk({CanvasOp::Delete("r1")});
  ApplyOk({CanvasOp::Update("r1", {Num(Prop::kX, 1)}), CanvasOp::Update("t1", {Num(Prop::kX, 9)})});
  EXPECT_EQ(doc_.shapes().count("r1"), 0u);
  EXPECT_EQ(Shape("t1").x, 9);  // the rest of the fragment applies
}

TEST_F(CanvasDocumentTest, OpsOfAFragmentSeeTheEarlierOnes) {
  ApplyOk({CanvasOp::Add("a", Kind::kStroke), CanvasOp::Append("a", {{1, 1}}),
           CanvasOp::Update("a", {Num(Prop::kWidth, 4)}), CanvasOp::Add("b", Kind::kRect),
           CanvasOp::Delete("b"), CanvasOp::Update("b", {Num(Prop::kX, 1)})});
  EXPECT_EQ(Shape("a").points.size(), 1u);
  EXPECT_EQ(Shape("a").width, 4);
  EXPECT_EQ(doc_.tombstones().count("b"), 1u);
}

TEST_F(CanvasDocumentTest, FrontAndBackAreZWrites) {
  Populate();  // z: s1 0, r1 0, t1 2
  EXPECT_EQ(doc_.FrontZ(), 3);
  EXPECT_EQ(doc_.BackZ(), -1);
  ApplyOk({CanvasOp::Update("s1", {Num(Prop::kZ, doc_.FrontZ())})});
  ApplyOk({CanvasOp::Update("t1", {Num(Prop::kZ, doc_.BackZ())})});
  EXPECT_EQ(Shape("s1").z, 3);
  EXPECT_EQ(Shape("t1").z, -1);
}

TEST_F(CanvasDocumentTest, ToJsonListsShapesInRenderOrder) {
  ApplyOk({CanvasOp::Add("b", Kind::kRect, {Num(Prop::kX, 1.5), Num(Prop::kZ, 1)}),
           CanvasOp::Add("a", Kind::kText, {Str(Prop::kText, "hi \"you\""), Num(Prop::kZ, 1)}),
           CanvasOp::Add("c", Kind::kStroke, {Num(Prop::kZ, -2)}, {{0, 0.25}, {-3, 4}})});
  EXPECT_EQ(doc_.ToJson(),
            R"({"shapes":[)"
            R"({"id":"c","kind":"stroke","x":0,"y":0,"w":0,"h":0,"z":-2,"width":1,)"
            R"("color":"#000000","fill":"none","text":"","points":[[0,0.25],[-3,4]]},)"
            R"({"id":"a","kind":"text","x":0,"y":0,"w":0,"h":0,"z":1,"width":1,)"
            R"("color":"#000000","fill":"none","text":"hi \"you\""},)"
            R"({"id":"b","kind":"rect","x":1.5,"y":0,"w":0,"h":0,"z":1,"width":1,)"
            R"("color":"#000000","fill":"none","text":""}]})");
}

TEST_F(CanvasDocumentTest, NegativeZeroIsZero) {
  ApplyOk({CanvasOp::Add("s", Kind::kStroke, {Num(Prop::kX, -0.0)}, {{-0.0, 1}})});
  EXPECT_FALSE(std::signbit(Shape("s").x));
  EXPECT_FALSE(std::signbit(Shape("s").points[0].x));
  EXPECT_EQ(EncodeCanvasOps({CanvasOp::Update("s", {Num(Prop::kY, -0.0)})}),
            EncodeCanvasOps({CanvasOp::Update("s", {Num(Prop::kY, 0.0)})}));
}

TEST_F(CanvasDocumentTest, EncodeDecodeRoundTripsAndSortsProperties) {
  const std::vector<CanvasOp> ops = {
      CanvasOp::Add("s", Kind::kStroke, {Str(Prop::kText, "t"), Num(Prop::kX, 1)}, Line(2)),
      CanvasOp::Update("s", {Str(Prop::kFill, "none"), Num(Prop::kZ, 2)}),
      CanvasOp::Append("s", Line(1, 5), 2), CanvasOp::Delete("s")};
  std::vector<CanvasOp> out;
  const Status s = DecodeCanvasOps(EncodeCanvasOps(ops), &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.size(), ops.size());
  EXPECT_EQ(out[0].kind, CanvasOp::Kind::kAdd);
  EXPECT_EQ(out[0].shape, Kind::kStroke);
  ASSERT_EQ(out[0].props.size(), 2u);
  EXPECT_EQ(out[0].props[0].prop, Prop::kX);
  EXPECT_EQ(out[0].props[1].text, "t");
  EXPECT_EQ(out[0].points, Line(2));
  EXPECT_EQ(out[1].props[0].prop, Prop::kZ);
  EXPECT_EQ(out[1].props[1].prop, Prop::kFill);
  EXPECT_EQ(out[2].before_last, 2u);
  EXPECT_EQ(out[2].points, Line(1, 5));
  EXPECT_EQ(out[3].kind, CanvasOp::Kind::kDelete);
  EXPECT_EQ(out[3].id, "s");
  EXPECT_EQ(EncodeCanvasOps(out), EncodeCanvasOps(ops));
}

// ---- Refusals: each leaves the document unchanged ---------------------------------------------

TEST_F(CanvasDocumentTest, AddOfAnExistingOrDeletedIdIsInvalidArgument) {
  Populate();
  ExpectRejected({CanvasOp::Add("r1", Kind::kRect)}, StatusCode::kInvalidArgument);
  ExpectRejected({CanvasOp::Add("d1", Kind::kEllipse)}, StatusCode::kInvalidArgument);
  ExpectRejected({CanvasOp::Add("n", Kind::kRect), CanvasOp::Add("n", Kind::kRect)},
                 StatusCode::kInvalidArgument);
  ExpectRejected(
      {CanvasOp::Add("n", Kind::kRect), CanvasOp::Delete("n"), CanvasOp::Add("n", Kind::kRect)},
      StatusCode::kInvalidArgument);
}

TEST_F(CanvasDocumentTest, EditsOfAnIdThatNeverExistedAreNoOps) {
  // As for a deleted shape whose tombstone was collected: the two cannot be told apart.
  Populate();
  const std::string before = doc_.Snapshot();
  ApplyOk({CanvasOp::Update("nope", {Num(Prop::kX, 1)})});
  ApplyOk({CanvasOp::Append("nope", {{1, 1}})});
  ApplyOk({CanvasOp::Delete("nope")});
  EXPECT_EQ(doc_.Snapshot(), before);
  EXPECT_FALSE(doc_.tombstoned("nope"));
}

TEST_F(CanvasDocumentTest, FragmentIsAllOrNothing) {
  Populate();
  ExpectRejected(
      {CanvasOp::Add("new", Kind::kRect), CanvasOp::Update("r1", {Num(Prop::kX, 1)}),
       CanvasOp::Append("s1", {{1, 1}}), CanvasOp::Delete("t1"), CanvasOp::Append("r1", {{1, 1}})},
      StatusCode::kInvalidArgument);
}

// Collect(head) at call k forgets the tombstones that were there at call k-1, with the head
// then as the horizon.
TEST_F(CanvasDocumentTest, CollectForgetsTheTombstonesThatWereThereAtThePreviousCall) {
  Populate();                            // d1 is tombstoned
  EXPECT_TRUE(doc_.Collect(5).empty());  // The first call only takes note.
  ApplyOk({CanvasOp::Delete("s1")});
  std::vector<std::string> collects = doc_.Collect(10);
  ASSERT_EQ(collects.size(), 1u);
  EXPECT_EQ(collects[0], EncodeCanvasOps({CanvasOp::Collect(5, {"d1"})}));
  for (const std::string& c : collects) ApplyOk(c);
  EXPECT_FALSE(doc_.tombstoned("d1"));
  EXPECT_TRUE(doc_.tombstoned("s1"));  // deleted since the call at 5: kept
  EXPECT_EQ(doc_.min_base_seq(), 5u);
  ExpectRejected({CanvasOp::Add("s1", Kind::kRect)}, StatusCode::kInvalidArgument);
  ApplyOk({CanvasOp::Update("d1", {Num(Prop::kX, 1)})});  // a late edit: a no-op
  EXPECT_EQ(doc_.shapes().count("d1"), 0u);
  ApplyOk({CanvasOp::Add("d1", Kind::kRect)});  // the id is free again
  ExpectConsistent(doc_);

  collects = doc_.Collect(20);
  ASSERT_EQ(collects.size(), 1u);
  EXPECT_EQ(collects[0], EncodeCanvasOps({CanvasOp::Collect(10, {"s1"})}));
  ApplyOk(collects[0]);
  EXPECT_TRUE(doc_.tombstones().empty());
  EXPECT_EQ(doc_.min_base_seq(), 10u);
  EXPECT_TRUE(doc_.Collect(30).empty());  // nothing left
  ExpectConsistent(doc_);
}

TEST_F(CanvasDocumentTest, ACollectForgetsWhatItNamesWhereverItIsApplied) {
  // A replica holds no notes of its own: it forgets exactly the ids the host named.
  Populate();
  ApplyOk({CanvasOp::Delete("r1")});
  ApplyOk({CanvasOp::Collect(3, {"d1", "zz"})});  // zz: never deleted here, a no-op
  EXPECT_FALSE(doc_.tombstoned("d1"));
  EXPECT_TRUE(doc_.tombstoned("r1"));
  EXPECT_EQ(doc_.min_base_seq(), 3u);
  ExpectRejected({CanvasOp::Collect(2, {"r1"})}, StatusCode::kInvalidArgument);  // back in time
  ExpectRejected({CanvasOp::Collect(4, {"s1"})}, StatusCode::kInvalidArgument);  // live
  ExpectRejected({CanvasOp::Collect(4, {})});
  ExpectRejected({CanvasOp::Collect(4, {"r1", "d1"})});  // out of order
  ExpectRejected({CanvasOp::Collect(4, {"r1", "r1"})});
  ExpectRejected({CanvasOp::Collect(4, {""})});
  ExpectRejected({CanvasOp::Collect(4, {"r1"}), CanvasOp::Delete("t1")});
  ExpectRejected({CanvasOp::Delete("t1"), CanvasOp::Collect(4, {"r1"})});
  ApplyOk({CanvasOp::Collect(3, {"r1"})});  // the same horizon again is fine
  EXPECT_TRUE(doc_.tombstones().empty());
  CanvasType type;
  EXPECT_TRUE(type.IsHousekeeping(EncodeCanvasOps({CanvasOp::Collect(1, {"a"})})));
  EXPECT_FALSE(type.IsHousekeeping(EncodeCanvasOps({CanvasOp::Delete("r1")})));
  EXPECT_FALSE(type.IsHousekeeping(""));
}

TEST_F(CanvasDocumentTest, DeletingShapesForEverNeverExhaustsTheIds) {
  // 1.2 million ids added and deleted, past kCanvasMaxIds, with a collect every 50 fragments.
  uint64_t seq = 0;
  size_t most = 0;
  for (int f = 0; f < 600; ++f) {
    std::vector<CanvasOp> ops;
    for (int i = 0; i < 1000; ++i) {
      const std::string id = std::to_string(f) + "-" + std::to_string(i);
      ops.push_back(CanvasOp::Add(id, Kind::kRect));
      ops.push_back(CanvasOp::Delete(id));
    }
    ASSERT_TRUE(doc_.Apply(EncodeCanvasOps(ops)).ok()) << f;
    ++seq;
    most = std::max(most, doc_.tombstones().size());
    if (f % 50 == 49) {
      std::vector<std::string> collects = doc_.Collect(seq);
      for (const std::string& c : collects) ApplyOk(c);
      seq += collects.size();
    }
  }
  EXPECT_LE(most, 100000u);  // two intervals' worth
  ExpectConsistent(doc_);
}

TEST_F(CanvasDocumentTest, TheHorizonRoundTripsThroughASnapshotAndTheNotesDoNot) {
  Populate();
  EXPECT_TRUE(doc_.Collect(4).empty());
  for (const std::string& c : doc_.Collect(6)) ApplyOk(c);
  ApplyOk({CanvasOp::Delete("r1")});
  const std::string snapshot = doc_.Snapshot();
  CanvasDocument copy;
  ASSERT_TRUE(copy.Restore(snapshot).ok());
  EXPECT_EQ(copy.Snapshot(), snapshot);
  EXPECT_EQ(copy.min_base_seq(), 4u);
  EXPECT_EQ(copy.tombstones(), doc_.tombstones());
  // A restored copy (a new root) starts over: its first call only takes note.
  EXPECT_TRUE(copy.Collect(8).empty());
  EXPECT_EQ(copy.Collect(9).size(), 1u);
}

TEST_F(CanvasDocumentTest, RestoreChecksTheHorizon) {
  Populate();
  const std::string uncollected = doc_.Snapshot();  // ends after its tombstones
  ByteWriter w;
  w.PutVarint(300);
  CanvasDocument ok;
  ASSERT_TRUE(ok.Restore(uncollected + w.Release()).ok());
  EXPECT_EQ(ok.min_base_seq(), 300u);
  ExpectRestoreRejected(uncollected + std::string(1, '\0'));  // 0 is written as nothing
  ExpectRestoreRejected(uncollected + std::string(1, '\x80'));
  ExpectRestoreRejected(uncollected + "\x01\x01");
}

TEST_F(CanvasDocumentTest, AppendToAShapeThatIsNotAStrokeIsInvalidArgument) {
  Populate();
  ExpectRejected({CanvasOp::Append("r1", {{1, 1}})}, StatusCode::kInvalidArgument);
  ExpectRejected({CanvasOp::Append("t1", {{1, 1}})}, StatusCode::kInvalidArgument);
}

TEST_F(CanvasDocumentTest, BeforeLastBeyondThePointsIsOutOfRange) {
  Populate();
  ExpectRejected({CanvasOp::Append("s1", {{1, 1}}, 4)}, StatusCode::kOutOfRange);
  ExpectRejected({CanvasOp::Append("s1", {{1, 1}}, kCanvasMaxStrokePoints + 1)});
}

TEST_F(CanvasDocumentTest, NaNAndInfinityAreRefusedEverywhere) {
  Populate();
  for (double bad : {kNaN, kInf, -kInf}) {
    SCOPED_TRACE(bad);
    for (Prop p : {Prop::kX, Prop::kY, Prop::kW, Prop::kH, Prop::kZ, Prop::kWidth}) {
      ExpectRejected({CanvasOp::Add("n", Kind::kRect, {Num(p, bad)})});
      ExpectRejected({CanvasOp::Update("r1", {Num(p, bad)})});
    }
    ExpectRejected({CanvasOp::Add("n", Kind::kStroke, {}, {{0, 0}, {bad, 1}})});
    ExpectRejected({CanvasOp::Add("n", Kind::kStroke, {}, {{0, bad}})});
    ExpectRejected({CanvasOp::Append("s1", {{1, 1}, {1, bad}})});
    ExpectRejected({CanvasOp::Append("s1", {{bad, 1}})});
  }
}

TEST_F(CanvasDocumentTest, OutOfRangeNumbersAreRefused) {
  Populate();
  for (Prop p : {Prop::kX, Prop::kY, Prop::kW, Prop::kH}) {
    ExpectRejected({CanvasOp::Update("r1", {Num(p, 1e7 + 1)})});
    ExpectRejected({CanvasOp::Update("r1", {Num(p, -1e8)})});
  }
  ExpectRejected({CanvasOp::Append("s1", {{1e7 + 1, 0}})});
  ExpectRejected({CanvasOp::Append("s1", {{0, -1e300}})});
  ExpectRejected({CanvasOp::Add("n", Kind::kStroke, {}, {{2e7, 0}})});
  ExpectRejected({CanvasOp::Update("r1", {Num(Prop::kZ, 2e15)})});
  ExpectRejected({CanvasOp::Update("r1", {Num(Prop::kWidth, -1)})});
  ExpectRejected({CanvasOp::Update("r1", {Num(Prop::kWidth, 1000.5)})});
  // The bounds themselves are fine.
  ApplyOk({CanvasOp::Update("r1", {Num(Prop::kX, 1e7), Num(Prop::kY, -1e7), Num(Prop::kZ, -1e15),
                                   Num(Prop::kWidth, 1000)}),
           CanvasOp::Append("s1", {{-1e7, 1e7}})});
}

TEST_F(CanvasDocumentTest, TenMillionPointStrokeIsRefusedBeforeAllocating) {
  Populate();
  // Claims 10,000,000 points and carries two: refused on the count, without reading or
  // allocating for the rest (it would be kMalformed "truncated" otherwise).
  for (bool append : {false, true}) {
    ByteWriter w;
    w.PutVarint(1);
    if (append) {
      w.PutByte(static_cast<uint8_t>(CanvasOp::Kind::kAppend));
      w.PutString("s1");
      w.PutVarint(0);
    } else {
      w.PutByte(static_cast<uint8_t>(CanvasOp::Kind::kAdd));
      w.PutString("huge");
      w.PutByte(static_cast<uint8_t>(Kind::kStroke));
      w.PutVarint(0);  // no properties
    }
    w.PutVarint(10000000);
    for (int i = 0; i < 4 * 8; ++i) w.PutByte(0);
    SCOPED_TRACE(append ? "append" : "add");
    ExpectRejected(w.Release(), StatusCode::kResourceExhausted);
  }
  ByteWriter huge;
  huge.PutVarint(1);
  huge.PutByte(static_cast<uint8_t>(CanvasOp::Kind::kAppend));
  huge.PutString("s1");
  huge.PutVarint(0);
  huge.PutVarint(UINT64_MAX);
  ExpectRejected(huge.Release(), StatusCode::kResourceExhausted);
}

TEST_F(CanvasDocumentTest, StrokeHoldsAtMostTheLimitOfPoints) {
  ApplyOk({CanvasOp::Add("s", Kind::kStroke, {}, Line(kCanvasMaxStrokePoints - 10))});
  ExpectRejected({CanvasOp::Append("s", Line(11))}, StatusCode::kResourceExhausted);
  // Appends within one fragment add up.
  ExpectRejected({CanvasOp::Append("s", Line(6)), CanvasOp::Append("s", Line(5))},
                 StatusCode::kResourceExhausted);
  ExpectRejected({CanvasOp::Add("t", Kind::kStroke, {}, Line(kCanvasMaxStrokePoints + 1))},
                 StatusCode::kResourceExhausted);
  ApplyOk({CanvasOp::Append("s", Line(10))});
  EXPECT_EQ(doc_.shapes().at("s").points.size(), kCanvasMaxStrokePoints);
}

TEST_F(CanvasDocumentTest, TooManyShapesAreRefused) {
  int n = 0;
  for (size_t f = 0; f < kCanvasMaxShapes / kCanvasMaxOpsPerFragment; ++f) {
    std::vector<CanvasOp> ops;
    for (size_t i = 0; i < kCanvasMaxOpsPerFragment; ++i) {
      ops.push_back(CanvasOp::Add("r" + std::to_string(n++), Kind::kRect));
    }
    ASSERT_NO_FATAL_FAILURE(ApplyOk(ops));
  }
  ASSERT_EQ(doc_.shapes().size(), kCanvasMaxShapes);
  ExpectRejected({CanvasOp::Add("one-more", Kind::kRect)}, StatusCode::kResourceExhausted);
  // A delete in the same fragment makes room.
  ApplyOk({CanvasOp::Delete("r0"), CanvasOp::Add("one-more", Kind::kRect)});
  ExpectRejected({CanvasOp::Add("another", Kind::kRect)}, StatusCode::kResourceExhausted);
}

TEST_F(CanvasDocumentTest, OverlongStringsAndIdsAreRefused) {
  Populate();
  ExpectRejected({CanvasOp::Update("r1", {Str(Prop::kColor, std::string(33, 'c'))})});
  ExpectRejected({CanvasOp::Update("r1", {Str(Prop::kFill, std::string(33, 'f'))})});
  ExpectRejected({CanvasOp::Update("r1", {Str(Prop::kText, std::string(4097, 't'))})});
  ExpectRejected({CanvasOp::Add("t2", Kind::kText, {Str(Prop::kText, std::string(5000, 't'))})});
  ExpectRejected({CanvasOp::Add(std::string(65, 'i'), Kind::kRect)});
  ExpectRejected({CanvasOp::Add("", Kind::kRect)});
  ExpectRejected({CanvasOp::Delete("")});
  // At the limits: accepted.
  ApplyOk({CanvasOp::Add(
      std::string(64, 'i'), Kind::kText,
      {Str(Prop::kColor, std::string(32, 'c')), Str(Prop::kFill, std::string(32, 'f')),
       Str(Prop::kText, std::string(4096, 't'))})});
}

TEST_F(CanvasDocumentTest, StringsThatAreNotUtf8AreRefused) {
  Populate();
  for (const char* bad : {"\xff", "a\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    SCOPED_TRACE(bad);
    ExpectRejected({CanvasOp::Update("r1", {Str(Prop::kText, bad)})});
    ExpectRejected({CanvasOp::Add(std::string("x") + bad, Kind::kRect)});
  }
  ApplyOk({CanvasOp::Update("r1", {Str(Prop::kText, "h\xc3\xa9llo \xf0\x9f\x8e\xa8")})});
}

TEST_F(CanvasDocumentTest, UnknownKindsOperationsAndPropertiesAreRefused) {
  Populate();
  auto add = [](uint8_t kind) {
    ByteWriter w;
    w.PutVarint(1);
    w.PutByte(1);
    w.PutString("n");
    w.PutByte(kind);
    w.PutVarint(0);
    w.PutVarint(0);
    return w.Release();
  };
  for (uint8_t kind : {0, 5, 0xff}) ExpectRejected(add(kind));
  for (uint8_t op : {0, 5, 0x7f, 0xff}) {
    ByteWriter w;
    w.PutVarint(1);
    w.PutByte(op);
    w.PutString("r1");
    ExpectRejected(w.Release());
  }
  auto update = [](std::vector<uint8_t> props) {
    ByteWriter w;
    w.PutVarint(1);
    w.PutByte(static_cast<uint8_t>(CanvasOp::Kind::kUpdate));
    w.PutString("r1");
    w.PutVarint(props.size());
    for (uint8_t p : props) {
      w.PutByte(p);
      if (p >= 1 && p <= 6) {
        for (int i = 0; i < 8; ++i) w.PutByte(0);
      } else {
        w.PutString("v");
      }
    }
    return w.Release();
  };
  ApplyOk(update({1, 2, 7}));  // the encoding itself is right
  for (uint8_t p : {0, 10, 0xff}) ExpectRejected(update({p}));
  ExpectRejected(update({2, 1}));                          // out of order
  ExpectRejected(update({1, 1}));                          // repeated
  ExpectRejected(update({}));                              // an update writes something
  ExpectRejected(update({1, 2, 3, 4, 5, 6, 7, 8, 9, 9}));  // more properties than there are
  ExpectRejected({CanvasOp::Append("s1", {})});            // an append carries points
  ExpectRejected({CanvasOp::Add("n", Kind::kRect, {}, {{1, 1}})});  // only strokes have points
}

TEST_F(CanvasDocumentTest, TruncatedPayloadIsRejected) {
  Populate();
  const std::string payload = EncodeCanvasOps(
      {CanvasOp::Add("n", Kind::kStroke, {Num(Prop::kX, 1), Str(Prop::kColor, "#123")}, Line(2)),
       CanvasOp::Update("r1", {Num(Prop::kY, 3)}), CanvasOp::Append("s1", Line(2), 1),
       CanvasOp::Delete("t1")});
  for (size_t n = 0; n < payload.size(); ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    ExpectRejected(std::string_view(payload).substr(0, n));
  }
  ApplyOk(payload);
}

TEST_F(CanvasDocumentTest, TrailingBytesAndTooManyOpsAreRejected) {
  Populate();
  ExpectRejected(EncodeCanvasOps({CanvasOp::Delete("r1")}) + "x");
  ExpectRejected(EncodeCanvasOps({}) + std::string(1, '\0'));
  ByteWriter w;
  w.PutVarint(kCanvasMaxOpsPerFragment + 1);
  ExpectRejected(w.Release());
  ByteWriter huge;
  huge.PutVarint(UINT64_MAX);
  ExpectRejected(huge.Release());
  ByteWriter more;  // a count larger than the ops that follow
  more.PutVarint(3);
  more.PutByte(static_cast<uint8_t>(CanvasOp::Kind::kDelete));
  more.PutString("r1");
  ExpectRejected(more.Release());
}

TEST_F(CanvasDocumentTest, RandomAndMutatedPayloadsNeverCrashAndChangeNothingWhenRejected) {
  Populate();
  const std::vector<std::string> seeds = {
      EncodeCanvasOps({CanvasOp::Add("n", Kind::kStroke, {Num(Prop::kX, 1)}, Line(3))}),
      EncodeCanvasOps({CanvasOp::Update("r1", {Num(Prop::kX, 2), Str(Prop::kText, "abc")}),
                       CanvasOp::Append("s1", Line(2), 1)}),
      EncodeCanvasOps({CanvasOp::Delete("t1"), CanvasOp::Update("d1", {Num(Prop::kZ, 4)})}),
  };
  std::mt19937 rng(4242);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string payload;
    if (i % 4 == 0) {
      payload.resize(rng() % 48);
      for (char& c : payload) c = static_cast<char>(rng());
      if (!payload.empty()) payload[0] = static_cast<char>(rng() % 3);
    } else {
      payload = seeds[rng() % seeds.size()];
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        const size_t at = rng() % payload.size();
        switch (rng() % 3) {
          case 0:
            payload[at] = static_cast<char>(rng());
            break;
          case 1:
            payload.erase(at, 1 + rng() % 4);
            break;
          default:
            payload.insert(at, 1, static_cast<char>(rng()));
        }
        if (payload.empty()) break;
      }
    }
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Apply(payload);
    if (s.ok()) {
      ++accepted;
      ExpectConsistent(doc_);
      ASSERT_TRUE(doc_.Restore(before).ok());
    } else {
      ASSERT_EQ(doc_.Snapshot(), before) << "payload " << i << " " << s.ToString();
    }
  }
  EXPECT_GT(accepted, 0);
}

// ---- Snapshot / Restore ----------------------------------------------------------------------

// Random valid fragments against a document: ops on existing shapes mostly, ids with a prefix
// so that two generators never add the same id.
class FragmentGenerator {
 public:
  FragmentGenerator(uint32_t seed, std::string prefix) : rng_(seed), prefix_(std::move(prefix)) {}

  std::mt19937& rng() { return rng_; }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }

  // A small set of values, so that concurrent writes often collide.
  double Coordinate() { return static_cast<double>(static_cast<int>(Below(41)) - 20) / 4; }
  std::vector<CanvasPoint> Points(size_t max) {
    std::vector<CanvasPoint> points(1 + Below(static_cast<uint32_t>(max)));
    for (CanvasPoint& p : points) p = {Coordinate(), Coordinate()};
    return points;
  }

  std::vector<CanvasPropWrite> Props() {
    static const char* const kColors[] = {"#ff0000", "#00ff00", "#0000ff", "none", ""};
    std::vector<CanvasPropWrite> props;
    const int n = 1 + static_cast<int>(Below(3));
    for (int i = 0; i < n; ++i) {
      // x, z, width and color more often than the rest.
      static const Prop kProps[] = {Prop::kX,     Prop::kX,     Prop::kY,    Prop::kW,
                                    Prop::kH,     Prop::kZ,     Prop::kZ,    Prop::kWidth,
                                    Prop::kColor, Prop::kColor, Prop::kFill, Prop::kText};
      const Prop p = kProps[Below(std::size(kProps))];
      bool seen = false;
      for (const CanvasPropWrite& w : props) seen = seen || w.prop == p;
      if (seen) continue;
      switch (p) {
        case Prop::kZ:
          props.push_back(Num(p, static_cast<double>(Below(7)) - 3));
          break;
        case Prop::kWidth:
          props.push_back(Num(p, Below(9)));
          break;
        case Prop::kColor:
        case Prop::kFill:
          props.push_back(Str(p, kColors[Below(std::size(kColors))]));
          break;
        case Prop::kText:
          props.push_back(Str(p, std::string(Below(4), static_cast<char>('a' + Below(26)))));
          break;
        default:
          props.push_back(Num(p, Coordinate()));
      }
    }
    return props;
  }

  // A random key of m, or nullptr.
  template <typename Map>
  const typename Map::value_type* Pick(const Map& m) {
    if (m.empty()) return nullptr;
    auto it = m.begin();
    std::advance(it, Below(static_cast<uint32_t>(m.size())));
    return &*it;
  }

  // One op valid on doc. before_last: whether appends may insert before the end (transforms
  // produce those; authors never do).
  CanvasOp Op(const CanvasDocument& doc, bool before_last) {
    const uint32_t roll = Below(100);
    const auto* shape = Pick(doc.shapes());
    const std::string* dead = doc.tombstones().empty() ? nullptr : &*Pick(doc.tombstones());
    if (roll < 15 || shape == nullptr) {
      const Kind kind = static_cast<Kind>(1 + Below(4));
      return CanvasOp::Add(
          NextId(), kind, Below(2) ? Props() : std::vector<CanvasPropWrite>{},
          kind == Kind::kStroke && Below(4) ? Points(3) : std::vector<CanvasPoint>{});
    }
    if (roll < 22 && dead != nullptr) {
      // An edit of a deleted shape: a no-op that must stay one.
      switch (Below(3)) {
        case 0:
          return CanvasOp::Update(*dead, Props());
        case 1:
          return CanvasOp::Append(*dead, Points(2));
        default:
          return CanvasOp::Delete(*dead);
      }
    }
    if (roll < 60) {
      // An append, to a stroke when there is one.
      const std::pair<const std::string, CanvasShape>* stroke = nullptr;
      for (int tries = 0; tries < 8 && stroke == nullptr; ++tries) {
        const auto* s = Pick(doc.shapes());
        if (s->second.kind == Kind::kStroke) stroke = s;
      }
      if (stroke != nullptr) {
        const uint64_t n = stroke->second.points.size();
        const uint64_t k = before_last && Below(3) == 0 ? Below(static_cast<uint32_t>(n + 1)) : 0;
        return CanvasOp::Append(stroke->first, Points(3), k);
      }
    }
    if (roll < 70) return CanvasOp::Delete(shape->first);
    if (roll < 80) {
      return CanvasOp::Update(shape->first, {Num(Prop::kZ, Below(2) ? doc.FrontZ() : doc.BackZ())});
    }
    return CanvasOp::Update(shape->first, Props());
  }

  // A fragment of 1 to max_ops ops, valid on doc (which it leaves as it found it).
  std::string Fragment(const CanvasDocument& doc, int max_ops, bool before_last) {
    CanvasDocument scratch;
    EXPECT_TRUE(scratch.Restore(doc.Snapshot()).ok());
    std::vector<CanvasOp> ops;
    const int n = 1 + static_cast<int>(Below(static_cast<uint32_t>(max_ops)));
    for (int i = 0; i < n; ++i) {
      CanvasOp op = Op(scratch, before_last);
      const Status s = scratch.Apply(EncodeCanvasOps({op}));
      EXPECT_TRUE(s.ok()) << s.ToString();
      ops.push_back(std::move(op));
    }
    return EncodeCanvasOps(ops);
  }

  std::string NextId() { return prefix_ + "-" + std::to_string(next_id_++); }

 private:
  std::mt19937 rng_;
  std::string prefix_;
  int next_id_ = 0;
};

// A random canvas of about `ops` single-op fragments.
CanvasDocument RandomCanvas(uint32_t seed, int ops) {
  FragmentGenerator gen(seed, "s");
  CanvasDocument doc;
  for (int i = 0; i < ops; ++i) {
    const Status s = doc.Apply(gen.Fragment(doc, 1, /*before_last=*/true));
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return doc;
}

TEST_F(CanvasDocumentTest, SnapshotRestoreRoundTripsRandomCanvases) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE(seed);
    CanvasDocument doc = RandomCanvas(seed, 40);
    const std::string snapshot = doc.Snapshot();
    CanvasDocument copy;
    const Status s = copy.Restore(snapshot);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(copy.Snapshot(), snapshot);
    EXPECT_EQ(copy.ToJson(), doc.ToJson());
    EXPECT_EQ(copy.tombstones(), doc.tombstones());
    EXPECT_EQ(copy.point_count(), doc.point_count());
    ExpectConsistent(copy);
  }
}

TEST_F(CanvasDocumentTest, SnapshotBytesDependOnlyOnTheState) {
  CanvasDocument a, b;
  ASSERT_TRUE(a.Apply(EncodeCanvasOps({CanvasOp::Add("x", Kind::kRect),
                                       CanvasOp::Add("y", Kind::kStroke, {}, Line(2)),
                                       CanvasOp::Add("z", Kind::kText), CanvasOp::Delete("z")}))
                  .ok());
  ASSERT_TRUE(b.Apply(EncodeCanvasOps({CanvasOp::Add("z", Kind::kText), CanvasOp::Delete("z"),
                                       CanvasOp::Add("y", Kind::kStroke, {}, Line(1)),
                                       CanvasOp::Add("x", Kind::kRect, {Num(Prop::kX, 1)})}))
                  .ok());
  EXPECT_NE(a.Snapshot(), b.Snapshot());
  ASSERT_TRUE(b.Apply(EncodeCanvasOps({CanvasOp::Append("y", Line(1, 1)),
                                       CanvasOp::Update("x", {Num(Prop::kX, 0)})}))
                  .ok());
  EXPECT_EQ(a.Snapshot(), b.Snapshot());
}

TEST_F(CanvasDocumentTest, RestoreReplacesTheState) {
  Populate();
  CanvasDocument other = RandomCanvas(7, 30);
  ASSERT_TRUE(doc_.Restore(other.Snapshot()).ok());
  EXPECT_EQ(doc_.Snapshot(), other.Snapshot());
  EXPECT_EQ(doc_.point_count(), other.point_count());
  ASSERT_TRUE(doc_.Restore(CanvasDocument().Snapshot()).ok());
  EXPECT_TRUE(doc_.shapes().empty());
  EXPECT_TRUE(doc_.tombstones().empty());
  EXPECT_EQ(doc_.point_count(), 0u);
}

TEST_F(CanvasDocumentTest, TruncatedSnapshotIsRejected) {
  CanvasDocument other;
  ASSERT_TRUE(other
                  .Apply(EncodeCanvasOps({CanvasOp::Add("p", Kind::kStroke, {}, Line(2)),
                                          CanvasOp::Add("q", Kind::kText), CanvasOp::Delete("q")}))
                  .ok());
  const std::string snapshot = other.Snapshot();
  Populate();
  for (size_t n = 0; n < snapshot.size(); ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    ExpectRestoreRejected(std::string_view(snapshot).substr(0, n));
  }
  // (One byte more would be read as the horizon: RestoreChecksTheHorizon.)
  ExpectRestoreRejected(snapshot + "xy");
}

// A snapshot written field by field, to break one thing at a time.
struct ShapeRecord {
  std::string id = "a";
  uint8_t kind = 2;
  double numbers[6] = {0, 0, 0, 0, 0, 1};
  std::string strings[3] = {"#000000", "none", ""};
  std::vector<CanvasPoint> points;
};

std::string SnapshotOf(const std::vector<ShapeRecord>& shapes,
                       const std::vector<std::string>& tombstones) {
  ByteWriter w;
  w.PutVarint(shapes.size());
  for (const ShapeRecord& s : shapes) {
    w.PutString(s.id);
    w.PutByte(s.kind);
    // The 8 little-endian bytes of each double, as the canvas writes them.
    auto put = [&w](double v) {
      uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      for (int i = 0; i < 8; ++i) w.PutByte(static_cast<uint8_t>(bits >> (8 * i)));
    };
    for (double v : s.numbers) put(v);
    for (const std::string& str : s.strings) w.PutString(str);
    w.PutVarint(s.points.size());
    for (const CanvasPoint& p : s.points) {
      put(p.x);
      put(p.y);
    }
  }
  w.PutVarint(tombstones.size());
  for (const std::string& id : tombstones) w.PutString(id);
  return w.Release();
}

TEST_F(CanvasDocumentTest, HandWrittenSnapshotMatchesTheEncoding) {
  ShapeRecord stroke;
  stroke.id = "b";
  stroke.kind = 1;
  stroke.points = Line(2);
  const std::string snapshot = SnapshotOf({ShapeRecord(), stroke}, {"c"});
  ASSERT_TRUE(doc_.Restore(snapshot).ok());
  EXPECT_EQ(doc_.Snapshot(), snapshot);
  EXPECT_EQ(doc_.shapes().at("b").points, Line(2));
  EXPECT_EQ(doc_.tombstones().count("c"), 1u);
}

TEST_F(CanvasDocumentTest, SnapshotWithBadContentIsRejected) {
  Populate();
  ShapeRecord a, b;
  b.id = "b";
  ExpectRestoreRejected(SnapshotOf({b, a}, {}));  // out of order
  ExpectRestoreRejected(SnapshotOf({a, a}, {}));  // repeated
  ExpectRestoreRejected(SnapshotOf({a}, {"a"}));  // live and deleted
  ExpectRestoreRejected(SnapshotOf({}, {"d", "c"}));
  ExpectRestoreRejected(SnapshotOf({}, {"c", "c"}));
  ExpectRestoreRejected(SnapshotOf({}, {""}));
  for (int f = 0; f < 6; ++f) {
    for (double bad : {kNaN, kInf, 1e16}) {
      ShapeRecord r;
      r.numbers[f] = bad;
      ExpectRestoreRejected(SnapshotOf({r}, {}));
    }
  }
  ShapeRecord kind;
  kind.kind = 9;
  ExpectRestoreRejected(SnapshotOf({kind}, {}));
  ShapeRecord rect_with_points;
  rect_with_points.points = Line(1);
  ExpectRestoreRejected(SnapshotOf({rect_with_points}, {}));
  ShapeRecord bad_point;
  bad_point.kind = 1;
  bad_point.points = {{kNaN, 0}};
  ExpectRestoreRejected(SnapshotOf({bad_point}, {}));
  ShapeRecord long_text;
  long_text.strings[2] = std::string(4097, 't');
  ExpectRestoreRejected(SnapshotOf({long_text}, {}));
  ShapeRecord too_many;
  too_many.kind = 1;
  too_many.points = Line(kCanvasMaxStrokePoints + 1);
  ExpectRestoreRejected(SnapshotOf({too_many}, {}), StatusCode::kResourceExhausted);
  ByteWriter huge;
  huge.PutVarint(UINT64_MAX);
  ExpectRestoreRejected(huge.Release(), StatusCode::kResourceExhausted);
  ByteWriter dead;
  dead.PutVarint(0);
  dead.PutVarint(UINT64_MAX);
  ExpectRestoreRejected(dead.Release(), StatusCode::kResourceExhausted);
}

TEST_F(CanvasDocumentTest, RandomAndMutatedSnapshotsNeverCrashAndChangeNothingWhenRejected) {
  Populate();
  const std::string good = RandomCanvas(3, 20).Snapshot();
  std::mt19937 rng(99);
  for (int i = 0; i < 5000; ++i) {
    std::string snapshot;
    if (i % 2 == 0) {
      snapshot.resize(rng() % 32);
      for (char& c : snapshot) c = static_cast<char>(rng());
      if (!snapshot.empty()) snapshot[0] = static_cast<char>(rng() % 3);
    } else {
      snapshot = good;
      snapshot[rng() % snapshot.size()] = static_cast<char>(rng());
    }
    const std::string before = doc_.Snapshot();
    const Status s = doc_.Restore(snapshot);
    if (s.ok()) {
      ExpectConsistent(doc_);
      ASSERT_TRUE(doc_.Restore(before).ok());
    } else {
      ASSERT_EQ(doc_.Snapshot(), before) << "snapshot " << i;
    }
  }
}

// ---- JSON fragments --------------------------------------------------------------------------

class CanvasJsonTest : public CanvasDocumentTest {
 protected:
  // Parses json, expects success and that FragmentToJson renders want.
  std::string Parse(const std::string& json, const std::string& want) {
    Result<std::string> payload = type_.FragmentFromJson(json);
    EXPECT_TRUE(payload.ok()) << json << ": " << payload.status().ToString();
    if (!payload.ok()) return "";
    EXPECT_EQ(type_.FragmentToJson(payload.value()), want);
    return payload.value();
  }
  void ExpectBadJson(const std::string& json) {
    Result<std::string> payload = type_.FragmentFromJson(json);
    EXPECT_EQ(payload.status().code(), StatusCode::kInvalidArgument) << json;
    EXPECT_FALSE(payload.status().message().empty()) << json;
  }
};

TEST_F(CanvasJsonTest, ParsesEveryEditForm) {
  ApplyOk(Parse(
      R"({"add":{"id":"s1","kind":"stroke","points":[[0,0],[5,5]],"color":"#ff0000","width":3}})",
      R"({"add":{"id":"s1","kind":"stroke","width":3,"color":"#ff0000","points":[[0,0],[5,5]]}})"));
  ApplyOk(Parse(R"({"add":{"id":"r1","kind":"rect","x":10,"y":10,"w":100,"h":50.5,"z":2}})",
                R"({"add":{"id":"r1","kind":"rect","x":10,"y":10,"w":100,"h":50.5,"z":2}})"));
  ApplyOk(Parse(R"({"add":{"id":"t1","kind":"text","text":"hello","fill":"none"}})",
                R"({"add":{"id":"t1","kind":"text","fill":"none","text":"hello"}})"));
  ApplyOk(Parse(R"({"update":{"id":"s1","x":10,"color":"#00ff00"}})",
                R"({"update":{"id":"s1","x":10,"color":"#00ff00"}})"));
  ApplyOk(Parse(R"({"append":{"id":"s1","points":[[6,6],[7,-8.25]]}})",
                R"({"append":{"id":"s1","points":[[6,6],[7,-8.25]]}})"));
  ApplyOk(Parse(R"({"append":{"id":"s1","points":[[1,1]],"before_last":2}})",
                R"({"append":{"id":"s1","points":[[1,1]],"before_last":2}})"));
  ApplyOk(Parse(R"({"front":"r1","z":3})", R"({"update":{"id":"r1","z":3}})"));
  ApplyOk(Parse(R"({"back":"t1","z":-1})", R"({"update":{"id":"t1","z":-1}})"));
  ApplyOk(Parse(R"({"update":{"id":"s1","z":7}})", R"({"update":{"id":"s1","z":7}})"));
  ApplyOk(Parse(R"({"delete":"r1"})", R"({"delete":"r1"})"));
  EXPECT_EQ(doc_.ToJson(), R"({"shapes":[)"
                           R"({"id":"t1","kind":"text","x":0,"y":0,"w":0,"h":0,"z":-1,"width":1,)"
                           R"("color":"#000000","fill":"none","text":"hello"},)"
                           R"({"id":"s1","kind":"stroke","x":10,"y":0,"w":0,"h":0,"z":7,"width":3,)"
                           R"("color":"#00ff00","fill":"none","text":"",)"
                           R"("points":[[0,0],[5,5],[1,1],[6,6],[7,-8.25]]}]})");
}

TEST_F(CanvasJsonTest, AnArrayIsOneFragment) {
  const std::string json =
      R"([{"add":{"id":"a","kind":"ellipse","w":4}},{"update":{"id":"a","h":2}},)"
      R"({"delete":"a"}])";
  const std::string payload = Parse(json, json);
  std::vector<CanvasOp> ops;
  ASSERT_TRUE(DecodeCanvasOps(payload, &ops).ok());
  ASSERT_EQ(ops.size(), 3u);
  ApplyOk(payload);
  EXPECT_EQ(doc_.tombstones().count("a"), 1u);
  // All or nothing here too.
  const std::string bad =
      Parse(R"([{"add":{"id":"b","kind":"rect"}},{"add":{"id":"b","kind":"text"}}])",
            R"([{"add":{"id":"b","kind":"rect"}},{"add":{"id":"b","kind":"text"}}])");
  ExpectRejected(bad, StatusCode::kInvalidArgument);
}

TEST_F(CanvasJsonTest, ACollectReadsBackButStandsAlone) {
  EXPECT_EQ(Parse(R"({"collect":{"horizon":7,"ids":["a","b"]}})",
                  R"({"collect":{"horizon":7,"ids":["a","b"]}})"),
            EncodeCanvasOps({CanvasOp::Collect(7, {"a", "b"})}));
  CanvasType type;
  for (const char* json :
       {R"({"collect":7})", R"({"collect":{"horizon":-1,"ids":["a"]}})",
        R"({"collect":{"horizon":1,"ids":[]}})", R"({"collect":{"horizon":1,"ids":["b","a"]}})",
        R"({"collect":{"horizon":1,"ids":[1]}})", R"({"collect":{"horizon":1}})",
        R"([{"collect":{"horizon":1,"ids":["a"]}},{"delete":"a"}])"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(type.FragmentFromJson(json).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(CanvasJsonTest, BadJsonEditsAreInvalidArgument) {
  for (const char* json : {
           "",
           "not json",
           "[]",
           "{}",
           "null",
           "3",
           R"({"set":["k",1]})",
           R"({"add":{"id":"a"}})",                  // no kind
           R"({"add":{"id":"a","kind":"circle"}})",  // unknown kind
           R"({"add":{"id":"a","kind":7}})",
           R"({"add":{"kind":"rect"}})",  // no id
           R"({"add":{"id":5,"kind":"rect"}})",
           R"({"add":{"id":"","kind":"rect"}})",
           R"({"add":{"id":"a","kind":"rect","points":[[1,1]]}})",  // only strokes have points
           R"({"add":{"id":"a","kind":"rect","colour":"red"}})",    // unknown property
           R"({"add":{"id":"a","kind":"rect","x":"1"}})",           // wrong type
           R"({"add":{"id":"a","kind":"rect","color":1}})",
           R"({"add":{"id":"a","kind":"rect","x":true}})",
           R"({"add":{"id":"a","kind":"rect","x":1e400}})",  // infinite
           R"({"add":{"id":"a","kind":"rect","x":10000001}})",
           R"({"add":{"id":"a","kind":"rect","width":-1}})",
           R"({"add":{"id":"a","kind":"stroke","points":[[1]]}})",
           R"({"add":{"id":"a","kind":"stroke","points":[[1,2,3]]}})",
           R"({"add":{"id":"a","kind":"stroke","points":[["1",2]]}})",
           R"({"add":{"id":"a","kind":"stroke","points":{"x":1}}})",
           R"({"add":"a"})",
           R"({"update":{"id":"a"}})",  // writes nothing
           R"({"update":{"id":"a","kind":"rect"}})",
           R"({"update":{"id":"a","points":[[1,1]]}})",
           R"({"update":{"x":1}})",
           R"({"append":{"id":"a"}})",
           R"({"append":{"id":"a","points":[]}})",
           R"({"append":{"id":"a","points":[[1,1]],"x":1}})",
           R"({"append":{"id":"a","points":[[1,1]],"before_last":-1}})",
           R"({"append":{"id":"a","points":[[1,1]],"before_last":1.5}})",
           R"({"delete":5})",
           R"({"delete":["a"]})",
           R"({"front":"a"})",  // the author supplies z
           R"({"front":"a","z":"top"})",
           R"({"front":"a","back":"b"})",
           R"({"add":{"id":"a","kind":"rect"},"delete":"b"})",
           R"([{"delete":"a"},{"nope":1}])",
       }) {
    SCOPED_TRACE(json);
    ExpectBadJson(json);
  }
  ExpectBadJson(R"({"update":{"id":"a","text":")" + std::string(4097, 't') + "\"}}");
  ExpectBadJson(R"({"update":{"id":")" + std::string(65, 'i') + R"(","x":1}})");
  ExpectBadJson(std::string(100000, '[') + std::string(100000, ']'));
  std::string many = R"({"append":{"id":"a","points":[)";
  for (size_t i = 0; i <= kCanvasMaxStrokePoints; ++i) many += i == 0 ? "[0,0]" : ",[0,0]";
  ExpectBadJson(many + "]}}");
}

TEST_F(CanvasJsonTest, BadEditMessagesSayWhatIsWrong) {
  EXPECT_NE(type_.FragmentFromJson(R"({"add":{"id":"a","kind":"rect","colour":"red"}})")
                .status()
                .message()
                .find("colour"),
            std::string::npos);
  EXPECT_NE(type_.FragmentFromJson(R"({"add":{"id":"a","kind":"rect","x":1e9}})")
                .status()
                .message()
                .find("x is beyond"),
            std::string::npos);
  EXPECT_NE(type_.FragmentFromJson("{").status().message().find("not valid JSON"),
            std::string::npos);
}

TEST_F(CanvasJsonTest, FragmentToJsonOfBadPayloadIsNull) {
  EXPECT_EQ(type_.FragmentToJson("\x05"), "null");
  EXPECT_EQ(type_.FragmentToJson(EncodeCanvasOps({CanvasOp::Delete("k")}) + "x"), "null");
  EXPECT_EQ(type_.FragmentToJson(EncodeCanvasOps({CanvasOp::Update("k", {Num(Prop::kX, kNaN)})})),
            "null");
  EXPECT_EQ(type_.FragmentToJson(EncodeCanvasOps({})), "[]");
}

TEST_F(CanvasJsonTest, RandomPayloadsRoundTripThroughJson) {
  FragmentGenerator gen(17, "j");
  std::mt19937 rng(5);
  for (int i = 0; i < 500; ++i) {
    const CanvasDocument doc = RandomCanvas(static_cast<uint32_t>(1000 + i % 50), 15);
    const std::string payload = gen.Fragment(doc, 4, /*before_last=*/true);
    const std::string json = type_.FragmentToJson(payload);
    Result<std::string> back = type_.FragmentFromJson(json);
    ASSERT_TRUE(back.ok()) << json << ": " << back.status().ToString();
    EXPECT_EQ(back.value(), payload) << json;
  }
  // Numbers that are not small integers survive too.
  const std::string odd = EncodeCanvasOps(
      {CanvasOp::Update("a", {Num(Prop::kX, 0.1), Num(Prop::kY, -1e7), Num(Prop::kW, 1.0 / 3),
                              Num(Prop::kZ, 123456789012345.0)})});
  Result<std::string> back = type_.FragmentFromJson(type_.FragmentToJson(odd));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), odd);
}

// ---- Transform -------------------------------------------------------------------------------

class CanvasTransformTest : public CanvasDocumentTest {
 protected:
  std::string T(const std::vector<CanvasOp>& op, const std::vector<CanvasOp>& against,
                bool op_wins) {
    Result<std::string> r = type_.Transform(EncodeCanvasOps(op), EncodeCanvasOps(against), op_wins);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : "";
  }
};

TEST_F(CanvasTransformTest, LosingPropertyWritesAreDroppedAndWinningOnesKept) {
  const std::vector<CanvasOp> op = {CanvasOp::Update("a", {Num(Prop::kX, 1), Num(Prop::kY, 1)}),
                                    CanvasOp::Update("b", {Num(Prop::kX, 1)})};
  const std::vector<CanvasOp> against = {CanvasOp::Update("a", {Num(Prop::kX, 2)}),
                                         CanvasOp::Update("c", {Num(Prop::kY, 2)})};
  EXPECT_EQ(T(op, against, /*op_wins=*/true), EncodeCanvasOps(op));
  EXPECT_EQ(T(op, against, /*op_wins=*/false),
            EncodeCanvasOps({CanvasOp::Update("a", {Num(Prop::kY, 1)}),
                             CanvasOp::Update("b", {Num(Prop::kX, 1)})}));
  // An update that loses all its writes disappears.
  EXPECT_EQ(T({CanvasOp::Update("a", {Num(Prop::kX, 1)})}, against, false), EncodeCanvasOps({}));
}

TEST_F(CanvasTransformTest, OpsOnAShapeTheOtherSideDeletesAreDropped) {
  const std::vector<CanvasOp> op = {CanvasOp::Update("a", {Num(Prop::kX, 1)}),
                                    CanvasOp::Append("a", Line(1)), CanvasOp::Delete("a"),
                                    CanvasOp::Add("n", Kind::kRect),
                                    CanvasOp::Update("b", {Num(Prop::kX, 1)})};
  const std::vector<CanvasOp> against = {CanvasOp::Delete("a")};
  const std::string want =
      EncodeCanvasOps({CanvasOp::Add("n", Kind::kRect), CanvasOp::Update("b", {Num(Prop::kX, 1)})});
  EXPECT_EQ(T(op, against, true), want);
  EXPECT_EQ(T(op, against, false), want);
}

TEST_F(CanvasTransformTest, LosingAppendsMoveBeforeTheWinningPoints) {
  const std::vector<CanvasOp> op = {CanvasOp::Append("s", Line(2)), CanvasOp::Append("s", Line(1))};
  const std::vector<CanvasOp> against = {CanvasOp::Append("s", Line(3)),
                                         CanvasOp::Append("t", Line(4))};
  EXPECT_EQ(T(op, against, true), EncodeCanvasOps(op));
  EXPECT_EQ(T(op, against, false), EncodeCanvasOps({CanvasOp::Append("s", Line(2), 3),
                                                    CanvasOp::Append("s", Line(1), 3)}));
  // On a document: both orders give the loser's points first, then the winner's.
  Populate();
  const std::string base = doc_.Snapshot();
  const std::vector<CanvasOp> a = {CanvasOp::Append("s1", Line(2, 10))};
  const std::vector<CanvasOp> b = {CanvasOp::Append("s1", Line(1, 20))};
  ApplyOk(a);
  ApplyOk(T(b, a, true));
  const std::string left = doc_.Snapshot();
  std::vector<CanvasPoint> want = Line(3);
  for (const CanvasPoint& p : Line(2, 10)) want.push_back(p);
  want.push_back(Line(1, 20)[0]);
  EXPECT_EQ(Shape("s1").points, want);
  ASSERT_TRUE(doc_.Restore(base).ok());
  ApplyOk(b);
  ApplyOk(T(a, b, false));
  EXPECT_EQ(doc_.Snapshot(), left);
}

TEST_F(CanvasTransformTest, BadPayloadsAreRefused) {
  const std::string good = EncodeCanvasOps({CanvasOp::Delete("a")});
  EXPECT_EQ(type_.Transform("\x05", good, true).status().code(), StatusCode::kMalformed);
  EXPECT_EQ(type_.Transform(good, "\x05", false).status().code(), StatusCode::kMalformed);
}

// TP1: apply(apply(s, a), T(b, a, w)) == apply(apply(s, b), T(a, b, !w)), by Snapshot bytes,
// for random fragments a and b made concurrently on random canvases.
TEST_F(CanvasTransformTest, RandomPairsSatisfyTp1) {
  FragmentGenerator ga(11, "a"), gb(22, "b");
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    const CanvasDocument s = RandomCanvas(static_cast<uint32_t>(i), 4 + i % 12);
    const std::string base = s.Snapshot();
    const bool before_last = i % 2 == 0;
    const std::string a = ga.Fragment(s, 1 + i % 4, before_last);
    const std::string b = gb.Fragment(s, 1 + i % 4, before_last);
    for (bool w : {true, false}) {
      SCOPED_TRACE("pair " + std::to_string(i) + " w=" + std::to_string(w) +
                   "\na=" + type_.FragmentToJson(a) + "\nb=" + type_.FragmentToJson(b) +
                   "\ns=" + s.ToJson());
      Result<std::string> tb = type_.Transform(b, a, w);
      Result<std::string> ta = type_.Transform(a, b, !w);
      ASSERT_TRUE(tb.ok() && ta.ok());
      CanvasDocument left, right;
      ASSERT_TRUE(left.Restore(base).ok());
      ASSERT_TRUE(right.Restore(base).ok());
      ASSERT_TRUE(left.Apply(a).ok());
      Status sl = left.Apply(tb.value());
      ASSERT_TRUE(sl.ok()) << sl.ToString() << " T(b,a)=" << type_.FragmentToJson(tb.value());
      ASSERT_TRUE(right.Apply(b).ok());
      Status sr = right.Apply(ta.value());
      ASSERT_TRUE(sr.ok()) << sr.ToString() << " T(a,b)=" << type_.FragmentToJson(ta.value());
      ASSERT_EQ(left.Snapshot(), right.Snapshot())
          << "left " << left.ToJson() << "\nright " << right.ToJson();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 6000);
}

// The same pairs with every kind of conflict forced: both sides edit one shape.
TEST_F(CanvasTransformTest, ConflictingPairsOnOneStrokeSatisfyTp1) {
  std::mt19937 rng(77);
  for (int i = 0; i < 2000; ++i) {
    CanvasDocument s;
    ASSERT_TRUE(
        s.Apply(EncodeCanvasOps({CanvasOp::Add("k", Kind::kStroke, {}, Line(rng() % 4)),
                                 CanvasOp::Add("gone", Kind::kRect), CanvasOp::Delete("gone")}))
            .ok());
    auto random_fragment = [&](const std::string& tag) {
      std::vector<CanvasOp> ops;
      CanvasDocument scratch;
      EXPECT_TRUE(scratch.Restore(s.Snapshot()).ok());
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < n; ++j) {
        CanvasOp op;
        const auto it = scratch.shapes().find("k");
        const uint64_t points = it == scratch.shapes().end() ? 0 : it->second.points.size();
        switch (rng() % 6) {
          case 0:
          case 1:
            op = CanvasOp::Append("k", Line(1 + rng() % 3, 10 * (j + 1)),
                                  rng() % 2 ? rng() % (points + 1) : 0);
            break;
          case 2:
            op = CanvasOp::Update("k", {Num(Prop::kX, static_cast<double>(rng() % 3))});
            break;
          case 3:
            op = CanvasOp::Update("k", {Num(Prop::kZ, 5), Str(Prop::kColor, tag)});
            break;
          case 4:
            op = rng() % 4 == 0 ? CanvasOp::Delete("k") : CanvasOp::Delete("gone");
            break;
          default:
            op = CanvasOp::Add(tag + std::to_string(j), Kind::kStroke, {}, Line(1));
        }
        EXPECT_TRUE(scratch.Apply(EncodeCanvasOps({op})).ok());
        ops.push_back(std::move(op));
      }
      return EncodeCanvasOps(ops);
    };
    const std::string a = random_fragment("a");
    const std::string b = random_fragment("b");
    for (bool w : {true, false}) {
      SCOPED_TRACE("a=" + type_.FragmentToJson(a) + " b=" + type_.FragmentToJson(b) +
                   " w=" + std::to_string(w));
      CanvasDocument left, right;
      ASSERT_TRUE(left.Restore(s.Snapshot()).ok());
      ASSERT_TRUE(right.Restore(s.Snapshot()).ok());
      ASSERT_TRUE(left.Apply(a).ok());
      ASSERT_TRUE(left.Apply(type_.Transform(b, a, w).value()).ok());
      ASSERT_TRUE(right.Apply(b).ok());
      ASSERT_TRUE(right.Apply(type_.Transform(a, b, !w).value()).ok());
      ASSERT_EQ(left.Snapshot(), right.Snapshot())
          << "left " << left.ToJson() << "\nright " << right.ToJson();
    }
  }
}

// ---- PendingEdits ----------------------------------------------------------------------------

TEST_F(CanvasTransformTest, PendingEditsDropOverwrittenWritesAndMoveRemoteAppends) {
  std::unique_ptr<PendingEdits> pending = type_.NewPendingEdits();
  const std::string remote = EncodeCanvasOps(
      {CanvasOp::Update("a", {Num(Prop::kX, 1), Num(Prop::kY, 1)}), CanvasOp::Append("s", Line(2)),
       CanvasOp::Update("gone", {Num(Prop::kX, 1)}), CanvasOp::Add("new", Kind::kRect)});
  Result<std::string> same = pending->TransformRemote(remote);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same.value(), remote);

  const std::string p1 =
      EncodeCanvasOps({CanvasOp::Update("a", {Num(Prop::kX, 5)}), CanvasOp::Append("s", Line(3))});
  const std::string p2 =
      EncodeCanvasOps({CanvasOp::Delete("gone"), CanvasOp::Append("s", Line(1))});
  pending->Push(p1);
  pending->Push(p2);
  ASSERT_EQ(pending->size(), 2u);
  Result<std::string> r = pending->TransformRemote(remote);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), EncodeCanvasOps({CanvasOp::Update("a", {Num(Prop::kY, 1)}),
                                        CanvasOp::Append("s", Line(2), 4),
                                        CanvasOp::Add("new", Kind::kRect)}));
  // Pending edits never change.
  EXPECT_EQ(pending->at(0), p1);
  EXPECT_EQ(pending->at(1), p2);

  pending->PopFront();  // p1 acknowledged
  r = pending->TransformRemote(remote);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), EncodeCanvasOps({CanvasOp::Update("a", {Num(Prop::kX, 1), Num(Prop::kY, 1)}),
                                        CanvasOp::Append("s", Line(2), 1),
                                        CanvasOp::Add("new", Kind::kRect)}));
  pending->Push(p1);
  pending->Erase(1);  // p1 again, refused
  pending->Erase(0);
  EXPECT_EQ(pending->size(), 0u);
  r = pending->TransformRemote(remote);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), remote);
  pending->Push(p2);
  pending->Clear();
  r = pending->TransformRemote(remote);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), remote);
  pending->Push(p1);
  EXPECT_FALSE(pending->TransformRemote("\x05").ok());
}

// CanvasPendingEdits answers what the pairwise default does with Transform, byte for byte,
// for authored pending edits.
TEST_F(CanvasTransformTest, PendingEditsAgreeWithPairwiseTransforms) {
  FragmentGenerator local(31, "l"), remote_gen(32, "r");
  for (int i = 0; i < 1000; ++i) {
    const CanvasDocument base = RandomCanvas(static_cast<uint32_t>(5000 + i), 6 + i % 10);
    std::unique_ptr<PendingEdits> fast = type_.NewPendingEdits();
    PairwisePendingEdits slow(&type_);
    CanvasDocument mine;
    ASSERT_TRUE(mine.Restore(base.Snapshot()).ok());
    const int n = 1 + i % 4;
    for (int j = 0; j < n; ++j) {
      const std::string p = local.Fragment(mine, 3, /*before_last=*/false);
      ASSERT_TRUE(mine.Apply(p).ok());
      fast->Push(p);
      slow.Push(p);
    }
    const std::string remote = remote_gen.Fragment(base, 3, /*before_last=*/i % 3 == 0);
    Result<std::string> f = fast->TransformRemote(remote);
    Result<std::string> s = slow.TransformRemote(remote);
    ASSERT_TRUE(f.ok() && s.ok());
    ASSERT_EQ(f.value(), s.value())
        << "remote " << type_.FragmentToJson(remote) << "\nfast " << type_.FragmentToJson(f.value())
        << "\nslow " << type_.FragmentToJson(s.value());
    const Status applied = mine.Apply(f.value());
    ASSERT_TRUE(applied.ok()) << applied.ToString();
  }
}

// ---- Convergence -----------------------------------------------------------------------------

// Four clients edit one canvas through a sequencer, as zinc's host and replicas do: each applies
// its edits locally at once and keeps them pending until its own echo comes back; the host
// applies fragments in seq order as they come (the canvas does not transform at the host); a
// client transforms each remote fragment against its pending edits before applying it. At the
// end every replica holds the host's bytes.
class CanvasConvergenceTest : public ::testing::TestWithParam<bool> {
 protected:
  struct Client {
    CanvasDocument doc;
    std::unique_ptr<PendingEdits> pending;
    std::deque<std::string> outbox;  // sent, not yet sequenced
    size_t delivered = 0;            // of the host's log
    std::unique_ptr<FragmentGenerator> gen;
  };

  std::unique_ptr<PendingEdits> NewPending() {
    if (GetParam()) return type_.NewPendingEdits();
    return std::make_unique<PairwisePendingEdits>(&type_);
  }

  void Run(uint32_t seed, int steps) {
    std::mt19937 rng(seed);
    CanvasDocument host;
    std::vector<std::pair<size_t, std::string>> log;  // origin, payload
    std::vector<Client> clients(4);
    for (size_t c = 0; c < clients.size(); ++c) {
      clients[c].pending = NewPending();
      clients[c].gen = std::make_unique<FragmentGenerator>(seed * 10 + static_cast<uint32_t>(c),
                                                           "c" + std::to_string(c));
    }
    auto sequence = [&](size_t c) {
      Client& from = clients[c];
      const Status s = host.Apply(from.outbox.front());
      ASSERT_TRUE(s.ok()) << s.ToString();
      log.emplace_back(c, std::move(from.outbox.front()));
      from.outbox.pop_front();
    };
    auto deliver = [&](size_t c) {
      Client& to = clients[c];
      const auto& [origin, payload] = log[to.delivered++];
      if (origin == c) {
        if (GetParam()) {
          ASSERT_EQ(to.pending->at(0), payload);  // never rebased
        }
        to.pending->PopFront();
        return;
      }
      Result<std::string> t = to.pending->TransformRemote(payload);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      const Status s = to.doc.Apply(t.value());
      ASSERT_TRUE(s.ok()) << s.ToString() << " " << type_.FragmentToJson(t.value());
    };
    for (int step = 0; step < steps; ++step) {
      const size_t c = rng() % clients.size();
      Client& client = clients[c];
      const uint32_t roll = rng() % 10;
      if (roll < 4) {
        const std::string edit = client.gen->Fragment(client.doc, 3, /*before_last=*/false);
        const Status s = client.doc.Apply(edit);
        ASSERT_TRUE(s.ok()) << s.ToString();
        client.pending->Push(edit);
        client.outbox.push_back(edit);
      } else if (roll < 7) {
        if (!client.outbox.empty()) {
          ASSERT_NO_FATAL_FAILURE(sequence(c));
        }
      } else if (client.delivered < log.size()) {
        ASSERT_NO_FATAL_FAILURE(deliver(c));
      }
    }
    for (size_t c = 0; c < clients.size(); ++c) {
      while (!clients[c].outbox.empty()) ASSERT_NO_FATAL_FAILURE(sequence(c));
    }
    for (size_t c = 0; c < clients.size(); ++c) {
      while (clients[c].delivered < log.size()) ASSERT_NO_FATAL_FAILURE(deliver(c));
      EXPECT_EQ(clients[c].pending->size(), 0u);
      ASSERT_EQ(clients[c].doc.Snapshot(), host.Snapshot())
          << "client " << c << " " << clients[c].doc.ToJson() << "\nhost " << host.ToJson();
    }
    // The run exercised something worth converging on.
    EXPECT_GT(log.size(), static_cast<size_t>(steps / 10));
    EXPECT_GT(host.point_count(), 0u);
    EXPECT_FALSE(host.tombstones().empty());
  }

  CanvasType type_;
};

TEST_P(CanvasConvergenceTest, FourClientsEndWithTheHostsBytes) {
  // The pairwise default is O(pending) Transform calls per remote fragment: fewer runs.
  const uint32_t seeds = GetParam() ? 20 : 4;
  for (uint32_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE(seed);
    ASSERT_NO_FATAL_FAILURE(Run(seed, 1500));
  }
}

INSTANTIATE_TEST_SUITE_P(PendingEdits, CanvasConvergenceTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "CanvasPendingEdits" : "PairwisePendingEdits";
                         });

}  // namespace
}  // namespace zinc
