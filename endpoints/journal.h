#pragma once

// The group commit between the root's sequencer and the wire (docs/durability.md). A document
// hands in what it sequenced (a WriteBatch of records) with the frames that publish and
// acknowledge it; the journal's thread commits everything handed in since its last commit, of
// every document, in one transaction, and only then sends the frames, in the order they came.
// Nothing waits to fill a batch: while one commit syncs, the next one gathers. Frames without
// records (snapshot and catch-up replies, head notices) wait behind the commits before them, so
// that nothing a peer receives shows a seq that is not on disk.
//
// A failed commit (disk full, an I/O error) keeps nothing of it: its frames are dropped (the
// authors resend, unacknowledged), and each document in it is told once (failed), then refused
// (its later entries dropped) until it has reloaded its durable state and said so (Reloaded).
//
// Thread-safe. Submit never blocks on the disk.

#include <condition_variable>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/message.h"
#include "core/mutex.h"
#include "store/store.h"

namespace zinc {
namespace internal {

class Journal {
 public:
  using SendFn = std::function<void(std::vector<OutboundFrame>)>;
  using FailFn = std::function<void(const Status&)>;

  // store and logger must outlive this object; send queues frames (on the I/O thread) and is
  // called on the journal's thread.
  Journal(Store* store, SendFn send, Logger* logger);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // doc's batch (may be empty) and frames; failed runs on the journal's thread if doc's commit
  // fails (once until Reloaded). Call in the order the frames must go (under the document's
  // lock).
  void Submit(const std::string& doc, WriteBatch batch, std::vector<OutboundFrame> frames,
              FailFn failed) EXCLUDES(mu_);
  // doc reloaded its durable state after a failure: what it submits after this is committed.
  void Reloaded(const std::string& doc) EXCLUDES(mu_);
  // Commits and sends what was submitted, then stops the thread. Idempotent.
  void Stop() EXCLUDES(mu_);
  // Blocks until everything submitted before the call is committed (or failed) and sent.
  void Flush() EXCLUDES(mu_);

  Store* store() const { return store_; }
  uint64_t commits() const EXCLUDES(mu_);

 private:
  struct Entry {
    std::string doc;
    WriteBatch batch;
    std::vector<OutboundFrame> frames;
    FailFn failed;
    bool reloaded = false;  // a marker: doc is taken again from here on
  };
  void Run() EXCLUDES(mu_);

  Store* const store_;
  const SendFn send_;
  Logger* const logger_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  std::deque<Entry> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  // Entries taken out of the queue and not yet committed and sent.
  size_t in_flight_ GUARDED_BY(mu_) = 0;
  uint64_t commits_ GUARDED_BY(mu_) = 0;
  // Documents whose commit failed, until they reload. Journal thread only.
  std::set<std::string> failed_;
  std::thread thread_;
};

}  // namespace internal
}  // namespace zinc
