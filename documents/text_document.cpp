#include "documents/text_document.h"

#include <deque>
#include <limits>
#include <utility>

#include "core/bytes.h"
#include "documents/json_internal.h"
#include <nlohmann/json.hpp>

namespace zinc {

namespace {

using Kind = TextComponent::Kind;

Status Malformed(const std::string& what) {
  return Status(StatusCode::kMalformed, "text fragment: " + what);
}

// The deepest JSON nesting FragmentFromJson parses (nlohmann's destructor recurses).
constexpr int kMaxJsonDepth = 64;

bool TooDeep(std::string_view text) { return internal::JsonNestsDeeperThan(text, kMaxJsonDepth); }

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status DecodeComponents(std::string_view payload, std::vector<TextComponent>* out) {
  ByteReader r(payload);
  uint64_t count;
  if (!r.GetVarint(&count)) return Malformed("truncated");
  if (count > kTextMaxComponents) return Malformed("too many components");
  // Every component takes at least two bytes: bound the allocation by the payload.
  if (count > payload.size() / 2) return Malformed("truncated");
  out->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t kind;
    if (!r.GetByte(&kind)) return Malformed("truncated");
    TextComponent c;
    if (kind == static_cast<uint8_t>(Kind::kRetain) ||
        kind == static_cast<uint8_t>(Kind::kDelete)) {
      c.kind = static_cast<Kind>(kind);
      if (!r.GetVarint(&c.count)) return Malformed("truncated");
      if (c.count == 0) return Malformed("empty component");
      if (c.count > kTextMaxCount) return Malformed("count too large");
    } else if (kind == static_cast<uint8_t>(Kind::kInsert)) {
      c.kind = Kind::kInsert;
      std::string_view text;
      if (!r.GetString(&text)) return Malformed("truncated");
      if (text.empty()) return Malformed("empty component");
      size_t cps;
      if (!IsValidUtf8(text, &cps)) return Malformed("insert of invalid UTF-8");
      c.count = cps;
      c.text = std::string(text);
    } else {
      return Malformed("unknown component kind " + std::to_string(kind));
    }
    if (!out->empty() && out->back().kind == c.kind) {
      return Malformed("adjacent components of one kind");
    }
    out->push_back(std::move(c));
  }
  if (!r.done()) return Malformed("trailing bytes");
  if (!out->empty() && out->back().kind == Kind::kRetain) return Malformed("trailing retain");
  return Status::Ok();
}

// Checks an op made by Transform or Compose against the limits a decoder enforces.
Status CheckLimits(const TextOp& op) {
  if (op.components.size() > kTextMaxComponents) {
    return Status(StatusCode::kResourceExhausted, "text fragment: result has too many components");
  }
  for (const TextComponent& c : op.components) {
    if (c.kind != Kind::kInsert && c.count > kTextMaxCount) {
      return Status(StatusCode::kOutOfRange, "text fragment: result spans too much text");
    }
  }
  return Status::Ok();
}

// Reads an op component by component, in pieces.
class OpReader {
 public:
  struct Piece {
    Kind kind;
    uint64_t count;
    std::string_view text;  // kInsert only
  };

  explicit OpReader(const TextOp& op) : c_(op.components) {}

  bool done() const { return i_ == c_.size(); }
  // REQUIRES: !done().
  Kind kind() const { return c_[i_].kind; }

  // Takes up to n code points of the current component, or all that is left of it when it is of
  // kind whole. REQUIRES: !done(), n > 0.
  Piece Take(uint64_t n, Kind whole) {
    const TextComponent& c = c_[i_];
    const uint64_t left = c.count - offset_;
    const uint64_t take = (c.kind == whole || n >= left) ? left : n;
    Piece p{c.kind, take, {}};
    if (c.kind == Kind::kInsert) {
      const std::string_view rest = std::string_view(c.text).substr(byte_offset_);
      const size_t bytes = take == left ? rest.size() : Utf8ByteOffset(rest, take);
      p.text = rest.substr(0, bytes);
      byte_offset_ += bytes;
    }
    offset_ += take;
    if (offset_ == c.count) {
      ++i_;
      offset_ = 0;
      byte_offset_ = 0;
    }
    return p;
  }

 private:
  const std::vector<TextComponent>& c_;
  size_t i_ = 0;
  uint64_t offset_ = 0;     // code points of c_[i_] taken
  size_t byte_offset_ = 0;  // and their bytes, for an insert
};

void Append(TextOp* op, const OpReader::Piece& p) {
  switch (p.kind) {
    case Kind::kRetain:
      op->Retain(p.count);
      break;
    case Kind::kInsert:
      op->Insert(p.text, p.count);
      break;
    case Kind::kDelete:
      op->Delete(p.count);
      break;
  }
}

constexpr uint64_t kAll = std::numeric_limits<uint64_t>::max();

Status BadJson(const std::string& what) { return Status(StatusCode::kInvalidArgument, what); }

constexpr const char* kJsonUsage =
    R"(a text edit is {"insert":[POS,"text"]}, {"delete":[POS,COUNT]} or )"
    R"({"ops":[{"retain":N},{"insert":"text"},{"delete":N},...]})";

// Reads a non-negative integer of at least min and at most kTextMaxCount.
Status GetCount(const nlohmann::json& j, uint64_t min, const char* what, uint64_t* out) {
  if (!j.is_number_unsigned() || j.get<uint64_t>() < min || j.get<uint64_t>() > kTextMaxCount) {
    return BadJson(std::string(what) + " must be an integer from " + std::to_string(min) + " to " +
                   std::to_string(kTextMaxCount));
  }
  *out = j.get<uint64_t>();
  return Status::Ok();
}

Status GetText(const nlohmann::json& j, std::string* out) {
  if (!j.is_string()) return BadJson("inserted text must be a JSON string");
  *out = j.get<std::string>();
  if (out->empty()) return BadJson("inserted text must not be empty");
  if (!IsValidUtf8(*out)) return BadJson("inserted text must be valid UTF-8");
  return Status::Ok();
}

Status ParseJsonEdit(const nlohmann::json& j, TextOp* op) {
  if (!j.is_object() || j.size() != 1) return BadJson(kJsonUsage);
  if (j.contains("insert")) {
    const auto& a = j["insert"];
    if (!a.is_array() || a.size() != 2) return BadJson(R"("insert" takes [POS, "text"])");
    uint64_t pos;
    std::string text;
    ZINC_RETURN_IF_ERROR(GetCount(a[0], 0, "the position", &pos));
    ZINC_RETURN_IF_ERROR(GetText(a[1], &text));
    *op = TextInsert(pos, text);
    return Status::Ok();
  }
  if (j.contains("delete")) {
    const auto& a = j["delete"];
    if (!a.is_array() || a.size() != 2) return BadJson(R"("delete" takes [POS, COUNT])");
    uint64_t pos, count;
    ZINC_RETURN_IF_ERROR(GetCount(a[0], 0, "the position", &pos));
    ZINC_RETURN_IF_ERROR(GetCount(a[1], 1, "the count", &count));
    *op = TextDelete(pos, count);
    return Status::Ok();
  }
  if (j.contains("ops")) {
    const auto& a = j["ops"];
    if (!a.is_array()) return BadJson(R"("ops" takes an array of components)");
    if (a.size() > kTextMaxComponents) {
      return BadJson("at most " + std::to_string(kTextMaxComponents) + " components");
    }
    for (const auto& c : a) {
      if (!c.is_object() || c.size() != 1) {
        return BadJson(R"(a component is {"retain":N}, {"insert":"text"} or {"delete":N})");
      }
      uint64_t n;
      if (c.contains("retain")) {
        ZINC_RETURN_IF_ERROR(GetCount(c["retain"], 1, "a retain", &n));
        op->Retain(n);
      } else if (c.contains("delete")) {
        ZINC_RETURN_IF_ERROR(GetCount(c["delete"], 1, "a delete", &n));
        op->Delete(n);
      } else if (c.contains("insert")) {
        std::string text;
        ZINC_RETURN_IF_ERROR(GetText(c["insert"], &text));
        op->Insert(text);
      } else {
        return BadJson(R"(a component is {"retain":N}, {"insert":"text"} or {"delete":N})");
      }
    }
    op->Trim();
    // Merging can only shrink the op, but the sum of merged counts can grow.
    Status s = CheckLimits(*op);
    if (!s.ok()) return BadJson(s.message());
    return Status::Ok();
  }
  return BadJson(kJsonUsage);
}

}  // namespace

TextOp& TextOp::Retain(uint64_t n) {
  if (n == 0) return *this;
  if (!components.empty() && components.back().kind == Kind::kRetain) {
    components.back().count += n;
  } else {
    components.push_back(TextComponent{Kind::kRetain, n, {}});
  }
  return *this;
}

TextOp& TextOp::Insert(std::string_view utf8) { return Insert(utf8, CountCodePoints(utf8)); }

TextOp& TextOp::Insert(std::string_view utf8, uint64_t cps) {
  if (utf8.empty()) return *this;
  // Deleting then inserting at one position is inserting then deleting: keep the insert first.
  size_t i = components.size();
  if (i > 0 && components[i - 1].kind == Kind::kDelete) --i;
  if (i > 0 && components[i - 1].kind == Kind::kInsert) {
    components[i - 1].text.append(utf8);
    components[i - 1].count += cps;
  } else {
    components.insert(components.begin() + static_cast<long>(i),
                      TextComponent{Kind::kInsert, cps, std::string(utf8)});
  }
  return *this;
}

TextOp& TextOp::Delete(uint64_t n) {
  if (n == 0) return *this;
  if (!components.empty() && components.back().kind == Kind::kDelete) {
    components.back().count += n;
  } else {
    components.push_back(TextComponent{Kind::kDelete, n, {}});
  }
  return *this;
}

TextOp& TextOp::Trim() {
  if (!components.empty() && components.back().kind == Kind::kRetain) components.pop_back();
  return *this;
}

std::string EncodeTextOp(const TextOp& op) {
  ByteWriter w;
  w.PutVarint(op.components.size());
  for (const TextComponent& c : op.components) {
    w.PutByte(static_cast<uint8_t>(c.kind));
    if (c.kind == Kind::kInsert) {
      w.PutString(c.text);
    } else {
      w.PutVarint(c.count);
    }
  }
  return w.Release();
}

Status DecodeTextOp(std::string_view payload, TextOp* op) {
  std::vector<TextComponent> components;
  ZINC_RETURN_IF_ERROR(DecodeComponents(payload, &components));
  op->components = std::move(components);
  return Status::Ok();
}

TextOp TextInsert(uint64_t pos, std::string_view text) {
  TextOp op;
  op.Retain(pos).Insert(text).Trim();
  return op;
}

TextOp TextDelete(uint64_t pos, uint64_t count) {
  TextOp op;
  op.Retain(pos).Delete(count).Trim();
  return op;
}

TextOp TextSplice(uint64_t pos, uint64_t del, std::string_view ins) {
  TextOp op;
  op.Retain(pos).Delete(del).Insert(ins).Trim();
  return op;
}

Status TextDocument::Apply(std::string_view payload) {
  TextOp op;
  ZINC_RETURN_IF_ERROR(DecodeTextOp(payload, &op));
  // At most kTextMaxComponents counts of at most kTextMaxCount each: no overflow.
  uint64_t span = 0;
  for (const TextComponent& c : op.components) {
    if (c.kind != Kind::kInsert) span += c.count;
  }
  if (span > text_.size()) {
    return Status(StatusCode::kOutOfRange, "text fragment: spans " + std::to_string(span) +
                                               " code points of a text of " +
                                               std::to_string(text_.size()));
  }
  // Decoding checked the UTF-8 and the span the positions, so no step below can fail.
  size_t pos = 0;
  for (const TextComponent& c : op.components) {
    switch (c.kind) {
      case Kind::kRetain:
        pos += c.count;
        break;
      case Kind::kInsert:
        ZINC_RETURN_IF_ERROR(text_.Insert(pos, c.text));
        pos += c.count;
        break;
      case Kind::kDelete:
        ZINC_RETURN_IF_ERROR(text_.Erase(pos, c.count));
        break;
    }
  }
  return Status::Ok();
}

Result<std::string> TextDocument::Fit(std::string_view payload) const {
  TextOp op;
  ZINC_RETURN_IF_ERROR(DecodeTextOp(payload, &op));
  TextOp fitted;
  uint64_t left = text_.size();  // Code points after the position reached.
  for (const TextComponent& c : op.components) {
    switch (c.kind) {
      case Kind::kRetain: {
        const uint64_t n = std::min(c.count, left);
        fitted.Retain(n);
        left -= n;
        break;
      }
      case Kind::kInsert:
        fitted.Insert(c.text);
        break;
      case Kind::kDelete: {
        const uint64_t n = std::min(c.count, left);
        fitted.Delete(n);
        left -= n;
        break;
      }
    }
  }
  return EncodeTextOp(fitted.Trim());
}

std::string TextDocument::Snapshot() const { return text_.ToString(); }

Status TextDocument::Restore(std::string_view snapshot) {
  if (!IsValidUtf8(snapshot)) {
    return Status(StatusCode::kMalformed, "text snapshot: invalid UTF-8");
  }
  Rope text;
  ZINC_RETURN_IF_ERROR(text.Insert(0, snapshot));
  text_ = std::move(text);
  return Status::Ok();
}

std::string TextDocument::ToJson() const { return Dump(nlohmann::json(text_.ToString())); }

TextOp TransformTextOp(const TextOp& op, const TextOp& against, bool op_wins) {
  OpReader r(op);
  TextOp out;
  for (const TextComponent& c : against.components) {
    // Past the end of op, only retains would follow, and Trim drops those.
    if (r.done()) break;
    switch (c.kind) {
      case Kind::kRetain:
        for (uint64_t n = c.count; n > 0 && !r.done();) {
          const OpReader::Piece p = r.Take(n, Kind::kInsert);
          Append(&out, p);
          if (p.kind != Kind::kInsert) n -= p.count;
        }
        break;
      case Kind::kInsert:
        // Two inserts at one position: the winner's goes first.
        if (op_wins && r.kind() == Kind::kInsert) Append(&out, r.Take(kAll, Kind::kInsert));
        out.Retain(c.count);
        break;
      case Kind::kDelete:
        // op's inserts in the deleted range stay; its retains and deletes there go.
        for (uint64_t n = c.count; n > 0 && !r.done();) {
          const OpReader::Piece p = r.Take(n, Kind::kInsert);
          if (p.kind == Kind::kInsert) {
            Append(&out, p);
          } else {
            n -= p.count;
          }
        }
        break;
    }
  }
  while (!r.done()) Append(&out, r.Take(kAll, Kind::kInsert));
  out.Trim();
  return out;
}

TextOp ComposeTextOps(const TextOp& a, const TextOp& b) {
  OpReader r(a);
  TextOp out;
  for (const TextComponent& c : b.components) {
    switch (c.kind) {
      case Kind::kRetain:
        for (uint64_t n = c.count; n > 0;) {
          if (r.done()) {
            out.Retain(n);
            break;
          }
          // a's deletes are whole: b never sees that text.
          const OpReader::Piece p = r.Take(n, Kind::kDelete);
          Append(&out, p);
          if (p.kind != Kind::kDelete) n -= p.count;
        }
        break;
      case Kind::kInsert:
        out.Insert(c.text, c.count);
        break;
      case Kind::kDelete:
        for (uint64_t n = c.count; n > 0;) {
          if (r.done()) {
            out.Delete(n);
            break;
          }
          const OpReader::Piece p = r.Take(n, Kind::kDelete);
          switch (p.kind) {
            case Kind::kRetain:
              out.Delete(p.count);
              n -= p.count;
              break;
            case Kind::kInsert:
              // b deletes what a inserted: neither happens.
              n -= p.count;
              break;
            case Kind::kDelete:
              out.Delete(p.count);
              break;
          }
        }
        break;
    }
  }
  while (!r.done()) Append(&out, r.Take(kAll, Kind::kDelete));
  out.Trim();
  return out;
}

std::unique_ptr<Document> TextType::Create() const { return std::make_unique<TextDocument>(); }

Result<std::string> TextType::Transform(std::string_view op, std::string_view against,
                                        bool op_wins) const {
  TextOp o, a;
  ZINC_RETURN_IF_ERROR(DecodeTextOp(op, &o));
  ZINC_RETURN_IF_ERROR(DecodeTextOp(against, &a));
  TextOp out = TransformTextOp(o, a, op_wins);
  ZINC_RETURN_IF_ERROR(CheckLimits(out));
  return EncodeTextOp(out);
}

namespace {

// Pending text edits, decoded; each re-encoded only when it is read after a change.
class TextPendingEdits final : public PendingEdits {
 public:
  void Push(std::string payload) override {
    Entry e;
    // Local edits were applied before they got here, so they decode.
    if (!DecodeTextOp(payload, &e.op).ok()) e.op = TextOp();
    e.encoded = std::move(payload);
    edits_.push_back(std::move(e));
  }
  void PopFront() override { edits_.pop_front(); }
  void Erase(size_t i) override { edits_.erase(edits_.begin() + static_cast<long>(i)); }
  void Clear() override { edits_.clear(); }
  size_t size() const override { return edits_.size(); }
  const std::string& at(size_t i) const override {
    const Entry& e = edits_[i];
    if (e.dirty) {
      e.encoded = EncodeTextOp(e.op);
      e.dirty = false;
    }
    return e.encoded;
  }
  Result<std::string> TransformRemote(std::string remote) override {
    return Exchange(std::move(remote), false);
  }
  Result<std::string> TransformLater(std::string later) override {
    return Exchange(std::move(later), true);
  }

 private:
  Result<std::string> Exchange(std::string incoming, bool incoming_wins) {
    if (edits_.empty()) return incoming;
    TextOp r;
    ZINC_RETURN_IF_ERROR(DecodeTextOp(incoming, &r));
    for (Entry& e : edits_) {
      TextOp r2 = TransformTextOp(r, e.op, incoming_wins);
      e.op = TransformTextOp(e.op, r, !incoming_wins);
      e.dirty = true;
      r = std::move(r2);
    }
    ZINC_RETURN_IF_ERROR(CheckLimits(r));
    return EncodeTextOp(r);
  }

  struct Entry {
    TextOp op;
    mutable std::string encoded;
    mutable bool dirty = false;
  };
  std::deque<Entry> edits_;
};

}  // namespace

std::unique_ptr<PendingEdits> TextType::NewPendingEdits() const {
  return std::make_unique<TextPendingEdits>();
}

Result<std::string> TextType::Compose(std::string_view a, std::string_view b) const {
  TextOp x, y;
  ZINC_RETURN_IF_ERROR(DecodeTextOp(a, &x));
  ZINC_RETURN_IF_ERROR(DecodeTextOp(b, &y));
  TextOp out = ComposeTextOps(x, y);
  ZINC_RETURN_IF_ERROR(CheckLimits(out));
  return EncodeTextOp(out);
}

Result<std::string> TextType::FragmentFromJson(std::string_view json) const {
  if (TooDeep(json)) {
    return BadJson("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return BadJson("not valid JSON");
  TextOp op;
  ZINC_RETURN_IF_ERROR(ParseJsonEdit(j, &op));
  return EncodeTextOp(op);
}

std::string TextType::FragmentToJson(std::string_view payload) const {
  TextOp op;
  if (!DecodeTextOp(payload, &op).ok()) return "null";
  const std::vector<TextComponent>& c = op.components;
  size_t i = 0;
  uint64_t pos = 0;
  if (!c.empty() && c[0].kind == Kind::kRetain) {
    pos = c[0].count;
    i = 1;
  }
  if (c.size() == i + 1 && c[i].kind == Kind::kInsert) {
    return Dump({{"insert", {pos, c[i].text}}});
  }
  if (c.size() == i + 1 && c[i].kind == Kind::kDelete) {
    return Dump({{"delete", {pos, c[i].count}}});
  }
  nlohmann::json ops = nlohmann::json::array();
  for (const TextComponent& x : c) {
    switch (x.kind) {
      case Kind::kRetain:
        ops.push_back({{"retain", x.count}});
        break;
      case Kind::kInsert:
        ops.push_back({{"insert", x.text}});
        break;
      case Kind::kDelete:
        ops.push_back({{"delete", x.count}});
        break;
    }
  }
  return Dump({{"ops", std::move(ops)}});
}

}  // namespace zinc
