#include "documents/map_document.h"

#include <deque>
#include <set>
#include <unordered_map>

#include "core/bytes.h"
#include "documents/json_internal.h"
#include <nlohmann/json.hpp>

namespace zinc {

namespace {

Status Malformed(const std::string& what) {
  return Status(StatusCode::kMalformed, "map fragment: " + what);
}

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMapMaxKeyBytes) {
    return Malformed("a key must be 1 to " + std::to_string(kMapMaxKeyBytes) + " bytes");
  }
  return Status::Ok();
}

// The deepest JSON nesting zinc parses or renders. nlohmann's serializer recurses, so a value of
// 100,000 nested arrays (which any peer can store: values are bytes) would overflow the stack.
constexpr int kMaxJsonDepth = 64;

bool TooDeep(std::string_view text) { return internal::JsonNestsDeeperThan(text, kMaxJsonDepth); }

// Renders value as JSON: itself when it is valid JSON (and not absurdly deep), otherwise as a
// JSON string.
nlohmann::json ValueToJson(const std::string& value) {
  if (TooDeep(value)) return nlohmann::json(value);
  nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  return nlohmann::json(value);
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string EncodeMapOps(const std::vector<MapOp>& ops) {
  ByteWriter w;
  w.PutVarint(ops.size());
  for (const MapOp& op : ops) {
    w.PutByte(static_cast<uint8_t>(op.kind));
    w.PutString(op.key);
    if (op.kind == MapOp::Kind::kSet) w.PutString(op.value);
  }
  return w.Release();
}

Status DecodeMapOps(std::string_view payload, std::vector<MapOp>* ops) {
  ops->clear();
  ByteReader r(payload);
  uint64_t count;
  if (!r.GetVarint(&count)) return Malformed("truncated");
  if (count > kMapMaxOpsPerFragment) return Malformed("too many operations");
  ops->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t kind;
    std::string_view key, value;
    if (!r.GetByte(&kind) || !r.GetString(&key)) return Malformed("truncated");
    ZINC_RETURN_IF_ERROR(CheckKey(key));
    MapOp op;
    if (kind == static_cast<uint8_t>(MapOp::Kind::kSet)) {
      if (!r.GetString(&value)) return Malformed("truncated");
      op.kind = MapOp::Kind::kSet;
      op.value = std::string(value);
    } else if (kind == static_cast<uint8_t>(MapOp::Kind::kDelete)) {
      op.kind = MapOp::Kind::kDelete;
    } else {
      return Malformed("unknown operation " + std::to_string(kind));
    }
    op.key = std::string(key);
    ops->push_back(std::move(op));
  }
  if (!r.done()) return Malformed("trailing bytes");
  return Status::Ok();
}

Status MapDocument::Apply(std::string_view payload) {
  std::vector<MapOp> ops;
  ZINC_RETURN_IF_ERROR(DecodeMapOps(payload, &ops));
  // Decoding validated everything, so applying cannot fail half way.
  for (MapOp& op : ops) {
    if (op.kind == MapOp::Kind::kSet) {
      entries_[op.key] = std::move(op.value);
    } else {
      entries_.erase(op.key);
    }
  }
  return Status::Ok();
}

std::string MapDocument::Snapshot() const {
  ByteWriter w;
  w.PutVarint(entries_.size());
  for (const auto& [key, value] : entries_) {
    w.PutString(key);
    w.PutString(value);
  }
  return w.Release();
}

Status MapDocument::Restore(std::string_view snapshot) {
  ByteReader r(snapshot);
  uint64_t count;
  if (!r.GetVarint(&count)) return Status(StatusCode::kMalformed, "map snapshot: truncated");
  std::map<std::string, std::string> entries;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key, value;
    if (!r.GetString(&key) || !r.GetString(&value)) {
      return Status(StatusCode::kMalformed, "map snapshot: truncated");
    }
    ZINC_RETURN_IF_ERROR(CheckKey(key));
    if (!entries.emplace(std::string(key), std::string(value)).second) {
      return Status(StatusCode::kMalformed, "map snapshot: duplicate key");
    }
  }
  if (!r.done()) return Status(StatusCode::kMalformed, "map snapshot: trailing bytes");
  entries_ = std::move(entries);
  return Status::Ok();
}

std::string MapDocument::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : entries_) j[key] = ValueToJson(value);
  return Dump(j);
}

std::unique_ptr<Document> MapType::Create() const { return std::make_unique<MapDocument>(); }

Result<std::string> MapType::Transform(std::string_view op, std::string_view against,
                                       bool op_wins) const {
  std::vector<MapOp> ops, against_ops;
  ZINC_RETURN_IF_ERROR(DecodeMapOps(op, &ops));
  if (op_wins) return std::string(op);
  ZINC_RETURN_IF_ERROR(DecodeMapOps(against, &against_ops));
  std::set<std::string_view> taken;
  for (const MapOp& a : against_ops) taken.insert(a.key);
  std::vector<MapOp> kept;
  for (MapOp& o : ops) {
    if (taken.count(o.key) == 0) kept.push_back(std::move(o));
  }
  return EncodeMapOps(kept);
}

namespace {

// A pending map edit always wins over a remote one (it will be sequenced later), so pending
// edits never change, and a remote fragment loses exactly the keys some pending edit touches:
// a count per key makes that O(size of the remote fragment).
class MapPendingEdits final : public StablePendingEdits {
 public:
  Result<std::string> TransformRemote(std::string remote) override {
    std::vector<MapOp> ops;
    ZINC_RETURN_IF_ERROR(DecodeMapOps(remote, &ops));
    if (keys_.empty()) return remote;
    std::vector<MapOp> kept;
    for (MapOp& op : ops) {
      if (keys_.count(op.key) == 0) kept.push_back(std::move(op));
    }
    if (kept.size() == ops.size()) return remote;
    return EncodeMapOps(kept);
  }

 private:
  void Counted(const std::string& payload, int delta) override {
    std::vector<MapOp> ops;
    if (!DecodeMapOps(payload, &ops).ok()) return;  // Never pushed: local edits are validated.
    for (const MapOp& op : ops) {
      auto it = keys_.emplace(op.key, 0).first;
      it->second += delta;
      if (it->second <= 0) keys_.erase(it);
    }
  }

  std::unordered_map<std::string, int> keys_;
};

Status BadJsonKey() {
  return Status(StatusCode::kInvalidArgument,
                "a key must be 1 to " + std::to_string(kMapMaxKeyBytes) + " bytes");
}

Status ParseOne(const nlohmann::json& j, std::vector<MapOp>* ops) {
  if (!j.is_object() || j.size() != 1) {
    return Status(StatusCode::kInvalidArgument,
                  R"(a map edit is {"set":["key",VALUE]} or {"del":"key"})");
  }
  if (j.contains("set")) {
    const auto& s = j["set"];
    if (!s.is_array() || s.size() != 2 || !s[0].is_string()) {
      return Status(StatusCode::kInvalidArgument, R"("set" takes ["key", VALUE])");
    }
    MapOp op;
    op.kind = MapOp::Kind::kSet;
    op.key = s[0].get<std::string>();
    op.value = Dump(s[1]);
    if (!CheckKey(op.key).ok()) return BadJsonKey();
    ops->push_back(std::move(op));
    return Status::Ok();
  }
  if (j.contains("del")) {
    const auto& d = j["del"];
    if (!d.is_string()) return Status(StatusCode::kInvalidArgument, R"("del" takes "key")");
    MapOp op;
    op.kind = MapOp::Kind::kDelete;
    op.key = d.get<std::string>();
    if (!CheckKey(op.key).ok()) return BadJsonKey();
    ops->push_back(std::move(op));
    return Status::Ok();
  }
  return Status(StatusCode::kInvalidArgument, R"(a map edit is {"set":[...]} or {"del":"key"})");
}

}  // namespace

std::unique_ptr<PendingEdits> MapType::NewPendingEdits() const {
  return std::make_unique<MapPendingEdits>();
}

Result<std::string> MapType::FragmentFromJson(std::string_view json) const {
  if (TooDeep(json)) {
    return Status(StatusCode::kInvalidArgument,
                  "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(StatusCode::kInvalidArgument, "not valid JSON");
  std::vector<MapOp> ops;
  if (j.is_array()) {
    if (j.empty() || j.size() > kMapMaxOpsPerFragment) {
      return Status(StatusCode::kInvalidArgument, "an edit array needs 1 to 10000 edits");
    }
    for (const auto& e : j) ZINC_RETURN_IF_ERROR(ParseOne(e, &ops));
  } else {
    ZINC_RETURN_IF_ERROR(ParseOne(j, &ops));
  }
  return EncodeMapOps(ops);
}

std::string MapType::FragmentToJson(std::string_view payload) const {
  std::vector<MapOp> ops;
  if (!DecodeMapOps(payload, &ops).ok()) return "null";
  nlohmann::json out = nlohmann::json::array();
  for (const MapOp& op : ops) {
    if (op.kind == MapOp::Kind::kSet) {
      out.push_back({{"set", {op.key, ValueToJson(op.value)}}});
    } else {
      out.push_back({{"del", op.key}});
    }
  }
  return Dump(out.size() == 1 ? out[0] : out);
}

}  // namespace zinc
