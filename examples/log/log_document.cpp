#include "examples/log/log_document.h"

#include <nlohmann/json.hpp>

#include "core/bytes.h"

namespace zinc {
namespace examples {

namespace {
constexpr size_t kMaxEntryBytes = 1 << 20;
}  // namespace

Status LogDocument::Apply(std::string_view payload) {
  if (payload.size() > kMaxEntryBytes) {
    return Status(StatusCode::kResourceExhausted, "log entry larger than 1 MiB");
  }
  ++count_;
  bytes_ += payload.size();
  entries_.emplace_back(payload);
  while (entries_.size() > capacity_) entries_.pop_front();
  return Status::Ok();
}

std::string LogDocument::Snapshot() const {
  ByteWriter w;
  w.PutVarint(count_);
  w.PutVarint(bytes_);
  w.PutVarint(entries_.size());
  for (const std::string& e : entries_) w.PutString(e);
  return w.Release();
}

Status LogDocument::Restore(std::string_view snapshot) {
  ByteReader r(snapshot);
  uint64_t count = 0, bytes = 0, n = 0;
  if (!r.GetVarint(&count) || !r.GetVarint(&bytes) || !r.GetVarint(&n) || n > count) {
    return Status(StatusCode::kMalformed, "log snapshot: bad header");
  }
  std::deque<std::string> entries;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view e;
    if (!r.GetString(&e)) return Status(StatusCode::kMalformed, "log snapshot: truncated");
    entries.emplace_back(e);
  }
  if (!r.done()) return Status(StatusCode::kMalformed, "log snapshot: trailing bytes");
  while (entries.size() > capacity_) entries.pop_front();
  count_ = count;
  bytes_ = bytes;
  entries_ = std::move(entries);
  return Status::Ok();
}

std::string LogDocument::ToJson() const {
  nlohmann::json last = nlohmann::json::array();
  for (const std::string& e : entries_) last.push_back(e);
  nlohmann::json j = {{"count", count_}, {"bytes", bytes_}, {"last", last}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::unique_ptr<Document> LogType::Create() const {
  return std::make_unique<LogDocument>(capacity_);
}

Result<std::string> LogType::Transform(std::string_view op, std::string_view,
                                       bool) const {
  return std::string(op);
}

Result<std::string> LogType::FragmentFromJson(std::string_view json) const {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.size() != 1 || !j.contains("append") || !j["append"].is_string()) {
    return Status(StatusCode::kInvalidArgument, R"(a log edit is {"append":"text"})");
  }
  return j["append"].get<std::string>();
}

std::string LogType::FragmentToJson(std::string_view payload) const {
  nlohmann::json j = {{"append", std::string(payload)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace examples
}  // namespace zinc
