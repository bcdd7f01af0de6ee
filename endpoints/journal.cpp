#include "endpoints/journal.h"

#include <utility>

namespace zinc {
namespace internal {

Journal::Journal(Store* store, SendFn send, Logger* logger)
    : store_(store), send_(std::move(send)), logger_(logger), thread_([this] { Run(); }) {}

Journal::~Journal() { Stop(); }

void Journal::Submit(const std::string& doc, WriteBatch batch, std::vector<OutboundFrame> frames,
                     FailFn failed) {
  if (batch.empty() && frames.empty()) return;
  {
    MutexLock l(&mu_);
    queue_.push_back(Entry{doc, std::move(batch), std::move(frames), std::move(failed), false});
  }
  cv_.notify_all();
}

void Journal::Reloaded(const std::string& doc) {
  {
    MutexLock l(&mu_);
    queue_.push_back(Entry{doc, WriteBatch(), {}, nullptr, true});
  }
  cv_.notify_all();
}

void Journal::Stop() {
  {
    MutexLock l(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Journal::Flush() {
  MutexLock l(&mu_);
  l.Wait(&cv_, [this]() REQUIRES(mu_) { return (queue_.empty() && in_flight_ == 0) || stopping_; });
}

uint64_t Journal::commits() const {
  MutexLock l(&mu_);
  return commits_;
}

void Journal::Run() {
  std::deque<Entry> taken;
  WriteBatch batch;
  std::vector<OutboundFrame> frames;
  for (;;) {
    {
      MutexLock l(&mu_);
      in_flight_ = 0;
      cv_.notify_all();  // Flush
      l.Wait(&cv_, [this]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything was written
      taken.swap(queue_);
      in_flight_ = taken.size();
    }
    // Everything handed in since the last commit: one transaction, then the frames in order.
    // Entries of a document that failed before are dropped until its reload marker.
    std::vector<char> included(taken.size(), 0);
    std::set<std::string> in_batch;
    for (size_t i = 0; i < taken.size(); ++i) {
      Entry& e = taken[i];
      if (e.reloaded) {
        failed_.erase(e.doc);
        continue;
      }
      if (failed_.count(e.doc)) continue;  // (It shows state that is not on disk.)
      included[i] = 1;
      if (!e.batch.empty()) {
        in_batch.insert(e.doc);
        batch.Absorb(std::move(e.batch));
      }
    }
    Status s = store_->Commit(batch);
    if (s.ok()) {
      if (!batch.empty()) {
        MutexLock l(&mu_);
        ++commits_;
      }
    } else {
      logger_->Warn("ZINC-STORE", s.ToString() + ": edits of " + std::to_string(in_batch.size()) +
                                      " document(s) refused until it is written again");
    }
    for (size_t i = 0; i < taken.size(); ++i) {
      Entry& e = taken[i];
      if (!included[i]) continue;
      if (!s.ok() && in_batch.count(e.doc)) {
        // Told once; the rest of its entries in this commit go with it.
        if (e.failed && failed_.insert(e.doc).second) e.failed(s);
        continue;
      }
      for (OutboundFrame& f : e.frames) frames.push_back(std::move(f));
    }
    if (!frames.empty()) send_(std::move(frames));
    frames.clear();
    batch.Clear();
    taken.clear();
  }
}

}  // namespace internal
}  // namespace zinc
