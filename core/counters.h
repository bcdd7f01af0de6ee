#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/mutex.h"

namespace zinc {

// A named monotonically increasing counter. Thread-safe.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// The counters of one endpoint, by name (Prometheus style, e.g. "zinc_rejected_total{reason=
// \"malformed\"}"). Counters are never removed, so a Counter* stays valid for the life of this
// object. Thread-safe.
class Counters {
 public:
  Counters() = default;
  Counters(const Counters&) = delete;
  Counters& operator=(const Counters&) = delete;

  // Returns the counter called name, creating it at 0.
  Counter* Get(const std::string& name) EXCLUDES(mu_);
  // The value of name, 0 if it does not exist.
  uint64_t Value(const std::string& name) const EXCLUDES(mu_);
  // Sum of every counter whose name starts with prefix.
  uint64_t SumPrefix(const std::string& prefix) const EXCLUDES(mu_);
  // Every counter whose name begins with prefix, by the rest of its name, and its value.
  std::map<std::string, uint64_t> WithPrefix(const std::string& prefix) const EXCLUDES(mu_);
  // Prometheus text exposition format, one "name value" line per counter.
  std::string RenderPrometheus() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Counter>> counters_ GUARDED_BY(mu_);
};

}  // namespace zinc
