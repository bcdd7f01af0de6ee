#include "core/rate.h"

#include <algorithm>

namespace zinc {

bool TokenBucket::Take(double n, int64_t now_micros) {
  if (now_micros > last_micros_) {
    tokens_ =
        std::min(burst_, tokens_ + rate_ * static_cast<double>(now_micros - last_micros_) / 1e6);
    last_micros_ = now_micros;
  }
  if (tokens_ < n) return false;
  tokens_ -= n;
  return true;
}

bool RateTable::Take(const std::string& key, double n, int64_t now_micros) {
  if (rate_ <= 0) return true;
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    TokenBucket fresh(rate_, burst_);
    (void)fresh.Take(0, now_micros);  // Full as of now.
    it = buckets_.emplace(key, Entry{fresh, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  return it->second.bucket.Take(n, now_micros);
}

}  // namespace zinc
