#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "documents/document.h"
#include "documents/rope.h"

namespace zinc {

// One component of a text operation. Counts are in code points.
struct TextComponent {
  enum class Kind : uint8_t { kRetain = 1, kInsert = 2, kDelete = 3 };
  Kind kind = Kind::kRetain;
  // Code points retained, inserted (those of text) or deleted.
  uint64_t count = 0;
  // kInsert only: the inserted UTF-8 text.
  std::string text;

  bool operator==(const TextComponent& o) const {
    return kind == o.kind && count == o.count && text == o.text;
  }
};

// A text fragment: components applied from position 0, with an implicit retain to the end
// (ShareDB's ot-text-unicode). In canonical form no component is empty, no two adjacent ones
// are of the same kind and the last is not a retain; the empty operation changes nothing.
// The builders below keep that form, and also put an insert before a delete at the same
// position (the decoder accepts either order). Value type; thread-compatible.
struct TextOp {
  std::vector<TextComponent> components;

  // Appends a retain of n code points (nothing when n is 0).
  TextOp& Retain(uint64_t n);
  // Appends an insert of utf8 (nothing when empty). utf8 should be valid UTF-8: an op holding
  // invalid UTF-8 encodes, but every decoder refuses it.
  TextOp& Insert(std::string_view utf8);
  // The same, with its code points already counted. REQUIRES: cps == CountCodePoints(utf8).
  TextOp& Insert(std::string_view utf8, uint64_t cps);
  // Appends a delete of n code points (nothing when n is 0).
  TextOp& Delete(uint64_t n);
  // Drops a trailing retain.
  TextOp& Trim();

  bool operator==(const TextOp& o) const { return components == o.components; }
};

// Limits every text fragment is checked against.
inline constexpr size_t kTextMaxComponents = 100000;
// The largest retain or delete count (far beyond any real text; it keeps sums from overflowing).
inline constexpr uint64_t kTextMaxCount = uint64_t{1} << 40;

// Encodes op as a text fragment payload: varint count, then per component a kind byte and a
// varint count (retain, delete) or a length-prefixed UTF-8 string (insert).
std::string EncodeTextOp(const TextOp& op);
// Decodes a text fragment payload strictly: kMalformed for truncation, trailing bytes, an
// unknown kind, an empty component or count above kTextMaxCount, invalid UTF-8, more than
// kTextMaxComponents components, or a non-canonical op (adjacent components of one kind, a
// trailing retain).
Status DecodeTextOp(std::string_view payload, TextOp* op);

// Helpers for one edit. pos and counts are in code points.
// Inserts text before code point pos.
TextOp TextInsert(uint64_t pos, std::string_view text);
// Deletes count code points from pos.
TextOp TextDelete(uint64_t pos, uint64_t count);
// At pos, removes del code points then inserts ins (JS splice, the editing-trace format).
TextOp TextSplice(uint64_t pos, uint64_t del, std::string_view ins);

// The text document: a Unicode string held in a Rope. Snapshot is the UTF-8 text itself.
// Thread-compatible.
class TextDocument final : public Document {
 public:
  std::string_view type() const override { return "text"; }
  // Decodes the operation, checks that its retains and deletes fit in the current text, then
  // applies it by walking the rope: O(k log n + inserted bytes) for k components. Returns
  // kMalformed (bad payload, invalid UTF-8) or kOutOfRange (the op reaches past the end), and
  // then changes nothing.
  Status Apply(std::string_view payload) override;
  // Clamps each retain and delete to what is left of the text (inserts stay).
  Result<std::string> Fit(std::string_view payload) const override;
  // The UTF-8 text.
  std::string Snapshot() const override;
  // Replaces the text. Returns kMalformed, changing nothing, if snapshot is not valid UTF-8.
  Status Restore(std::string_view snapshot) override;
  // The text as one JSON string.
  std::string ToJson() const override;

  const Rope& text() const { return text_; }

 private:
  Rope text_;
};

// The "text" type: operational transformation of ot-text-unicode operations.
//
// Tie-break: when op and against insert at the same position, op's insert goes FIRST (before
// against's) when op_wins is true, and after it when op_wins is false. op_wins is true for the
// fragment sequenced later at the host, so at one position the later-sequenced insert ends up
// in front: ShareDB's convention (its server transforms the incoming op with side "left", and
// in ot-text-unicode the left insert goes first). Thread-safe.
class TextType final : public DocumentType {
 public:
  std::string_view name() const override { return "text"; }
  std::unique_ptr<Document> Create() const override;
  std::string_view json_field() const override { return "text"; }
  // Returns kMalformed if either payload does not decode, kResourceExhausted or kOutOfRange if
  // the result would break the limits above (no real document can meet such ops).
  Result<std::string> Transform(std::string_view op, std::string_view against,
                                bool op_wins) const override;
  // Keeps pending edits decoded, so that a remote fragment costs one decode and one encode
  // plus two operation-level transforms per pending edit (the default decodes and encodes
  // every pair).
  std::unique_ptr<PendingEdits> NewPendingEdits() const override;
  // The single operation that does a then b: apply(s, Compose(a, b)) == apply(apply(s, a), b).
  // Same errors as Transform.
  Result<std::string> Compose(std::string_view a, std::string_view b) const;
  // {"insert":[POS,"text"]}, {"delete":[POS,COUNT]}, or a multi-part edit
  // {"ops":[{"retain":N},{"insert":"text"},{"delete":N},...]} (normalized to canonical form).
  // Returns kInvalidArgument for anything else: other members, negative, fractional or huge
  // numbers, an empty insert, a zero count.
  Result<std::string> FragmentFromJson(std::string_view json) const override;
  // A pure insert as {"insert":[POS,"text"]}, a pure delete as {"delete":[POS,COUNT]}, anything
  // else as {"ops":[...]}; "null" for a bad payload.
  std::string FragmentToJson(std::string_view payload) const override;
};

// The operation-level versions of TextType::Transform and Compose.
// REQUIRES: op, against, a and b are valid (decoded) operations.
TextOp TransformTextOp(const TextOp& op, const TextOp& against, bool op_wins);
TextOp ComposeTextOps(const TextOp& a, const TextOp& b);

}  // namespace zinc
