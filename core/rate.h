#pragma once

// Rate limits (docs/security.md, "Bounds and limits"): a token bucket, and a table of them by
// key with a bound on its entries. Time is the caller's (an injected Clock's micros), so the
// rules run in unit tests on a ManualClock.

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace zinc {

// rate tokens a second, up to burst. Value type; thread-compatible.
class TokenBucket {
 public:
  // A bucket starts full.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // Takes n tokens at now_micros if there are that many (after refilling); returns whether.
  bool Take(double n, int64_t now_micros);

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_micros_ = 0;
};

// One TokenBucket per key (an origin, a key's name), at most max_keys of them: a key beyond
// that takes the place of the one used least recently (which starts full again when it comes
// back: the bound on memory wins over the memory of a long-quiet key). rate 0: no limit.
// Thread-compatible.
class RateTable {
 public:
  RateTable(double rate, double burst, size_t max_keys)
      : rate_(rate), burst_(burst), max_keys_(max_keys == 0 ? 1 : max_keys) {}
  bool Take(const std::string& key, double n, int64_t now_micros);
  bool limited() const { return rate_ > 0; }
  size_t size() const { return buckets_.size(); }

 private:
  struct Entry {
    TokenBucket bucket;
    std::list<std::string>::iterator lru;
  };
  const double rate_;
  const double burst_;
  const size_t max_keys_;
  std::unordered_map<std::string, Entry> buckets_;
  std::list<std::string> lru_;  // most recently used first
};

}  // namespace zinc
