#include "handlers/handler_pool.h"

namespace zinc {

namespace {
// Tasks a worker takes from one strand at a time before it lets other strands go first.
constexpr size_t kBatch = 32;
// And at most this weight (messages) of them, unless one task weighs more: how long another
// strand, an urgent one among them, may wait for a worker.
constexpr size_t kBatchWeight = 256;
// Strands kept before idle ones are swept away.
constexpr size_t kMaxIdleStrands = 4096;
}  // namespace

HandlerPool::HandlerPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

HandlerPool::~HandlerPool() { Stop(); }

Status HandlerPool::Submit(std::string_view key, std::function<void()> task, bool block,
                           size_t weight, Priority priority) {
  // Notified after unlocking, so that the woken worker does not wake up only to wait for mu_.
  bool notify = false;
  {
    MutexLock l(&mu_);
    ZINC_RETURN_IF_ERROR(SubmitLocked(&l, key, std::move(task), block, weight, priority, &notify));
  }
  if (notify) work_cv_.notify_one();
  return Status::Ok();
}

Status HandlerPool::SubmitLocked(MutexLock* l, std::string_view key, std::function<void()> task,
                                 bool block, size_t weight, Priority priority, bool* notify) {
  if (block) {
    l->Wait(&room_cv_, [&]() REQUIRES(mu_) { return stopping_ || queued_ < max_queued_; });
  }
  if (stopping_) return Status(StatusCode::kClosed, "handler pool stopped");
  // C++17's unordered_map has no lookup by string_view; a reused buffer avoids an allocation.
  thread_local std::string lookup;
  lookup.assign(key.data(), key.size());
  auto it = strands_.find(lookup);
  if (it == strands_.end()) {
    if (strands_.size() >= kMaxIdleStrands) SweepIdleStrands();
    it = strands_.emplace(lookup, Strand()).first;
    it->second.key = it->first;
  }
  Strand& strand = it->second;
  if (priority == Priority::kUrgent) strand.urgent = true;
  // An idle strand is in neither ready_ nor a worker's hands: schedule it.
  const bool idle = strand.tasks.empty() && !strand.scheduled;
  strand.tasks.push_back(Task{std::move(task), weight});
  queued_ += weight;
  if (idle) {
    strand.scheduled = true;
    if (strand.urgent) {
      ready_.push_front(&strand);
    } else {
      ready_.push_back(&strand);
    }
    *notify = true;
  }
  return Status::Ok();
}

void HandlerPool::WorkerLoop() {
  std::vector<std::function<void()>> batch;
  batch.reserve(kBatch);
  MutexLock l(&mu_);
  while (true) {
    l.Wait(&work_cv_, [&]() REQUIRES(mu_) { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    Strand* strand = ready_.front();
    ready_.pop_front();
    size_t weight = 0;
    while (!strand->tasks.empty() && batch.size() < kBatch && weight < kBatchWeight) {
      batch.push_back(std::move(strand->tasks.front().fn));
      weight += strand->tasks.front().weight;
      queued_ -= strand->tasks.front().weight;
      strand->tasks.pop_front();
    }
    room_cv_.notify_all();
    mu_.Unlock();
    for (auto& task : batch) task();
    batch.clear();
    mu_.Lock();
    // The strand stayed in strands_ while this worker held it, so the pointer is still good.
    // An emptied strand stays in strands_ (idle), so that a busy document does not allocate a
    // strand per message; SweepIdleStrands bounds how many stay.
    if (strand->tasks.empty()) {
      strand->scheduled = false;
    } else {
      // Behind the others, urgent or not: a strand that never empties (a flood of control
      // frames) does not starve the rest.
      ready_.push_back(strand);
      work_cv_.notify_one();
    }
  }
}

void HandlerPool::Stop() {
  // Serialises concurrent Stops, so that only one joins the workers.
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    MutexLock l(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  room_cv_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  MutexLock l(&mu_);
  workers_.clear();
  ready_.clear();
  strands_.clear();
  queued_ = 0;
}

void HandlerPool::SweepIdleStrands() {
  for (auto it = strands_.begin(); it != strands_.end();) {
    if (!it->second.scheduled && it->second.tasks.empty()) {
      it = strands_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t HandlerPool::queued() const {
  MutexLock l(&mu_);
  return queued_;
}

}  // namespace zinc
