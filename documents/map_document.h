#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "documents/document.h"

namespace zinc {

// One operation of a map fragment.
struct MapOp {
  enum class Kind : uint8_t { kSet = 1, kDelete = 2 };
  Kind kind = Kind::kSet;
  std::string key;
  // The value of a kSet: bytes, by convention JSON text (zincctl writes JSON).
  std::string value;
};

// Limits every map fragment and snapshot is checked against.
inline constexpr size_t kMapMaxKeyBytes = 1024;
inline constexpr size_t kMapMaxOpsPerFragment = 10000;

// Encodes ops as a map fragment payload.
std::string EncodeMapOps(const std::vector<MapOp>& ops);
// Decodes a map fragment payload strictly (kMalformed on anything off).
Status DecodeMapOps(std::string_view payload, std::vector<MapOp>* ops);

// The map document: string keys to values; set and delete; the last writer in seq order wins.
// Thread-compatible.
class MapDocument final : public Document {
 public:
  std::string_view type() const override { return "map"; }
  Status Apply(std::string_view payload) override;
  std::string Snapshot() const override;
  Status Restore(std::string_view snapshot) override;
  // {"key": VALUE, ...}; a value that is not valid JSON is rendered as a JSON string.
  std::string ToJson() const override;

  const std::map<std::string, std::string>& entries() const { return entries_; }

 private:
  std::map<std::string, std::string> entries_;
};

// The "map" type. Concurrent sets of one key resolve by seq order, so the host applies
// fragments as they come; a client drops the parts of a remote fragment that touch keys its own
// pending fragments will overwrite. Thread-safe.
class MapType final : public DocumentType {
 public:
  std::string_view name() const override { return "map"; }
  std::unique_ptr<Document> Create() const override;
  std::string_view json_field() const override { return "entries"; }
  Result<std::string> Transform(std::string_view op, std::string_view against,
                                bool op_wins) const override;
  bool host_transforms() const override { return false; }
  std::unique_ptr<PendingEdits> NewPendingEdits() const override;
  // {"set":["key", VALUE]} or {"del":"key"}, or an array of those for one multi-key fragment.
  Result<std::string> FragmentFromJson(std::string_view json) const override;
  std::string FragmentToJson(std::string_view payload) const override;
};

}  // namespace zinc
