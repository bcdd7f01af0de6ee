#include "store/store.h"

#include <zlib.h>

#include <algorithm>
#include <map>

#include "core/mutex.h"

namespace zinc {

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kFull:
      return "full";
    case SyncMode::kNormal:
      return "normal";
    case SyncMode::kOff:
      return "off";
  }
  return "full";
}

Result<SyncMode> ParseSyncMode(std::string_view name) {
  for (SyncMode m : {SyncMode::kFull, SyncMode::kNormal, SyncMode::kOff}) {
    if (name == SyncModeName(m)) return m;
  }
  return Status(StatusCode::kInvalidArgument,
                "sync mode '" + std::string(name) + "': expected full, normal or off");
}

void WriteBatch::Create(std::string doc, std::string type) {
  ops_.push_back(Op{OpKind::kCreate, std::move(doc), 0, 0, std::move(type)});
}

void WriteBatch::Append(std::string doc, uint64_t seq, std::string record) {
  bytes_ += record.size();
  ops_.push_back(Op{OpKind::kAppend, std::move(doc), seq, 0, std::move(record)});
}

void WriteBatch::PutSnapshot(std::string doc, uint64_t seq, std::string snapshot,
                             uint64_t keep_from) {
  bytes_ += snapshot.size();
  ops_.push_back(Op{OpKind::kSnapshot, std::move(doc), seq, keep_from, std::move(snapshot)});
}

void WriteBatch::Delete(std::string doc) {
  ops_.push_back(Op{OpKind::kDelete, std::move(doc), 0, 0, std::string()});
}

void WriteBatch::SetEpoch(uint64_t epoch) {
  ops_.push_back(Op{OpKind::kEpoch, std::string(), epoch, 0, std::string()});
}

void WriteBatch::Absorb(WriteBatch&& other) {
  if (ops_.empty()) {
    ops_ = std::move(other.ops_);
  } else {
    ops_.reserve(ops_.size() + other.ops_.size());
    for (Op& op : other.ops_) ops_.push_back(std::move(op));
  }
  bytes_ += other.bytes_;
  other.Clear();
}

void WriteBatch::Clear() {
  ops_.clear();
  bytes_ = 0;
}

uint32_t Crc32(std::string_view bytes) {
  // zlib's (the same CRC-32, sliced: several times the speed of a byte-wise table on the
  // journal's thread, which checksums every record it commits).
  uLong c = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {
    const uInt n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    c = crc32(c, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(c);
}

namespace {

class MemoryStore final : public Store {
 public:
  Status Commit(const WriteBatch& batch) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    for (const WriteBatch::Op& op : batch.ops()) {
      switch (op.kind) {
        case WriteBatch::OpKind::kCreate:
          if (docs_.count(op.doc) == 0) docs_[op.doc].type = op.data;
          break;
        case WriteBatch::OpKind::kAppend:
          docs_[op.doc].log[op.seq] = op.data;
          break;
        case WriteBatch::OpKind::kSnapshot: {
          Doc& d = docs_[op.doc];
          d.snapshot_seq = op.seq;
          d.snapshot = op.data;
          if (op.keep_from != 0) d.log.erase(d.log.begin(), d.log.lower_bound(op.keep_from));
          break;
        }
        case WriteBatch::OpKind::kDelete:
          docs_.erase(op.doc);
          break;
        case WriteBatch::OpKind::kEpoch:
          epoch_ = op.seq;
          break;
      }
    }
    return Status::Ok();
  }

  Result<uint64_t> Epoch() override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    return epoch_;
  }

  Result<std::vector<std::string>> Documents() override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    std::vector<std::string> names;
    for (const auto& [name, d] : docs_) names.push_back(name);
    return names;
  }

  Result<StoredDocument> Load(const std::string& doc) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    auto it = docs_.find(doc);
    if (it == docs_.end()) {
      return Status(StatusCode::kNotFound, "memory store: no document '" + doc + "'");
    }
    StoredDocument out;
    out.name = doc;
    out.type = it->second.type;
    out.snapshot_seq = it->second.snapshot_seq;
    out.snapshot = it->second.snapshot;
    if (!it->second.log.empty()) out.log_from = it->second.log.begin()->first;
    for (auto r = it->second.log.upper_bound(out.snapshot_seq); r != it->second.log.end(); ++r) {
      out.log.emplace_back(r->first, r->second);
    }
    return out;
  }

  Result<DocumentStat> Stat(const std::string& doc) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    auto it = docs_.find(doc);
    if (it == docs_.end()) {
      return Status(StatusCode::kNotFound, "memory store: no document '" + doc + "'");
    }
    DocumentStat out;
    out.type = it->second.type;
    out.seq = it->second.snapshot_seq;
    out.bytes = it->second.snapshot.size();
    for (auto r = it->second.log.upper_bound(out.seq); r != it->second.log.end(); ++r) {
      out.seq = r->first;
      out.bytes += r->second.size();
    }
    return out;
  }

  Status ReadLog(const std::string& doc, uint64_t from, uint64_t to,
                 const std::function<bool(uint64_t, std::string_view)>& fn) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    auto it = docs_.find(doc);
    if (it == docs_.end()) {
      return Status(StatusCode::kNotFound, "memory store: no document '" + doc + "'");
    }
    for (auto r = it->second.log.lower_bound(from); r != it->second.log.end() && r->first <= to;
         ++r) {
      if (!fn(r->first, r->second)) break;
    }
    return Status::Ok();
  }

  std::string Describe() const override { return "memory"; }

 private:
  struct Doc {
    std::string type;
    uint64_t snapshot_seq = 0;
    std::string snapshot;
    std::map<uint64_t, std::string> log;
  };
  Mutex mu_;
  std::map<std::string, Doc> docs_ GUARDED_BY(mu_);
  uint64_t epoch_ GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace zinc
