#pragma once

// The "canvas" document type: the shapes of a shared drawing (browsers drawing together).
//
// A shape has a stable id its author chooses ("<client>-<n>", 1 to 64 bytes of UTF-8), a kind
// (stroke, rect, ellipse, text) and the properties x, y, w, h, z, width (numbers), color, fill
// and text (strings); a stroke also has a list of points, and its x, y is an offset. Shapes
// render in (z, id) order. A fragment is a list of operations applied as one transaction: all of
// them or none.
//
//   add(id, kind, properties, points)   creates a shape; refused if the id exists or is
//                                       tombstoned.
//   update(id, properties)              writes some properties; the last writer in seq order
//                                       wins, per property.
//   append(id, points, before_last)     inserts points into a stroke before its last
//                                       before_last points (0: at the end).
//   delete(id)                          removes a shape and leaves a tombstone, so that the id
//                                       is not added again while an edit made before the
//                                       delete may still arrive.
//   front / back                        an update of z to (the largest z the author sees) + 1 /
//                                       (the smallest) - 1 (CanvasDocument::FrontZ, BackZ), so
//                                       that z converges like any other property.
//   collect(horizon, ids)               the host's housekeeping, alone in its fragment: forgets
//                                       the tombstones of ids, all deleted at or before seq
//                                       horizon, and sets min_base_seq() to horizon.
//
// Update, append and delete of an id that is not live (deleted, or never added) are no-ops, not
// errors: a concurrent edit of a deleted shape is dropped cleanly, and so is one whose
// tombstone was collected.
//
// Tombstones are collected: every EndpointOptions::collect_interval the host calls
// CanvasDocument::Collect(head) and sequences what it returns as its own edits. At call k it
// forgets the tombstones that were there at call k-1 (at seq P = the head then), with horizon
// P, so the host refuses from then on, as stale, a fragment based before P (its author catches
// up and sends it again): no edit made before a forgotten delete is sequenced after it. The
// collect names its ids, so every replica forgets exactly what the host forgets, whatever its
// own pending edits. Deleting shapes for ever holds at most two intervals' worth of tombstones.
//
// The host applies fragments in seq order as they come (host_transforms() is false). A client
// shows its own pending edits at once, so it drops the property writes of a remote fragment
// that its pending edits overwrite, drops remote operations on shapes it deleted, and moves
// remote points appended to a stroke before the points its pending edits append there
// (before_last += those points), as examples/log does for entries. An author always appends at
// the end (before_last 0); a nonzero before_last is what those transforms produce.
//
// JSON edits (zincctl's and the browser gateway's format; FragmentFromJson and FragmentToJson):
//
//   {"add":{"id":"s1","kind":"stroke","points":[[0,0],[5,5]],"color":"#ff0000","width":3}}
//   {"add":{"id":"r1","kind":"rect","x":10,"y":10,"w":100,"h":50,"fill":"#eeeeee","z":2}}
//   {"add":{"id":"t1","kind":"text","x":0,"y":0,"text":"hello"}}
//   {"update":{"id":"s1","x":10,"color":"#00ff00"}}       at least one property
//   {"append":{"id":"s1","points":[[6,6],[7,8]]}}        optional "before_last":K (K >= 0)
//   {"delete":"s1"}
//   {"collect":{"horizon":P,"ids":["s1",...]}}          the host's; refused from anyone else
//   {"front":"s1","z":N}  {"back":"s1","z":N}            the author computes N; both mean
//                                                        {"update":{"id":"s1","z":N}}
//   [EDIT, EDIT, ...]                                    1 to 10000 edits as one fragment
//
// "kind" is one of "stroke", "rect", "ellipse", "text"; only a stroke takes "points" (each
// point a two-number array [x, y], |x|, |y| <= 1e7; at most 100,000 points per stroke).
// Properties: "x", "y", "w", "h" (|v| <= 1e7), "z" (|v| <= 1e15), "width" (0 to 1000), "color"
// and "fill" (strings of at most 32 bytes, "none" allowed), "text" (a string of at most 4096
// bytes). Every kind stores every property (a stroke ignores w and h; only a text shape shows
// text). Ids and strings are UTF-8. An add leaves the properties it does not name at their
// defaults (numbers 0, width 1, color "#000000", fill "none", text "").
// FragmentToJson renders one operation as one edit object (front and back come back as
// updates), several as an array, properties in the order x y w h z width color fill text.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "documents/document.h"

namespace zinc {

enum class CanvasKind : uint8_t { kStroke = 1, kRect = 2, kEllipse = 3, kText = 4 };

// The properties of a shape. The numbers come first: kX to kWidth are numbers, the rest strings.
enum class CanvasProp : uint8_t {
  kX = 1,
  kY = 2,
  kW = 3,
  kH = 4,
  kZ = 5,
  kWidth = 6,
  kColor = 7,
  kFill = 8,
  kText = 9,
};
inline constexpr int kCanvasPropCount = 9;

// Limits every canvas fragment and snapshot is checked against.
inline constexpr size_t kCanvasMaxIdBytes = 64;
inline constexpr double kCanvasMaxCoordinate = 1e7;  // |x|, |y|, |w|, |h| and point coordinates
inline constexpr double kCanvasMaxZ = 1e15;          // |z|: z + 1 stays exact
inline constexpr double kCanvasMaxWidth = 1000;
inline constexpr size_t kCanvasMaxColorBytes = 32;  // color and fill
inline constexpr size_t kCanvasMaxTextBytes = 4096;
inline constexpr size_t kCanvasMaxStrokePoints = 100000;     // points of one stroke
inline constexpr size_t kCanvasMaxShapes = 100000;           // live shapes
inline constexpr size_t kCanvasMaxIds = 1000000;             // live shapes plus tombstones
inline constexpr uint64_t kCanvasMaxPoints = 10000000;       // points of all strokes together
inline constexpr uint64_t kCanvasMaxStringBytes = 32 << 20;  // color, fill, text of all shapes
inline constexpr size_t kCanvasMaxOpsPerFragment = 10000;

struct CanvasPoint {
  double x = 0;
  double y = 0;
  bool operator==(const CanvasPoint& o) const { return x == o.x && y == o.y; }
};

// One property write: number for kX to kWidth, text for kColor, kFill and kText.
struct CanvasPropWrite {
  CanvasProp prop = CanvasProp::kX;
  double number = 0;
  std::string text;
};
CanvasPropWrite CanvasNumber(CanvasProp prop, double number);
CanvasPropWrite CanvasString(CanvasProp prop, std::string text);

// One operation of a canvas fragment.
struct CanvasOp {
  enum class Kind : uint8_t { kAdd = 1, kUpdate = 2, kAppend = 3, kDelete = 4, kCollect = 5 };
  Kind kind = Kind::kAdd;
  std::string id;                          // all but kCollect
  CanvasKind shape = CanvasKind::kStroke;  // kAdd
  std::vector<CanvasPropWrite> props;      // kAdd, kUpdate (at least one); each prop once
  std::vector<CanvasPoint> points;         // kAdd of a stroke, kAppend (at least one)
  uint64_t before_last = 0;                // kAppend
  uint64_t horizon = 0;                    // kCollect
  std::vector<std::string> forget;         // kCollect: 1 to 10000 ids, ascending

  static CanvasOp Add(std::string id, CanvasKind shape, std::vector<CanvasPropWrite> props = {},
                      std::vector<CanvasPoint> points = {});
  static CanvasOp Update(std::string id, std::vector<CanvasPropWrite> props);
  static CanvasOp Append(std::string id, std::vector<CanvasPoint> points, uint64_t before_last = 0);
  static CanvasOp Delete(std::string id);
  static CanvasOp Collect(uint64_t horizon, std::vector<std::string> forget);
};

// A live shape. Value type.
struct CanvasShape {
  CanvasKind kind = CanvasKind::kStroke;
  double x = 0;
  double y = 0;
  double w = 0;
  double h = 0;
  double z = 0;
  double width = 1;
  std::string color = "#000000";
  std::string fill = "none";
  std::string text;
  std::vector<CanvasPoint> points;  // strokes only
};

// Encodes ops as a canvas fragment payload (the properties of each op sorted). Does not
// validate: DecodeCanvasOps and Apply refuse what is out of bounds. The payload, in
// core/bytes.h's varints and length-prefixed strings:
//   [varint op count] then per op [byte CanvasOp::Kind][string id] and
//     add:    [byte CanvasKind][props][points]
//     update: [props]
//     append: [varint before_last][points]
//     delete: nothing
//   except collect, the fragment's only op, which has no id:
//     [byte 5][varint horizon][varint n] n x [string id], ids strictly ascending
//   props  = [varint n] n x ([byte CanvasProp, strictly ascending][value]), a value being the 8
//            little-endian bytes of an IEEE double (kX to kWidth) or a string
//   points = [varint n] n x ([double x][double y])
std::string EncodeCanvasOps(const std::vector<CanvasOp>& ops);
// Decodes a canvas fragment payload strictly and checks every value against the limits above,
// without a document. Returns kMalformed (truncated, trailing bytes, unknown operation, kind or
// property, a property repeated or out of order, NaN or infinite or out-of-range number, string
// too long or not UTF-8, a collect with other ops or no ids or ids out of order, ...) or
// kResourceExhausted (an op carrying more than kCanvasMaxStrokePoints points, checked before
// anything is allocated for them).
Status DecodeCanvasOps(std::string_view payload, std::vector<CanvasOp>* ops);

// The canvas document: live shapes by id and the ids of deleted shapes. Thread-compatible.
class CanvasDocument final : public Document {
 public:
  std::string_view type() const override { return "canvas"; }
  // Applies all operations of the fragment, or none. Besides DecodeCanvasOps' codes, returns
  // kInvalidArgument (add of an id that exists or is tombstoned; append to a shape that is not a
  // stroke; a collect of a live id or with a horizon before min_base_seq()), kOutOfRange
  // (before_last beyond the stroke's points) and kResourceExhausted (a limit above exceeded).
  Status Apply(std::string_view payload) override;
  // Shapes sorted by id, then tombstones sorted, then (once collected) min_base_seq(): the same
  // state gives the same bytes.
  std::string Snapshot() const override;
  // Checks everything Apply checks, plus sorted, unique ids; changes nothing on error
  // (kMalformed or kResourceExhausted).
  Status Restore(std::string_view snapshot) override;
  // {"shapes":[{"id":..,"kind":..,"x":..,"y":..,"w":..,"h":..,"z":..,"width":..,"color":..,
  // "fill":..,"text":..,"points":[[x,y],...]},...]} in render order, (z, id); "points" only for
  // strokes.
  std::string ToJson() const override;

  // The collects of the tombstones that were there at the previous call (none at the first),
  // at most kCanvasMaxOpsPerFragment ids each; notes head and which tombstones are older than
  // it for the next call.
  std::vector<std::string> Collect(uint64_t head) override;
  // The horizon of the last collect applied.
  uint64_t min_base_seq() const override { return horizon_; }

  // The z that brings a shape to the front: the largest z plus 1 (0 on an empty canvas).
  double FrontZ() const;
  // The z that sends a shape to the back: the smallest z minus 1 (0 on an empty canvas).
  double BackZ() const;

  const std::map<std::string, CanvasShape, std::less<>>& shapes() const { return shapes_; }
  const std::set<std::string, std::less<>>& tombstones() const { return tombstones_; }
  bool tombstoned(std::string_view id) const { return tombstones_.count(id) > 0; }
  // Points of all strokes together.
  uint64_t point_count() const { return points_; }

 private:
  Status Check(const std::vector<CanvasOp>& ops) const;
  void Mutate(CanvasOp op);

  std::map<std::string, CanvasShape, std::less<>> shapes_;
  std::set<std::string, std::less<>> tombstones_;
  uint64_t horizon_ = 0;  // of the last collect applied
  // The host's bookkeeping for Collect, not part of the state: whether it was called, the head
  // then, and the tombstones made since (the others are older than collect_mark_).
  bool collecting_ = false;
  uint64_t collect_mark_ = 0;
  std::set<std::string, std::less<>> recent_;
  uint64_t points_ = 0;        // over shapes_
  uint64_t string_bytes_ = 0;  // color, fill and text over shapes_
};

// The "canvas" type. Thread-safe.
class CanvasType final : public DocumentType {
 public:
  std::string_view name() const override { return "canvas"; }
  std::unique_ptr<Document> Create() const override;
  std::string_view json_field() const override { return "canvas"; }
  // Drops op's operations on shapes that against deletes; when !op_wins, drops op's property
  // writes that against also makes (same shape and property); moves op's appends past
  // against's appends to the same stroke: an append whose insertion point lies before
  // against's, or at it when !op_wins, gets before_last += against's points there (which is
  // every append of two authors appending at the end: the loser's points go first). Adds never
  // conflict: ids are unique by convention (an id added twice concurrently is refused at the
  // host the second time, and its author resynchronises). Returns the codes of
  // DecodeCanvasOps for a bad op or against.
  Result<std::string> Transform(std::string_view op, std::string_view against,
                                bool op_wins) const override;
  bool host_transforms() const override { return false; }
  // A collect.
  bool IsHousekeeping(std::string_view payload) const override;
  // Pending edits never change (they are sequenced later, so they win); a remote fragment is
  // transformed against all of them at once from counts of the (shape, property) pairs they
  // write, the points they append per stroke and the shapes they delete: O(size of the remote
  // fragment). REQUIRES of the pushed edits: appends authored at the end (before_last 0).
  std::unique_ptr<PendingEdits> NewPendingEdits() const override;
  // The JSON edits described at the top of this file. kInvalidArgument, with the reason, for
  // anything else.
  Result<std::string> FragmentFromJson(std::string_view json) const override;
  std::string FragmentToJson(std::string_view payload) const override;
};

}  // namespace zinc
