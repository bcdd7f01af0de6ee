// fuzz_canvas: the canvas type's payload decode, Apply, Restore and Transform
// (document_fuzzer.h has the input format and the invariants).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "documents/canvas_document.h"
#include "tests/fuzz/document_fuzzer.h"

namespace zinc {
namespace fuzz {
namespace {

// The ids fragment adds, and the ids it names at all; false for a collect.
bool Ids(std::string_view fragment, std::set<std::string>* added, std::set<std::string>* named) {
  std::vector<CanvasOp> ops;
  ExpectOk(DecodeCanvasOps(fragment, &ops), "a canvas fragment that applied does not decode");
  for (const CanvasOp& op : ops) {
    if (op.kind == CanvasOp::Kind::kCollect) return false;
    if (op.kind == CanvasOp::Kind::kAdd) added->insert(op.id);
    named->insert(op.id);
  }
  return true;
}

// Concurrent fragments converge unless one names an id the other adds: ids are fresh by
// convention, and the host refuses the second add of an id (canvas_document.h). A collect is
// the host's, of tombstones older than anything in flight, so it is concurrent with nothing.
bool Converges(const Document&, std::string_view a, std::string_view b) {
  std::set<std::string> a_added, a_named, b_added, b_named;
  if (!Ids(a, &a_added, &a_named) || !Ids(b, &b_added, &b_named)) return false;
  for (const std::string& id : a_added) {
    if (b_named.count(id) > 0) return false;
  }
  for (const std::string& id : b_added) {
    if (a_named.count(id) > 0) return false;
  }
  return true;
}

// An author appends at the end of a stroke (before_last 0); CanvasPendingEdits requires it.
bool Authored(std::string_view a) {
  std::vector<CanvasOp> ops;
  ExpectOk(DecodeCanvasOps(a, &ops), "a canvas fragment that applied does not decode");
  for (const CanvasOp& op : ops) {
    if (op.kind == CanvasOp::Kind::kAppend && op.before_last != 0) return false;
  }
  return true;
}

// Every canvas operation has a JSON form, exact (numbers too): parsed back, it is the same
// operation, encoded the same way.
void CheckJson(const DocumentType& type, const Document&, const Document&,
               std::string_view payload) {
  std::vector<CanvasOp> ops;
  ExpectOk(DecodeCanvasOps(payload, &ops), "a canvas fragment that applied does not decode");
  if (ops.empty()) return;  // "[]": an edit array needs at least one edit.
  Result<std::string> again = type.FragmentFromJson(type.FragmentToJson(payload));
  ExpectOk(again.status(), "a canvas fragment rendered as JSON does not parse back");
  Expect(*again == EncodeCanvasOps(ops), "a canvas fragment changes once in JSON");
}

void CheckState(const Document& doc) {
  const auto& canvas = static_cast<const CanvasDocument&>(doc);
  uint64_t points = 0;
  for (const auto& [id, shape] : canvas.shapes()) {
    Expect(!canvas.tombstoned(id), "a shape both live and deleted");
    Expect(shape.kind == CanvasKind::kStroke || shape.points.empty(),
           "a shape that is not a stroke holds points");
    points += shape.points.size();
  }
  Expect(points == canvas.point_count(), "the canvas's point count is wrong");
  Expect(canvas.shapes().size() <= kCanvasMaxShapes &&
             canvas.shapes().size() + canvas.tombstones().size() <= kCanvasMaxIds,
         "a canvas beyond its limits");
  for (double z : {canvas.FrontZ(), canvas.BackZ()}) {
    Expect(std::isfinite(z) && std::fabs(z) <= kCanvasMaxZ, "FrontZ or BackZ out of range");
  }
}

const DocumentFuzzTraits& Traits() {
  static const DocumentFuzzTraits traits = [] {
    DocumentFuzzTraits t;
    t.converges = Converges;
    t.check_json = CheckJson;
    t.check_state = CheckState;
    t.authored = Authored;
    return t;
  }();
  return traits;
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const zinc::CanvasType type;
  zinc::fuzz::FuzzDocument(type, zinc::fuzz::Traits(), data, size);
  return 0;
}
