#pragma once

// Durable storage of an endpoint's documents (docs/durability.md): per document its type, the
// sequenced log and a snapshot, per endpoint its epoch. The store keeps bytes; what they mean
// (envelopes, snapshot replies) is the endpoint's business. One interface, two engines: SQLite
// in a data directory (sqlite_store.h) and memory (memory_store.h, for tests; STYLE.md 10).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace zinc {

// What a commit waits for (docs/durability.md has what each can lose):
//   kFull    the commit is on the disk (fsync) before Commit returns: nothing acknowledged is
//            lost in a process crash or a power loss.
//   kNormal  written to the OS before Commit returns, synced at checkpoints: nothing is lost in
//            a process crash; a power loss can lose the newest commits (never corrupts).
//   kOff     not synced at all: a process crash loses nothing the OS got; a power loss can lose
//            or, with a disk that reorders writes, corrupt the newest commits.
enum class SyncMode { kFull, kNormal, kOff };
// "full", "normal", "off".
const char* SyncModeName(SyncMode mode);
// Parses a SyncModeName; kInvalidArgument otherwise.
Result<SyncMode> ParseSyncMode(std::string_view name);

// Changes to commit together, atomically: all of them or none. Value type; thread-compatible.
class WriteBatch {
 public:
  // A document comes to exist with type (a second Create of an existing one changes nothing).
  void Create(std::string doc, std::string type);
  // The record of doc's fragment seq (seqs of a document are appended in increasing order).
  void Append(std::string doc, uint64_t seq, std::string record);
  // doc's snapshot at seq, replacing the one before; with keep_from, the log records older than
  // keep_from are dropped (compaction behind the snapshot; 0 keeps them all).
  void PutSnapshot(std::string doc, uint64_t seq, std::string snapshot, uint64_t keep_from = 0);
  // doc and everything of it goes.
  void Delete(std::string doc);
  void SetEpoch(uint64_t epoch);
  // Everything of other, after this batch's changes.
  void Absorb(WriteBatch&& other);

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  // The bytes of records and snapshots in the batch.
  size_t bytes() const { return bytes_; }
  void Clear();

  enum class OpKind { kCreate, kAppend, kSnapshot, kDelete, kEpoch };
  struct Op {
    OpKind kind;
    std::string doc;
    uint64_t seq = 0;        // kAppend, kSnapshot; the epoch for kEpoch
    uint64_t keep_from = 0;  // kSnapshot
    std::string data;        // the type (kCreate), the record, the snapshot
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

// A document as stored: its type, its snapshot (seq 0 and empty: none) and the log records
// after it, oldest first.
struct StoredDocument {
  std::string name;
  std::string type;
  uint64_t snapshot_seq = 0;
  std::string snapshot;
  std::vector<std::pair<uint64_t, std::string>> log;
  // The oldest seq whose record is kept (0: none kept).
  uint64_t log_from = 0;
};

// What zincctl ls shows of a document that is only in the store.
struct DocumentStat {
  std::string type;
  // The seq of its newest record, or of its snapshot if no record follows it.
  uint64_t seq = 0;
  // The bytes a restart reads: the snapshot and the records after it.
  uint64_t bytes = 0;
};

// One endpoint's store. Thread-safe: a commit, loads and log reads may run on any threads.
// Errors name the file and the document: kIoError (the disk refused a write: full, an I/O
// error; nothing of the batch was kept), kDataLoss (a checksum or decoding failed: corruption,
// never served silently), kNotFound.
class Store {
 public:
  virtual ~Store() = default;
  // Makes the batch durable as the sync mode says, atomically.
  virtual Status Commit(const WriteBatch& batch) = 0;
  // The epoch last committed (0: none).
  virtual Result<uint64_t> Epoch() = 0;
  // The names of the stored documents, sorted.
  virtual Result<std::vector<std::string>> Documents() = 0;
  // The whole of one document: type, snapshot and log after it.
  virtual Result<StoredDocument> Load(const std::string& doc) = 0;
  // doc's type, head and size without reading its bytes (kNotFound if it is not stored).
  virtual Result<DocumentStat> Stat(const std::string& doc) = 0;
  // doc's records with from <= seq <= to, oldest first, while fn returns true. (Catch-up from
  // the disk.)
  virtual Status ReadLog(const std::string& doc, uint64_t from, uint64_t to,
                         const std::function<bool(uint64_t seq, std::string_view record)>& fn) = 0;
  // Where it is ("memory", or the path of its file), for messages.
  virtual std::string Describe() const = 0;
};

// For tests: everything in memory, lost with the process.
std::unique_ptr<Store> NewMemoryStore();

// The CRC-32 (IEEE) of bytes, as records and snapshots are checked with.
uint32_t Crc32(std::string_view bytes);

}  // namespace zinc
