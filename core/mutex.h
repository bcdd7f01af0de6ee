#pragma once

#include <condition_variable>
#include <mutex>

// Clang thread-safety annotations; no-ops elsewhere.
#if defined(__clang__)
#define ZINC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define ZINC_THREAD_ANNOTATION(x)
#endif
#define GUARDED_BY(x) ZINC_THREAD_ANNOTATION(guarded_by(x))
#define REQUIRES(...) ZINC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) ZINC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CAPABILITY(x) ZINC_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY ZINC_THREAD_ANNOTATION(scoped_lockable)
#define ACQUIRE(...) ZINC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) ZINC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))

namespace zinc {

// std::mutex with thread-safety annotations. Thread-safe.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for a scope. Owner thread only.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : lock_(mu->native()) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Waits on cv with the lock held, as std::condition_variable::wait_until does.
  template <typename Clock, typename Duration, typename Pred>
  bool WaitUntil(std::condition_variable* cv,
                 const std::chrono::time_point<Clock, Duration>& deadline, Pred pred) {
    return cv->wait_until(lock_, deadline, pred);
  }
  template <typename Pred>
  void Wait(std::condition_variable* cv, Pred pred) {
    cv->wait(lock_, pred);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace zinc
