#include "documents/canvas_document.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <utility>

#include "core/bytes.h"
#include "documents/json_internal.h"
#include <nlohmann/json.hpp>

namespace zinc {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

Status Malformed(const std::string& what) {
  return Status(StatusCode::kMalformed, "canvas: " + what);
}

Status Exhausted(const std::string& what) {
  return Status(StatusCode::kResourceExhausted, "canvas: " + what);
}

Status Truncated() { return Malformed("truncated"); }

std::string Quote(std::string_view id) { return "'" + std::string(id) + "'"; }

bool IsNumberProp(CanvasProp p) { return p <= CanvasProp::kWidth; }

int PropIndex(CanvasProp p) { return static_cast<int>(p) - 1; }

bool ValidKind(uint8_t k) { return k >= 1 && k <= 4; }
bool ValidProp(uint8_t p) { return p >= 1 && p <= kCanvasPropCount; }

// REQUIRES: a valid property.
const char* PropName(CanvasProp p) {
  static constexpr const char* kNames[] = {"x",     "y",     "w",    "h",   "z",
                                           "width", "color", "fill", "text"};
  return kNames[PropIndex(p)];
}

// REQUIRES: a valid kind.
const char* KindName(CanvasKind k) {
  static constexpr const char* kNames[] = {"stroke", "rect", "ellipse", "text"};
  return kNames[static_cast<int>(k) - 1];
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t more;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      more = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      more = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      more = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= more) return false;
    for (size_t k = 1; k <= more; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and code points past Unicode are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += more + 1;
  }
  return true;
}

// Numbers travel as the 8 little-endian bytes of an IEEE double: exact, and the same on every
// replica.
void PutDouble(ByteWriter* w, double v) {
  if (v == 0) v = 0;  // -0 and 0 are the same position: one spelling keeps bytes canonical.
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) w->PutByte(static_cast<uint8_t>(bits >> (8 * i)));
}

bool GetDouble(ByteReader* r, double* v) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    uint8_t b;
    if (!r->GetByte(&b)) return false;
    bits |= static_cast<uint64_t>(b) << (8 * i);
  }
  std::memcpy(v, &bits, sizeof bits);
  if (*v == 0) *v = 0;
  return true;
}

Status CheckId(std::string_view id) {
  if (id.empty() || id.size() > kCanvasMaxIdBytes) {
    return Malformed("a shape id must be 1 to " + std::to_string(kCanvasMaxIdBytes) + " bytes");
  }
  if (!ValidUtf8(id)) return Malformed("a shape id must be UTF-8");
  return Status::Ok();
}

Status CheckNumber(CanvasProp prop, double v) {
  const std::string name = PropName(prop);
  if (!std::isfinite(v)) return Malformed(name + " is not a finite number");
  switch (prop) {
    case CanvasProp::kZ:
      if (std::fabs(v) > kCanvasMaxZ) return Malformed("z is beyond +-1e15");
      break;
    case CanvasProp::kWidth:
      if (v < 0 || v > kCanvasMaxWidth) return Malformed("width must be 0 to 1000");
      break;
    default:
      if (std::fabs(v) > kCanvasMaxCoordinate) return Malformed(name + " is beyond +-1e7");
  }
  return Status::Ok();
}

Status CheckString(CanvasProp prop, std::string_view s) {
  const size_t max = prop == CanvasProp::kText ? kCanvasMaxTextBytes : kCanvasMaxColorBytes;
  if (s.size() > max) {
    return Malformed(std::string(PropName(prop)) + " is longer than " + std::to_string(max) +
                     " bytes");
  }
  if (!ValidUtf8(s)) return Malformed(std::string(PropName(prop)) + " is not UTF-8");
  return Status::Ok();
}

Status CheckProp(const CanvasPropWrite& p) {
  if (!ValidProp(static_cast<uint8_t>(p.prop))) return Malformed("unknown property");
  return IsNumberProp(p.prop) ? CheckNumber(p.prop, p.number) : CheckString(p.prop, p.text);
}

Status CheckPoint(const CanvasPoint& p) {
  if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
    return Malformed("a point coordinate is not a finite number");
  }
  if (std::fabs(p.x) > kCanvasMaxCoordinate || std::fabs(p.y) > kCanvasMaxCoordinate) {
    return Malformed("a point coordinate is beyond +-1e7");
  }
  return Status::Ok();
}

Status TooManyPoints(uint64_t n) {
  return Exhausted("a stroke holds at most " + std::to_string(kCanvasMaxStrokePoints) +
                   " points, not " + std::to_string(n));
}

// Checks what one op says on its own, without a document: everything but existence and the
// canvas-wide limits.
Status CheckOp(const CanvasOp& op) {
  if (op.kind == CanvasOp::Kind::kCollect) {
    if (!op.id.empty() || !op.props.empty() || !op.points.empty()) {
      return Malformed("a collect carries nothing but its horizon and ids");
    }
    if (op.forget.empty() || op.forget.size() > kCanvasMaxOpsPerFragment) {
      return Malformed("a collect names 1 to " + std::to_string(kCanvasMaxOpsPerFragment) + " ids");
    }
    for (size_t i = 0; i < op.forget.size(); ++i) {
      ZINC_RETURN_IF_ERROR(CheckId(op.forget[i]));
      if (i > 0 && !(op.forget[i - 1] < op.forget[i])) {
        return Malformed("a collect's ids out of order or repeated");
      }
    }
    return Status::Ok();
  }
  ZINC_RETURN_IF_ERROR(CheckId(op.id));
  int last = 0;
  for (const CanvasPropWrite& p : op.props) {
    ZINC_RETURN_IF_ERROR(CheckProp(p));
    if (static_cast<int>(p.prop) <= last) return Malformed("a property repeated or out of order");
    last = static_cast<int>(p.prop);
  }
  if (op.points.size() > kCanvasMaxStrokePoints) return TooManyPoints(op.points.size());
  for (const CanvasPoint& p : op.points) ZINC_RETURN_IF_ERROR(CheckPoint(p));
  switch (op.kind) {
    case CanvasOp::Kind::kAdd:
      if (!ValidKind(static_cast<uint8_t>(op.shape))) return Malformed("unknown shape kind");
      if (op.shape != CanvasKind::kStroke && !op.points.empty()) {
        return Malformed("only a stroke has points");
      }
      return Status::Ok();
    case CanvasOp::Kind::kUpdate:
      if (op.props.empty()) return Malformed("an update writes at least one property");
      if (!op.points.empty()) return Malformed("an update carries no points");
      return Status::Ok();
    case CanvasOp::Kind::kAppend:
      if (op.points.empty()) return Malformed("an append carries at least one point");
      if (op.before_last > kCanvasMaxStrokePoints) return Malformed("before_last is too large");
      if (!op.props.empty()) return Malformed("an append writes no properties");
      return Status::Ok();
    case CanvasOp::Kind::kDelete:
      if (!op.props.empty() || !op.points.empty()) return Malformed("a delete carries nothing");
      return Status::Ok();
    case CanvasOp::Kind::kCollect:
      break;  // Above.
  }
  return Malformed("unknown operation");
}

Status ReadProps(ByteReader* r, std::vector<CanvasPropWrite>* props) {
  uint64_t n;
  if (!r->GetVarint(&n)) return Truncated();
  if (n > static_cast<uint64_t>(kCanvasPropCount)) return Malformed("too many properties");
  props->resize(n);
  for (CanvasPropWrite& p : *props) {
    uint8_t id;
    if (!r->GetByte(&id)) return Truncated();
    if (!ValidProp(id)) return Malformed("unknown property " + std::to_string(id));
    p.prop = static_cast<CanvasProp>(id);
    if (IsNumberProp(p.prop)) {
      if (!GetDouble(r, &p.number)) return Truncated();
    } else {
      std::string_view s;
      if (!r->GetString(&s)) return Truncated();
      // Checked before copying: a string can be as long as the payload.
      ZINC_RETURN_IF_ERROR(CheckString(p.prop, s));
      p.text = std::string(s);
    }
  }
  return Status::Ok();
}

Status ReadPoints(ByteReader* r, std::vector<CanvasPoint>* points) {
  uint64_t n;
  if (!r->GetVarint(&n)) return Truncated();
  // The count is untrusted: bounded before anything is allocated, and points are only stored
  // as they are read, so memory never outgrows the payload.
  if (n > kCanvasMaxStrokePoints) return TooManyPoints(n);
  for (uint64_t i = 0; i < n; ++i) {
    CanvasPoint p;
    if (!GetDouble(r, &p.x) || !GetDouble(r, &p.y)) return Truncated();
    points->push_back(p);
  }
  return Status::Ok();
}

void WriteProps(ByteWriter* w, const std::vector<CanvasPropWrite>& props) {
  std::vector<const CanvasPropWrite*> sorted;
  sorted.reserve(props.size());
  for (const CanvasPropWrite& p : props) sorted.push_back(&p);
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const CanvasPropWrite* a, const CanvasPropWrite* b) { return a->prop < b->prop; });
  w->PutVarint(sorted.size());
  for (const CanvasPropWrite* p : sorted) {
    w->PutByte(static_cast<uint8_t>(p->prop));
    if (IsNumberProp(p->prop)) {
      PutDouble(w, p->number);
    } else {
      w->PutString(p->text);
    }
  }
}

void WritePoints(ByteWriter* w, const std::vector<CanvasPoint>& points) {
  w->PutVarint(points.size());
  for (const CanvasPoint& p : points) {
    PutDouble(w, p.x);
    PutDouble(w, p.y);
  }
}

void SetProp(CanvasShape* s, const CanvasPropWrite& p) {
  switch (p.prop) {
    case CanvasProp::kX:
      s->x = p.number;
      break;
    case CanvasProp::kY:
      s->y = p.number;
      break;
    case CanvasProp::kW:
      s->w = p.number;
      break;
    case CanvasProp::kH:
      s->h = p.number;
      break;
    case CanvasProp::kZ:
      s->z = p.number;
      break;
    case CanvasProp::kWidth:
      s->width = p.number;
      break;
    case CanvasProp::kColor:
      s->color = p.text;
      break;
    case CanvasProp::kFill:
      s->fill = p.text;
      break;
    case CanvasProp::kText:
      s->text = p.text;
      break;
  }
}

uint64_t StringBytes(const CanvasShape& s) {
  return s.color.size() + s.fill.size() + s.text.size();
}

// The string lengths of a shape (color, fill, text), all Check needs of its strings.
using StringSizes = std::array<uint64_t, 3>;

StringSizes SizesOf(const CanvasShape& s) { return {s.color.size(), s.fill.size(), s.text.size()}; }

void ApplySizes(StringSizes* sizes, const std::vector<CanvasPropWrite>& props) {
  for (const CanvasPropWrite& p : props) {
    if (!IsNumberProp(p.prop)) {
      (*sizes)[PropIndex(p.prop) - PropIndex(CanvasProp::kColor)] = p.text.size();
    }
  }
}

uint64_t Sum(const StringSizes& s) { return s[0] + s[1] + s[2]; }

// What a fragment leaves of one shape, as far as checking the rest of the fragment needs.
struct Draft {
  enum class State { kNever, kLive, kDeleted };
  State state = State::kNever;
  CanvasKind kind = CanvasKind::kStroke;
  uint64_t points = 0;
  StringSizes strings = {0, 0, 0};
};

// A number as JSON: an integer when it is one (10, not 10.0), so that browsers and people read
// what they wrote.
OrderedJson JsonNumber(double v) {
  if (v == std::floor(v) && std::fabs(v) <= 9007199254740992.0) {
    return OrderedJson(static_cast<int64_t>(v));
  }
  return OrderedJson(v);
}

OrderedJson JsonPoints(const std::vector<CanvasPoint>& points) {
  OrderedJson out = OrderedJson::array();
  for (const CanvasPoint& p : points) out.push_back({JsonNumber(p.x), JsonNumber(p.y)});
  return out;
}

std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace

CanvasPropWrite CanvasNumber(CanvasProp prop, double number) {
  CanvasPropWrite p;
  p.prop = prop;
  p.number = number;
  return p;
}

CanvasPropWrite CanvasString(CanvasProp prop, std::string text) {
  CanvasPropWrite p;
  p.prop = prop;
  p.text = std::move(text);
  return p;
}

CanvasOp CanvasOp::Add(std::string id, CanvasKind shape, std::vector<CanvasPropWrite> props,
                       std::vector<CanvasPoint> points) {
  CanvasOp op;
  op.kind = Kind::kAdd;
  op.id = std::move(id);
  op.shape = shape;
  op.props = std::move(props);
  op.points = std::move(points);
  return op;
}

CanvasOp CanvasOp::Update(std::string id, std::vector<CanvasPropWrite> props) {
  CanvasOp op;
  op.kind = Kind::kUpdate;
  op.id = std::move(id);
  op.props = std::move(props);
  return op;
}

CanvasOp CanvasOp::Append(std::string id, std::vector<CanvasPoint> points, uint64_t before_last) {
  CanvasOp op;
  op.kind = Kind::kAppend;
  op.id = std::move(id);
  op.points = std::move(points);
  op.before_last = before_last;
  return op;
}

CanvasOp CanvasOp::Delete(std::string id) {
  CanvasOp op;
  op.kind = Kind::kDelete;
  op.id = std::move(id);
  return op;
}

CanvasOp CanvasOp::Collect(uint64_t horizon, std::vector<std::string> forget) {
  CanvasOp op;
  op.kind = Kind::kCollect;
  op.horizon = horizon;
  op.forget = std::move(forget);
  return op;
}

std::string EncodeCanvasOps(const std::vector<CanvasOp>& ops) {
  ByteWriter w;
  w.PutVarint(ops.size());
  for (const CanvasOp& op : ops) {
    w.PutByte(static_cast<uint8_t>(op.kind));
    if (op.kind == CanvasOp::Kind::kCollect) {
      w.PutVarint(op.horizon);
      w.PutVarint(op.forget.size());
      for (const std::string& id : op.forget) w.PutString(id);
      continue;
    }
    w.PutString(op.id);
    switch (op.kind) {
      case CanvasOp::Kind::kAdd:
        w.PutByte(static_cast<uint8_t>(op.shape));
        WriteProps(&w, op.props);
        WritePoints(&w, op.points);
        break;
      case CanvasOp::Kind::kUpdate:
        WriteProps(&w, op.props);
        break;
      case CanvasOp::Kind::kAppend:
        w.PutVarint(op.before_last);
        WritePoints(&w, op.points);
        break;
      case CanvasOp::Kind::kDelete:
      case CanvasOp::Kind::kCollect:
        break;
    }
  }
  return w.Release();
}

Status DecodeCanvasOps(std::string_view payload, std::vector<CanvasOp>* ops) {
  ops->clear();
  ByteReader r(payload);
  uint64_t count;
  if (!r.GetVarint(&count)) return Truncated();
  if (count > kCanvasMaxOpsPerFragment) return Malformed("too many operations");
  // Each op takes at least two bytes, so a count larger than the payload reserves nothing.
  ops->reserve(std::min<uint64_t>(count, payload.size() / 2));
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t kind;
    if (!r.GetByte(&kind)) return Truncated();
    if (kind == static_cast<uint8_t>(CanvasOp::Kind::kCollect)) {
      if (count != 1) return Malformed("a collect is alone in its fragment");
      CanvasOp op = CanvasOp::Collect(0, {});
      uint64_t n;
      if (!r.GetVarint(&op.horizon) || !r.GetVarint(&n)) return Truncated();
      if (n == 0 || n > kCanvasMaxOpsPerFragment)
        return Malformed("a collect names 1 to 10000 ids");
      // Each id takes at least two bytes.
      op.forget.reserve(std::min<uint64_t>(n, payload.size() / 2));
      for (uint64_t k = 0; k < n; ++k) {
        std::string_view id;
        if (!r.GetString(&id)) return Truncated();
        op.forget.emplace_back(id);
      }
      ZINC_RETURN_IF_ERROR(CheckOp(op));
      ops->push_back(std::move(op));
      continue;
    }
    std::string_view id;
    if (!r.GetString(&id)) return Truncated();
    ZINC_RETURN_IF_ERROR(CheckId(id));
    CanvasOp op;
    op.id = std::string(id);
    switch (kind) {
      case static_cast<uint8_t>(CanvasOp::Kind::kAdd): {
        uint8_t shape;
        if (!r.GetByte(&shape)) return Truncated();
        if (!ValidKind(shape)) return Malformed("unknown shape kind " + std::to_string(shape));
        op.kind = CanvasOp::Kind::kAdd;
        op.shape = static_cast<CanvasKind>(shape);
        ZINC_RETURN_IF_ERROR(ReadProps(&r, &op.props));
        ZINC_RETURN_IF_ERROR(ReadPoints(&r, &op.points));
        break;
      }
      case static_cast<uint8_t>(CanvasOp::Kind::kUpdate):
        op.kind = CanvasOp::Kind::kUpdate;
        ZINC_RETURN_IF_ERROR(ReadProps(&r, &op.props));
        break;
      case static_cast<uint8_t>(CanvasOp::Kind::kAppend):
        op.kind = CanvasOp::Kind::kAppend;
        if (!r.GetVarint(&op.before_last)) return Truncated();
        ZINC_RETURN_IF_ERROR(ReadPoints(&r, &op.points));
        break;
      case static_cast<uint8_t>(CanvasOp::Kind::kDelete):
        op.kind = CanvasOp::Kind::kDelete;
        break;
      default:
        return Malformed("unknown operation " + std::to_string(kind));
    }
    ZINC_RETURN_IF_ERROR(CheckOp(op));
    ops->push_back(std::move(op));
  }
  if (!r.done()) return Malformed("trailing bytes");
  return Status::Ok();
}

// ---- CanvasDocument -----------------------------------------------------------------------

Status CanvasDocument::Apply(std::string_view payload) {
  std::vector<CanvasOp> ops;
  ZINC_RETURN_IF_ERROR(DecodeCanvasOps(payload, &ops));
  ZINC_RETURN_IF_ERROR(Check(ops));
  // Check proved every op applies, so the fragment cannot fail half way.
  for (CanvasOp& op : ops) Mutate(std::move(op));
  return Status::Ok();
}

// Runs the fragment over drafts of the shapes it touches, not over the document, so that a
// refused fragment costs O(its size) and changes nothing.
Status CanvasDocument::Check(const std::vector<CanvasOp>& ops) const {
  std::unordered_map<std::string_view, Draft> drafts;
  uint64_t live = shapes_.size();
  uint64_t ids = shapes_.size() + tombstones_.size();
  uint64_t points = points_;
  uint64_t string_bytes = string_bytes_;
  for (const CanvasOp& op : ops) {
    if (op.kind == CanvasOp::Kind::kCollect) {
      // Alone in its fragment (DecodeCanvasOps), so no draft shows the document otherwise.
      if (op.horizon < horizon_) {
        return Status(StatusCode::kInvalidArgument,
                      "canvas: collect horizon " + std::to_string(op.horizon) +
                          " is before the last, " + std::to_string(horizon_));
      }
      for (const std::string& id : op.forget) {
        if (shapes_.count(id) > 0) {
          return Status(StatusCode::kInvalidArgument,
                        "canvas: collect of " + Quote(id) + ", a live shape");
        }
      }
      continue;
    }
    auto [it, inserted] = drafts.try_emplace(op.id);
    Draft& d = it->second;
    if (inserted) {
      if (auto s = shapes_.find(op.id); s != shapes_.end()) {
        d.state = Draft::State::kLive;
        d.kind = s->second.kind;
        d.points = s->second.points.size();
        d.strings = SizesOf(s->second);
      } else if (tombstoned(op.id)) {
        d.state = Draft::State::kDeleted;
      }
    }
    if (op.kind == CanvasOp::Kind::kAdd) {
      if (d.state == Draft::State::kLive) {
        return Status(StatusCode::kInvalidArgument,
                      "canvas: shape " + Quote(op.id) + " already exists");
      }
      if (d.state == Draft::State::kDeleted) {
        return Status(StatusCode::kInvalidArgument,
                      "canvas: shape " + Quote(op.id) + " was deleted, and ids are not reused");
      }
      if (live >= kCanvasMaxShapes) {
        return Exhausted("a canvas holds at most " + std::to_string(kCanvasMaxShapes) + " shapes");
      }
      if (ids >= kCanvasMaxIds) {
        return Exhausted("a canvas holds at most " + std::to_string(kCanvasMaxIds) +
                         " shapes and deleted shapes");
      }
      CanvasShape defaults;
      d.state = Draft::State::kLive;
      d.kind = op.shape;
      d.points = op.points.size();
      d.strings = SizesOf(defaults);
      ApplySizes(&d.strings, op.props);
      ++live;
      ++ids;
      points += d.points;
      string_bytes += Sum(d.strings);
    } else if (d.state != Draft::State::kLive) {
      // A concurrent edit of a deleted shape (tombstoned, or collected since, or never seen
      // here): dropped, not refused.
      continue;
    } else if (op.kind == CanvasOp::Kind::kUpdate) {
      string_bytes -= Sum(d.strings);
      ApplySizes(&d.strings, op.props);
      string_bytes += Sum(d.strings);
    } else if (op.kind == CanvasOp::Kind::kAppend) {
      if (d.kind != CanvasKind::kStroke) {
        return Status(StatusCode::kInvalidArgument, "canvas: shape " + Quote(op.id) + " is a " +
                                                        KindName(d.kind) +
                                                        "; only a stroke takes points");
      }
      if (op.before_last > d.points) {
        return Status(StatusCode::kOutOfRange,
                      "canvas: before_last " + std::to_string(op.before_last) + " is beyond the " +
                          std::to_string(d.points) + " points of " + Quote(op.id));
      }
      if (d.points + op.points.size() > kCanvasMaxStrokePoints) {
        return TooManyPoints(d.points + op.points.size());
      }
      d.points += op.points.size();
      points += op.points.size();
    } else {  // kDelete
      --live;
      points -= d.points;
      string_bytes -= Sum(d.strings);
      d.state = Draft::State::kDeleted;
    }
    if (points > kCanvasMaxPoints) {
      return Exhausted("a canvas holds at most " + std::to_string(kCanvasMaxPoints) + " points");
    }
    if (string_bytes > kCanvasMaxStringBytes) {
      return Exhausted("a canvas holds at most " + std::to_string(kCanvasMaxStringBytes) +
                       " bytes of colors, fills and texts");
    }
  }
  return Status::Ok();
}

void CanvasDocument::Mutate(CanvasOp op) {
  if (op.kind == CanvasOp::Kind::kCollect) {
    // Ids already forgotten (or never deleted here) are no-ops, like edits of them.
    for (const std::string& id : op.forget) {
      tombstones_.erase(id);
      recent_.erase(id);
    }
    horizon_ = op.horizon;
    return;
  }
  if (op.kind == CanvasOp::Kind::kAdd) {
    CanvasShape s;
    s.kind = op.shape;
    for (const CanvasPropWrite& p : op.props) SetProp(&s, p);
    s.points = std::move(op.points);
    points_ += s.points.size();
    string_bytes_ += StringBytes(s);
    shapes_.emplace(std::move(op.id), std::move(s));
    return;
  }
  auto it = shapes_.find(op.id);
  if (it == shapes_.end()) return;  // Not live: Check let it through as a no-op.
  CanvasShape& s = it->second;
  switch (op.kind) {
    case CanvasOp::Kind::kUpdate:
      string_bytes_ -= StringBytes(s);
      for (const CanvasPropWrite& p : op.props) SetProp(&s, p);
      string_bytes_ += StringBytes(s);
      break;
    case CanvasOp::Kind::kAppend:
      s.points.insert(s.points.end() - static_cast<long>(op.before_last), op.points.begin(),
                      op.points.end());
      points_ += op.points.size();
      break;
    case CanvasOp::Kind::kDelete:
      points_ -= s.points.size();
      string_bytes_ -= StringBytes(s);
      shapes_.erase(it);
      if (collecting_) recent_.insert(op.id);
      tombstones_.insert(std::move(op.id));
      break;
    case CanvasOp::Kind::kAdd:
    case CanvasOp::Kind::kCollect:
      break;
  }
}

// A snapshot: [varint shapes] then per shape, ascending by id, [string id][byte kind]
// [double x y w h z width][string color fill text][points]; then [varint tombstones] and the
// tombstoned ids, ascending; then, only when min_base_seq() is not 0, [varint min_base_seq()].
// (Snapshots from before collection existed end after the tombstones, as do those of canvases
// never collected.)
std::string CanvasDocument::Snapshot() const {
  ByteWriter w;
  w.PutVarint(shapes_.size());
  for (const auto& [id, s] : shapes_) {
    w.PutString(id);
    w.PutByte(static_cast<uint8_t>(s.kind));
    for (double v : {s.x, s.y, s.w, s.h, s.z, s.width}) PutDouble(&w, v);
    w.PutString(s.color);
    w.PutString(s.fill);
    w.PutString(s.text);
    WritePoints(&w, s.points);
  }
  w.PutVarint(tombstones_.size());
  for (const std::string& id : tombstones_) w.PutString(id);
  if (horizon_ != 0) w.PutVarint(horizon_);
  return w.Release();
}

Status CanvasDocument::Restore(std::string_view snapshot) {
  auto bad = [](const std::string& what) {
    return Status(StatusCode::kMalformed, "canvas snapshot: " + what);
  };
  ByteReader r(snapshot);
  uint64_t count;
  if (!r.GetVarint(&count)) return bad("truncated");
  if (count > kCanvasMaxShapes) return Exhausted("snapshot holds too many shapes");
  std::map<std::string, CanvasShape, std::less<>> shapes;
  uint64_t points = 0;
  uint64_t string_bytes = 0;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view id;
    uint8_t kind;
    if (!r.GetString(&id) || !r.GetByte(&kind)) return bad("truncated");
    ZINC_RETURN_IF_ERROR(CheckId(id));
    if (!shapes.empty() && !(shapes.rbegin()->first < id)) {
      return bad("shape ids out of order or repeated");
    }
    if (!ValidKind(kind)) return bad("unknown shape kind " + std::to_string(kind));
    CanvasShape s;
    s.kind = static_cast<CanvasKind>(kind);
    const CanvasProp numbers[] = {CanvasProp::kX, CanvasProp::kY, CanvasProp::kW,
                                  CanvasProp::kH, CanvasProp::kZ, CanvasProp::kWidth};
    double* fields[] = {&s.x, &s.y, &s.w, &s.h, &s.z, &s.width};
    for (int f = 0; f < 6; ++f) {
      if (!GetDouble(&r, fields[f])) return bad("truncated");
      ZINC_RETURN_IF_ERROR(CheckNumber(numbers[f], *fields[f]));
    }
    const CanvasProp strings[] = {CanvasProp::kColor, CanvasProp::kFill, CanvasProp::kText};
    std::string* texts[] = {&s.color, &s.fill, &s.text};
    for (int f = 0; f < 3; ++f) {
      std::string_view v;
      if (!r.GetString(&v)) return bad("truncated");
      ZINC_RETURN_IF_ERROR(CheckString(strings[f], v));
      *texts[f] = std::string(v);
    }
    ZINC_RETURN_IF_ERROR(ReadPoints(&r, &s.points));
    for (const CanvasPoint& p : s.points) ZINC_RETURN_IF_ERROR(CheckPoint(p));
    if (s.kind != CanvasKind::kStroke && !s.points.empty()) return bad("only a stroke has points");
    points += s.points.size();
    string_bytes += StringBytes(s);
    if (points > kCanvasMaxPoints) return Exhausted("snapshot holds too many points");
    if (string_bytes > kCanvasMaxStringBytes) return Exhausted("snapshot holds too many bytes");
    shapes.emplace_hint(shapes.end(), std::string(id), std::move(s));
  }
  uint64_t dead;
  if (!r.GetVarint(&dead)) return bad("truncated");
  if (dead > kCanvasMaxIds - shapes.size()) return Exhausted("snapshot holds too many ids");
  std::set<std::string, std::less<>> tombstones;
  for (uint64_t i = 0; i < dead; ++i) {
    std::string_view id;
    if (!r.GetString(&id)) return bad("truncated");
    ZINC_RETURN_IF_ERROR(CheckId(id));
    if (!tombstones.empty() && !(*tombstones.rbegin() < id)) {
      return bad("tombstones out of order or repeated");
    }
    if (shapes.count(id) > 0) return bad("a shape is both live and deleted");
    tombstones.emplace_hint(tombstones.end(), id);
  }
  uint64_t horizon = 0;
  if (!r.done()) {
    if (!r.GetVarint(&horizon)) return bad("truncated");
    if (horizon == 0) return bad("a horizon of 0 is written as none");
  }
  if (!r.done()) return bad("trailing bytes");
  shapes_ = std::move(shapes);
  tombstones_ = std::move(tombstones);
  horizon_ = horizon;
  // A new state: whatever the host noted of the old one is moot, and the next call starts over.
  collecting_ = false;
  recent_.clear();
  points_ = points;
  string_bytes_ = string_bytes;
  return Status::Ok();
}

std::string CanvasDocument::ToJson() const {
  std::vector<const std::pair<const std::string, CanvasShape>*> order;
  order.reserve(shapes_.size());
  for (const auto& entry : shapes_) order.push_back(&entry);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    if (a->second.z != b->second.z) return a->second.z < b->second.z;
    return a->first < b->first;
  });
  OrderedJson list = OrderedJson::array();
  for (const auto* entry : order) {
    const CanvasShape& s = entry->second;
    OrderedJson j = OrderedJson::object();
    j["id"] = entry->first;
    j["kind"] = KindName(s.kind);
    j["x"] = JsonNumber(s.x);
    j["y"] = JsonNumber(s.y);
    j["w"] = JsonNumber(s.w);
    j["h"] = JsonNumber(s.h);
    j["z"] = JsonNumber(s.z);
    j["width"] = JsonNumber(s.width);
    j["color"] = s.color;
    j["fill"] = s.fill;
    j["text"] = s.text;
    if (s.kind == CanvasKind::kStroke) j["points"] = JsonPoints(s.points);
    list.push_back(std::move(j));
  }
  OrderedJson out = OrderedJson::object();
  out["shapes"] = std::move(list);
  return Dump(out);
}

std::vector<std::string> CanvasDocument::Collect(uint64_t head) {
  std::vector<std::string> out;
  if (collecting_ && tombstones_.size() > recent_.size()) {
    // The tombstones not made since the last call were there at it, at collect_mark_.
    std::vector<std::string> ids;
    auto flush = [&] {
      out.push_back(EncodeCanvasOps({CanvasOp::Collect(collect_mark_, std::move(ids))}));
      ids.clear();
    };
    for (const std::string& id : tombstones_) {
      if (recent_.count(id) > 0) continue;
      ids.push_back(id);
      if (ids.size() == kCanvasMaxOpsPerFragment) flush();
    }
    if (!ids.empty()) flush();
  }
  collecting_ = true;
  collect_mark_ = head;
  recent_.clear();
  return out;
}

double CanvasDocument::FrontZ() const {
  if (shapes_.empty()) return 0;
  double z = -kCanvasMaxZ;
  for (const auto& entry : shapes_) z = std::max(z, entry.second.z);
  return std::min(z + 1, kCanvasMaxZ);
}

double CanvasDocument::BackZ() const {
  if (shapes_.empty()) return 0;
  double z = kCanvasMaxZ;
  for (const auto& entry : shapes_) z = std::min(z, entry.second.z);
  return std::max(z - 1, -kCanvasMaxZ);
}

// ---- CanvasType ---------------------------------------------------------------------------

std::unique_ptr<Document> CanvasType::Create() const { return std::make_unique<CanvasDocument>(); }

bool CanvasType::IsHousekeeping(std::string_view payload) const {
  // A collect is alone in its fragment: [varint 1][byte kCollect]...
  return payload.size() >= 2 && payload[0] == 1 &&
         payload[1] == static_cast<char>(CanvasOp::Kind::kCollect);
}

namespace {

// An append as the other side of a transform sees it.
struct Insertion {
  uint64_t before_last;
  uint64_t points;
};

// What against does to one shape.
struct Effect {
  bool deletes = false;
  uint32_t writes = 0;  // bit PropIndex(p) for each property written
  std::vector<Insertion> appends;
};

}  // namespace

Result<std::string> CanvasType::Transform(std::string_view op, std::string_view against,
                                          bool op_wins) const {
  std::vector<CanvasOp> ops, theirs;
  ZINC_RETURN_IF_ERROR(DecodeCanvasOps(op, &ops));
  ZINC_RETURN_IF_ERROR(DecodeCanvasOps(against, &theirs));
  std::unordered_map<std::string_view, Effect> effects;
  for (const CanvasOp& t : theirs) {
    // An add touches a fresh id, which no op of a concurrent fragment names; a collect
    // touches no shape.
    if (t.kind == CanvasOp::Kind::kAdd || t.kind == CanvasOp::Kind::kCollect) continue;
    Effect& e = effects[t.id];
    if (t.kind == CanvasOp::Kind::kDelete) {
      e.deletes = true;
    } else if (t.kind == CanvasOp::Kind::kUpdate) {
      for (const CanvasPropWrite& p : t.props) e.writes |= 1u << PropIndex(p.prop);
    } else {
      e.appends.push_back({t.before_last, t.points.size()});
    }
  }
  if (effects.empty()) return std::string(op);
  std::vector<CanvasOp> out;
  out.reserve(ops.size());
  for (CanvasOp& o : ops) {
    auto it = o.kind == CanvasOp::Kind::kAdd || o.kind == CanvasOp::Kind::kCollect
                  ? effects.end()
                  : effects.find(o.id);
    if (it == effects.end()) {
      out.push_back(std::move(o));
      continue;
    }
    Effect& e = it->second;
    if (e.deletes) continue;  // The shape is gone on the other side: whatever o does is moot.
    if (o.kind == CanvasOp::Kind::kUpdate && !op_wins) {
      o.props.erase(std::remove_if(o.props.begin(), o.props.end(),
                                   [&](const CanvasPropWrite& p) {
                                     return (e.writes & (1u << PropIndex(p.prop))) != 0;
                                   }),
                    o.props.end());
      if (o.props.empty()) continue;
    }
    if (o.kind == CanvasOp::Kind::kAppend) {
      // Insertions into one list, positioned from its end, transformed pairwise over the grid
      // of both fragments' appends to this stroke; each of against's moves past o as it goes,
      // so that the next o meets it in o's context. At the same point the loser goes first.
      // TODO(perf): O(appends x appends) per stroke; only the pairwise PendingEdits and tests
      // call Transform (the host does not, and clients use CanvasPendingEdits).
      for (Insertion& t : e.appends) {
        const uint64_t mine = o.before_last;
        if (t.before_last < mine || (t.before_last == mine && !op_wins)) {
          o.before_last += t.points;
        } else {
          t.before_last += o.points.size();
        }
      }
    }
    out.push_back(std::move(o));
  }
  return EncodeCanvasOps(out);
}

namespace {

// A pending canvas edit always wins over a remote one (it is sequenced later), so pending
// edits never change, and a remote fragment loses exactly what counts of the pending edits'
// effects per shape say: O(size of the remote fragment).
class CanvasPendingEdits final : public StablePendingEdits {
 public:
  Result<std::string> TransformRemote(std::string remote) override {
    // Nothing pending: Apply decodes and checks the fragment anyway.
    if (touched_.empty()) return remote;
    std::vector<CanvasOp> ops;
    ZINC_RETURN_IF_ERROR(DecodeCanvasOps(remote, &ops));
    bool changed = false;
    std::vector<CanvasOp> kept;
    kept.reserve(ops.size());
    for (CanvasOp& op : ops) {
      auto it = op.kind == CanvasOp::Kind::kAdd || op.kind == CanvasOp::Kind::kCollect
                    ? touched_.end()
                    : touched_.find(op.id);
      if (it == touched_.end()) {
        kept.push_back(std::move(op));
        continue;
      }
      const Touch& t = it->second;
      changed = true;
      if (t.deletes > 0) continue;
      if (op.kind == CanvasOp::Kind::kUpdate) {
        op.props.erase(std::remove_if(op.props.begin(), op.props.end(),
                                      [&](const CanvasPropWrite& p) {
                                        return t.writes[PropIndex(p.prop)] > 0;
                                      }),
                       op.props.end());
        if (op.props.empty()) continue;
      } else if (op.kind == CanvasOp::Kind::kAppend) {
        // The pending points are the stroke's last ones here (authored at the end): the
        // remote points, which the host put before them, go before them.
        op.before_last += t.points;
      }
      kept.push_back(std::move(op));
    }
    if (!changed) return remote;
    return EncodeCanvasOps(kept);
  }

 private:
  struct Touch {
    int64_t deletes = 0;
    std::array<int64_t, kCanvasPropCount> writes{};
    int64_t points = 0;
    bool empty() const {
      return deletes == 0 && points == 0 &&
             std::all_of(writes.begin(), writes.end(), [](int64_t n) { return n == 0; });
    }
  };

  void Counted(const std::string& payload, int sign) override {
    std::vector<CanvasOp> ops;
    if (!DecodeCanvasOps(payload, &ops).ok()) return;  // Never pushed: local edits applied.
    for (const CanvasOp& op : ops) {
      // A remote fragment never names a shape a pending edit adds; a collect names none.
      if (op.kind == CanvasOp::Kind::kAdd || op.kind == CanvasOp::Kind::kCollect) continue;
      auto it = touched_.try_emplace(op.id).first;
      Touch& t = it->second;
      if (op.kind == CanvasOp::Kind::kDelete) {
        t.deletes += sign;
      } else if (op.kind == CanvasOp::Kind::kUpdate) {
        for (const CanvasPropWrite& p : op.props) t.writes[PropIndex(p.prop)] += sign;
      } else {
        t.points += sign * static_cast<int64_t>(op.points.size());
      }
      if (t.empty()) touched_.erase(it);
    }
  }

  std::unordered_map<std::string, Touch> touched_;
};

}  // namespace

std::unique_ptr<PendingEdits> CanvasType::NewPendingEdits() const {
  return std::make_unique<CanvasPendingEdits>();
}

// ---- JSON ---------------------------------------------------------------------------------

namespace {

// The deepest JSON nesting a canvas edit has is 5 ([{"add":{"points":[[..]]}}]); anything
// much deeper is refused before nlohmann parses (and later destroys) it recursively.
constexpr int kMaxJsonDepth = 16;

bool TooDeep(std::string_view text) { return internal::JsonNestsDeeperThan(text, kMaxJsonDepth); }

Status BadEdit(const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "canvas edit: " + what);
}

bool PropFromName(std::string_view name, CanvasProp* prop) {
  for (int i = 1; i <= kCanvasPropCount; ++i) {
    if (name == PropName(static_cast<CanvasProp>(i))) {
      *prop = static_cast<CanvasProp>(i);
      return true;
    }
  }
  return false;
}

bool KindFromName(std::string_view name, CanvasKind* kind) {
  for (int i = 1; i <= 4; ++i) {
    if (name == KindName(static_cast<CanvasKind>(i))) {
      *kind = static_cast<CanvasKind>(i);
      return true;
    }
  }
  return false;
}

double ToDouble(const Json& v) {
  const double d = v.get<double>();
  return d == 0 ? 0 : d;
}

Status ParseId(const Json& v, const char* what, std::string* id) {
  if (!v.is_string()) return BadEdit(std::string(what) + " takes a shape id string");
  *id = v.get<std::string>();
  return Status::Ok();
}

Status ParsePoints(const Json& v, std::vector<CanvasPoint>* points) {
  if (!v.is_array()) return BadEdit(R"("points" must be an array of [x,y] pairs)");
  if (v.size() > kCanvasMaxStrokePoints) {
    return BadEdit("a stroke holds at most " + std::to_string(kCanvasMaxStrokePoints) + " points");
  }
  points->reserve(v.size());
  for (const Json& p : v) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
      return BadEdit(R"(a point is a pair of numbers [x,y])");
    }
    points->push_back({ToDouble(p[0]), ToDouble(p[1])});
  }
  return Status::Ok();
}

// Reads the members of an add or update object: "id", properties and (when points is not null)
// "points".
Status ParseShapeMembers(const Json& obj, const char* what, CanvasOp* op,
                         std::vector<CanvasPoint>* points) {
  if (!obj.is_object() || !obj.contains("id")) {
    return BadEdit(std::string(what) + R"( takes an object with an "id")");
  }
  for (const auto& [key, value] : obj.items()) {
    CanvasProp prop;
    if (key == "id") {
      ZINC_RETURN_IF_ERROR(ParseId(value, R"("id")", &op->id));
    } else if (key == "kind" && op->kind == CanvasOp::Kind::kAdd) {
      if (!value.is_string() || !KindFromName(value.get<std::string>(), &op->shape)) {
        return BadEdit(R"("kind" must be "stroke", "rect", "ellipse" or "text")");
      }
    } else if (key == "points" && points != nullptr) {
      ZINC_RETURN_IF_ERROR(ParsePoints(value, points));
    } else if (PropFromName(key, &prop)) {
      if (IsNumberProp(prop)) {
        if (!value.is_number()) return BadEdit("\"" + key + "\" must be a number");
        op->props.push_back(CanvasNumber(prop, ToDouble(value)));
      } else {
        if (!value.is_string()) return BadEdit("\"" + key + "\" must be a string");
        op->props.push_back(CanvasString(prop, value.get<std::string>()));
      }
    } else {
      return BadEdit(std::string(what) + " has no member \"" + key + "\"");
    }
  }
  return Status::Ok();
}

Status ParseOne(const Json& j, std::vector<CanvasOp>* ops) {
  static constexpr char kForms[] =
      R"(a canvas edit is {"add":{..}}, {"update":{..}}, {"append":{..}}, {"delete":"id"}, )"
      R"({"front":"id","z":N} or {"back":"id","z":N})";
  if (!j.is_object()) return BadEdit(kForms);
  CanvasOp op;
  if (j.size() == 1 && j.contains("add")) {
    op.kind = CanvasOp::Kind::kAdd;
    const Json& a = j["add"];
    if (a.is_object() && !a.contains("kind")) return BadEdit(R"("add" needs a "kind")");
    ZINC_RETURN_IF_ERROR(ParseShapeMembers(a, R"("add")", &op, &op.points));
    if (op.shape != CanvasKind::kStroke && a.contains("points")) {
      return BadEdit(R"(only a stroke has "points")");
    }
  } else if (j.size() == 1 && j.contains("update")) {
    op.kind = CanvasOp::Kind::kUpdate;
    ZINC_RETURN_IF_ERROR(ParseShapeMembers(j["update"], R"("update")", &op, nullptr));
    if (op.props.empty()) return BadEdit(R"("update" writes at least one property)");
  } else if (j.size() == 1 && j.contains("append")) {
    op.kind = CanvasOp::Kind::kAppend;
    const Json& a = j["append"];
    if (!a.is_object() || !a.contains("id") || !a.contains("points")) {
      return BadEdit(R"("append" takes {"id":"s1","points":[[x,y],...]})");
    }
    for (const auto& [key, value] : a.items()) {
      if (key == "id") {
        ZINC_RETURN_IF_ERROR(ParseId(value, R"("id")", &op.id));
      } else if (key == "points") {
        ZINC_RETURN_IF_ERROR(ParsePoints(value, &op.points));
      } else if (key == "before_last") {
        if (!value.is_number_unsigned()) {
          return BadEdit(R"("before_last" must be a non-negative integer)");
        }
        op.before_last = value.get<uint64_t>();
      } else {
        return BadEdit(R"("append" has no member ")" + key + "\"");
      }
    }
  } else if (j.size() == 1 && j.contains("delete")) {
    op.kind = CanvasOp::Kind::kDelete;
    ZINC_RETURN_IF_ERROR(ParseId(j["delete"], R"("delete")", &op.id));
  } else if (j.size() == 1 && j.contains("collect")) {
    // The host's housekeeping, parsed so that what FragmentToJson prints reads back.
    const Json& c = j["collect"];
    if (!c.is_object() || c.size() != 2 || !c.contains("horizon") || !c.contains("ids") ||
        !c["horizon"].is_number_unsigned() || !c["ids"].is_array()) {
      return BadEdit(R"("collect" takes {"horizon":P,"ids":["s1",...]})");
    }
    op = CanvasOp::Collect(c["horizon"].get<uint64_t>(), {});
    for (const Json& id : c["ids"]) {
      if (!id.is_string()) return BadEdit(R"("collect" takes ids as strings)");
      op.forget.push_back(id.get<std::string>());
    }
  } else if (j.size() == 2 && j.contains("z") && (j.contains("front") || j.contains("back"))) {
    const char* what = j.contains("front") ? "front" : "back";
    op.kind = CanvasOp::Kind::kUpdate;
    ZINC_RETURN_IF_ERROR(ParseId(j[what], what, &op.id));
    if (!j["z"].is_number()) return BadEdit(R"("z" must be a number)");
    op.props.push_back(CanvasNumber(CanvasProp::kZ, ToDouble(j["z"])));
  } else if (j.contains("front") || j.contains("back")) {
    return BadEdit(R"(front and back take the new z: {"front":"id","z":N})");
  } else {
    return BadEdit(kForms);
  }
  std::sort(op.props.begin(), op.props.end(),
            [](const CanvasPropWrite& a, const CanvasPropWrite& b) { return a.prop < b.prop; });
  // The checks Apply makes of an op on its own, so that a bad edit fails here, with a reason.
  const Status s = CheckOp(op);
  if (!s.ok()) return BadEdit(s.message().substr(s.message().find(' ') + 1));
  ops->push_back(std::move(op));
  return Status::Ok();
}

OrderedJson PropsJson(const CanvasOp& op) {
  OrderedJson j = OrderedJson::object();
  j["id"] = op.id;
  if (op.kind == CanvasOp::Kind::kAdd) j["kind"] = KindName(op.shape);
  for (const CanvasPropWrite& p : op.props) {
    if (IsNumberProp(p.prop)) {
      j[PropName(p.prop)] = JsonNumber(p.number);
    } else {
      j[PropName(p.prop)] = p.text;
    }
  }
  return j;
}

}  // namespace

Result<std::string> CanvasType::FragmentFromJson(std::string_view json) const {
  if (TooDeep(json)) {
    return BadEdit("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  const Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return BadEdit("not valid JSON");
  std::vector<CanvasOp> ops;
  if (j.is_array()) {
    if (j.empty() || j.size() > kCanvasMaxOpsPerFragment) {
      return BadEdit("an edit array needs 1 to " + std::to_string(kCanvasMaxOpsPerFragment) +
                     " edits");
    }
    for (const Json& e : j) ZINC_RETURN_IF_ERROR(ParseOne(e, &ops));
    for (const CanvasOp& op : ops) {
      if (op.kind == CanvasOp::Kind::kCollect && ops.size() > 1) {
        return BadEdit(R"("collect" is alone in its fragment)");
      }
    }
  } else {
    ZINC_RETURN_IF_ERROR(ParseOne(j, &ops));
  }
  return EncodeCanvasOps(ops);
}

std::string CanvasType::FragmentToJson(std::string_view payload) const {
  std::vector<CanvasOp> ops;
  if (!DecodeCanvasOps(payload, &ops).ok()) return "null";
  OrderedJson out = OrderedJson::array();
  for (const CanvasOp& op : ops) {
    OrderedJson e = OrderedJson::object();
    switch (op.kind) {
      case CanvasOp::Kind::kAdd: {
        OrderedJson a = PropsJson(op);
        if (op.shape == CanvasKind::kStroke) a["points"] = JsonPoints(op.points);
        e["add"] = std::move(a);
        break;
      }
      case CanvasOp::Kind::kUpdate:
        e["update"] = PropsJson(op);
        break;
      case CanvasOp::Kind::kAppend: {
        OrderedJson a = OrderedJson::object();
        a["id"] = op.id;
        a["points"] = JsonPoints(op.points);
        if (op.before_last > 0) a["before_last"] = op.before_last;
        e["append"] = std::move(a);
        break;
      }
      case CanvasOp::Kind::kDelete:
        e["delete"] = op.id;
        break;
      case CanvasOp::Kind::kCollect: {
        OrderedJson c = OrderedJson::object();
        c["horizon"] = op.horizon;
        c["ids"] = op.forget;
        e["collect"] = std::move(c);
        break;
      }
    }
    out.push_back(std::move(e));
  }
  return Dump(out.size() == 1 ? out[0] : out);
}

}  // namespace zinc
