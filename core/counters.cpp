#include "core/counters.h"

namespace zinc {

Counter* Counters::Get(const std::string& name) {
  MutexLock l(&mu_);
  auto& slot = counters_[name];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

uint64_t Counters::Value(const std::string& name) const {
  MutexLock l(&mu_);
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second->value();
}

uint64_t Counters::SumPrefix(const std::string& prefix) const {
  MutexLock l(&mu_);
  uint64_t sum = 0;
  for (auto it = counters_.lower_bound(prefix);
       it != counters_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    sum += it->second->value();
  }
  return sum;
}

std::map<std::string, uint64_t> Counters::WithPrefix(const std::string& prefix) const {
  MutexLock l(&mu_);
  std::map<std::string, uint64_t> out;
  for (auto it = counters_.lower_bound(prefix);
       it != counters_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out[it->first.substr(prefix.size())] = it->second->value();
  }
  return out;
}

std::string Counters::RenderPrometheus() const {
  MutexLock l(&mu_);
  std::string out;
  for (const auto& [name, counter] : counters_) {
    out += name;
    out += ' ';
    out += std::to_string(counter->value());
    out += '\n';
  }
  return out;
}

}  // namespace zinc
