#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace zinc {

// Worker threads that run tasks on strands. Tasks submitted with the same strand key run one at
// a time in submission order; tasks of different keys run in parallel on up to `threads`
// workers. Zinc uses the document id as the key, so the messages of one document are handled in
// arrival order and different documents in parallel. Resource type; thread-safe.
class HandlerPool {
 public:
  // threads >= 1. max_queued bounds the weight of the tasks waiting across all strands for
  // Submit with block set (Default: 65536).
  explicit HandlerPool(size_t threads, size_t max_queued = 65536);
  // Stops and joins; never call from a task.
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues task on the strand of key. With block set, waits while tasks of max_queued weight
  // are queued (back-pressure for the I/O thread); never set block from inside a task. weight
  // is what the task counts for (zinc: the messages it handles). An urgent task's idle strand
  // goes ahead of every other waiting strand (zinc: control traffic, such as the members'
  // reports, which must not wait behind a backlog of data); tasks keep their submission order
  // within a strand, and a strand that stays busy takes its turn behind the others. Returns kClosed
  // after Stop (task is dropped).
  enum class Priority { kNormal, kUrgent };
  Status Submit(std::string_view key, std::function<void()> task, bool block = false,
                size_t weight = 1, Priority priority = Priority::kNormal) EXCLUDES(mu_);

  // Stops accepting tasks, lets running tasks finish, drops queued ones and joins the workers.
  // Idempotent. Never call from a task.
  void Stop() EXCLUDES(mu_);

  // The weight of the tasks queued and not yet started.
  size_t queued() const EXCLUDES(mu_);

 private:
  struct Task {
    std::function<void()> fn;
    size_t weight;
  };
  struct Strand {
    std::string key;
    std::deque<Task> tasks;
    // In ready_ or held by a worker.
    bool scheduled = false;
    // Scheduled at the front of ready_ (it had an urgent task).
    bool urgent = false;
  };

  Status SubmitLocked(MutexLock* l, std::string_view key, std::function<void()> task, bool block,
                      size_t weight, Priority priority, bool* notify) REQUIRES(mu_);
  void WorkerLoop() EXCLUDES(mu_);
  // Erases every strand with no tasks that no worker holds.
  void SweepIdleStrands() REQUIRES(mu_);

  // Constant after construction.
  const size_t max_queued_;

  mutable Mutex mu_;
  std::condition_variable work_cv_;  // signalled when ready_ gains a strand or on stop
  std::condition_variable room_cv_;  // signalled when queued_ drops
  bool stopping_ GUARDED_BY(mu_) = false;
  size_t queued_ GUARDED_BY(mu_) = 0;
  // Strands with queued or running tasks. A strand is in ready_ or held by exactly one worker,
  // never both, which is what serialises it.
  std::unordered_map<std::string, Strand> strands_ GUARDED_BY(mu_);
  std::deque<Strand*> ready_ GUARDED_BY(mu_);

  std::mutex stop_mu_;  // held by Stop only
  std::vector<std::thread> workers_;
};

}  // namespace zinc
