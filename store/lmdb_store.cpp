#include "store/lmdb_store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "core/mutex.h"

namespace zinc {
namespace {

// The layout's version (the "format" key of the meta table).
constexpr uint64_t kFormat = 1;

// Big-endian 8 bytes, so that keys sort by number.
void PutU64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}
uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
void PutU32(uint32_t v, char* out) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

MDB_val Val(const void* p, size_t n) { return MDB_val{n, const_cast<void*>(p)}; }
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// A document's row in the docs table: id (8), snapshot_seq (8), snapshot crc (4), type.
struct DocRow {
  uint64_t id = 0;
  uint64_t snapshot_seq = 0;
  uint32_t snapshot_crc = 0;
  std::string type;

  std::string Encode() const {
    std::string out(20, '\0');
    PutU64(id, &out[0]);
    PutU64(snapshot_seq, &out[8]);
    PutU32(snapshot_crc, &out[16]);
    return out + type;
  }
  bool Decode(std::string_view in) {
    if (in.size() < 20) return false;
    id = GetU64(in.data());
    snapshot_seq = GetU64(in.data() + 8);
    snapshot_crc = GetU32(in.data() + 16);
    type = std::string(in.substr(20));
    return true;
  }
};

Status MakeDirs(const std::string& dir) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    const std::string path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status(StatusCode::kIoError,
                    "data directory " + dir + ": cannot create " + path + ": " + strerror(errno));
    }
  }
  return Status::Ok();
}

// A transaction, aborted unless committed.
class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  int Begin(MDB_env* env, bool write) {
    return mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
  }
  int Commit() {
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  explicit Cursor(MDB_txn* txn, MDB_dbi dbi) { rc_ = mdb_cursor_open(txn, dbi, &cursor_); }
  ~Cursor() {
    if (cursor_) mdb_cursor_close(cursor_);
  }
  int rc() const { return rc_; }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
  int rc_ = 0;
};

class LmdbStore final : public Store {
 public:
  LmdbStore(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  ~LmdbStore() override {
    if (env_) mdb_env_close(env_);
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  Status Open(const LmdbOptions& options) EXCLUDES(mu_) {
    MutexLock l(&mu_);
    int rc = mdb_env_create(&env_);
    if (rc != 0) return Error(rc, "create the environment");
    mdb_env_set_maxdbs(env_, 4);
    mdb_env_set_mapsize(env_, options.max_bytes);
    // Readers and writers are serialized by mu_: no thread-local reader slots.
    unsigned flags = MDB_NOTLS;
    if (options.sync == SyncMode::kNormal) flags |= MDB_NOMETASYNC;
    if (options.sync == SyncMode::kOff) flags |= MDB_NOSYNC;
    // A file cut short would be read past its end through the map (SIGBUS): refuse it first.
    ZINC_RETURN_IF_ERROR(CheckNotTruncated(false));
    rc = mdb_env_open(env_, dir_.c_str(), flags, 0600);
    if (rc != 0) return Error(rc, "open");
    ZINC_RETURN_IF_ERROR(CheckNotTruncated(true));
    Txn txn;
    rc = txn.Begin(env_, true);
    if (rc != 0) return Error(rc, "begin");
    for (const auto& [dbi, name] : {std::pair<MDB_dbi*, const char*>{&meta_, "meta"},
                                    {&docs_, "docs"},
                                    {&snapshots_, "snapshots"},
                                    {&log_, "log"}}) {
      rc = mdb_dbi_open(txn.get(), name, MDB_CREATE, dbi);
      if (rc != 0) return Error(rc, std::string("open the table ") + name);
    }
    Result<uint64_t> format = GetMeta(txn.get(), "format");
    if (!format.ok()) return format.status();
    if (*format > kFormat) {
      return Status(StatusCode::kUnsupported,
                    "store " + path() + " has format " + std::to_string(*format) +
                        ", newer than this zinc's " + std::to_string(kFormat));
    }
    if (*format == 0) ZINC_RETURN_IF_ERROR(PutMeta(txn.get(), "format", kFormat));
    rc = txn.Commit();
    if (rc != 0) return Error(rc, "commit");
    return Status::Ok();
  }

  Status Commit(const WriteBatch& batch) override EXCLUDES(mu_) {
    if (batch.empty()) return Status::Ok();
    MutexLock l(&mu_);
    Txn txn;
    int rc = txn.Begin(env_, true);
    if (rc != 0) return Error(rc, "begin a commit");
    std::map<std::string, DocRow> rows;  // read or changed in this commit
    for (const WriteBatch::Op& op : batch.ops()) {
      ZINC_RETURN_IF_ERROR(ApplyLocked(txn.get(), op, &rows));
    }
    for (const auto& [name, row] : rows) {
      if (row.id == 0) continue;  // deleted
      const std::string v = row.Encode();
      MDB_val key = Val(name.data(), name.size());
      MDB_val val = Val(v.data(), v.size());
      rc = mdb_put(txn.get(), docs_, &key, &val, 0);
      if (rc != 0) return Error(rc, "write '" + name + "'");
    }
    rc = txn.Commit();
    if (rc != 0) return Error(rc, "commit");
    return Status::Ok();
  }

  Result<uint64_t> Epoch() override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    Txn txn;
    const int rc = txn.Begin(env_, false);
    if (rc != 0) return Error(rc, "begin");
    return GetMeta(txn.get(), "epoch");
  }

  Result<std::vector<std::string>> Documents() override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    Txn txn;
    int rc = txn.Begin(env_, false);
    if (rc != 0) return Error(rc, "begin");
    Cursor c(txn.get(), docs_);
    if (c.rc() != 0) return Error(c.rc(), "list documents");
    std::vector<std::string> names;
    MDB_val key, val;
    for (rc = mdb_cursor_get(c.get(), &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c.get(), &key, &val, MDB_NEXT)) {
      names.emplace_back(View(key));
    }
    if (rc != MDB_NOTFOUND) return Error(rc, "list documents");
    return names;
  }

  Result<StoredDocument> Load(const std::string& doc) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    Txn txn;
    int rc = txn.Begin(env_, false);
    if (rc != 0) return Error(rc, "begin");
    Result<DocRow> row = GetRow(txn.get(), doc);
    if (!row.ok()) return row.status();
    StoredDocument out;
    out.name = doc;
    out.type = row->type;
    out.snapshot_seq = row->snapshot_seq;
    if (row->snapshot_seq != 0) {
      char k[8];
      PutU64(row->id, k);
      MDB_val key = Val(k, 8), val;
      rc = mdb_get(txn.get(), snapshots_, &key, &val);
      if (rc != 0 && rc != MDB_NOTFOUND) return Error(rc, "read the snapshot of '" + doc + "'");
      if (rc == MDB_NOTFOUND || Crc32(View(val)) != row->snapshot_crc) {
        return Status(StatusCode::kDataLoss,
                      "store " + path() + ": document '" + doc + "': the snapshot at seq " +
                          std::to_string(row->snapshot_seq) +
                          (rc == MDB_NOTFOUND ? " is missing" : " fails its checksum"));
      }
      out.snapshot = std::string(View(val));
    }
    bool first = true;
    Status s = ReadLogLocked(txn.get(), doc, row->id, 0, UINT64_MAX,
                             [&](uint64_t seq, std::string_view record) {
                               if (first) out.log_from = seq;
                               first = false;
                               if (seq > out.snapshot_seq) out.log.emplace_back(seq, record);
                               return true;
                             });
    if (!s.ok()) return s;
    return out;
  }

  Result<DocumentStat> Stat(const std::string& doc) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    Txn txn;
    int rc = txn.Begin(env_, false);
    if (rc != 0) return Error(rc, "begin");
    Result<DocRow> row = GetRow(txn.get(), doc);
    if (!row.ok()) return row.status();
    DocumentStat out;
    out.type = row->type;
    out.seq = row->snapshot_seq;
    if (row->snapshot_seq != 0) {
      char k[8];
      PutU64(row->id, k);
      MDB_val key = Val(k, 8), val;
      rc = mdb_get(txn.get(), snapshots_, &key, &val);
      if (rc != 0 && rc != MDB_NOTFOUND) return Error(rc, "read the snapshot of '" + doc + "'");
      if (rc == 0) out.bytes = val.mv_size;
    }
    Cursor c(txn.get(), log_);
    if (c.rc() != 0) return Error(c.rc(), "read the log of '" + doc + "'");
    char k[16];
    PutU64(row->id, k);
    PutU64(row->snapshot_seq + 1, k + 8);
    MDB_val key = Val(k, 16), val;
    for (rc = mdb_cursor_get(c.get(), &key, &val, MDB_SET_RANGE);
         rc == 0 && key.mv_size == 16 && GetU64(static_cast<const char*>(key.mv_data)) == row->id;
         rc = mdb_cursor_get(c.get(), &key, &val, MDB_NEXT)) {
      out.seq = GetU64(static_cast<const char*>(key.mv_data) + 8);
      out.bytes += val.mv_size >= 4 ? val.mv_size - 4 : 0;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return Error(rc, "read the log of '" + doc + "'");
    return out;
  }

  Status ReadLog(const std::string& doc, uint64_t from, uint64_t to,
                 const std::function<bool(uint64_t, std::string_view)>& fn) override EXCLUDES(mu_) {
    MutexLock l(&mu_);
    Txn txn;
    const int rc = txn.Begin(env_, false);
    if (rc != 0) return Error(rc, "begin");
    Result<DocRow> row = GetRow(txn.get(), doc);
    if (!row.ok()) return row.status();
    return ReadLogLocked(txn.get(), doc, row->id, from, to, fn);
  }

  std::string Describe() const override { return path(); }

 private:
  std::string path() const { return dir_ + "/data.mdb"; }

  // opened: the environment is open, its meta page read (it knows its last page).
  Status CheckNotTruncated(bool opened) {
    struct stat st;
    const std::string file = path();
    if (stat(file.c_str(), &st) != 0) return Status::Ok();  // a new store
    if (st.st_size == 0) return Status::Ok();
    // The two meta pages LMDB starts with, before it reads them.
    if (st.st_size < 2 * 4096) return Truncated(st.st_size);
    if (!opened) return Status::Ok();
    MDB_envinfo info;
    MDB_stat stat;
    if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &stat) != 0) return Status::Ok();
    if (static_cast<uint64_t>(st.st_size) <
        (static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize) {
      return Truncated(st.st_size);
    }
    return Status::Ok();
  }

  Status Truncated(off_t size) const {
    return Status(StatusCode::kDataLoss, "store " + path() + " is truncated (" +
                                             std::to_string(size) + " bytes): not opened");
  }

  Result<DocRow> GetRow(MDB_txn* txn, const std::string& doc) {
    MDB_val key = Val(doc.data(), doc.size()), val;
    const int rc = mdb_get(txn, docs_, &key, &val);
    if (rc == MDB_NOTFOUND) {
      return Status(StatusCode::kNotFound, "store " + path() + ": no document '" + doc + "'");
    }
    if (rc != 0) return Error(rc, "read '" + doc + "'");
    DocRow row;
    if (!row.Decode(View(val))) {
      return Status(StatusCode::kDataLoss,
                    "store " + path() + ": document '" + doc + "': its entry does not decode");
    }
    return row;
  }

  Result<uint64_t> GetMeta(MDB_txn* txn, const char* name) {
    MDB_val key = Val(name, strlen(name)), val;
    const int rc = mdb_get(txn, meta_, &key, &val);
    if (rc == MDB_NOTFOUND) return uint64_t{0};
    if (rc != 0) return Error(rc, std::string("read ") + name);
    if (val.mv_size != 8) {
      return Status(StatusCode::kDataLoss,
                    "store " + path() + ": the " + name + " entry does not decode");
    }
    return GetU64(static_cast<const char*>(val.mv_data));
  }

  Status PutMeta(MDB_txn* txn, const char* name, uint64_t value) {
    char v[8];
    PutU64(value, v);
    MDB_val key = Val(name, strlen(name)), val = Val(v, 8);
    const int rc = mdb_put(txn, meta_, &key, &val, 0);
    return rc == 0 ? Status::Ok() : Error(rc, std::string("write ") + name);
  }

  // The row of doc for this commit (from the table or made earlier in it); id 0: none.
  Result<DocRow*> RowLocked(MDB_txn* txn, const std::string& doc,
                            std::map<std::string, DocRow>* rows) {
    auto it = rows->find(doc);
    if (it != rows->end()) return &it->second;
    Result<DocRow> row = GetRow(txn, doc);
    if (!row.ok() && row.status().code() != StatusCode::kNotFound) return row.status();
    DocRow& slot = (*rows)[doc];
    if (row.ok()) slot = std::move(*row);
    return &slot;
  }

  Status ApplyLocked(MDB_txn* txn, const WriteBatch::Op& op, std::map<std::string, DocRow>* rows)
      REQUIRES(mu_) {
    if (op.kind == WriteBatch::OpKind::kEpoch) return PutMeta(txn, "epoch", op.seq);
    Result<DocRow*> found = RowLocked(txn, op.doc, rows);
    if (!found.ok()) return found.status();
    DocRow* row = *found;
    if (op.kind == WriteBatch::OpKind::kCreate) {
      if (row->id != 0) return Status::Ok();
      Result<uint64_t> last = GetMeta(txn, "last_id");
      if (!last.ok()) return last.status();
      row->id = *last + 1;
      row->type = op.data;
      row->snapshot_seq = 0;
      return PutMeta(txn, "last_id", row->id);
    }
    if (row->id == 0) {
      if (op.kind == WriteBatch::OpKind::kDelete) return Status::Ok();
      return Status(StatusCode::kInvalidArgument,
                    "store " + path() + ": no document '" + op.doc + "' (create it first)");
    }
    char k[16];
    PutU64(row->id, k);
    int rc = 0;
    switch (op.kind) {
      case WriteBatch::OpKind::kAppend: {
        PutU64(op.seq, k + 8);
        MDB_val key = Val(k, 16);
        MDB_val val = Val(nullptr, 4 + op.data.size());
        rc = mdb_put(txn, log_, &key, &val, MDB_RESERVE);
        if (rc != 0) return Error(rc, "append to '" + op.doc + "'");
        char* out = static_cast<char*>(val.mv_data);
        PutU32(Crc32(op.data), out);
        if (!op.data.empty()) memcpy(out + 4, op.data.data(), op.data.size());
        return Status::Ok();
      }
      case WriteBatch::OpKind::kSnapshot: {
        MDB_val key = Val(k, 8);
        MDB_val val = Val(op.data.data(), op.data.size());
        rc = mdb_put(txn, snapshots_, &key, &val, 0);
        if (rc != 0) return Error(rc, "snapshot '" + op.doc + "'");
        row->snapshot_seq = op.seq;
        row->snapshot_crc = Crc32(op.data);
        if (op.keep_from == 0) return Status::Ok();
        return EraseLogLocked(txn, op.doc, row->id, op.keep_from);
      }
      case WriteBatch::OpKind::kDelete: {
        ZINC_RETURN_IF_ERROR(EraseLogLocked(txn, op.doc, row->id, UINT64_MAX));
        MDB_val key = Val(k, 8);
        rc = mdb_del(txn, snapshots_, &key, nullptr);
        if (rc != 0 && rc != MDB_NOTFOUND) return Error(rc, "delete '" + op.doc + "'");
        MDB_val name = Val(op.doc.data(), op.doc.size());
        rc = mdb_del(txn, docs_, &name, nullptr);
        if (rc != 0 && rc != MDB_NOTFOUND) return Error(rc, "delete '" + op.doc + "'");
        row->id = 0;
        return Status::Ok();
      }
      default:
        return Status::Ok();
    }
  }

  // Drops doc's records older than before.
  Status EraseLogLocked(MDB_txn* txn, const std::string& doc, uint64_t id, uint64_t before)
      REQUIRES(mu_) {
    Cursor c(txn, log_);
    if (c.rc() != 0) return Error(c.rc(), "compact '" + doc + "'");
    char k[16];
    PutU64(id, k);
    PutU64(0, k + 8);
    MDB_val key = Val(k, 16), val;
    int rc = mdb_cursor_get(c.get(), &key, &val, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size == 16 && GetU64(static_cast<const char*>(key.mv_data)) == id &&
           GetU64(static_cast<const char*>(key.mv_data) + 8) < before) {
      rc = mdb_cursor_del(c.get(), 0);
      if (rc != 0) return Error(rc, "compact '" + doc + "'");
      rc = mdb_cursor_get(c.get(), &key, &val, MDB_GET_CURRENT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND && rc != EINVAL) return Error(rc, "compact '" + doc + "'");
    return Status::Ok();
  }

  Status ReadLogLocked(MDB_txn* txn, const std::string& doc, uint64_t id, uint64_t from,
                       uint64_t to, const std::function<bool(uint64_t, std::string_view)>& fn)
      REQUIRES(mu_) {
    Cursor c(txn, log_);
    if (c.rc() != 0) return Error(c.rc(), "read the log of '" + doc + "'");
    char k[16];
    PutU64(id, k);
    PutU64(from, k + 8);
    MDB_val key = Val(k, 16), val;
    int rc;
    for (rc = mdb_cursor_get(c.get(), &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c.get(), &key, &val, MDB_NEXT)) {
      const char* kp = static_cast<const char*>(key.mv_data);
      if (key.mv_size != 16 || GetU64(kp) != id) break;
      const uint64_t seq = GetU64(kp + 8);
      if (seq > to) break;
      const std::string_view v = View(val);
      if (v.size() < 4 || Crc32(v.substr(4)) != GetU32(v.data())) {
        return Status(StatusCode::kDataLoss, "store " + path() + ": document '" + doc +
                                                 "': the record of seq " + std::to_string(seq) +
                                                 " fails its checksum");
      }
      if (!fn(seq, v.substr(4))) return Status::Ok();
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return Error(rc, "read the log of '" + doc + "'");
    return Status::Ok();
  }

  Status Error(int rc, const std::string& what) const {
    const std::string text = "store " + path() + ": cannot " + what + ": " + mdb_strerror(rc);
    switch (rc) {
      case MDB_CORRUPTED:
      case MDB_INVALID:
      case MDB_PAGE_NOTFOUND:
      case MDB_VERSION_MISMATCH:
        return Status(StatusCode::kDataLoss, text);
      case MDB_MAP_FULL:
        return Status(StatusCode::kIoError, text + " (the store reached its size limit)");
      case ENOSPC:
      case EIO:
        // LMDB reports a write the disk refused for want of space as EIO, too.
        return Status(StatusCode::kIoError, DiskFull() ? text + " (the disk is full)" : text);
      case EACCES:
      case EROFS:
      case EDQUOT:
        return Status(StatusCode::kIoError, text);
      default:
        return Status(rc > 0 ? StatusCode::kIoError : StatusCode::kInternal, text);
    }
  }

  // Whether the directory's file system has less than a megabyte left.
  bool DiskFull() const {
    struct statvfs fs;
    if (statvfs(dir_.c_str(), &fs) != 0) return false;
    return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < (uint64_t{1} << 20);
  }

  const std::string dir_;
  const int lock_fd_;
  Mutex mu_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0, docs_ = 0, snapshots_ = 0, log_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& dir, const LmdbOptions& options) {
  if (dir.empty()) return Status(StatusCode::kInvalidArgument, "no data directory given");
  ZINC_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string lock = dir + "/LOCK";
  const int fd = open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(StatusCode::kIoError,
                  "data directory " + dir + ": cannot open " + lock + ": " + strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Status(StatusCode::kUnavailable,
                  "data directory " + dir + " is in use by another process (" + lock + ")");
  }
  auto store = std::make_unique<LmdbStore>(dir, fd);
  ZINC_RETURN_IF_ERROR(store->Open(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace zinc
