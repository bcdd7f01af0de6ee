#include "examples/log/log_document.h"

#include "core/bytes.h"
#include <nlohmann/json.hpp>

namespace zinc {
namespace examples {

namespace {

constexpr size_t kMaxEntryBytes = 1 << 20;

struct LogAppend {
  uint64_t before_last = 0;
  std::string_view entry;
};

Status DecodeLogAppend(std::string_view payload, LogAppend* out) {
  ByteReader r(payload);
  if (!r.GetVarint(&out->before_last)) return Status(StatusCode::kMalformed, "log: truncated");
  // The rest of the payload is the entry.
  size_t header = 1;
  for (uint64_t v = out->before_last; v >= 0x80; v >>= 7) ++header;
  out->entry = payload.substr(header);
  if (out->entry.size() > kMaxEntryBytes) {
    return Status(StatusCode::kResourceExhausted, "log entry larger than 1 MiB");
  }
  return Status::Ok();
}

std::string EncodeLog(uint64_t before_last, std::string_view entry) {
  ByteWriter w;
  w.PutVarint(before_last);
  std::string out = w.Release();
  out.append(entry.data(), entry.size());
  return out;
}

}  // namespace

std::string EncodeLogAppend(std::string_view entry) { return EncodeLog(0, entry); }

namespace {

class LogPendingEdits final : public StablePendingEdits {
 public:
  Result<std::string> TransformRemote(std::string remote) override {
    if (size() == 0) return remote;
    LogAppend op;
    ZINC_RETURN_IF_ERROR(DecodeLogAppend(remote, &op));
    return EncodeLog(op.before_last + size(), op.entry);
  }

 private:
  void Counted(const std::string&, int) override {}
};

}  // namespace

std::unique_ptr<PendingEdits> LogType::NewPendingEdits() const {
  return std::make_unique<LogPendingEdits>();
}

Status LogDocument::Apply(std::string_view payload) {
  LogAppend op;
  ZINC_RETURN_IF_ERROR(DecodeLogAppend(payload, &op));
  if (op.before_last > entries_.size()) {
    return Status(StatusCode::kOutOfRange, "log: insert before more entries than the log keeps");
  }
  ++count_;
  bytes_ += op.entry.size();
  entries_.emplace(entries_.end() - static_cast<long>(op.before_last), op.entry);
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

Result<std::string> LogType::Transform(std::string_view op, std::string_view against,
                                       bool op_wins) const {
  LogAppend a, b;
  ZINC_RETURN_IF_ERROR(DecodeLogAppend(op, &a));
  ZINC_RETURN_IF_ERROR(DecodeLogAppend(against, &b));
  if (op_wins) return std::string(op);
  // The other entry lands after this one: this one moves before it.
  return EncodeLog(a.before_last + 1, a.entry);
}

Result<std::string> LogType::FragmentFromJson(std::string_view json) const {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.size() != 1 || !j.contains("append") || !j["append"].is_string()) {
    return Status(StatusCode::kInvalidArgument, R"(a log edit is {"append":"text"})");
  }
  return EncodeLogAppend(j["append"].get<std::string>());
}

std::string LogType::FragmentToJson(std::string_view payload) const {
  LogAppend op;
  if (!DecodeLogAppend(payload, &op).ok()) return "null";
  nlohmann::json j = {{"append", std::string(op.entry)}};
  if (op.before_last > 0) j["before_last"] = op.before_last;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace examples
}  // namespace zinc
